//! [`MetaNode`]: one member of the metadata group — the Raft node, its
//! stores under the node's directory and its cluster-bus listener.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{BasicNode, ChangeMembers, Config, Raft};
use parking_lot::Mutex;
use shoal_cluster::map::{Change, ShardMap};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::lease::LockLeader;
use crate::log_store::LogStore;
use crate::network::{self, serve, Beats, Network};
use crate::state_machine::StateMachine;
use crate::types::{raft_id, Entry, LogId, NodeId, Proposal, Request, Response, TypeConfig};
use crate::Error;

/// How long a proposal may take, forwarding and retries included.
const PROPOSE_LIMIT: Duration = Duration::from_secs(15);

/// How long the leader works on one proposal (a joining learner must
/// catch up within it).
const EXECUTE_LIMIT: Duration = Duration::from_secs(10);

/// Voters the group keeps unless told otherwise (DESIGN.md §5: 3 or 5).
pub const DEFAULT_VOTERS: usize = 3;

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

/// What a member's bus listener and its [`MetaNode`] share.
pub(crate) struct Group {
    pub(crate) raft: Raft<TypeConfig>,
    state: StateMachine,
    /// Voters the group keeps while it has the members for them.
    voters: AtomicUsize,
    /// When this node (as leader) last heard from each member, by node id.
    seen: Mutex<HashMap<String, Instant>>,
    /// `cluster-secret`: what peers must prove, and what this node proves.
    pub(crate) secret: Option<Arc<str>>,
    /// Lock changes and reads while this node leads.
    locks: LockLeader,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Group {
    fn membership(&self) -> openraft::Membership<NodeId, BasicNode> {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .clone()
    }

    /// Member `id` is alive. Ids the map does not list are not kept, so
    /// a peer sending made-up ids cannot grow the table.
    pub(crate) fn heard(&self, id: String) {
        if self.state.map().node(&id).is_some() {
            self.seen.lock().insert(id, Instant::now());
        }
    }

    /// Carries out `p`; this node must be the leader (a follower answers
    /// with openraft's forward-to-leader error and the sender retries).
    pub(crate) async fn execute(&self, p: Proposal) -> Result<Response, String> {
        tokio::time::timeout(EXECUTE_LIMIT, self.carry_out(p))
            .await
            .unwrap_or_else(|_| Err(format!("not done within {EXECUTE_LIMIT:?}")))
    }

    async fn carry_out(&self, p: Proposal) -> Result<Response, String> {
        match p {
            Proposal::Map(change) => self.write(change).await,
            Proposal::LockRead(read) => self.locks.read(read).await,
            Proposal::Lock(op, ticket) => self.locks.write(op, Some(ticket)).await,
            Proposal::Admit(node) => {
                let id = raft_id(&node.id).ok_or_else(|| format!("bad node id {}", node.id))?;
                let bus = BasicNode {
                    addr: node.bus.clone(),
                };
                match self.membership().get_node(&id) {
                    None => {
                        self.raft.add_learner(id, bus, true).await.map_err(text)?;
                    }
                    Some(known) if known.addr != bus.addr => {
                        // The member came back on another bus address.
                        let nodes = BTreeMap::from([(id, bus)]);
                        self.raft
                            .change_membership(ChangeMembers::SetNodes(nodes), true)
                            .await
                            .map_err(text)?;
                    }
                    Some(_) => {}
                }
                let voters: BTreeSet<NodeId> = self.membership().voter_ids().collect();
                if !voters.contains(&id) && voters.len() < self.voters.load(Ordering::Relaxed) {
                    self.raft
                        .change_membership(ChangeMembers::AddVoterIds([id].into()), false)
                        .await
                        .map_err(text)?;
                }
                self.write(Change::Join(node)).await
            }
            Proposal::Remove { id: node } => {
                let id = raft_id(&node).ok_or_else(|| format!("bad node id {node}"))?;
                let membership = self.membership();
                let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
                // A healthy learner takes the voter's seat, if there is one.
                let map = self.state.map();
                let spare = membership.learner_ids().find(|l| {
                    map.nodes()
                        .iter()
                        .any(|n| n.healthy && raft_id(&n.id) == Some(*l))
                });
                if voters.contains(&id) && voters.len() == 1 && spare.is_none() {
                    return Err("the last voter cannot leave the group".into());
                }
                let done = self.write(Change::Leave { id: node }).await?;
                if voters.contains(&id) {
                    if let Some(spare) = spare {
                        self.raft
                            .change_membership(ChangeMembers::AddVoterIds([spare].into()), false)
                            .await
                            .map_err(text)?;
                    }
                    self.raft
                        .change_membership(ChangeMembers::RemoveVoters([id].into()), false)
                        .await
                        .map_err(text)?;
                } else if membership.get_node(&id).is_some() {
                    self.raft
                        .change_membership(ChangeMembers::RemoveNodes([id].into()), false)
                        .await
                        .map_err(text)?;
                }
                Ok(done)
            }
        }
    }

    async fn write(&self, change: Change) -> Result<Response, String> {
        self.raft
            .client_write(Request::Map(change))
            .await
            .map(|r| r.data)
            .map_err(text)
    }
}

impl Group {
    /// Keeps the group at its voter count: a voter the map says failed
    /// gives its seat to a healthy learner (it stays a learner, to be
    /// promoted again when a seat is free; with no spare it keeps its
    /// seat, as removing it would not lower the quorum's needs), and while
    /// there are fewer voters than the target, healthy learners are
    /// promoted. One change per call.
    async fn keep_voters(&self) -> Result<(), String> {
        let map = self.state.map();
        let healthy: BTreeSet<NodeId> = map
            .nodes()
            .iter()
            .filter(|n| n.healthy)
            .filter_map(|n| raft_id(&n.id))
            .collect();
        let membership = self.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let spare = membership.learner_ids().find(|l| healthy.contains(l));
        let failed = voters.iter().find(|v| {
            map.nodes()
                .iter()
                .any(|n| !n.healthy && raft_id(&n.id) == Some(**v))
        });
        let target = self.voters.load(Ordering::Relaxed);
        // A removed voter stays a learner (`retain`), so it can come back.
        let change = |c| async move {
            self.raft
                .change_membership(c, true)
                .await
                .map(|_| ())
                .map_err(text)
        };
        match (failed, spare) {
            // The seat is taken over: the successor votes first, then the
            // failed voter leaves at once, so the group never runs short
            // and is not left for long with a dead extra voter.
            (Some(&failed), Some(spare)) if voters.len() <= target => {
                change(ChangeMembers::AddVoterIds([spare].into())).await?;
                change(ChangeMembers::RemoveVoters([failed].into())).await
            }
            (Some(&failed), _) if voters.len() > target => {
                change(ChangeMembers::RemoveVoters([failed].into())).await
            }
            (None, Some(spare)) if voters.len() < target => {
                change(ChangeMembers::AddVoterIds([spare].into())).await
            }
            _ => Ok(()),
        }
    }

