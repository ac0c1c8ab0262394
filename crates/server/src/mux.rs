//! [`Mux`]: one shared connection to each other node that carries every
//! client's forwarded requests (the common case: database 0, RESP2, not
//! blocking). Requests waiting from many clients go out in one write, and
//! replies come back in order on a reader task, so the owner sees a few
//! pipelined connections instead of one per client and both ends save a
//! system call per request. A client in another database or protocol, or
//! running a blocking command, forwards on its own link
//! ([`crate::route`]).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use shoal_proto::frame::reply_len;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, oneshot};

use crate::link::{encode_all, Link, MAX_REPLY};

/// Requests queued per owner before submitters wait.
const QUEUE: usize = 1024;
/// Most bytes written at once.
const WRITE_AT_ONCE: usize = 256 * 1024;
/// How long an owner may take to answer a request already sent.
const LIMIT: Duration = Duration::from_secs(10);

type Replies = std::io::Result<Vec<Bytes>>;

struct Job {
    wire: Vec<u8>,
    count: usize,
    done: oneshot::Sender<Replies>,
}

#[derive(Default)]
pub struct Mux {
    owners: Mutex<HashMap<String, mpsc::Sender<Job>>>,
}

fn broken(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

impl Mux {
    /// Queues `requests` for the node at `addr`; the receiver gets their
    /// replies, in order.
    pub async fn submit(
        &self,
        addr: &str,
        password: &str,
        requests: &[Vec<Bytes>],
    ) -> oneshot::Receiver<Replies> {
        let (done, answer) = oneshot::channel();
        let tx = {
            let mut owners = self.owners.lock();
            owners
                .entry(addr.to_string())
                .or_insert_with(|| spawn_owner(addr.to_string(), password.to_string()))
                .clone()
        };
        let job = Job {
            wire: encode_all(requests),
            count: requests.len(),
            done,
        };
        if let Err(mpsc::error::SendError(job)) = tx.send(job).await {
            let _ = job.done.send(Err(broken("the link task is gone")));
        }
        answer
    }
}

/// Waits for a submitted job's replies.
pub async fn wait(answer: oneshot::Receiver<Replies>) -> Replies {
    match tokio::time::timeout(LIMIT, answer).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(broken("the link closed")),
        Err(_) => Err(broken("the peer did not answer in time")),
    }
}

fn spawn_owner(addr: String, password: String) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(write_loop(addr, password, rx));
    tx
}

/// Connects (again) when there is work, writes queued jobs coalesced, and
/// hands each job's reply slot to the reader in write order.
async fn write_loop(addr: String, password: String, mut jobs: mpsc::Receiver<Job>) {
    let mut next = jobs.recv().await;
    while let Some(first) = next.take() {
        let link = match Link::forwarding(&addr, &password, LIMIT).await {
            Ok(l) => l,
            Err(e) => {
                let _ = first.done.send(Err(e));
                next = jobs.recv().await;
                continue;
            }
        };
        let (stream, buf) = link.into_parts();
        let (rd, mut wr) = stream.into_split();
        let (slots, pending) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(rd, buf, pending));
        let mut job = Some(first);
        loop {
            let Some(first) = job.take() else {
                match jobs.recv().await {
                    Some(j) => {
                        job = Some(j);
                        continue;
                    }
                    None => return,
                }
            };
            if reader.is_finished() {
                // The reader saw the link break: reconnect for this job.
                next = Some(first);
                break;
            }
            let mut wire = first.wire;
            let mut batch = vec![(first.count, first.done)];
            while wire.len() < WRITE_AT_ONCE {
                match jobs.try_recv() {
                    Ok(j) => {
                        wire.extend_from_slice(&j.wire);
                        batch.push((j.count, j.done));
                    }
                    Err(_) => break,
                }
            }
            // Reply slots go to the reader before the bytes go out.
            for slot in batch {
                let _ = slots.send(slot);
            }
            let written = tokio::time::timeout(LIMIT, wr.write_all(&wire)).await;
            if !matches!(written, Ok(Ok(()))) {
                // The reader fails what is pending once the link is gone.
                reader.abort();
                next = jobs.recv().await;
                break;
            }
        }
    }
}

/// Reads replies in order and answers each job; on any failure, fails it
/// and everything pending.
async fn read_loop(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    mut pending: mpsc::UnboundedReceiver<(usize, oneshot::Sender<Replies>)>,
) {
    loop {
        buf.reserve(64 * 1024);
        // While nothing is pending, a read that ends means the peer went
        // away: stop, so the writer connects again before the next job
        // rather than failing it.
        let (count, done) = tokio::select! {
            slot = pending.recv() => match slot {
                Some(slot) => slot,
                None => return,
            },
            read = rd.read_buf(&mut buf) => match read {
                Ok(n) if n > 0 => continue,
                _ => return,
            },
        };
        let mut replies = Vec::with_capacity(count);
        let mut failure = None;
        while replies.len() < count {
            match reply_len(&buf) {
                Ok(Some(n)) => {
                    replies.push(buf.split_to(n).freeze());
                    continue;
                }
                Ok(None) => {}
                Err(_) => {
                    failure = Some("the peer's reply is not RESP");
                    break;
                }
            }
            if buf.len() > MAX_REPLY {
                failure = Some("the peer's reply is too large");
                break;
            }
            buf.reserve(64 * 1024);
            match tokio::time::timeout(LIMIT, rd.read_buf(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => {
                    failure = Some("the link to the peer broke");
                    break;
                }
            }
        }
        match failure {
            None => {
                let _ = done.send(Ok(replies));
            }
            Some(why) => {
                let _ = done.send(Err(broken(why)));
                pending.close();
                while let Some((_, done)) = pending.recv().await {
                    let _ = done.send(Err(broken(why)));
                }
                return;
            }
        }
    }
}
