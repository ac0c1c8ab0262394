//! Locks under faults, on loopback processes: clients on every node take
//! and release two contended locks while the Raft leader is killed (-9),
//! brought back, and then paused (SIGSTOP) for longer than a lease; some
//! holders walk away without releasing, so leases run out too, and some
//! refused clients try to release what they do not hold. Every
//! operation is recorded with its send and answer times, and the history
//! must be linearizable for a leased lock (shoal_meta::history): no two
//! holders at once, no acknowledged grant forgotten, tokens that only grow.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::cluster::{cluster, id_of, leader_of, query, LIMIT};
use common::{wait_until, Shoal};
use shoal_meta::history::{Answer, Call, History};

/// The locks the clients fight over.
const KEYS: [&str; 2] = ["lock:fault:a", "lock:fault:b"];
/// Every grant's lease.
const LEASE_MS: u64 = 800;
/// How long a client waits for an answer before it counts as unknown.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Bounds on each client's loop.
const MAX_ROUNDS: u64 = 5_000;
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A lock client: connected to one node, moving to the next when its
/// node stops answering.
struct Client {
    id: usize,
    ports: Vec<u16>,
    at: usize,
    conn: Option<redis::Connection>,
    rng: u64,
}

/// A command's fate: answered, answered with an error or not at all (it
/// may have happened), or never sent (no connection).
enum Fate<T> {
    Answered(T),
    Unknown,
    Unsent,
}

impl Client {
    fn new(id: usize, ports: Vec<u16>) -> Client {
        Client {
            id,
            at: id % ports.len(),
            ports,
            conn: None,
            rng: 0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1),
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below
    }

    fn next_node(&mut self) {
        self.conn = None;
        self.at = (self.at + 1) % self.ports.len();
    }

