//! A deterministic simulation of the metadata group: five openraft nodes
//! over shoal's log store and state machine (real files), one thread,
//! virtual time (tokio's paused clock), and an in-memory network whose
//! every delay, lost message, partition, crash and restart comes from a
//! seeded generator. A seed replays the same run, so a failing seed is a
//! reproducible bug report. Asserted for every seed:
//!
//! - at most one leader per term (sampled all through the run);
//! - no acknowledged write is lost or changed: after healing, every log
//!   holds each acknowledged entry at its index, and all logs agree;
//! - every node converges to the same shard map, every slot with exactly
//!   one owner.
//!
//! A second run per seed puts lock clients on every node (through the
//! same leader-side code the real nodes use, shoal_meta::lease) while the
//! leader is cut off from the majority, alone or with one follower, and
//! nodes crash and restart; their history must be linearizable for a
//! leased lock (shoal_meta::history).
//!
//! `SHOAL_SIM_SEEDS` sets how many seeds run (default 20; `.ci/run` runs
//! more).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::RaftLogReader;
use openraft::{BasicNode, Raft, ServerState};
use parking_lot::Mutex;
use shoal_cluster::map::{Change, Node};
use shoal_meta::history::{Answer, Call, History};
use shoal_meta::lease::LockLeader;
use shoal_meta::locks::{Condition, Expiry, Op, Outcome, Read, Ticket};
use shoal_meta::log_store::LogStore;
use shoal_meta::node::default_config;
use shoal_meta::state_machine::StateMachine;
use shoal_meta::types::{Entry, LogId, NodeId, Request, TypeConfig};
use shoal_store::Rng;

mod common;

const NODES: u64 = 5;
const STEPS: usize = 40;

/// Who can reach whom, who is up, and the dice for delays and losses.
struct Router {
    up: Mutex<BTreeMap<NodeId, Raft<TypeConfig>>>,
    cut: Mutex<HashSet<(NodeId, NodeId)>>,
    rng: Mutex<Rng>,
}

impl Router {
    /// A message's fate: its delay in ms, or None if it is lost.
    fn fate(&self) -> Option<u64> {
        let mut rng = self.rng.lock();
        if rng.below(100) < 3 {
            return None;
        }
        Some(1 + rng.below(30) as u64)
    }

    fn reachable(&self, from: NodeId, to: NodeId) -> Option<Raft<TypeConfig>> {
        if self.cut.lock().contains(&(from, to)) {
            return None;
        }
        self.up.lock().get(&to).cloned()
    }

    fn split(&self, side: &[NodeId]) {
        let mut cut = self.cut.lock();
        cut.clear();
        for &a in side {
            for b in (1..=NODES).filter(|b| !side.contains(b)) {
                cut.insert((a, b));
                cut.insert((b, a));
            }
        }
    }

    /// Delivers one RPC: there after a delay, answered, back after another
    /// delay; lost (as unreachable) if a link is cut or the dice say so on
    /// either leg.
    async fn deliver<T, E, F, Fut>(
        &self,
        from: NodeId,
        to: NodeId,
        call: F,
    ) -> Result<T, RPCError<NodeId, BasicNode, E>>
    where
        E: std::error::Error,
        F: FnOnce(Raft<TypeConfig>) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let lost = || RPCError::Unreachable(Unreachable::new(&std::io::Error::other("lost")));
        let there = self.fate().ok_or_else(lost)?;
        tokio::time::sleep(Duration::from_millis(there)).await;
        let raft = self.reachable(from, to).ok_or_else(lost)?;
        let answer = call(raft).await;
        let back = self.fate().ok_or_else(lost)?;
        tokio::time::sleep(Duration::from_millis(back)).await;
        self.reachable(to, from).ok_or_else(lost)?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(to, e)))
    }
}

#[derive(Clone)]
struct Net {
    from: NodeId,
    router: Arc<Router>,
}

