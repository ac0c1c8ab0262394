//! Warm slot migration on real processes: a node joins a cluster that
//! holds a key in every slot; the slots it takes move with their keys.
//! The move is slowed down (one key per batch, two a second) so the test
//! can look at a slot in the middle of its move: Redis Cluster's -ASK,
//! ASKING, -TRYAGAIN and the `[slot->-id]` / `[slot-<-id]` marks of
//! CLUSTER NODES; then the move runs at full speed and every key must be
//! on exactly one node, with its value, reachable through every node.

mod common;

use std::collections::HashMap;

use common::cluster::{agreed, cluster, field, id_of, query, raft_info, LIMIT};
use common::{wait_until, Shoal};
use shoal_cluster::{key_slot, SLOTS};

/// A key name in each slot: `k<i>` for the first `i` that lands there.
fn key_per_slot() -> Vec<String> {
    let mut keys: Vec<Option<String>> = vec![None; usize::from(SLOTS)];
    let mut left = usize::from(SLOTS);
    let mut i = 0u64;
    while left > 0 {
        let k = format!("k{i}");
        let slot = usize::from(key_slot(k.as_bytes()));
        if keys[slot].is_none() {
            keys[slot] = Some(k);
            left -= 1;
        }
        i += 1;
    }
    keys.into_iter().map(|k| k.expect("every slot")).collect()
}

/// Sets a key in every slot through `node`, its slot number as value.
fn set_key_per_slot(node: &Shoal) -> Vec<String> {
    let keys = key_per_slot();
    let mut c = node.client();
    let mut pipe = redis::pipe();
    for (slot, k) in keys.iter().enumerate() {
        pipe.cmd("SET").arg(k).arg(slot).ignore();
    }
    let () = pipe.query(&mut c).expect("SET a key per slot");
    keys
}

/// Another key in `slot`, sharing the hash tag of `key`'s slot.
fn other_in(slot: u16, tag: &str) -> String {
    let k = format!("{{{tag}}}:new");
    assert_eq!(key_slot(k.as_bytes()), slot);
    k
}

/// Every slot's owner (node id), as `node` serves CLUSTER SLOTS.
fn owners(node: &Shoal) -> Vec<String> {
    type Owner = (String, u16, String, redis::Value);
    let ranges: Vec<(u16, u16, Owner)> = query(node, &["CLUSTER", "SLOTS"]).expect("SLOTS");
    let mut out = vec![String::new(); usize::from(SLOTS)];
    for (a, b, (_, _, id, _)) in ranges {
        for s in a..=b {
            out[usize::from(s)] = id.clone();
        }
    }
    out
}

fn config_set(node: &Shoal, name: &str, value: &str) {
    let ok: String = query(node, &["CONFIG", "SET", name, value]).expect("CONFIG SET");
    assert_eq!(ok, "OK");
}