    fn send<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Fate<T> {
        if self.conn.is_none() {
            let url = format!("redis://127.0.0.1:{}/", self.ports[self.at]);
            let conn = redis::Client::open(url)
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
                .and_then(|c| {
                    c.set_read_timeout(Some(ANSWER_TIMEOUT))?;
                    c.set_write_timeout(Some(ANSWER_TIMEOUT))?;
                    Ok(c)
                });
            match conn {
                Ok(c) => self.conn = Some(c),
                Err(_) => {
                    self.next_node();
                    return Fate::Unsent;
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Fate::Unsent;
        };
        match cmd.query(conn) {
            Ok(v) => Fate::Answered(v),
            // An error reply (no leader yet, say): the connection is fine.
            Err(e) if e.kind() != redis::ErrorKind::Io && !e.is_timeout() => Fate::Unknown,
            // Lost or late: a late answer would come to the next command.
            Err(_) => {
                self.next_node();
                Fate::Unknown
            }
        }
    }

    /// Sends `call` on `key` and records it; the answer, if any.
    fn run(&mut self, history: &History, key: &str, call: Call) -> Option<Answer> {
        let cmd = match call {
            Call::Acquire { holder, lease_ms } => {
                let mut c = redis::cmd("SET");
                c.arg(key).arg(holder).arg("NX").arg("PX").arg(lease_ms);
                c
            }
            Call::Release { holder } => {
                let mut c = redis::cmd("DELIFEQ");
                c.arg(key).arg(holder);
                c
            }
            Call::Token => {
                let mut c = redis::cmd("LOCK.TOKEN");
                c.arg(key);
                c
            }
        };
        let sent = Instant::now();
        let answer = match call {
            Call::Acquire { .. } => match self.send::<Option<String>>(&cmd) {
                Fate::Answered(Some(ok)) if ok == "OK" => Answer::Ok,
                Fate::Answered(Some(other)) => panic!("SET NX answered {other}"),
                Fate::Answered(None) => Answer::Nil,
                Fate::Unknown => Answer::Unknown,
                Fate::Unsent => return None,
            },
            Call::Release { .. } | Call::Token => match self.send::<Option<u64>>(&cmd) {
                Fate::Answered(Some(n)) => Answer::Int(n),
                Fate::Answered(None) => Answer::Nil,
                Fate::Unknown => Answer::Unknown,
                Fate::Unsent => return None,
            },
        };
        history.record(self.id, key, call, sent, Instant::now(), answer);
        Some(answer)
    }

    /// Takes and releases locks until `stop` (or its bounds).
    fn work(mut self, history: &History, stop: &AtomicBool) {
        let start = Instant::now();
        for round in 0..MAX_ROUNDS {
            if stop.load(Ordering::Relaxed) || start.elapsed() > RUN_LIMIT {
                break;
            }
            let key = KEYS[self.random(KEYS.len() as u64) as usize];
            // Now and then a read first: a deposed leader must not answer
            // it from its own copy.
            if self.random(3) == 0 {
                self.run(history, key, Call::Token);
            }
            let holder = ((self.id as u64) << 32) | round;
            let acquire = Call::Acquire {
                holder,
                lease_ms: LEASE_MS,
            };
            match self.run(history, key, acquire) {
                Some(Answer::Ok) => {
                    self.run(history, key, Call::Token);
                    // One holder in six walks away (as if it crashed): the
                    // next must wait for the lease to end.
                    if self.random(6) != 0 {
                        std::thread::sleep(Duration::from_millis(5 + self.random(20)));
                        self.run(history, key, Call::Release { holder });
                    }
                }
                None => std::thread::sleep(Duration::from_millis(50)),
                Some(Answer::Nil) => {
                    // Refused: a release by this non-holder must free nothing.
                    if self.random(4) == 0 {
                        self.run(history, key, Call::Release { holder });
                    }
                    std::thread::sleep(Duration::from_millis(5 + self.random(20)));
                }
                _ => std::thread::sleep(Duration::from_millis(5 + self.random(20))),
            }
        }
    }
}

/// Sends `signal` to `node`'s process.
fn signal(node: &Shoal, signal: i32) {
    let pid = node.child.id() as i32;
    // SAFETY: kill(2) on a child process this test started and still owns.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// The index of the node that leads the Raft group, as all of `nodes`
/// report it.
fn leader(nodes: &[Shoal]) -> usize {
    let mut at = None;
    wait_until(LIMIT, || {
        let Some(l) = leader_of(&nodes[0]) else {
            return false;
        };
        if !nodes.iter().all(|n| leader_of(n).as_deref() == Some(&l)) {
            return false;
        }
        at = nodes.iter().position(|n| id_of(n) == l);
        at.is_some()
    });
    at.expect("a leader among the nodes")
}

/// One cluster at a time: two at once on two cores would mostly test
/// the machine.
static ONE_CLUSTER: Mutex<()> = Mutex::new(());

/// Runs clients on every node of a `size`-node cluster through the
/// faults, then checks the history.
fn locks_hold_through_faults(size: usize, clients: usize) {
    let _one = ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let voters = size.to_string();
    let extra = ["--cluster-voters", voters.as_str()];
    let mut nodes = cluster(size - 1, &extra);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let history = History::new();
    let stop = AtomicBool::new(false);
    let pause = Duration::from_millis(LEASE_MS + 1_500);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|id| {
                let client = Client::new(id, ports.clone());
                let (history, stop) = (&history, &stop);
                s.spawn(move || client.work(history, stop))
            })
            .collect();
        let load = || std::thread::sleep(Duration::from_secs(2));
        load();
        // kill -9 the leader; the others elect a new one.
        let at = leader(&nodes);
        let port = nodes[at].port;
        drop(nodes.remove(at));
        leader(&nodes);
        load();
        // It comes back with its log and rejoins.
        nodes.insert(at, Shoal::start_on(port, &extra).expect("restart"));
        leader(&nodes);
        load();
        // The leader stops for longer than a lease, then goes on.
        let at = leader(&nodes);
        signal(&nodes[at], libc::SIGSTOP);
        std::thread::sleep(pause);
        signal(&nodes[at], libc::SIGCONT);
        load();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().expect("client thread");
        }
    });
    let ops = history.ops();
    let granted = ops.iter().filter(|o| o.answer == Answer::Ok).count();
    let unknown = ops.iter().filter(|o| o.answer == Answer::Unknown).count();
    eprintln!(
        "{size} nodes, {clients} clients: {} operations, {granted} grants, {unknown} unanswered",
        ops.len()
    );
    assert!(granted >= 20, "only {granted} grants in {} ops", ops.len());
    if let Err(e) = history.check() {
        panic!("{e}");
    }
    // Afterwards every node serves lock commands again.
    for (i, n) in nodes.iter().enumerate() {
        let key = format!("lock:after:{i}");
        wait_until(LIMIT, || {
            query::<Option<String>>(n, &["SET", &key, "x", "NX", "PX", "60000"])
                .is_ok_and(|r| r.as_deref() == Some("OK"))
        });
    }
}

#[test]
fn three_nodes_keep_locks_safe_through_kill_and_pause() {
    locks_hold_through_faults(3, 6);
}

#[test]
fn five_nodes_keep_locks_safe_through_kill_and_pause() {
    locks_hold_through_faults(5, 8);
}
