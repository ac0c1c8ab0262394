//! Test support: start a real `shoal` process on a free loopback port and
//! talk to it over raw TCP (to see exact wire bytes) or with the `redis` crate.
#![allow(dead_code)]

pub mod cluster;
pub mod locker;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running node, killed when dropped.
pub struct Shoal {
    pub port: u16,
    pub child: Child,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Shoal {
    /// Starts `shoal --port P --bind 127.0.0.1 <extra…>` and waits until it answers.
    pub fn start(extra: &[&str]) -> Shoal {
        Shoal::start_with(None, extra)
    }

    /// Picks a free port and starts the node there. A port can be taken
    /// between choosing and binding (or the probe can self-connect), so a
    /// node that exits at start is retried on a fresh port; a node counts as
    /// up only once it answers PING itself.
    pub fn start_with(config_file: Option<&std::path::Path>, extra: &[&str]) -> Shoal {
        for _ in 0..5 {
            let port = free_port();
            // A directory left by an earlier run would hold another
            // cluster's identity and log.
            let _ = std::fs::remove_dir_all(Shoal::dir(port));
            if let Some(shoal) = Shoal::try_start(port, config_file, extra) {
                return shoal;
            }
        }
        panic!("shoal exited at start on five different ports")
    }

    /// The directory of the node on `port`.
    pub fn dir(port: u16) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("shoal-test-{port}"))
    }

    /// Starts a node on `port` (again: its directory is per port, so a
    /// restarted node takes up its old identity), or None if it exits.
    pub fn start_on(port: u16, extra: &[&str]) -> Option<Shoal> {
        Shoal::try_start(port, None, extra)
    }

    fn try_start(
        port: u16,
        config_file: Option<&std::path::Path>,
        extra: &[&str],
    ) -> Option<Shoal> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoal"));
        if let Some(f) = config_file {
            cmd.arg(f);
        }
        let dir = Shoal::dir(port);
        let child = cmd
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--loglevel",
                "warning",
            ])
            .args(["--dir", dir.to_str().expect("utf-8 temp dir")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("shoal binary starts");
        let mut shoal = Shoal { port, child };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if matches!(shoal.child.try_wait(), Ok(Some(_))) {
                return None;
            }
            if answers_ping(port) {
                return Some(shoal);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("shoal on port {port} did not answer within 20 s")
    }

    /// Sends `signal` (SIGSTOP, SIGCONT, …) to this node's process.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on a child process this test started and still owns.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis crate connects")
    }
}

impl Drop for Shoal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    // `+PONG`, or `-NOAUTH …` from a node started with requirepass.
    let mut first = [0u8; 1];
    s.write_all(b"PING\r\n").is_ok()
        && s.read_exact(&mut first).is_ok()
        && b"+-".contains(&first[0])
}

/// A connection to whichever of several nodes answers: it moves to the
/// next node when one cannot be reached or stops answering.
pub struct Roaming {
    addrs: Vec<String>,
    at: usize,
    conn: Option<redis::Connection>,
    /// How long a command may wait for its answer.
    limit: Duration,
}

/// What became of a command sent through a [`Roaming`] connection.
pub enum Sent<T> {
    Answered(T),
    /// An error reply, or no answer (it may have been carried out).
    Failed(redis::RedisError),
    /// No node could be reached: it was not sent.
    Unsent(redis::RedisError),
}

impl Roaming {
    /// Starts at `addrs[first % len]`.
    pub fn new(addrs: Vec<String>, first: usize, limit: Duration) -> Roaming {
        Roaming {
            at: first % addrs.len(),
            addrs,
            conn: None,
            limit,
        }
    }

    fn next_node(&mut self) {
        self.conn = None;
        self.at = (self.at + 1) % self.addrs.len();
    }

    pub fn send<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Sent<T> {
        if self.conn.is_none() {
            let url = format!("redis://{}/", self.addrs[self.at]);
            let limit = Some(self.limit);
            let conn = redis::Client::open(url)
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
                .and_then(|c| {
                    c.set_read_timeout(limit)?;
                    c.set_write_timeout(limit)?;
                    Ok(c)
                });
            match conn {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    self.next_node();
                    return Sent::Unsent(e);
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("connected above")
        };
        match cmd.query(conn) {
            Ok(v) => Sent::Answered(v),
            // An error reply (no leader yet, say): the connection is fine.
            Err(e) if e.kind() != redis::ErrorKind::Io && !e.is_timeout() => Sent::Failed(e),
            // Lost or late: a late answer would come to the next command.
            Err(e) => {
                self.next_node();
                Sent::Failed(e)
            }
        }
    }

    /// The answer, or the error (sent or not).
    pub fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self.send(cmd) {
            Sent::Answered(v) => Ok(v),
            Sent::Failed(e) | Sent::Unsent(e) => Err(e),
        }
    }
}

/// Polls `cond` until it holds or `limit` passes (then panics).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A raw connection that reads whole RESP replies back as wire text.
pub struct Raw {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout set");
        let reader = BufReader::new(stream.try_clone().expect("stream clones"));
        Raw { reader, stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk request.
    pub fn cmd(&mut self, args: &[&[u8]]) -> String {
        self.send(&encode(args));
        self.reply()
    }

    /// Shorthand for UTF-8 arguments separated by spaces.
    pub fn call(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.cmd(&args)
    }

    /// Reads one whole reply; returns its wire form with CRLF shown as `\r\n`.
    pub fn reply(&mut self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }

    /// Reads one whole reply as raw wire bytes (for binary payloads).
    pub fn reply_bytes(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("reply line");
        assert!(
            line.ends_with(b"\r\n"),
            "truncated reply: {:?}",
            String::from_utf8_lossy(&line)
        );
        out.extend_from_slice(&line);
        line
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let n: i64 = String::from_utf8_lossy(&line[1..line.len() - 2])
            .parse()
            .unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut body = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut body).expect("bulk body");
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' if n > 0 => (0..n).for_each(|_| self.read_value(out)),
            b'%' | b'|' if n > 0 => (0..2 * n).for_each(|_| self.read_value(out)),
            _ => {}
        }
    }

    /// True once the server has closed this connection (reads EOF).
    pub fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0))
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}
