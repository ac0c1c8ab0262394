//! [`Link`]: a RESP connection from this node to another node's client
//! port, to forward a command and relay its reply byte for byte.
//!
//! A link says `CLUSTER PROXYLINK` first, so the far node never forwards
//! what arrives on it again (two nodes with different maps cannot bounce
//! a request between them: the far one answers `-MOVED`).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use shoal_proto::frame::reply_len;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest reply relayed (Redis's largest string plus framing).
pub const MAX_REPLY: usize = 1 << 30;

/// How long a write may wait when a call has no time limit.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

pub struct Link {
    stream: TcpStream,
    buf: BytesMut,
    /// The database and protocol the far end is set to.
    pub db: usize,
    pub resp3: bool,
}

fn broken(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

/// Requests as RESP arrays of bulk strings, one after another.
pub fn encode_all(requests: &[Vec<Bytes>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for r in requests {
        let args: Vec<&[u8]> = r.iter().map(|a| &a[..]).collect();
        encode(&args, &mut wire);
    }
    wire
}

/// A request as a RESP array of bulk strings.
fn encode(argv: &[&[u8]], out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut header = |out: &mut Vec<u8>, sigil: u8, n: usize| {
        out.push(sigil);
        out.extend_from_slice(shoal_proto::reply::format_i64(&mut digits, n as i64));
        out.extend_from_slice(b"\r\n");
    };
    header(out, b'*', argv.len());
    for a in argv {
        header(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Link {
    /// Connects to `addr` within `limit`, as a plain client would.
    pub async fn connect(addr: &str, limit: Duration) -> std::io::Result<Link> {
        let stream = tokio::time::timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| broken("connect timed out"))??;
        let _ = stream.set_nodelay(true);
        Ok(Link {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            db: 0,
            resp3: false,
        })
    }

    /// A link for forwarding: `CLUSTER PROXYLINK`, and `AUTH` when the
    /// cluster has a password (every node shares the node's own).
    pub async fn forwarding(addr: &str, password: &str, limit: Duration) -> std::io::Result<Link> {
        let mut link = Link::connect(addr, limit).await?;
        if !password.is_empty() {
            link.expect_ok(&[b"AUTH", password.as_bytes()], limit)
                .await?;
        }
        link.expect_ok(&[b"CLUSTER", b"PROXYLINK"], limit).await?;
        Ok(link)
    }

    async fn expect_ok(&mut self, argv: &[&[u8]], limit: Duration) -> std::io::Result<()> {
        let reply = self.call(argv, Some(limit)).await?;
        if reply.starts_with(b"+OK") {
            Ok(())
        } else {
            Err(broken(&String::from_utf8_lossy(&reply)))
        }
    }

    /// Puts the far end in database `db` and protocol `resp3`, if it is not.
    pub async fn align(&mut self, db: usize, resp3: bool, limit: Duration) -> std::io::Result<()> {
        if self.db != db {
            let db_text = db.to_string();
            self.expect_ok(&[b"SELECT", db_text.as_bytes()], limit)
                .await?;
            self.db = db;
        }
        if self.resp3 != resp3 {
            let version: &[u8] = if resp3 { b"3" } else { b"2" };
            let reply = self.call(&[b"HELLO", version], Some(limit)).await?;
            if reply.starts_with(b"-") {
                return Err(broken(&String::from_utf8_lossy(&reply)));
            }
            self.resp3 = resp3;
        }
        Ok(())
    }

    /// Sends one request and returns its whole reply as wire bytes; waits
    /// at most `limit` (None: as long as it takes, for blocking commands).
    pub async fn call(
        &mut self,
        argv: &[&[u8]],
        limit: Option<Duration>,
    ) -> std::io::Result<Bytes> {
        let request: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut replies = self.call_many(&[request], limit).await?;
        replies.pop().ok_or_else(|| broken("no reply"))
    }

    /// Sends `requests` as one pipeline and returns their replies in order.
    pub async fn call_many(
        &mut self,
        requests: &[Vec<Bytes>],
        limit: Option<Duration>,
    ) -> std::io::Result<Vec<Bytes>> {
        self.send(requests, limit.unwrap_or(FOREVER)).await?;
        self.receive(requests.len(), limit).await
    }

    /// The connection and what was read past the last reply.
    pub fn into_parts(self) -> (TcpStream, BytesMut) {
        (self.stream, self.buf)
    }

    /// Writes `requests` as one pipeline, within `limit`.
    pub async fn send(&mut self, requests: &[Vec<Bytes>], limit: Duration) -> std::io::Result<()> {
        let wire = encode_all(requests);
        tokio::time::timeout(limit, self.stream.write_all(&wire))
            .await
            .map_err(|_| broken("the peer did not take the request in time"))?
    }

    /// Reads `count` whole replies, within `limit` (None: unbounded).
    pub async fn receive(
        &mut self,
        count: usize,
        limit: Option<Duration>,
    ) -> std::io::Result<Vec<Bytes>> {
        let read = async {
            let mut replies = Vec::with_capacity(count);
            while replies.len() < count {
                match reply_len(&self.buf) {
                    Ok(Some(n)) => {
                        replies.push(self.buf.split_to(n).freeze());
                        continue;
                    }
                    Ok(None) => {}
                    Err(_) => return Err(broken("the peer's reply is not RESP")),
                }
                if self.buf.len() > MAX_REPLY {
                    return Err(broken("the peer's reply is too large"));
                }
                self.buf.reserve(16 * 1024);
                if self.stream.read_buf(&mut self.buf).await? == 0 {
                    return Err(broken("the peer closed the connection"));
                }
            }
            Ok(replies)
        };
        match limit {
            Some(l) => tokio::time::timeout(l, read)
                .await
                .map_err(|_| broken("the peer did not answer in time"))?,
            None => read.await,
        }
    }
}