struct Peer {
    from: NodeId,
    to: NodeId,
    router: Arc<Router>,
}

impl RaftNetworkFactory<TypeConfig> for Net {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Peer {
        Peer {
            from: self.from,
            to: target,
            router: self.router.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.router
            .deliver(self.from, self.to, |r| async move {
                r.append_entries(rpc).await
            })
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.router
            .deliver(self.from, self.to, |r| async move { r.vote(rpc).await })
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.router
            .deliver(self.from, self.to, |r| async move {
                r.install_snapshot(rpc).await
            })
            .await
    }
}

/// A running node and the stores to inspect it by.
struct Sim {
    raft: Raft<TypeConfig>,
    log: LogStore,
    state: StateMachine,
}

async fn start(id: NodeId, root: &Path, router: &Arc<Router>) -> Sim {
    let dir = root.join(id.to_string());
    // Syncs inline: a sync thread's work would let the paused clock jump.
    let log = LogStore::open_inline(&dir).expect("log store");
    let state = StateMachine::open(&dir).expect("state machine");
    // openraft draws election timeouts from its own random source; a
    // one-millisecond range per node, staggered by id, takes that out of
    // the run (the seeded network decides the rest).
    let base = 300 + 47 * id;
    let config = openraft::Config {
        election_timeout_min: base,
        election_timeout_max: base + 1,
        ..default_config()
    };
    let config = Arc::new(config.validate().expect("config"));
    let net = Net {
        from: id,
        router: router.clone(),
    };
    let raft = Raft::new(id, config, net, log.clone(), state.clone())
        .await
        .expect("raft");
    router.up.lock().insert(id, raft.clone());
    Sim { raft, log, state }
}

async fn stop_node(id: NodeId, sim: Sim, router: &Router) {
    router.up.lock().remove(&id);
    let _ = sim.raft.shutdown().await;
}

/// Term → leaders seen in it.
fn observe(nodes: &BTreeMap<NodeId, Sim>, leaders: &mut HashMap<u64, HashSet<NodeId>>) {
    for (id, n) in nodes {
        let m = n.raft.metrics().borrow().clone();
        if m.state == ServerState::Leader {
            leaders.entry(m.current_term).or_default().insert(*id);
        }
    }
}

/// Writes `request` through whichever node leads; the log id if acknowledged.
async fn write(nodes: &BTreeMap<NodeId, Sim>, request: &Request) -> Option<LogId> {
    for n in nodes.values() {
        if n.raft.metrics().borrow().state != ServerState::Leader {
            continue;
        }
        let attempt =
            tokio::time::timeout(Duration::from_secs(2), n.raft.client_write(request.clone()));
        if let Ok(Ok(r)) = attempt.await {
            return Some(r.log_id);
        }
    }
    None
}

async fn entries(sim: &Sim, upto: u64) -> Vec<Entry> {
    let mut log = sim.log.clone();
    log.try_get_log_entries(0..upto + 1)
        .await
        .expect("read log")
}

/// A new scratch directory and network for `seed`.
fn fresh(name: &str, seed: u64) -> (PathBuf, Arc<Router>) {
    let root = std::env::temp_dir().join(format!("{name}{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let router = Arc::new(Router {
        up: Mutex::default(),
        cut: Mutex::default(),
        rng: Mutex::new(Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1)),
    });
    (root, router)
}

