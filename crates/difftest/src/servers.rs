//! Starting and stopping the two servers under test.
//!
//! A server the harness starts is owned by a [`Spawned`] handle: it runs on a
//! free loopback port, in a scratch directory (so a stray RDB save lands
//! there), with its output in a log file, and it is killed when the handle is
//! dropped. Only processes started here are ever signalled.

use std::fs::{self, File};
use std::io::{self, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::resp::Conn;

/// How long a freshly started server gets to answer its first PING.
const STARTUP: Duration = Duration::from_secs(15);

/// A server process started by the harness; killed on drop.
pub struct Spawned {
    pub label: &'static str,
    pub addr: String,
    child: Child,
    log: PathBuf,
}

impl Spawned {
    /// Starts `bin --port P --bind 127.0.0.1 <extra…>` and waits until it
    /// answers PING. Retries on a fresh port if the first one was taken in
    /// the meantime.
    pub fn start(
        label: &'static str,
        bin: &str,
        extra: &[String],
        dir: &Path,
    ) -> Result<Spawned, String> {
        // The server runs in `dir`, so a relative path must be resolved here
        // first; a bare name is still looked up in PATH.
        let bin = if bin.contains('/') {
            fs::canonicalize(bin)
                .map_err(|e| format!("{label}: {bin}: {e}"))?
                .to_string_lossy()
                .into_owned()
        } else {
            bin.to_string()
        };
        let bin = bin.as_str();
        let mut last = String::new();
        for attempt in 0..3 {
            let port = free_port().map_err(|e| format!("{label}: no free port: {e}"))?;
            let log = dir.join(format!("{label}-{attempt}.log"));
            let out = File::create(&log).map_err(|e| format!("{label}: {}: {e}", log.display()))?;
            let err = out
                .try_clone()
                .map_err(|e| format!("{label}: log file: {e}"))?;
            let child = Command::new(bin)
                .arg("--port")
                .arg(port.to_string())
                .arg("--bind")
                .arg("127.0.0.1")
                .args(extra)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("{label}: cannot start {bin}: {e}"))?;
            let mut server = Spawned {
                label,
                addr: format!("127.0.0.1:{port}"),
                child,
                log,
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => last = e, // dropping `server` kills it
            }
        }
        Err(last)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited during startup ({status}); log:\n{}",
                    self.label,
                    self.log_tail()
                ));
            }
            if let Ok(mut conn) = Conn::connect(&self.addr, Duration::from_secs(2)) {
                if conn.call(&[b"PING"]).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer PING on {} within {:?}; log:\n{}",
                    self.label,
                    self.addr,
                    STARTUP,
                    self.log_tail()
                ));
            }
            // Polling with a deadline: there is no readiness signal to wait on.
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown status: {e}")),
        }
    }

    /// The last lines of the server's output, for error messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let mut bytes = Vec::new();
            if f.read_to_end(&mut bytes).is_ok() {
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Kill by handle: only the process this harness started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks the kernel for a free loopback port. Another process could take it
/// before the server binds; `Spawned::start` retries for that case.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A scratch directory removed on drop (after the servers in it are gone).
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn create() -> io::Result<Scratch> {
        let path = std::env::temp_dir().join(format!("shoal-difftest-{}", std::process::id()));
        fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
