//! The cluster bus: openraft's RPCs between nodes over TCP.
//!
//! Each message is one frame, `len: u32` (little endian) then that many
//! bytes of JSON. A peer's frame over [`MAX_FRAME`] or that does not parse
//! closes its connection: bad peer input costs one connection, never the
//! node. The sending side keeps one connection per peer, makes it again
//! on the next RPC after any failure (openraft retries with its own
//! backoff), and bounds every RPC by openraft's per-RPC timeout.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::node::Group;
use crate::types::{NodeId, Proposal, Response, TypeConfig};

/// Largest frame accepted (a snapshot of the shard map and locks is far
/// smaller).
pub const MAX_FRAME: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
enum Rpc {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
    /// A change for the leader, forwarded by another member.
    Propose(Proposal),
    /// Member `0` (its cluster node id) is alive.
    Beat(String),
    /// The cluster secret: the first frame on a connection when the
    /// cluster has one (`cluster-secret`); not answered.
    Hello(String),
    /// How far this member has applied the log (asked of the leader by a
    /// restarted member, to catch up before it serves).
    Applied,
}

type SnapshotResult =
    Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>;

#[derive(Serialize, Deserialize)]
enum Reply {
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(SnapshotResult),
    Propose(Result<Response, String>),
    Beat,
    Applied(u64),
}

async fn write_frame(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(body);
    stream.write_all(&frame).await
}

async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

/// Answers peers' RPCs on `listener` for `group` until the task is
/// dropped; dropping it also closes every connection it accepted, as a
/// process exit would (a peer must not go on talking to a stopped node).
pub(crate) async fn serve(listener: TcpListener, group: Arc<Group>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(answer(stream, group.clone()));
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

async fn answer(mut stream: TcpStream, group: Arc<Group>) {
    let raft = &group.raft;
    // With a cluster secret, a peer must prove it before anything else.
    let mut proven = group.secret.is_none();
    while let Ok(body) = read_frame(&mut stream).await {
        let Ok(rpc) = serde_json::from_slice::<Rpc>(&body) else {
            return;
        };
        if let Rpc::Hello(secret) = &rpc {
            match &group.secret {
                Some(want) if !same_secret(secret, want) => return,
                _ => proven = true,
            }
            continue;
        }
        if !proven {
            return;
        }
        let reply = match rpc {
            Rpc::Append(r) => Reply::Append(raft.append_entries(r).await),
            Rpc::Vote(r) => Reply::Vote(raft.vote(r).await),
            Rpc::Snapshot(r) => Reply::Snapshot(raft.install_snapshot(r).await),
            Rpc::Propose(p) => Reply::Propose(group.execute(p).await),
            Rpc::Beat(id) => {
                group.heard(id);
                Reply::Beat
            }
            Rpc::Hello(_) => continue,
            Rpc::Applied => {
                Reply::Applied(raft.metrics().borrow().last_applied.map_or(0, |l| l.index))
            }
        };
        let Ok(bytes) = serde_json::to_vec(&reply) else {
            return;
        };
        if write_frame(&mut stream, &bytes).await.is_err() {
            return;
        }
    }
}

/// Connects to a member's bus and, when the cluster has a secret, proves
/// it first.
async fn dial(addr: &str, secret: Option<&str>) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    let _ = s.set_nodelay(true);
    if let Some(secret) = secret {
        let hello = serde_json::to_vec(&Rpc::Hello(secret.to_string()))?;
        write_frame(&mut s, &hello).await?;
    }
    Ok(s)
}

/// One exchange on a connection of its own.
async fn once(addr: &str, rpc: &Rpc, ttl: Duration, secret: Option<&str>) -> Result<Reply, String> {
    let body = serde_json::to_vec(rpc).map_err(|e| e.to_string())?;
    let exchange = async {
        let mut s = dial(addr, secret).await?;
        write_frame(&mut s, &body).await?;
        read_frame(&mut s).await
    };
    let reply = tokio::time::timeout(ttl, exchange)
        .await
        .map_err(|_| format!("no answer from {addr} in {ttl:?}"))?
        .map_err(|e| format!("{addr}: {e}"))?;
    serde_json::from_slice(&reply).map_err(|e| e.to_string())
}

/// Most idle connections a [`Pool`] keeps.
const MAX_IDLE: usize = 64;

/// Kept bus connections for proposals (lock commands come at the rate
/// clients send them): a proposal takes an idle connection to the leader,
/// or dials one, and gives it back after the answer.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<(String, TcpStream)>>,
}