    /// The leader's verdicts: members silent for `timeout` (counted from
    /// `since` at the earliest) fail; failed members heard from within the
    /// last `timeout / 2` recover.
    fn verdicts(&self, since: Instant, timeout: Duration) -> Vec<Change> {
        let map = self.state.map();
        let mut seen = self.seen.lock();
        seen.retain(|id, _| map.node(id).is_some());
        let now = Instant::now();
        let mut out = Vec::new();
        for n in map.nodes() {
            if n.healthy {
                // A member first noticed now (it has just joined) counts
                // as heard from now: it gets a whole timeout to beat.
                let last = (*seen.entry(n.id.clone()).or_insert(now)).max(since);
                if last.elapsed() >= timeout {
                    out.push(Change::Fail { id: n.id.clone() });
                }
            } else if seen.get(&n.id).is_some_and(|t| t.elapsed() < timeout / 2) {
                out.push(Change::Recover { id: n.id.clone() });
            }
        }
        out
    }
}

/// A member's view of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: &'static str,
    pub leader: Option<NodeId>,
    pub term: u64,
    /// Index of the last entry applied here.
    pub applied: u64,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
}

pub struct MetaNode {
    pub id: NodeId,
    pub raft: Raft<TypeConfig>,
    log: LogStore,
    state: StateMachine,
    group: Arc<Group>,
    bus: JoinHandle<()>,
    detector: Option<JoinHandle<()>>,
    /// Numbers this node's lock changes (see [`crate::locks::Ticket`]).
    tickets: Arc<Mutex<Tickets>>,
    /// Kept connections for proposals sent to the leader.
    proposals: network::Pool,
}

