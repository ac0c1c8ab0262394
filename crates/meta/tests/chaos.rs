//! Seeded fault runs of a five-node metadata group on loopback: random
//! partitions, heals, crashes and restarts from disk, and writes through
//! whoever leads. Asserted over every run:
//!
//! - at most one leader per term (from every node's metrics, sampled
//!   through the run);
//! - no acknowledged write is lost or changed: after healing, every node's
//!   log holds each acknowledged entry at its index, and all logs agree;
//! - every node converges to the same shard map, with every slot owned.
//!
//! Real sockets and clocks, so a seed fixes the schedule of faults, not
//! the interleaving; `sim.rs` is the deterministic simulation (virtual
//! time, in-memory network), this is the same checks over the real bus.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{BasicNode, ServerState};
use shoal_cluster::map::{Change, Node};
use shoal_meta::network::{Faults, Network};
use shoal_meta::node::{default_config, MetaNode};
use shoal_meta::types::{LogId, NodeId, Request};
use shoal_store::Rng;

mod common;
use tokio::net::TcpListener;

const NODES: u64 = 5;
const STEPS: usize = 24;

/// The fault schedule comes from the seed.
struct Schedule(Rng);

impl Schedule {
    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n as usize) as u64
    }
}

async fn start(id: NodeId, root: &Path, addr: &str, faults: &Arc<Faults>) -> MetaNode {
    // The port was free when chosen; another socket (an outgoing
    // connection's local port, another test) may hold it for a while.
    let mut bus = TcpListener::bind(addr).await;
    for _ in 0..50 {
        if bus.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        bus = TcpListener::bind(addr).await;
    }
    let bus = bus.expect("bind bus");
    MetaNode::start_with(
        id,
        &root.join(id.to_string()),
        bus,
        default_config(),
        Network::with_faults(id, faults.clone()),
    )
    .await
    .expect("start node")
}

/// Term → leaders seen in it.
fn observe(nodes: &BTreeMap<NodeId, MetaNode>, leaders: &mut HashMap<u64, HashSet<NodeId>>) {
    for n in nodes.values() {
        let m = n.raft.metrics().borrow().clone();
        if m.state == ServerState::Leader {
            leaders.entry(m.current_term).or_default().insert(n.id);
        }
    }
}

async fn run(seed: u64) {
    let root: PathBuf =
        std::env::temp_dir().join(format!("shoal-meta-chaos-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let faults = Arc::new(Faults::default());
    let mut rng = Schedule(Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    // Ports first, so a restarted node comes back at its address.
    let mut addrs = BTreeMap::new();
    for id in 1..=NODES {
        let probe = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        addrs.insert(id, probe.local_addr().expect("addr").to_string());
    }
    let mut nodes = BTreeMap::new();
    for (&id, addr) in &addrs {
        nodes.insert(id, start(id, &root, addr, &faults).await);
    }
    let voters: BTreeMap<NodeId, BasicNode> = addrs
        .iter()
        .map(|(&id, a)| (id, BasicNode { addr: a.clone() }))
        .collect();
    nodes[&1].bootstrap(voters).await.expect("bootstrap");

    let mut leaders: HashMap<u64, HashSet<NodeId>> = HashMap::new();
    let mut acked: Vec<(LogId, Request)> = Vec::new();
    let mut down: Vec<NodeId> = Vec::new();
    for _ in 0..STEPS {
        match rng.below(6) {
            0 => {
                // Split into two sides at random.
                faults.heal();
                let side: Vec<NodeId> = (1..=NODES).filter(|_| rng.below(2) == 0).collect();
                for &a in &side {
                    for b in (1..=NODES).filter(|b| !side.contains(b)) {
                        faults.cut(a, b);
                    }
                }
            }
            1 => faults.heal(),
            2 if down.len() < 2 => {
                let id = 1 + rng.below(NODES);
                if let Some(n) = nodes.remove(&id) {
                    n.shutdown().await;
                    down.push(id);
                }
            }
            3 if !down.is_empty() => {
                let id = down.remove(0);
                nodes.insert(id, start(id, &root, &addrs[&id], &faults).await);
            }
            _ => {
                let request = common::random_request(&mut rng.0);
                for node in nodes.values() {
                    let attempt = tokio::time::timeout(
                        Duration::from_millis(800),
                        node.write_at(request.clone()),
                    );
                    if let Ok(Ok((log_id, _))) = attempt.await {
                        acked.push((log_id, request.clone()));
                        break;
                    }
                }
            }
        }
        for _ in 0..(2 + rng.below(8)) {
            observe(&nodes, &mut leaders);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    // Heal everything, bring everyone back, and let the group settle.
    faults.heal();
    for id in down.drain(..) {
        nodes.insert(id, start(id, &root, &addrs[&id], &faults).await);
    }
    // One more write after healing commits everything before it everywhere.
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        observe(&nodes, &mut leaders);
        let mut done = None;
        for node in nodes.values() {
            let request = Request::Map(Change::Join(Node::loopback(100)));
            let attempt = tokio::time::timeout(Duration::from_millis(800), node.write_at(request));
            if let Ok(Ok((log_id, _))) = attempt.await {
                done = Some(log_id);
                break;
            }
        }
        if let Some(l) = done {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: no leader after healing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let settled = loop {
        let applied: Vec<Option<u64>> = nodes
            .values()
            .map(|n| n.raft.metrics().borrow().last_applied.map(|l| l.index))
            .collect();
        // A leader elected after the write adds its own blank entry.
        if applied.iter().all(|&a| a >= Some(last.index)) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let applied: Vec<(NodeId, Option<LogId>)> = nodes
        .values()
        .map(|n| (n.id, n.raft.metrics().borrow().last_applied))
        .collect();
    assert!(
        settled,
        "seed {seed}: not all applied up to {last}: {applied:?}"
    );

    let reference = nodes[&1]
        .entries(0..last.index + 1)
        .await
        .expect("read log");
    for n in nodes.values() {
        let log = n.entries(0..last.index + 1).await.expect("read log");
        assert_eq!(log, reference, "seed {seed}: node {} log differs", n.id);
        assert_eq!(
            n.map(),
            nodes[&1].map(),
            "seed {seed}: node {} map differs",
            n.id
        );
    }
    common::check_history(seed, &leaders, &acked, &reference);
    assert!(nodes[&1].map().covered(), "seed {seed}");
    for (_, n) in nodes {
        n.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_crashes_and_restarts_lose_no_acknowledged_write() {
    let seeds: u64 = std::env::var("SHOAL_CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for seed in 1..=seeds {
        run(seed).await;
    }
}
