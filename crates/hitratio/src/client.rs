//! A minimal pipelining RESP2 client: enough for GET, SET, CONFIG, INFO,
//! FLUSHALL.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Ok(Vec<u8>),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
}

pub struct Client {
    rd: BufReader<TcpStream>,
    wr: BufWriter<TcpStream>,
}

impl Client {
    pub fn connect(addr: &str) -> std::io::Result<Client> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            rd: BufReader::with_capacity(1 << 16, s.try_clone()?),
            wr: BufWriter::with_capacity(1 << 16, s),
        })
    }

    /// Queues one command (sent at the next [`Client::flush`]).
    pub fn send(&mut self, args: &[&[u8]]) -> std::io::Result<()> {
        write!(self.wr, "*{}\r\n", args.len())?;
        for a in args {
            write!(self.wr, "${}\r\n", a.len())?;
            self.wr.write_all(a)?;
            self.wr.write_all(b"\r\n")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.wr.flush()
    }

    pub fn read(&mut self) -> std::io::Result<Reply> {
        let mut line = Vec::new();
        self.rd.read_until(b'\n', &mut line)?;
        if line.len() < 3 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        Ok(match line[0] {
            b'+' => Reply::Ok(body.into_bytes()),
            b'-' => Reply::Error(body),
            b':' => Reply::Int(body.parse().map_err(|_| bad())?),
            b'$' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut buf = vec![0; n as usize + 2];
                    self.rd.read_exact(&mut buf)?;
                    buf.truncate(n as usize);
                    Reply::Bulk(Some(buf))
                }
            }
            _ => return Err(bad()),
        })
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args)?;
        self.flush()?;
        self.read()
    }

    /// A numeric field of `INFO`.
    pub fn info(&mut self, field: &str) -> std::io::Result<u64> {
        let Reply::Bulk(Some(text)) = self.call(&["INFO", "everything"])? else {
            return Err(std::io::Error::other("INFO failed"));
        };
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("INFO has no {field}")))
    }
}