/// This process's lock session: the next change number and those whose
/// answer it still waits on.
struct Tickets {
    session: u64,
    next: u64,
    waiting: BTreeSet<u64>,
}

impl Tickets {
    fn new() -> Tickets {
        use std::hash::{BuildHasher, Hasher};
        // A random session: the hasher's keys are random per process;
        // time and pid are mixed in for good measure.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Tickets {
            session: h.finish(),
            next: 0,
            waiting: BTreeSet::new(),
        }
    }
}

/// A lock change's ticket while its answer is awaited; dropping it (the
/// answer came, or the caller went away) lets the group forget the answer.
struct Waiting {
    tickets: Arc<Mutex<Tickets>>,
    ticket: crate::locks::Ticket,
}

impl Waiting {
    fn new(tickets: &Arc<Mutex<Tickets>>) -> Waiting {
        let mut t = tickets.lock();
        let seq = t.next;
        t.next += 1;
        t.waiting.insert(seq);
        let floor = t.waiting.first().copied().unwrap_or(seq);
        Waiting {
            tickets: tickets.clone(),
            ticket: crate::locks::Ticket {
                session: t.session,
                seq,
                floor,
            },
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.tickets.lock().waiting.remove(&self.ticket.seq);
    }
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
        let secret = network.secret();
        let raft = Raft::new(id, config, network, log.clone(), state.clone())
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        let group = Arc::new(Group {
            raft: raft.clone(),
            state: state.clone(),
            voters: AtomicUsize::new(DEFAULT_VOTERS),
            seen: Mutex::default(),
            secret,
            locks: LockLeader::new(raft.clone(), state.clone()),
        });
        let bus = tokio::spawn(serve(bus, group.clone()));
        Ok(MetaNode {
            id,
            raft,
            log,
            state,
            group,
            bus,
            detector: None,
            tickets: Arc::new(Mutex::new(Tickets::new())),
            proposals: network::Pool::default(),
        })
    }

    /// Sets how many voters the group keeps (1, 3 or 5); takes effect on
    /// the next join or removal this node leads.
    pub fn set_voters(&self, n: usize) {
        self.group.voters.store(n, Ordering::Relaxed);
    }

    /// Whether this node has never been part of a group: no vote and no
    /// log on disk.
    pub async fn is_blank(&self) -> Result<bool, Error> {
        use openraft::storage::RaftLogStorage;
        let mut log = self.log.clone();
        let state = log
            .get_log_state()
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        let vote = log
            .read_vote()
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        Ok(state.last_log_id.is_none() && vote.is_none())
    }

