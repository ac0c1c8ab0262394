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
use std::time::Duration;

use common::cluster::{cluster, id_of, leader_of, query, LIMIT};
use common::locker::{Client, LEASE_MS};
use common::{wait_until, Shoal};
use shoal_meta::history::{Answer, History};

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
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let history = History::new();
    let stop = AtomicBool::new(false);
    let pause = Duration::from_millis(LEASE_MS + 1_500);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|id| {
                let client = Client::new(id, addrs.clone());
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
        nodes[at].signal(libc::SIGSTOP);
        std::thread::sleep(pause);
        nodes[at].signal(libc::SIGCONT);
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