#[test]
fn a_joining_node_takes_its_slots_with_their_keys() {
    let mut nodes = cluster(1, &[]);
    let keys = set_key_per_slot(&nodes[0]);
    let before = owners(&nodes[0]);
    for n in &nodes {
        config_set(n, "cluster-migration-batch", "1");
        config_set(n, "cluster-migration-rate", "2");
        config_set(n, "cluster-redirect", "moved");
    }
    let seed = format!("127.0.0.1:{}", nodes[0].port);
    let new = Shoal::start(&["--join", &seed, "--cluster-redirect", "moved"]);
    let new_id = id_of(&new);
    // A slot moving to the new node whose key is still at its owner.
    let mut found = None;
    wait_until(LIMIT, || {
        for (i, n) in nodes.iter().enumerate() {
            let text: String = query(n, &["CLUSTER", "NODES"]).unwrap_or_default();
            for (slot, to) in common::cluster::moving_out(&text) {
                assert_eq!(to, new_id, "slot {slot}");
                let here: i64 =
                    query(n, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]).unwrap_or(0);
                if here == 1 {
                    found = Some((i, slot));
                    return true;
                }
            }
        }
        false
    });
    let (at, slot) = found.expect("a slot in the middle of its move");
    let owner = &nodes[at];
    let owner_id = id_of(owner);
    let moving = &keys[usize::from(slot)];
    let absent = other_in(slot, moving);
    let mut src = owner.raw();
    let mut dst = new.raw();
    let dst_addr = format!("127.0.0.1:{}", new.port);
    let src_addr = format!("127.0.0.1:{}", owner.port);
    // The owner serves what it still has, and sends the rest on with -ASK.
    assert_eq!(
        src.call(&format!("GET {moving}")),
        format!("${}\r\n{slot}\r\n", slot.to_string().len())
    );
    assert_eq!(
        src.call(&format!("GET {absent}")),
        format!("-ASK {slot} {dst_addr}\r\n")
    );
    assert_eq!(
        src.call(&format!("MGET {moving} {absent}")),
        "-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
    );
    // The destination serves the slot only right after ASKING.
    assert_eq!(
        dst.call(&format!("GET {absent}")),
        format!("-MOVED {slot} {src_addr}\r\n")
    );
    assert_eq!(dst.call("ASKING"), "+OK\r\n");
    assert_eq!(dst.call(&format!("SET {absent} fresh")), "+OK\r\n");
    assert_eq!(
        dst.call(&format!("GET {absent}")),
        format!("-MOVED {slot} {src_addr}\r\n")
    );
    assert_eq!(dst.call("ASKING"), "+OK\r\n");
    assert_eq!(dst.call(&format!("GET {absent}")), "$5\r\nfresh\r\n");
    // Each side marks the slot on its own line of CLUSTER NODES.
    let src_nodes: String = query(owner, &["CLUSTER", "NODES"]).expect("NODES");
    assert!(
        src_nodes.contains(&format!(" [{slot}->-{new_id}]")),
        "{src_nodes}"
    );
    let dst_nodes: String = query(&new, &["CLUSTER", "NODES"]).expect("NODES");
    assert!(
        dst_nodes.contains(&format!(" [{slot}-<-{owner_id}]")),
        "{dst_nodes}"
    );
    let info = raft_info(owner);
    assert_ne!(
        field(&info, "cluster_slots_migrating").as_deref(),
        Some("0")
    );
    assert_ne!(
        field(&raft_info(&new), "cluster_slots_importing").as_deref(),
        Some("0")
    );

    // Full speed, back to forwarding: the moves end.
    for n in nodes.iter().chain([&new]) {
        config_set(n, "cluster-migration-rate", "0");
        config_set(n, "cluster-migration-batch", "256");
        config_set(n, "cluster-redirect", "proxy");
    }
    nodes.push(new);
    let all: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || agreed(&all, 3));
    let new = &nodes[2];
    let took: i64 = query(new, &["DBSIZE"]).expect("DBSIZE");
    assert!(took > 16384 / 5, "the new node holds {took} keys");
    // Every key is on exactly one node, and reads back through each.
    let sizes: Vec<i64> = nodes
        .iter()
        .map(|n| query(n, &["DBSIZE"]).expect("DBSIZE"))
        .collect();
    assert_eq!(sizes.iter().sum::<i64>(), 16384 + 1, "{sizes:?}");
    for n in &nodes {
        let mut c = n.client();
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("GET").arg(k);
        }
        let got: Vec<Option<u16>> = pipe.query(&mut c).expect("GET every key");
        let wrong: HashMap<usize, Option<u16>> = got
            .into_iter()
            .enumerate()
            .filter(|&(s, v)| v != Some(s as u16))
            .collect();
        assert!(wrong.is_empty(), "through {}: {wrong:?}", n.port);
        let fresh: Option<String> = query(n, &["GET", &absent]).expect("GET");
        assert_eq!(fresh.as_deref(), Some("fresh"));
    }
    // Each slot that changed owner took its one key along (the join also
    // moves a few slots between the old nodes, within the cap).
    let after = owners(&nodes[0]);
    let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count() as u64;
    let moved: u64 = nodes
        .iter()
        .map(|n| {
            field(&raft_info(n), "cluster_migrated_keys")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(moved, changed);
}

/// Moves in flight when the Raft leader (also a slot owner sending keys)
/// is killed: the group elects another leader and the surviving owner's
/// moves go on to the end; the dead owner's slots go to their destination
/// with whatever keys had reached it. Every key then reads back with its
/// own value or not at all (only keys of the dead node's slots may be
/// gone), and no key is on two nodes.
#[test]
fn moves_resume_after_the_leader_dies_and_no_key_is_on_two_nodes() {
    let extra = ["--cluster-node-timeout", "1000"];
    let mut nodes = cluster(1, &extra);
    let keys = set_key_per_slot(&nodes[0]);
    for n in &nodes {
        config_set(n, "cluster-migration-batch", "16");
        config_set(n, "cluster-migration-rate", "400");
    }
    let seed = format!("127.0.0.1:{}", nodes[0].port);
    let mut args = extra.to_vec();
    args.extend(["--join", &seed]);
    let new = Shoal::start(&args);
    wait_until(LIMIT, || {
        field(&raft_info(&new), "cluster_slots_importing").is_some_and(|n| n != "0")
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The leader goes, mid-move.
    let leader = common::cluster::leader_of(&nodes[0]).expect("a leader");
    let at = nodes
        .iter()
        .position(|n| id_of(n) == leader)
        .expect("the leader is an old node");
    let dead_id = id_of(&nodes[at]);
    // What the dead node held: the slots it owned, and those moving to it
    // (a few move between the old nodes, within the cap).
    let at_kill = owners(&nodes[0]);
    let mut to_dead = std::collections::HashSet::new();
    for n in &nodes {
        let text: String = query(n, &["CLUSTER", "NODES"]).expect("NODES");
        for (slot, to) in common::cluster::moving_out(&text) {
            if to == dead_id {
                to_dead.insert(slot);
            }
        }
    }
    drop(nodes.remove(at));
    for n in nodes.iter().chain([&new]) {
        config_set(n, "cluster-migration-rate", "0");
        config_set(n, "cluster-migration-batch", "256");
    }
    nodes.push(new);
    let live: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || {
        live.iter().all(|n| {
            let info = raft_info(n);
            field(&info, "cluster_slots_moving").as_deref() == Some("0")
                && field(&common::cluster::cluster_info(n), "cluster_state").as_deref()
                    == Some("ok")
        })
    });
    let sizes: i64 = nodes
        .iter()
        .map(|n| query::<i64>(n, &["DBSIZE"]).expect("DBSIZE"))
        .sum();
    let mut c = nodes[0].client();
    let mut pipe = redis::pipe();
    for k in &keys {
        pipe.cmd("GET").arg(k);
    }
    let got: Vec<Option<u16>> = pipe.query(&mut c).expect("GET every key");
    let mut present = 0;
    for (slot, v) in got.iter().enumerate() {
        match v {
            Some(v) => {
                assert_eq!(usize::from(*v), slot, "slot {slot}'s key");
                present += 1;
            }
            None => assert!(
                at_kill[slot] == dead_id || to_dead.contains(&(slot as u16)),
                "slot {slot}'s key is gone, but it was not with the dead node"
            ),
        }
    }
    assert_eq!(sizes, present, "a key on two nodes");
}

/// The migration commands and settings answer exactly, on a node alone.
#[test]
fn migration_commands_and_settings_answer_exactly() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    assert_eq!(raw.call("CLUSTER REBALANCE"), "+OK\r\n");
    assert_eq!(
        raw.call("CLUSTER DRAIN nosuch"),
        "-ERR Unknown node nosuch\r\n"
    );
    assert_eq!(
        raw.call("CLUSTER DRAIN"),
        "-ERR wrong number of arguments for 'cluster|drain' command\r\n"
    );
    assert_eq!(raw.call("ASKING"), "+OK\r\n");
    assert_eq!(
        raw.call("CONFIG GET cluster-migration*"),
        "*6\r\n$17\r\ncluster-migration\r\n$4\r\nwarm\r\n\
         $23\r\ncluster-migration-batch\r\n$3\r\n256\r\n\
         $22\r\ncluster-migration-rate\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        raw.call("CONFIG SET cluster-migration lukewarm"),
        "-ERR CONFIG SET failed (possibly related to argument 'cluster-migration') - \
         argument(s) must be one of the following: warm, cold\r\n"
    );
    assert_eq!(
        raw.call("CONFIG SET cluster-migration-batch 0"),
        "-ERR CONFIG SET failed (possibly related to argument 'cluster-migration-batch') - \
         argument must be between 1 and 100000 inclusive\r\n"
    );
    assert_eq!(raw.call("CONFIG SET cluster-migration COLD"), "+OK\r\n");
    assert_eq!(
        raw.call("CONFIG GET cluster-migration"),
        "*2\r\n$17\r\ncluster-migration\r\n$4\r\ncold\r\n"
    );
    let info: String = query(&node, &["INFO", "cluster"]).expect("INFO");
    for line in [
        "cluster_slots_moving:0",
        "cluster_slots_migrating:0",
        "cluster_slots_importing:0",
        "cluster_migrated_keys:0",
        "cluster_migrated_slots:0",
    ] {
        assert!(info.contains(&format!("{line}\r\n")), "{info}");
    }
}