/// One seed's run; returns a digest of the final log, to check replay.
async fn run(seed: u64) -> Vec<(LogId, String)> {
    let (root, router) = fresh("shoal-meta-sim-", seed);
    let mut dice = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut nodes = BTreeMap::new();
    for id in 1..=NODES {
        nodes.insert(id, start(id, &root, &router).await);
    }
    let voters: BTreeMap<NodeId, BasicNode> = (1..=NODES)
        .map(|id| (id, BasicNode::new(format!("sim-{id}"))))
        .collect();
    nodes[&1].raft.initialize(voters).await.expect("initialize");

    let mut leaders: HashMap<u64, HashSet<NodeId>> = HashMap::new();
    let mut acked: Vec<(LogId, Request)> = Vec::new();
    let mut down: Vec<NodeId> = Vec::new();
    for _ in 0..STEPS {
        match dice.below(7) {
            0 => {
                let side: Vec<NodeId> = (1..=NODES).filter(|_| dice.below(2) == 0).collect();
                router.split(&side);
            }
            1 => router.split(&[]),
            2 if down.len() < 2 => {
                let id = 1 + dice.below(NODES as usize) as u64;
                if let Some(n) = nodes.remove(&id) {
                    stop_node(id, n, &router).await;
                    down.push(id);
                }
            }
            3 if !down.is_empty() => {
                let id = down.remove(0);
                nodes.insert(id, start(id, &root, &router).await);
            }
            _ => {
                let request = common::random_request(&mut dice);
                if let Some(log_id) = write(&nodes, &request).await {
                    acked.push((log_id, request));
                }
            }
        }
        // Let virtual time pass, watching for two leaders in one term.
        for _ in 0..(2 + dice.below(20)) {
            observe(&nodes, &mut leaders);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Heal, bring everyone back, and write once more: that commits
    // everything before it everywhere.
    router.split(&[]);
    for id in down.drain(..) {
        nodes.insert(id, start(id, &root, &router).await);
    }
    let last_request = Request::Map(Change::Join(Node::loopback(100)));
    let mut last = None;
    for _ in 0..600 {
        observe(&nodes, &mut leaders);
        last = write(&nodes, &last_request).await;
        if last.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = last.unwrap_or_else(|| panic!("seed {seed}: no leader after healing"));
    acked.push((last, last_request));
    for _ in 0..600 {
        let all = nodes
            .values()
            .all(|n| n.raft.metrics().borrow().last_applied.map(|l| l.index) >= Some(last.index));
        if all {
            break;
        }
        observe(&nodes, &mut leaders);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let reference = entries(&nodes[&1], last.index).await;
    for (id, n) in &nodes {
        assert_eq!(
            entries(n, last.index).await,
            reference,
            "seed {seed}: node {id}'s log differs"
        );
        assert_eq!(
            *n.state.map(),
            *nodes[&1].state.map(),
            "seed {seed}: node {id}'s map differs"
        );
    }
    common::check_history(seed, &leaders, &acked, &reference);
    let map = nodes[&1].state.map();
    assert!(map.covered(), "seed {seed}: a slot has no owner");
    let owned: usize = map.nodes().iter().map(|n| map.slots_of(&n.id)).sum();
    assert_eq!(owned, 16384, "seed {seed}: slots owned twice or not at all");
    let digest = reference
        .iter()
        .map(|e| (e.log_id, format!("{:?}", e.payload)))
        .collect();
    for (id, n) in std::mem::take(&mut nodes) {
        stop_node(id, n, &router).await;
    }
    let _ = std::fs::remove_dir_all(&root);
    digest
}

fn seeds() -> u64 {
    std::env::var("SHOAL_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(start_paused = true)]
async fn every_seed_keeps_one_leader_per_term_and_every_acknowledged_write() {
    for seed in 1..=seeds() {
        run(seed).await;
    }
}

/// A member as lock clients see it.
struct Member {
    raft: Raft<TypeConfig>,
    locks: LockLeader,
}

type Members = Mutex<BTreeMap<NodeId, Arc<Member>>>;

/// What a lock client asks.
enum LockCall {
    Write(Op, Ticket),
    Read(Read),
}

/// Lease of every grant in the lock run, in ms.
const SIM_LEASE_MS: u64 = 800;
/// How long a client retries one operation (the real nodes' limit is
/// 15 s; shorter here so given-up operations happen too).
const SIM_PROPOSE_LIMIT: Duration = Duration::from_secs(4);

/// Carries out `call` as a real node does: through the leader its home
/// node knows of, if the home node can reach it, retrying (the same
/// ticket) until [`SIM_PROPOSE_LIMIT`]. None if no answer came.
async fn ask(
    members: &Members,
    router: &Router,
    home: &mut NodeId,
    call: &LockCall,
) -> Option<Outcome> {
    let start = tokio::time::Instant::now();
    while start.elapsed() < SIM_PROPOSE_LIMIT {
        let here = members.lock().get(home).cloned();
        let Some(here) = here else {
            // The home node is down: the client moves to another.
            *home = *home % NODES + 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let leader = here.raft.metrics().borrow().current_leader;
        let member = leader
            .filter(|&l| l == *home || router.reachable(*home, l).is_some())
            .and_then(|l| members.lock().get(&l).cloned());
        if let Some(member) = member {
            let work = async {
                match call {
                    LockCall::Write(op, ticket) => {
                        member.locks.write(op.clone(), Some(*ticket)).await
                    }
                    LockCall::Read(read) => member.locks.read(read.clone()).await,
                }
            };
            if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(1), work).await {
                return r.lock;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The history's form of an answer (None: no answer came).
fn answer_of(outcome: Option<Outcome>) -> Answer {
    match outcome {
        Some(Outcome::Ok) => Answer::Ok,
        Some(Outcome::Nil) => Answer::Nil,
        Some(Outcome::Int(n)) => Answer::Int(n as u64),
        Some(other) => panic!("a lock client got {other:?}"),
        None => Answer::Unknown,
    }
}

/// One lock client: takes and releases two contended locks until `stop`,
/// recording every operation; one holder in six walks away.
async fn lock_client(
    id: usize,
    members: Arc<Members>,
    router: Arc<Router>,
    history: Arc<History>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let epoch = tokio::time::Instant::now();
    let micros = move || epoch.elapsed().as_micros() as u64;
    let mut dice = Rng::new(id as u64 * 7919 + 1);
    let mut home = 1 + (id as u64 % NODES);
    let mut seq = 0;
    for round in 0..500u64 {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let key = ["lock:sim:a", "lock:sim:b"][dice.below(2)];
        let holder = ((id as u64) << 32) | round;
        let mut once = |op: Op| {
            seq += 1;
            LockCall::Write(
                op,
                Ticket {
                    session: id as u64,
                    seq,
                    floor: seq,
                },
            )
        };
        let acquire = once(Op::Set {
            key: key.as_bytes().to_vec(),
            value: holder.to_string().into_bytes(),
            condition: Condition::Nx,
            expiry: Expiry::After(SIM_LEASE_MS),
            get: false,
        });
        let release = once(Op::DelIfEq {
            key: key.as_bytes().to_vec(),
            value: holder.to_string().into_bytes(),
        });
        // Now and then a read first: who holds it (linearizable reads
        // are what a cut-off leader must not answer from its own copy).
        if dice.below(3) == 0 {
            let read = LockCall::Read(Read::Token(key.as_bytes().to_vec()));
            let sent = micros();
            let answer = answer_of(ask(&members, &router, &mut home, &read).await);
            history.record_micros(id, key, Call::Token, sent, micros(), answer);
        }
        let calls = [
            (
                Call::Acquire {
                    holder,
                    lease_ms: SIM_LEASE_MS,
                },
                acquire,
            ),
            (
                Call::Token,
                LockCall::Read(Read::Token(key.as_bytes().to_vec())),
            ),
            (Call::Release { holder }, release),
        ];
        for (i, (call, lock_call)) in calls.iter().enumerate() {
            if i == 2 && dice.below(6) == 0 {
                break; // walks away
            }
            let sent = micros();
            let answer = answer_of(ask(&members, &router, &mut home, lock_call).await);
            history.record_micros(id, key, *call, sent, micros(), answer);
            if i == 0 && answer != Answer::Ok {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5 + dice.below(30) as u64)).await;
    }
}

/// The lock run of `seed`: the leader cut off from the majority (alone or
/// with one follower), crashes and restarts, with lock clients on every
/// node; returns the history (checked) and how many grants it holds.
async fn run_locks(seed: u64) -> (usize, usize) {
    let (root, router) = fresh("shoal-meta-simlocks-", seed);
    let mut dice = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 3);
    let members: Arc<Members> = Arc::default();
    let mut nodes = BTreeMap::new();
    let join = |id: NodeId, sim: &Sim| {
        let member = Member {
            raft: sim.raft.clone(),
            locks: LockLeader::new(sim.raft.clone(), sim.state.clone()),
        };
        members.lock().insert(id, Arc::new(member));
    };
    for id in 1..=NODES {
        let sim = start(id, &root, &router).await;
        join(id, &sim);
        nodes.insert(id, sim);
    }
    let voters: BTreeMap<NodeId, BasicNode> = (1..=NODES)
        .map(|id| (id, BasicNode::new(format!("sim-{id}"))))
        .collect();
    nodes[&1].raft.initialize(voters).await.expect("initialize");

    let history = Arc::new(History::new());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|id| {
            tokio::spawn(lock_client(
                id,
                members.clone(),
                router.clone(),
                history.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let leader = |nodes: &BTreeMap<NodeId, Sim>| {
        nodes
            .iter()
            .find(|(_, n)| n.raft.metrics().borrow().state == ServerState::Leader)
            .map(|(id, _)| *id)
    };
    let mut down: Vec<NodeId> = Vec::new();
    for _ in 0..12 {
        match dice.below(5) {
            // The leader alone, or with one follower, on the minority side.
            0 | 1 => {
                if let Some(l) = leader(&nodes) {
                    let mut side = vec![l];
                    if dice.below(2) == 0 {
                        side.push(l % NODES + 1);
                    }
                    router.split(&side);
                }
            }
            2 => router.split(&[]),
            3 if down.len() < 2 => {
                let id = leader(&nodes).unwrap_or(1 + dice.below(NODES as usize) as u64);
                if let Some(n) = nodes.remove(&id) {
                    members.lock().remove(&id);
                    stop_node(id, n, &router).await;
                    down.push(id);
                }
            }
            _ if !down.is_empty() => {
                let id = down.remove(0);
                let sim = start(id, &root, &router).await;
                join(id, &sim);
                nodes.insert(id, sim);
            }
            _ => router.split(&[]),
        }
        // Longer than a lease, often: a cut-off leader's grants run out.
        tokio::time::sleep(Duration::from_millis(300 + 100 * dice.below(25) as u64)).await;
    }
    router.split(&[]);
    for id in down.drain(..) {
        let sim = start(id, &root, &router).await;
        join(id, &sim);
        nodes.insert(id, sim);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }
    if let Err(e) = history.check() {
        panic!("seed {seed}: {e}");
    }
    let ops = history.ops();
    let granted = ops.iter().filter(|o| o.answer == Answer::Ok).count();
    members.lock().clear();
    for (id, n) in std::mem::take(&mut nodes) {
        stop_node(id, n, &router).await;
    }
    let _ = std::fs::remove_dir_all(&root);
    (ops.len(), granted)
}

#[tokio::test(start_paused = true)]
async fn every_seed_keeps_locks_linearizable_with_the_leader_cut_off() {
    let (mut ops, mut granted) = (0, 0);
    for seed in 1..=seeds() {
        let (o, g) = run_locks(seed).await;
        assert!(g >= 5, "seed {seed}: only {g} grants in {o} operations");
        ops += o;
        granted += g;
    }
    eprintln!(
        "lock simulation: {} seeds, {ops} operations, {granted} grants",
        seeds()
    );
}

#[tokio::test(start_paused = true)]
async fn a_seed_replays_the_same_run() {
    let first = run(7).await;
    let again = run(7).await;
    assert!(first.len() > 5, "the run wrote something: {}", first.len());
    assert_eq!(first, again);
}
