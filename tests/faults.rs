//! A loaded cluster through faults (issue: fault tests on real hosts).
//!
//! While writers set known keys (and read some back) through every node
//! and lock clients take and release contended locks, the cluster goes
//! through: a node killed (-9) and started again, a node paused past the
//! failure timeout and resumed, a node cut off the network and healed
//! (containers only), every node restarted in turn, a fourth node added
//! and removed. After each step:
//! - every live node serves the same map, with every slot owned by a live
//!   node, and `redis-cli --cluster check` passes (when redis-cli is
//!   installed);
//! - every acknowledged write to a key whose slot kept one owner through
//!   the step, an owner the step did not touch, reads back (the value or
//!   a later one: a slot that changed owner starts cold, DESIGN.md §5);
//! - every client error happened within `WINDOW` of a fault.
//!
//! At the end the lock history must be linearizable (shoal_meta::history).
//!
//! The same scenario runs on two kinds of hosts: processes on loopback
//! (in `cargo test`), and the docker-compose cluster's containers
//! (`tests/docker/faults.sh`, which `.ci/run` calls where a Docker engine
//! answers; the test is ignored otherwise).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::locker;
use common::{Roaming, Shoal};
use shoal_cluster::{key_slot, SLOTS};
use shoal_meta::history::History;

/// How long after a fault clients may see errors: the failure timeout,
/// an election, the map change and clients finding their way again.
const WINDOW: Duration = Duration::from_secs(12);
/// How long the cluster may take to settle after a step.
const SETTLE: Duration = Duration::from_secs(60);
/// Writers, keys per writer, and bounds on their loops.
const WRITERS: usize = 3;
const KEYS_PER_WRITER: usize = 300;
const MAX_OPS: u64 = 2_000_000;
const RUN_LIMIT: Duration = Duration::from_secs(300);
const LOCK_CLIENTS: usize = 3;
/// A client's wait for an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Nodes that can be stopped, paused, cut off, added and removed.
trait Hosts {
    /// The client address of every node ever started (by index), and
    /// whether it is a member that runs.
    fn nodes(&self) -> Vec<(String, bool)>;
    /// kill -9 (or `docker kill`).
    fn kill(&mut self, i: usize);
    /// Starts a killed node again with its data directory.
    fn start(&mut self, i: usize);
    fn pause(&mut self, i: usize);
    fn resume(&mut self, i: usize);
    /// Cuts the node off the network; false if these hosts cannot.
    fn cut(&mut self, i: usize) -> bool;
    fn heal(&mut self, i: usize);
    /// Starts a new node that joins; its index.
    fn add(&mut self) -> usize;
    /// Stops a node that has been removed from the cluster.
    fn retire(&mut self, i: usize);
}

/// Processes on loopback.
struct Loopback {
    nodes: Vec<Option<Shoal>>,
    ports: Vec<u16>,
    member: Vec<bool>,
    extra: Vec<String>,
}

