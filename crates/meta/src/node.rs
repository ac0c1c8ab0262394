//! [`MetaNode`]: one member of the metadata group — the Raft node, its
//! stores under the node's directory and its cluster-bus listener.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use openraft::{BasicNode, Config, Raft};
use shoal_cluster::map::ShardMap;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::log_store::LogStore;
use crate::network::{serve, Network};
use crate::state_machine::StateMachine;
use crate::types::{Entry, LogId, NodeId, Request, Response, TypeConfig};
use crate::Error;

/// Raft timing: a heartbeat every 100 ms, an election after 300–600 ms
/// without one, so a dead leader is replaced well inside DESIGN.md's
/// "within seconds".
pub fn default_config() -> Config {
    Config {
        cluster_name: "shoal".into(),
        heartbeat_interval: 100,
        election_timeout_min: 300,
        election_timeout_max: 600,
        ..Config::default()
    }
}

pub struct MetaNode {
    pub id: NodeId,
    pub raft: Raft<TypeConfig>,
    log: LogStore,
    state: StateMachine,
    bus: JoinHandle<()>,
}

impl MetaNode {
    /// Starts node `id` with its log and snapshot in `dir`, answering
    /// peers on `bus`.
    pub async fn start(
        id: NodeId,
        dir: &Path,
        bus: TcpListener,
        config: Config,
    ) -> Result<MetaNode, Error> {
        MetaNode::start_with(id, dir, bus, config, Network::default()).await
    }

    /// [`MetaNode::start`] reaching peers through `network`.
    pub async fn start_with(
        id: NodeId,
        dir: &Path,
        bus: TcpListener,
        config: Config,
        network: Network,
    ) -> Result<MetaNode, Error> {
        let log = LogStore::open(dir)?;
        let state = StateMachine::open(dir)?;
        let config = Arc::new(config.validate().map_err(|e| Error::Raft(e.to_string()))?);
        let raft = Raft::new(id, config, network, log.clone(), state.clone())
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        let bus = tokio::spawn(serve(bus, raft.clone()));
        Ok(MetaNode {
            id,
            raft,
            log,
            state,
            bus,
        })
    }

    /// Makes the group's first membership (once, on one node).
    pub async fn bootstrap(&self, voters: BTreeMap<NodeId, BasicNode>) -> Result<(), Error> {
        self.raft
            .initialize(voters)
            .await
            .map_err(|e| Error::Raft(e.to_string()))
    }

    /// Writes `request` through the log (this node must be the leader) and
    /// returns what applying it answered.
    pub async fn write(&self, request: Request) -> Result<Response, Error> {
        self.write_at(request).await.map(|(_, r)| r)
    }

    /// [`MetaNode::write`], also saying where in the log it went.
    pub async fn write_at(&self, request: Request) -> Result<(LogId, Response), Error> {
        self.raft
            .client_write(request)
            .await
            .map(|r| (r.log_id, r.data))
            .map_err(|e| Error::Raft(e.to_string()))
    }

    /// The entries this node's log holds in `range` of indexes.
    pub async fn entries(&self, range: std::ops::Range<u64>) -> Result<Vec<Entry>, Error> {
        use openraft::RaftLogReader;
        let mut log = self.log.clone();
        log.try_get_log_entries(range)
            .await
            .map_err(|e| Error::Raft(e.to_string()))
    }