/// Why an exchange failed: on a kept connection, an I/O error most
/// likely means the peer closed it while idle (so try a new one), while a
/// timeout means the peer is slow or gone.
enum Failed {
    Io(String),
    Timeout(String),
}

impl Pool {
    /// Sends proposal `p` to the member whose bus is `addr` (the leader)
    /// and returns what it answered.
    pub(crate) async fn propose(
        &self,
        addr: &str,
        p: &Proposal,
        ttl: Duration,
        secret: Option<&str>,
    ) -> Result<Response, String> {
        let body = serde_json::to_vec(&Rpc::Propose(p.clone())).map_err(|e| e.to_string())?;
        let kept = {
            let mut idle = self.idle.lock();
            let at = idle.iter().rposition(|(a, _)| a == addr);
            at.map(|i| idle.swap_remove(i).1)
        };
        let answered = match kept {
            Some(s) => match exchange(s, addr, &body, ttl).await {
                // A proposal sent twice is answered once (locks carry
                // tickets; the rest are idempotent).
                Err(Failed::Io(_)) => self.fresh(addr, &body, ttl, secret).await,
                other => other,
            },
            None => self.fresh(addr, &body, ttl, secret).await,
        };
        let (stream, reply) = answered.map_err(|(Failed::Io(e) | Failed::Timeout(e))| e)?;
        {
            let mut idle = self.idle.lock();
            if idle.len() >= MAX_IDLE {
                idle.remove(0);
            }
            idle.push((addr.to_string(), stream));
        }
        match serde_json::from_slice(&reply).map_err(|e| e.to_string())? {
            Reply::Propose(r) => r,
            _ => Err("reply does not match the request".into()),
        }
    }

    async fn fresh(
        &self,
        addr: &str,
        body: &[u8],
        ttl: Duration,
        secret: Option<&str>,
    ) -> Result<(TcpStream, Vec<u8>), Failed> {
        let s = tokio::time::timeout(ttl, dial(addr, secret))
            .await
            .map_err(|_| Failed::Timeout(format!("no answer from {addr} in {ttl:?}")))?
            .map_err(|e| Failed::Io(format!("{addr}: {e}")))?;
        exchange(s, addr, body, ttl).await
    }
}

/// Sends `body` on `s` and reads the answer; the connection comes back
/// for reuse.
async fn exchange(
    mut s: TcpStream,
    addr: &str,
    body: &[u8],
    ttl: Duration,
) -> Result<(TcpStream, Vec<u8>), Failed> {
    let reply = tokio::time::timeout(ttl, async {
        write_frame(&mut s, body).await?;
        read_frame(&mut s).await
    })
    .await
    .map_err(|_| Failed::Timeout(format!("no answer from {addr} in {ttl:?}")))?
    .map_err(|e| Failed::Io(format!("{addr}: {e}")))?;
    Ok((s, reply))
}

/// How far the member whose bus is `addr` has applied the log.
pub(crate) async fn applied(
    addr: &str,
    ttl: Duration,
    secret: Option<&str>,
) -> Result<u64, String> {
    match once(addr, &Rpc::Applied, ttl, secret).await? {
        Reply::Applied(n) => Ok(n),
        _ => Err("reply does not match the request".into()),
    }
}

/// A member's heartbeats to the leader, on one kept connection.
#[derive(Default)]
pub(crate) struct Beats {
    to: Option<(String, TcpStream)>,
}

impl Beats {
    /// Tells the leader at `addr` that member `me` is alive.
    pub(crate) async fn send(
        &mut self,
        addr: &str,
        me: &str,
        ttl: Duration,
        secret: Option<&str>,
    ) -> bool {
        if self.to.as_ref().is_some_and(|(a, _)| a != addr) {
            self.to = None;
        }
        let Ok(body) = serde_json::to_vec(&Rpc::Beat(me.to_string())) else {
            return false;
        };
        let to = &mut self.to;
        let ok = tokio::time::timeout(ttl, async {
            if to.is_none() {
                let s = dial(addr, secret).await.ok()?;
                *to = Some((addr.to_string(), s));
            }
            let (_, s) = to.as_mut()?;
            write_frame(s, &body).await.ok()?;
            let reply = read_frame(s).await.ok()?;
            matches!(serde_json::from_slice(&reply), Ok(Reply::Beat)).then_some(())
        })
        .await
        .ok()
        .flatten()
        .is_some();
        if !ok {
            self.to = None;
        }
        ok
    }
}

/// Links cut on purpose, for fault tests: a cut pair cannot reach each
/// other in either direction.
#[derive(Default)]
pub struct Faults {
    cut: Mutex<HashSet<(NodeId, NodeId)>>,
}