impl Loopback {
    fn new(size: usize, extra: &[&str]) -> Loopback {
        let nodes = common::cluster::cluster(size - 1, extra);
        Loopback {
            ports: nodes.iter().map(|n| n.port).collect(),
            member: vec![true; nodes.len()],
            nodes: nodes.into_iter().map(Some).collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn extra(&self) -> Vec<&str> {
        self.extra.iter().map(String::as_str).collect()
    }

    fn node(&self, i: usize) -> &Shoal {
        self.nodes[i].as_ref().expect("the node runs")
    }
}

impl Hosts for Loopback {
    fn nodes(&self) -> Vec<(String, bool)> {
        self.ports
            .iter()
            .zip(&self.member)
            .zip(&self.nodes)
            .map(|((p, &m), n)| (format!("127.0.0.1:{p}"), m && n.is_some()))
            .collect()
    }
    fn kill(&mut self, i: usize) {
        drop(self.nodes[i].take());
    }
    fn start(&mut self, i: usize) {
        let node = Shoal::start_on(self.ports[i], &self.extra()).expect("restarts");
        self.nodes[i] = Some(node);
    }
    fn pause(&mut self, i: usize) {
        self.node(i).signal(libc::SIGSTOP);
    }
    fn resume(&mut self, i: usize) {
        self.node(i).signal(libc::SIGCONT);
    }
    fn cut(&mut self, _i: usize) -> bool {
        false
    }
    fn heal(&mut self, _i: usize) {}
    fn add(&mut self) -> usize {
        let seed = format!("127.0.0.1:{}", self.ports[0]);
        let mut args = self.extra();
        args.extend(["--join", seed.as_str()]);
        let node = Shoal::start(&args);
        self.ports.push(node.port);
        self.nodes.push(Some(node));
        self.member.push(true);
        self.nodes.len() - 1
    }
    fn retire(&mut self, i: usize) {
        self.member[i] = false;
        drop(self.nodes[i].take());
    }
}

/// The docker-compose cluster's containers (`tests/docker/faults.sh`
/// brings it up under project `SHOAL_FAULT_PROJECT` on subnet
/// `SHOAL_SUBNET`); clients reach the nodes at their own addresses.
struct Docker {
    project: String,
    subnet: String,
    /// Members that run.
    member: Vec<bool>,
}

impl Docker {
    fn from_env() -> Docker {
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
        Docker {
            project: var("SHOAL_FAULT_PROJECT"),
            subnet: var("SHOAL_SUBNET"),
            member: vec![true; 3],
        }
    }

    fn container(&self, i: usize) -> String {
        format!("{}_node{}_1", self.project, i + 1)
    }

    fn docker(&self, args: &[&str]) {
        run("docker", args);
    }

    fn compose(&self, args: &[&str]) {
        let mut all = vec!["-p", self.project.as_str(), "--profile", "five"];
        all.extend(args);
        run("docker-compose", &all);
    }
}

/// Runs `program` with `args`; panics with its stderr unless it succeeds.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Hosts for Docker {
    fn nodes(&self) -> Vec<(String, bool)> {
        self.member
            .iter()
            .enumerate()
            .map(|(i, &m)| (format!("{}.1{}:700{}", self.subnet, i + 1, i + 1), m))
            .collect()
    }
    fn kill(&mut self, i: usize) {
        self.docker(&["kill", &self.container(i)]);
        self.member[i] = false;
    }
    fn start(&mut self, i: usize) {
        self.docker(&["start", &self.container(i)]);
        self.member[i] = true;
    }
    fn pause(&mut self, i: usize) {
        self.docker(&["pause", &self.container(i)]);
    }
    fn resume(&mut self, i: usize) {
        self.docker(&["unpause", &self.container(i)]);
    }
    fn cut(&mut self, i: usize) -> bool {
        let network = format!("{}_shoal", self.project);
        self.docker(&["network", "disconnect", &network, &self.container(i)]);
        true
    }
    fn heal(&mut self, i: usize) {
        let network = format!("{}_shoal", self.project);
        let ip = format!("{}.1{}", self.subnet, i + 1);
        self.docker(&[
            "network",
            "connect",
            "--ip",
            &ip,
            &network,
            &self.container(i),
        ]);
    }
    fn add(&mut self) -> usize {
        let i = self.member.len();
        self.compose(&["up", "-d", "--no-deps", &format!("node{}", i + 1)]);
        self.member.push(true);
        i
    }
    fn retire(&mut self, i: usize) {
        self.member[i] = false;
        self.compose(&["rm", "-f", "-s", "-v", &format!("node{}", i + 1)]);
    }
}

/// A connection to whichever of `addrs` answers, starting at `first`.
fn conn(addrs: Vec<String>, first: usize) -> Roaming {
    Roaming::new(addrs, first, ANSWER_TIMEOUT)
}

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Each key's last acknowledged value, and when it was acknowledged.
    acked: Mutex<HashMap<String, (u64, Instant)>>,
    /// When each error happened, and what it was.
    errors: Mutex<Vec<(Instant, String)>>,
    ops: AtomicU64,
}

/// Writer `writer`'s `i`th key, in its `generation`.
fn key_of(writer: usize, i: usize, generation: u32) -> String {
    format!("fault:{writer}:{i}:{generation}")
}