    /// Makes `p` happen through the leader, wherever it is: carried out
    /// here when this node leads, else forwarded over the bus; retried
    /// while there is no leader or it changes, for up to 15 s. A retry
    /// after a lost answer is safe: every proposal but [`Proposal::Lock`]
    /// is idempotent, and a lock change's ticket makes a second copy
    /// answer what the first did.
    pub async fn propose(&self, p: Proposal) -> Result<Response, Error> {
        let start = Instant::now();
        loop {
            let (leader, addr) = {
                let m = self.raft.metrics();
                let m = m.borrow();
                let leader = m.current_leader;
                let addr = leader.and_then(|l| {
                    m.membership_config
                        .membership()
                        .get_node(&l)
                        .map(|n| n.addr.clone())
                });
                (leader, addr)
            };
            let outcome = match (leader, addr) {
                (Some(l), _) if l == self.id => self.group.execute(p.clone()).await,
                (Some(_), Some(addr)) => {
                    let secret = self.group.secret.as_deref();
                    self.proposals
                        .propose(&addr, &p, EXECUTE_LIMIT, secret)
                        .await
                }
                _ => Err("no leader".to_string()),
            };
            match outcome {
                Ok(r) => return Ok(r),
                Err(e) if start.elapsed() >= PROPOSE_LIMIT => return Err(Error::Raft(e)),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Applies `op` to the lock table through the leader (see
    /// [`MetaNode::propose`]) and returns its answer.
    pub async fn lock(&self, op: crate::locks::Op) -> Result<crate::locks::Outcome, Error> {
        let waiting = Waiting::new(&self.tickets);
        self.propose(Proposal::Lock(op, waiting.ticket))
            .await?
            .lock
            .ok_or_else(|| Error::Raft("a lock entry answered no lock outcome".into()))
    }

    /// Reads the lock table linearizably, through the leader.
    pub async fn lock_read(
        &self,
        read: crate::locks::Read,
    ) -> Result<crate::locks::Outcome, Error> {
        self.propose(Proposal::LockRead(read))
            .await?
            .lock
            .ok_or_else(|| Error::Raft("a lock read answered no outcome".into()))
    }

    /// Waits (at most `limit`) until this node has applied the log as far
    /// as the leader had when asked: a restarted member catches up before
    /// it routes by its map. False if there was no leader to ask or it
    /// did not catch up in time.
    pub async fn catch_up(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            let target = {
                let m = self.raft.metrics();
                let m = m.borrow();
                m.current_leader.and_then(|l| {
                    let addr = m.membership_config.membership().get_node(&l)?.addr.clone();
                    Some((l, addr))
                })
            };
            let index = match target {
                Some((l, _)) if l == self.id => return true,
                Some((_, addr)) => {
                    network::applied(&addr, Duration::from_secs(1), self.group.secret.as_deref())
                        .await
                        .ok()
                }
                None => None,
            };
            if let Some(index) = index {
                let left = limit.saturating_sub(start.elapsed());
                return self
                    .raft
                    .wait(Some(left))
                    .applied_index_at_least(Some(index), "catch up before serving")
                    .await
                    .is_ok();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Sees every new shard map as this node applies it.
    pub fn watch(&self) -> watch::Receiver<Arc<ShardMap>> {
        self.state.watch()
    }

    /// Starts failure detection for member `me` (its cluster node id):
    /// it heartbeats the leader every `timeout / 8`; while this node
    /// leads, a member not heard from for `timeout` is declared failed
    /// through the log, and a failed member heard from again recovers.
    pub fn detect_failures(&mut self, me: String, timeout: Duration) {
        let group = self.group.clone();
        let id = self.id;
        self.detector = Some(tokio::spawn(async move {
            let tick = (timeout / 8).max(Duration::from_millis(20));
            let mut beats = Beats::default();
            // When this node became leader: members get `timeout` from then.
            let mut leading_since: Option<(u64, Instant)> = None;
            loop {
                tokio::time::sleep(tick).await;
                let (leader, term, addr) = {
                    let m = group.raft.metrics();
                    let m = m.borrow();
                    let addr = m.current_leader.and_then(|l| {
                        m.membership_config
                            .membership()
                            .get_node(&l)
                            .map(|n| n.addr.clone())
                    });
                    (m.current_leader, m.current_term, addr)
                };
                if leader != Some(id) {
                    leading_since = None;
                    if let Some(addr) = addr {
                        let ttl = tick.max(Duration::from_millis(200));
                        beats.send(&addr, &me, ttl, group.secret.as_deref()).await;
                    }
                    continue;
                }
                let since = match leading_since {
                    Some((t, at)) if t == term => at,
                    _ => {
                        let now = Instant::now();
                        leading_since = Some((term, now));
                        now
                    }
                };
                group.heard(me.clone());
                for change in group.verdicts(since, timeout) {
                    // One at a time; a failed write is tried again next tick.
                    if group.write(change).await.is_err() {
                        break;
                    }
                }
                // A failure in the previous step is retried next tick.
                let _ = group.keep_voters().await;
            }
        }));
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
    pub fn map(&self) -> Arc<ShardMap> {
        self.state.map()
    }

    /// This member's view of the group, for INFO and `shoal cluster status`.
    pub fn status(&self) -> Status {
        let m = self.raft.metrics();
        let m = m.borrow();
        let membership = m.membership_config.membership();
        let role = match m.state {
            openraft::ServerState::Leader => "leader",
            openraft::ServerState::Candidate => "candidate",
            openraft::ServerState::Follower => "follower",
            _ => "learner",
        };
        Status {
            role,
            leader: m.current_leader,
            term: m.current_term,
            applied: m.last_applied.map_or(0, |l| l.index),
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
        }
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Stops the node in place (its stores stay on disk; the bus port is
    /// free again once this returns).
    pub async fn stop(&self) {
        self.bus.abort();
        if let Some(d) = &self.detector {
            d.abort();
        }
        let _ = self.raft.shutdown().await;
    }

    /// Deletes a stopped node's log, vote and snapshot from `dir`, so it
    /// starts blank (as a node that never belonged to a group).
    pub fn forget(dir: &Path) -> Result<(), Error> {
        for name in ["raft.log", "raft.state", "raft.committed", "snapshot"] {
            match std::fs::remove_file(dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Stops the node (its stores stay on disk).
    pub async fn shutdown(self) {
        self.bus.abort();
        if let Some(d) = &self.detector {
            d.abort();
        }
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

    /// Held by each test that binds bus ports: one at a time, so a bus
    /// port a test frees to bind again is not taken meanwhile by another
    /// test's node or connection.
    static ONE_GROUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// The bus-port lock ([`ONE_GROUP`]), then three nodes under a fresh
    /// `name` directory, bootstrapped, each knowing the leader.
    async fn group(name: &str) -> Group3 {
        let one = ONE_GROUP.lock().await;
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
        (one, root, nodes, voters)
    }

    type Group3 = (
        tokio::sync::MutexGuard<'static, ()>,
        PathBuf,
        Vec<MetaNode>,
        BTreeMap<NodeId, BasicNode>,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_whole_group_restarted_from_disk_has_its_map_and_members_back() {
        let limit = Duration::from_secs(10);
        let (_one, root, mut nodes, voters) = group("restart-all").await;
        let at = leading(&nodes);
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
            // The port was just freed; a connection in TIME_WAIT may hold it
            // for a moment.
            let mut bus = TcpListener::bind(&addr.addr).await;
            let start = Instant::now();
            while bus.is_err() && start.elapsed() < limit {
                tokio::time::sleep(Duration::from_millis(100)).await;
                bus = TcpListener::bind(&addr.addr).await;
            }
            let bus = bus.expect("rebind");
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
                changed: true,
                lock: None,
                locks: Vec::new()
            })
        );
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_one_node_group_writes_and_shrugs_off_garbage_on_its_bus() {
        let _one = ONE_GROUP.lock().await;
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
                changed: true,
                lock: None,
                locks: Vec::new()
            }
        );
        assert_eq!(node.map().slots_of(&member(1).id), 16384);
        node.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn with_a_cluster_secret_the_bus_answers_only_peers_that_prove_it() {
        let _one = ONE_GROUP.lock().await;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let root: PathBuf =
            std::env::temp_dir().join(format!("shoal-meta-secret-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let bus = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = bus.local_addr().expect("addr").to_string();
        let network = Network::default().with_secret(Some("s3cret".into()));
        let node = MetaNode::start_with(1, &root, bus, default_config(), network)
            .await
            .expect("start");
        let frame = |json: &str| {
            let mut f = (json.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(json.as_bytes());
            f
        };
        let beat = frame(r#"{"Beat":"x"}"#);
        let mut answered = Vec::new();
        for hello in [
            None,
            Some(r#"{"Hello":"wrong"}"#),
            Some(r#"{"Hello":"s3cret"}"#),
        ] {
            let mut s = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            if let Some(h) = hello {
                s.write_all(&frame(h)).await.expect("hello");
            }
            s.write_all(&beat).await.expect("beat");
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("answered or closed in time")
                .unwrap_or(0);
            answered.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(answered, ["", "", "\u{6}\0\0\0\"Beat\""]);
        node.shutdown().await;
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_nodes_agree_on_the_map_and_survive_losing_the_leader() {
        let limit = Duration::from_secs(10);
        let (_one, root, mut nodes, _) = group("group").await;
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
                    changed: true,
                    lock: None,
                    locks: Vec::new()
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
        depose(&mut nodes, at, limit).await;
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
                changed: true,
                lock: None,
                locks: Vec::new()
            }
        );
        assert!(eventually(limit, || nodes.iter().all(|n| n.map().epoch == 4)).await);
        assert_eq!(nodes[0].map().slots_of(&member(2).id), 0);
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Shuts down the leader, `nodes[at]`, and waits until the others
    /// follow a new one.
    async fn depose(nodes: &mut Vec<MetaNode>, at: usize, limit: Duration) {
        let old = nodes.remove(at);
        let leader = old.id;
        old.shutdown().await;
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| n.leader().is_some_and(|l| l != leader)))
            .await
        );
    }

    /// The leader's place in `nodes`.
    fn leading(nodes: &[MetaNode]) -> usize {
        let leader = nodes[0].leader().expect("leader");
        nodes.iter().position(|n| n.id == leader).expect("member")
    }

    /// Tries to take `key` for `holder` with a lease of `ms` (SET NX PX).
    async fn take(n: &MetaNode, key: &str, holder: &str, ms: u64) -> crate::locks::Outcome {
        use crate::locks::{Condition, Expiry, Op};
        let op = Op::Set {
            key: key.into(),
            value: holder.into(),
            condition: Condition::Nx,
            expiry: Expiry::After(ms),
            get: false,
        };
        n.lock(op).await.expect("lock")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_lock_changes_share_log_entries() {
        use openraft::storage::RaftLogReader;
        use openraft::EntryPayload;
        let (_one, root, nodes, _) = group("batch").await;
        let at = leading(&nodes);
        let before = nodes[at].raft.metrics().borrow().last_log_index;
        // 200 holders at once, half through a follower: one lock each.
        let changes = (0..200).map(|i| {
            let node = &nodes[if i % 2 == 0 { at } else { (at + 1) % 3 }];
            async move { take(node, &format!("lock:{i}"), "x", 60_000).await }
        });
        let answers = futures_join_all(changes).await;
        assert!(answers.iter().all(|a| *a == crate::locks::Outcome::Ok));
        let after = nodes[at].raft.metrics().borrow().last_log_index;
        let (from, to) = (before.unwrap_or(0) + 1, after.unwrap_or(0));
        let mut log = nodes[at].log.clone();
        let entries = log.try_get_log_entries(from..=to).await.expect("entries");
        let batches: Vec<usize> = entries
            .iter()
            .filter_map(|e| match &e.payload {
                EntryPayload::Normal(Request::Locks { ops, .. }) => Some(ops.len()),
                _ => None,
            })
            .collect();
        assert_eq!(batches.iter().sum::<usize>(), 200, "{batches:?}");
        // Far fewer entries (and fsyncs) than changes.
        assert!(
            batches.len() <= 50,
            "{} entries: {batches:?}",
            batches.len()
        );
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Runs `futures` concurrently and returns their outputs in order.
    async fn futures_join_all<F: std::future::Future>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futures {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, o) in set.iter_mut().zip(out.iter_mut()) {
                if o.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *o = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().flatten().collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn locks_go_through_the_leader_and_outlive_it() {
        use crate::locks::Outcome;
        let limit = Duration::from_secs(10);
        let (_one, root, mut nodes, _) = group("locks").await;
        let at = leading(&nodes);
        let follower = (at + 1) % 3;
        // Proposed on a follower: forwarded to the leader and stamped there.
        assert_eq!(
            take(&nodes[follower], "lock:a", "x", 60_000).await,
            Outcome::Ok
        );
        assert_eq!(take(&nodes[at], "lock:a", "y", 60_000).await, Outcome::Nil);
        assert_eq!(take(&nodes[at], "lock:short", "x", 300).await, Outcome::Ok);
        let token =
            |n: &MetaNode, key: &[u8]| n.state.with_locks(|l| l.get(key, 0).map(|l| l.token));
        let first = token(&nodes[at], b"lock:a").expect("held");
        let short = token(&nodes[at], b"lock:short").expect("held");
        assert!(first < short);
        // A read through a follower is the leader's: it sees the grant at
        // once, whatever the follower has applied.
        use crate::locks::Read;
        let read = |n: usize, r: Read| {
            let node = &nodes[n];
            async move { node.lock_read(r).await.expect("read") }
        };
        assert_eq!(
            read(follower, Read::Get(b"lock:a".to_vec())).await,
            Outcome::Bulk(Some(b"x".to_vec()))
        );
        assert_eq!(
            read(follower, Read::Token(b"lock:short".to_vec())).await,
            Outcome::Int(short as i64)
        );
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| token(n, b"lock:a") == Some(first)))
            .await
        );

        // The leader goes; the lock stays held on the new one, and the short
        // lease ends by the new leader's time, not before.
        depose(&mut nodes, at, limit).await;
        assert_eq!(take(&nodes[0], "lock:a", "y", 1_000).await, Outcome::Nil);
        let mut taken = false;
        for _ in 0..50 {
            if take(&nodes[1], "lock:short", "y", 1_000).await == Outcome::Ok {
                taken = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(taken, "the 300 ms lease never ended");
        // A new grant: a larger token, on every survivor.
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| token(n, b"lock:short").is_some_and(|t| t > short)))
            .await
        );
        assert!(nodes.iter().all(|n| token(n, b"lock:a") == Some(first)));
        // A copy of a change (a retry after a lost answer), sent through
        // another member, answers what the first did and grants nothing.
        let waiting = Waiting::new(&nodes[0].tickets);
        let acquire = Proposal::Lock(
            crate::locks::Op::Set {
                key: b"lock:again".to_vec(),
                value: b"x".to_vec(),
                condition: crate::locks::Condition::Nx,
                expiry: crate::locks::Expiry::After(60_000),
                get: false,
            },
            waiting.ticket,
        );
        for n in [0, 1, 0] {
            let answer = nodes[n].propose(acquire.clone()).await.expect("propose");
            assert_eq!(answer.lock, Some(Outcome::Ok));
        }
        let again = token(&nodes[0], b"lock:again").expect("held");
        assert!(
            eventually(limit, || nodes
                .iter()
                .all(|n| token(n, b"lock:again") == Some(again)))
            .await
        );
        drop(waiting);
        assert_eq!(
            take(&nodes[1], "lock:again", "x", 1_000).await,
            Outcome::Nil
        );
        assert_eq!(
            nodes[1]
                .lock_read(Read::Token(b"lock:a".to_vec()))
                .await
                .expect("read"),
            Outcome::Int(first as i64)
        );
        for n in nodes {
            n.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
