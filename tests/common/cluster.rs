//! Multi-process clusters: start one, ask its nodes, find the Raft leader.

use std::time::Duration;

use super::{wait_until, Shoal};

pub const LIMIT: Duration = Duration::from_secs(20);

pub fn query<T: redis::FromRedisValue>(node: &Shoal, args: &[&str]) -> redis::RedisResult<T> {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", node.port))?
        .get_connection_with_timeout(Duration::from_secs(5))?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut c)
}

/// A `field:value` line of an INFO-style text.
pub fn field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

pub fn cluster_info(node: &Shoal) -> String {
    query(node, &["CLUSTER", "INFO"]).unwrap_or_default()
}

pub fn raft_info(node: &Shoal) -> String {
    query(node, &["INFO", "cluster"]).unwrap_or_default()
}

/// Every node answers with the same CLUSTER SLOTS, knows `n` members,
/// says `cluster_state:ok`, and no slot is moving.
pub fn agreed(nodes: &[&Shoal], n: usize) -> bool {
    let slots: Vec<Option<redis::Value>> = nodes
        .iter()
        .map(|s| query(s, &["CLUSTER", "SLOTS"]).ok())
        .collect();
    nodes.iter().all(|s| {
        let info = cluster_info(s);
        field(&info, "cluster_state").as_deref() == Some("ok")
            && field(&info, "cluster_known_nodes") == Some(n.to_string())
            && field(&raft_info(s), "cluster_slots_moving").as_deref() == Some("0")
    }) && slots[0].is_some()
        && slots.iter().all(|s| *s == slots[0])
}

/// A node alone, then `more` nodes joining it.
pub fn cluster(more: usize, extra: &[&str]) -> Vec<Shoal> {
    let first = Shoal::start(extra);
    let seed = format!("127.0.0.1:{}", first.port);
    let mut nodes = vec![first];
    for _ in 0..more {
        let mut args = extra.to_vec();
        args.extend(["--join", seed.as_str()]);
        nodes.push(Shoal::start(&args));
    }
    let all: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || agreed(&all, more + 1));
    nodes
}

/// The node id and the leader's node id a node reports.
pub fn leader_of(node: &Shoal) -> Option<String> {
    field(&raft_info(node), "cluster_raft_leader").filter(|l| !l.is_empty())
}

pub fn id_of(node: &Shoal) -> String {
    field(&raft_info(node), "cluster_node_id").expect("node id")
}

/// The slots a node is moving away, with each destination's node id: the
/// `[slot->-id]` marks on the `myself` line of its CLUSTER NODES `text`.
pub fn moving_out(text: &str) -> Vec<(u16, String)> {
    let Some(me) = text.lines().find(|l| l.contains("myself")) else {
        return Vec::new();
    };
    me.split(' ')
        .filter_map(|part| {
            let (slot, to) = part
                .strip_prefix('[')?
                .strip_suffix(']')?
                .split_once("->-")?;
            Some((slot.parse().ok()?, to.to_string()))
        })
        .collect()
}