/// Sets its keys in turn (values count up) and reads one back every
/// fourth step, until `stop`. A SET that fails may still be applied, and
/// late (a command a timed-out client gave up on can sit in a node that
/// was paused, or wait on a key in a migration batch): after a failure
/// the key is dropped for a new name, so no old value can land on a name
/// after a newer one was acknowledged there.
fn write(writer: usize, addrs: Vec<String>, seen: &Seen, stop: &AtomicBool) {
    let mut conn = conn(addrs, writer);
    let start = Instant::now();
    let mut next = vec![1u64; KEYS_PER_WRITER];
    let mut generation = vec![0u32; KEYS_PER_WRITER];
    for op in 0..MAX_OPS {
        if stop.load(Ordering::Relaxed) || start.elapsed() > RUN_LIMIT {
            return;
        }
        let i = (op as usize) % KEYS_PER_WRITER;
        let key = key_of(writer, i, generation[i]);
        let value = next[i];
        let set = redis::cmd("SET").arg(&key).arg(value).clone();
        match conn.query::<String>(&set) {
            Ok(_) => {
                next[i] += 1;
                seen.acked
                    .lock()
                    .expect("acked")
                    .insert(key, (value, Instant::now()));
            }
            Err(e) => {
                generation[i] += 1;
                next[i] = 1;
                seen.errors
                    .lock()
                    .expect("errors")
                    .push((Instant::now(), format!("SET {key}: {e}")));
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if op % 4 == 3 {
            let j = (op as usize / 4) % KEYS_PER_WRITER;
            let key = key_of(writer, j, generation[j]);
            if let Err(e) = conn.query::<Option<u64>>(redis::cmd("GET").arg(&key)) {
                seen.errors
                    .lock()
                    .expect("errors")
                    .push((Instant::now(), format!("GET {key}: {e}")));
            }
        }
        seen.ops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every slot's owner by client address, as `addr` serves CLUSTER SLOTS.
fn owners(addr: &str) -> Option<Vec<Option<String>>> {
    owners_via(&mut conn(vec![addr.to_string()], 0))
}

/// Every slot's owner as the node behind `conn` serves CLUSTER SLOTS.
fn owners_via(conn: &mut Roaming) -> Option<Vec<Option<String>>> {
    let ranges: Vec<redis::Value> = conn
        .query(&redis::cmd("CLUSTER").arg("SLOTS").clone())
        .ok()?;
    let mut out = vec![None; usize::from(SLOTS)];
    for range in ranges {
        let redis::Value::Array(parts) = range else {
            return None;
        };
        let (Some(redis::Value::Int(first)), Some(redis::Value::Int(last))) =
            (parts.first(), parts.get(1))
        else {
            return None;
        };
        let Some(redis::Value::Array(owner)) = parts.get(2) else {
            return None;
        };
        let host: String = redis::from_redis_value(owner.first()?.clone()).ok()?;
        let port: i64 = redis::from_redis_value(owner.get(1)?.clone()).ok()?;
        for s in *first..=*last {
            *out.get_mut(usize::try_from(s).ok()?)? = Some(format!("{host}:{port}"));
        }
    }
    Some(out)
}

/// The slots moving away from the node behind `conn`, with the client
/// address of each one's destination (its own line of CLUSTER NODES).
fn moves_via(conn: &mut Roaming) -> Vec<(u16, String)> {
    let Ok(text) = conn.query::<String>(redis::cmd("CLUSTER").arg("NODES")) else {
        return Vec::new();
    };
    let addr_of = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|a| a.split('@').next())
            .map(str::to_string)
    };
    common::cluster::moving_out(&text)
        .into_iter()
        .filter_map(|(slot, to)| Some((slot, addr_of(&to)?)))
        .collect()
}

/// The map every member in `live` serves, if they all serve the same one,
/// every slot is owned by one of them, and none is marked failed.
fn settled(live: &[String]) -> Option<Vec<Option<String>>> {
    let first = owners(&live[0])?;
    if !first
        .iter()
        .all(|o| o.as_ref().is_some_and(|a| live.contains(a)))
    {
        return None;
    }
    for a in &live[1..] {
        if owners(a)? != first {
            return None;
        }
    }
    let mut conn = conn(vec![live[0].clone()], 0);
    let info: String = conn.query(redis::cmd("INFO").arg("cluster")).ok()?;
    if common::cluster::field(&info, "cluster_slots_moving").as_deref() != Some("0") {
        return None;
    }
    let nodes: String = conn.query(redis::cmd("CLUSTER").arg("NODES")).ok()?;
    let healthy = nodes
        .lines()
        .filter(|l| {
            live.iter().any(|a| {
                l.split(' ')
                    .nth(1)
                    .is_some_and(|b| b.starts_with(&format!("{a}@")))
            })
        })
        .all(|l| {
            l.split(' ')
                .nth(2)
                .is_some_and(|flags| !flags.contains("fail"))
        });
    healthy.then_some(first)
}

/// The scenario's driver: the hosts, the load, and what each step saw.
struct Run<'a, H: Hosts> {
    hosts: H,
    seen: &'a Seen,
    /// Owners seen for each slot since the step began.
    owners_seen: &'a Mutex<Vec<BTreeSet<String>>>,
    /// When each slot last lost its keys (changed owner, or its owner was
    /// touched by a step): writes acknowledged before then may be gone.
    lost_at: Vec<Instant>,
    /// When faults were made.
    faults: Vec<Instant>,
    /// Errors already judged.
    judged: usize,
    checked_keys: usize,
}

impl<H: Hosts> Run<'_, H> {
    fn live(&self) -> Vec<String> {
        self.hosts
            .nodes()
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(a, _)| a)
            .collect()
    }

    fn fault(&mut self) {
        self.faults.push(Instant::now());
    }

    /// Waits until every member serves one map with every slot owned by
    /// a member and none moving, then checks keys and errors; `touched`
    /// are the nodes the step stopped, paused or cut off; `warm`: the step
    /// only moved slots with their keys (a join, a drained removal), so a
    /// slot that changed owner keeps its keys.
    fn settle(&mut self, step: &str, touched: &[usize], warm: bool) {
        let live = self.live();
        let touched: Vec<String> = touched
            .iter()
            .map(|&i| self.hosts.nodes()[i].0.clone())
            .collect();
        let start = Instant::now();
        // A map can still change after it first looks settled (a node
        // heard from again recovers): keys are judged only by a map that
        // held from before the reads to after them.
        loop {
            assert!(
                start.elapsed() < SETTLE,
                "{step}: the members {live:?} did not agree on a map covering every slot with every member healthy within {SETTLE:?}"
            );
            let Some(map) = settled(&live) else {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            self.forget_lost(&map, &touched, warm);
            let wrong = self.read_back(&map);
            let check = redis_cli_check(step, &live[0]);
            if settled(&live).as_ref() != Some(&map) {
                continue;
            }
            assert!(wrong.is_empty(), "{step}: {}", wrong.join("; "));
            if let Some(failed) = check {
                panic!("{failed}");
            }
            break;
        }
        // Errors only within the window after a fault.
        let errors = self.seen.errors.lock().expect("errors");
        for (t, e) in &errors[self.judged..] {
            let covered = self
                .faults
                .iter()
                .any(|f| *t >= *f && t.duration_since(*f) <= WINDOW);
            assert!(
                covered,
                "{step}: a client error outside the failover window: {e}"
            );
        }
        eprintln!(
            "{step}: settled in {:.1} s; {} keys read back so far; {} client errors in the window; {} operations so far",
            start.elapsed().as_secs_f64(),
            self.checked_keys,
            errors.len() - self.judged,
            self.seen.ops.load(Ordering::Relaxed)
        );
        self.judged = errors.len();
    }

    /// Marks the slots whose keys may be gone (they changed owner, unless
    /// `warm`, or were owned by a node in `touched`), then starts watching
    /// for changes from `map` on.
    fn forget_lost(&mut self, map: &[Option<String>], touched: &[String], warm: bool) {
        let now = Instant::now();
        let mut seen = self.owners_seen.lock().expect("owners");
        for (slot, owners) in seen.iter_mut().enumerate() {
            owners.extend(map[slot].iter().cloned());
            if (!warm && owners.len() != 1) || owners.iter().any(|o| touched.contains(o)) {
                self.lost_at[slot] = now;
            }
            owners.clear();
            owners.extend(map[slot].iter().cloned());
        }
    }

    /// Reads back every write acknowledged since its slot last lost its
    /// keys (the value or a later one: the writers go on); what is wrong.
    fn read_back(&mut self, map: &[Option<String>]) -> Vec<String> {
        let acked: Vec<(String, u64, Instant)> = self
            .seen
            .acked
            .lock()
            .expect("acked")
            .iter()
            .map(|(k, &(v, t))| (k.clone(), v, t))
            .collect();
        let mut conns: HashMap<String, Roaming> = HashMap::new();
        let mut wrong = Vec::new();
        for (key, value, at) in acked {
            let slot = usize::from(key_slot(key.as_bytes()));
            if at <= self.lost_at[slot] {
                continue;
            }
            let Some(owner) = &map[slot] else { continue };
            let c = conns
                .entry(owner.clone())
                .or_insert_with(|| conn(vec![owner.clone()], 0));
            match c.query::<Option<u64>>(redis::cmd("GET").arg(&key)) {
                Ok(Some(got)) if got >= value => self.checked_keys += 1,
                got => wrong.push(format!(
                    "{key} (slot {slot}, owner {owner} throughout) was acknowledged as {value} and reads {got:?}"
                )),
            }
            if wrong.len() >= 10 {
                break;
            }
        }
        wrong
    }

    /// The leader of the metadata group, by index.
    fn leader(&self) -> Option<usize> {
        let nodes = self.hosts.nodes();
        for (addr, member) in &nodes {
            if !member {
                continue;
            }
            let mut c = conn(vec![addr.clone()], 0);
            let Ok(info) = c.query::<String>(redis::cmd("INFO").arg("cluster")) else {
                continue;
            };
            let field = |name: &str| common::cluster::field(&info, name);
            let Some(leader) = field("cluster_raft_leader") else {
                continue;
            };
            for (i, (a, _)) in nodes.iter().enumerate() {
                let mut c = conn(vec![a.clone()], 0);
                let id: Option<String> = c.query(redis::cmd("CLUSTER").arg("MYID")).ok();
                if id.as_deref() == Some(leader.as_str()) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// A member that does not lead the metadata group.
    fn follower(&self) -> usize {
        let leader = self.leader();
        (0..self.hosts.nodes().len())
            .find(|&i| Some(i) != leader && self.hosts.nodes()[i].1)
            .expect("a member that is not the leader")
    }

    fn scenario(&mut self, pause: Duration) {
        self.settle("start", &[], false);

        let victim = self.follower();
        self.fault();
        self.hosts.kill(victim);
        self.settle("kill -9 a node", &[victim], false);
        self.fault();
        self.hosts.start(victim);
        self.settle("the killed node back", &[victim], false);

        let victim = self.follower();
        self.fault();
        self.hosts.pause(victim);
        std::thread::sleep(pause);
        self.hosts.resume(victim);
        self.fault();
        self.settle("pause past the failure timeout", &[victim], false);

        let victim = self.follower();
        self.fault();
        if self.hosts.cut(victim) {
            std::thread::sleep(pause);
            self.hosts.heal(victim);
            self.fault();
            self.settle("cut off and healed", &[victim], false);
        }

        let members: Vec<usize> = (0..self.hosts.nodes().len()).collect();
        for i in members {
            self.fault();
            self.hosts.kill(i);
            std::thread::sleep(Duration::from_millis(500));
            self.hosts.start(i);
            self.fault();
            self.settle(&format!("rolling restart, node {}", i + 1), &[i], false);
        }

        self.fault();
        let added = self.hosts.add();
        // Its share of slots moves to it with the keys: none is lost.
        self.settle("a fourth node added", &[], true);
        let addr = self.hosts.nodes()[added].0.clone();
        let via = self.hosts.nodes()[0].0.clone();
        self.fault();
        run(
            env!("CARGO_BIN_EXE_shoal"),
            &["cluster", "remove", &addr, "--at", &via],
        );
        self.hosts.retire(added);
        self.settle("the fourth node removed", &[], true);
    }
}

/// `redis-cli --cluster check` against `addr`, if redis-cli is installed:
/// what it found wrong, if anything. Judged by the caller only if the map
/// held from before the check to after it (a node heard from again can
/// change it in between).
fn redis_cli_check(step: &str, addr: &str) -> Option<String> {
    let out = match Command::new("redis-cli")
        .args(["--cluster", "check", addr])
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            eprintln!("{step}: redis-cli is not installed: --cluster check skipped");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let ok = out.status.success()
        && text.contains("[OK] All nodes agree about slots configuration.")
        && text.contains("[OK] All 16384 slots covered.");
    (!ok).then(|| format!("{step}: redis-cli --cluster check {addr}:\n{text}"))
}

/// Runs the load through the scenario on `hosts`, then checks the locks.
fn survive<H: Hosts>(hosts: H, pause: Duration) {
    let seen = Seen::default();
    let owners_seen = Mutex::new(vec![BTreeSet::new(); usize::from(SLOTS)]);
    let history = History::new();
    let stop = AtomicBool::new(false);
    let addrs: Vec<String> = hosts.nodes().into_iter().map(|(a, _)| a).collect();
    let mut run = Run {
        hosts,
        seen: &seen,
        owners_seen: &owners_seen,
        lost_at: vec![Instant::now(); usize::from(SLOTS)],
        faults: Vec::new(),
        judged: 0,
        checked_keys: 0,
    };
    std::thread::scope(|s| {
        let mut threads = Vec::new();
        for w in 0..WRITERS {
            let (addrs, seen, stop) = (addrs.clone(), &seen, &stop);
            threads.push(s.spawn(move || write(w, addrs, seen, stop)));
        }
        for id in 0..LOCK_CLIENTS {
            let client = locker::Client::new(id, addrs.clone());
            let (history, stop) = (&history, &stop);
            threads.push(s.spawn(move || client.work(history, stop)));
        }
        // Each node's map, sampled often (a node drops the keys of a
        // slot that changes owner in the map it serves), so a slot that
        // changes owner and back within a step is seen to.
        for a in &addrs {
            let (owners_seen, stop) = (&owners_seen, &stop);
            let mut node = Roaming::new(vec![a.clone()], 0, Duration::from_millis(500));
            threads.push(s.spawn(move || {
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) && start.elapsed() < RUN_LIMIT {
                    match owners_via(&mut node) {
                        Some(map) => {
                            let moves = moves_via(&mut node);
                            let mut seen = owners_seen.lock().expect("owners");
                            for (slot, o) in map.into_iter().enumerate() {
                                if let Some(o) = o {
                                    seen[slot].insert(o);
                                }
                            }
                            // A slot's keys also sit at its destination
                            // while it moves (lost if that node dies).
                            for (slot, to) in moves {
                                seen[usize::from(slot)].insert(to);
                            }
                        }
                        None => std::thread::sleep(Duration::from_millis(50)),
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }));
        }
        /// Stops the load when the scenario ends, or fails.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        std::thread::sleep(Duration::from_secs(1));
        run.scenario(pause);
        drop(_stop);
        for t in threads {
            t.join().expect("load thread");
        }
    });
    assert!(
        run.checked_keys > 1000,
        "only {} keys were read back",
        run.checked_keys
    );
    if let Err(e) = history.check() {
        panic!("lock history: {e}");
    }
    eprintln!(
        "lock history: {} operations, linearizable",
        history.ops().len()
    );
}

#[test]
fn a_loaded_cluster_survives_kills_pauses_restarts_and_a_join() {
    let timeout = "1000";
    let hosts = Loopback::new(3, &["--cluster-node-timeout", timeout]);
    survive(hosts, Duration::from_millis(2_500));
}

/// The same on the docker-compose cluster (`tests/docker/faults.sh`).
#[test]
#[ignore = "needs the docker-compose cluster: tests/docker/faults.sh"]
fn the_compose_cluster_survives_kills_pauses_cuts_restarts_and_a_join() {
    survive(Docker::from_env(), Duration::from_secs(5));
}