    /// The shard map as applied on this node.
    pub fn map(&self) -> ShardMap {
        self.state.map()
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Stops the node (its stores stay on disk).
    pub async fn shutdown(self) {
        self.bus.abort();
        let _ = self.raft.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use shoal_cluster::map::{Change, Node};

    use super::*;

    fn member(i: u64) -> Node {
        Node::loopback(i as u16)
    }

    /// Polls `done` until it holds or `limit` passes.
    async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done()
    }

    async fn start(id: u64, root: &Path) -> (MetaNode, BasicNode) {
        let bus = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = bus.local_addr().expect("addr").to_string();
        let node = MetaNode::start(id, &root.join(id.to_string()), bus, default_config())
            .await
            .expect("start");
        (node, BasicNode { addr })
    }

    /// Three nodes under a fresh `name` directory, bootstrapped, each
    /// knowing the leader.
    async fn group(name: &str) -> (PathBuf, Vec<MetaNode>, BTreeMap<NodeId, BasicNode>) {
        let root = std::env::temp_dir().join(format!("shoal-meta-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut nodes = Vec::new();
        let mut voters = BTreeMap::new();
        for id in 1..=3 {
            let (n, addr) = start(id, &root).await;
            voters.insert(id, addr);
            nodes.push(n);
        }
        nodes[0].bootstrap(voters.clone()).await.expect("bootstrap");
        let limit = Duration::from_secs(10);
        assert!(eventually(limit, || nodes.iter().all(|n| n.leader().is_some())).await);
        (root, nodes, voters)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_whole_group_restarted_from_disk_has_its_map_and_members_back() {
        let limit = Duration::from_secs(10);
        let (root, mut nodes, voters) = group("restart-all").await;
        let leader = nodes[0].leader().expect("leader");
        let at = nodes.iter().position(|n| n.id == leader).expect("member");
        for i in 1..=3 {
            nodes[at]
                .write(Request::Map(Change::Join(member(i))))
                .await
                .expect("write");
        }
        nodes[at]
            .write(Request::Map(Change::Fail { id: member(3).id }))
            .await
            .expect("write");
        assert!(eventually(limit, || nodes.iter().all(|n| n.map().epoch == 4)).await);
        let before = nodes[0].map();
        for n in nodes.drain(..) {
            n.shutdown().await;
        }
        // Every node again, from its directory, on its old bus address.
        for (id, addr) in &voters {
            let bus = TcpListener::bind(&addr.addr).await.expect("rebind");
            let n = MetaNode::start(*id, &root.join(id.to_string()), bus, default_config())
                .await
                .expect("restart");
            nodes.push(n);
        }
        assert!(eventually(limit, || nodes.iter().all(|n| n.leader().is_some())).await);
        assert!(eventually(limit, || nodes.iter().all(|n| n.map() == before)).await);
        let members = nodes[0].raft.metrics().borrow().membership_config.clone();
        let ids: Vec<u64> = members.voter_ids().collect();
        assert_eq!(ids, [1, 2, 3]);
        // And the group works: a write goes through whoever leads now.
        let mut written = None;
        let start = Instant::now();
        while written.is_none() && start.elapsed() < limit {
            for n in &nodes {
                if let Ok(r) = n
                    .write(Request::Map(Change::Recover { id: member(3).id }))
                    .await
                {
                    written = Some(r);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            written,
            Some(Response {
                epoch: 5,
                changed: true
            })
        );
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_one_node_group_writes_and_shrugs_off_garbage_on_its_bus() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let root: PathBuf =
            std::env::temp_dir().join(format!("shoal-meta-one-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (node, addr) = start(1, &root).await;
        node.bootstrap(BTreeMap::from([(1, addr.clone())]))
            .await
            .expect("bootstrap");
        assert!(eventually(Duration::from_secs(10), || node.leader() == Some(1)).await);
        // An oversized frame and a frame that is not an RPC: each closes
        // only its own connection.
        for garbage in [
            u32::MAX.to_le_bytes().to_vec(),
            b"\x03\x00\x00\x00abc".to_vec(),
        ] {
            let mut s = tokio::net::TcpStream::connect(&addr.addr)
                .await
                .expect("connect");
            s.write_all(&garbage).await.expect("send");
            let mut buf = [0u8; 16];
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("closed in time")
                .unwrap_or(0);
            assert_eq!(n, 0);
        }
        let r = node
            .write(Request::Map(Change::Join(member(1))))
            .await
            .expect("write");
        assert_eq!(
            r,
            Response {
                epoch: 1,
                changed: true
            }
        );
        assert_eq!(node.map().slots_of(&member(1).id), 16384);
        node.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_nodes_agree_on_the_map_and_survive_losing_the_leader() {
        let limit = Duration::from_secs(10);
        let (root, mut nodes, _) = group("group").await;
        let leader = nodes[0].leader().expect("leader");
        let at = nodes
            .iter()
            .position(|n| n.id == leader)
            .expect("leader is a member");
        for i in 1..=3 {
            let r = nodes[at]
                .write(Request::Map(Change::Join(member(i))))
                .await
                .expect("write");
            assert_eq!(
                r,
                Response {
                    epoch: i,
                    changed: true
                }
            );
        }
        // A follower refuses a write (forwarding is the server's job).
        let follower = (at + 1) % 3;
        assert!(nodes[follower]
            .write(Request::Map(Change::Leave { id: member(1).id }))
            .await
            .is_err());
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| n.map().epoch == 3 && n.map().covered()))
            .await
        );
        let map = nodes[0].map();
        assert!(nodes.iter().all(|n| n.map() == map));

        // The leader goes: the other two elect one and keep writing.
        let old = nodes.remove(at);
        old.shutdown().await;
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| n.leader().is_some_and(|l| l != leader)))
            .await
        );
        let leader = nodes[0].leader().expect("leader");
        let at = nodes
            .iter()
            .position(|n| n.id == leader)
            .expect("leader is a survivor");
        let r = nodes[at]
            .write(Request::Map(Change::Fail { id: member(2).id }))
            .await
            .expect("write after failover");
        assert_eq!(
            r,
            Response {
                epoch: 4,
                changed: true
            }
        );
        assert!(eventually(limit, || nodes.iter().all(|n| n.map().epoch == 4)).await);
        assert_eq!(nodes[0].map().slots_of(&member(2).id), 0);
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