impl Faults {
    pub fn cut(&self, a: NodeId, b: NodeId) {
        let mut cut = self.cut.lock();
        cut.insert((a, b));
        cut.insert((b, a));
    }

    pub fn heal(&self) {
        self.cut.lock().clear();
    }

    fn blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.lock().contains(&(from, to))
    }
}

/// Makes a [`Peer`] per target node for node `from`.
#[derive(Clone, Default)]
pub struct Network {
    from: NodeId,
    faults: Option<Arc<Faults>>,
    secret: Option<Arc<str>>,
}

impl Network {
    /// Peers must prove `secret` (`cluster-secret`), and this node proves
    /// it to them; None: no secret.
    pub fn with_secret(mut self, secret: Option<String>) -> Network {
        self.secret = secret.filter(|s| !s.is_empty()).map(Arc::from);
        self
    }

    pub(crate) fn secret(&self) -> Option<Arc<str>> {
        self.secret.clone()
    }

    /// Node `from`'s network, whose links `faults` can cut.
    pub fn with_faults(from: NodeId, faults: Arc<Faults>) -> Network {
        Network {
            from,
            faults: Some(faults),
            secret: None,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            from: self.from,
            faults: self.faults.clone(),
            secret: self.secret.clone(),
            target,
            addr: node.addr.clone(),
            stream: None,
        }
    }
}

/// One peer's connection, made on demand.
pub struct Peer {
    from: NodeId,
    faults: Option<Arc<Faults>>,
    secret: Option<Arc<str>>,
    target: NodeId,
    addr: String,
    stream: Option<TcpStream>,
}

/// How an exchange failed: the peer could not be reached, or the
/// connection broke (or timed out) during the exchange.
enum Failure {
    Unreachable(std::io::Error),
    Network(std::io::Error),
}

impl Peer {
    async fn exchange(&mut self, rpc: &Rpc, ttl: Duration) -> Result<Reply, Failure> {
        if self
            .faults
            .as_ref()
            .is_some_and(|f| f.blocked(self.from, self.target))
        {
            self.stream = None;
            return Err(Failure::Unreachable(std::io::Error::other("link cut")));
        }
        let body = serde_json::to_vec(rpc).map_err(|e| Failure::Network(e.into()))?;
        let result = tokio::time::timeout(ttl, async {
            if self.stream.is_none() {
                let s = dial(&self.addr, self.secret.as_deref())
                    .await
                    .map_err(Failure::Unreachable)?;
                self.stream = Some(s);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(Failure::Unreachable(std::io::Error::other("no connection")));
            };
            write_frame(stream, &body).await.map_err(Failure::Network)?;
            let reply = read_frame(stream).await.map_err(Failure::Network)?;
            serde_json::from_slice::<Reply>(&reply).map_err(|e| Failure::Network(e.into()))
        })
        .await;
        let outcome = match result {
            Ok(r) => r,
            Err(_) => Err(Failure::Network(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "RPC timed out",
            ))),
        };
        if outcome.is_err() {
            // The stream may hold half a frame: start clean next time.
            self.stream = None;
        }
        outcome
    }

    /// One RPC: `pick` takes the answer out of the reply of the
    /// matching kind; the peer's own error comes back as a remote error.
    // The error type is openraft's, as RaftNetwork's methods return it.
    #[allow(clippy::result_large_err)]
    async fn call<T, E: std::error::Error>(
        &mut self,
        rpc: Rpc,
        option: RPCOption,
        pick: fn(Reply) -> Option<Result<T, E>>,
    ) -> Result<T, RPCError<NodeId, BasicNode, E>> {
        let failure = match self.exchange(&rpc, option.hard_ttl()).await {
            Ok(reply) => match pick(reply) {
                Some(answer) => {
                    return answer
                        .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
                }
                None => Failure::Network(std::io::Error::other("reply does not match the request")),
            },
            Err(f) => f,
        };
        Err(match failure {
            Failure::Unreachable(e) => RPCError::Unreachable(Unreachable::new(&e)),
            Failure::Network(e) => RPCError::Network(NetworkError::new(&e)),
        })
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(Rpc::Append(rpc), option, |r| match r {
            Reply::Append(r) => Some(r),
            _ => None,
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(Rpc::Vote(rpc), option, |r| match r {
            Reply::Vote(r) => Some(r),
            _ => None,
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Rpc::Snapshot(rpc), option, |r| match r {
            Reply::Snapshot(r) => Some(r),
            _ => None,
        })
        .await
    }
}
