//! Cluster commands, answered from the replicated shard map (every node
//! holds the whole map, so any node answers for the cluster). shoal with
//! no peers is a one-node cluster (DESIGN.md §5) and lists all 16384
//! slots as its own.
//!
//! shoal's own subcommands: `CLUSTER JOIN id host:port host:busport
//! weight [secret]` (admit a node; what `--join` sends), `CLUSTER FORGET
//! id` takes a node out of the cluster for good (Redis's forgets it on one
//! node), `CLUSTER MEET ip port` makes a node that is alone join the
//! cluster of the node at ip:port, and `CLUSTER PROXYLINK` marks a
//! connection as another node's forwarding link.

use std::sync::Arc;

use bytes::Bytes;
use shoal_cluster::map::{Change, Node, ShardMap};
use shoal_cluster::{key_slot, SLOTS};
use shoal_meta::types::{raft_id, Proposal};

use crate::cluster::Cluster;
use crate::cmd::arg_int;
use crate::command::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::route::Deferred;

const STALE: &[&str] = &["loading", "stale"];
const ACL: &[&str] = &["@slow"];

pub static COMMANDS: &[Command] = &[
    container(
        "cluster",
        "cluster",
        "3.0.0",
        "A container for Redis Cluster commands.",
        CLUSTER,
    ),
    cmd(
        "asking",
        1,
        &["fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "cluster",
        "3.0.0",
        "Signals that a cluster client is following an -ASK redirect.",
        "",
        asking,
    ),
    cmd(
        "readonly",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "cluster",
        "3.0.0",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        "",
        ok,
    ),
    cmd(
        "readwrite",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "cluster",
        "3.0.0",
        "Enables read-write queries for a connection to a Reids Cluster replica node.",
        "",
        ok,
    ),
];

static CLUSTER: &[Command] = &[
    cmd(
        "keyslot",
        3,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the hash slot for a key.",
        "key",
        keyslot,
    ),
    cmd(
        "myid",
        2,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the ID of a node.",
        "",
        myid,
    ),
    cmd(
        "info",
        2,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns information about the state of a node.",
        "",
        info,
    ),
    cmd(
        "slots",
        2,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the mapping of cluster slots to nodes.",
        "",
        slots,
    ),
    cmd(
        "shards",
        2,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "7.0.0",
        "Returns the mapping of cluster slots to shards.",
        "",
        shards,
    ),
    cmd(
        "nodes",
        2,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the cluster configuration for a node.",
        "",
        nodes,
    ),
    cmd(
        "countkeysinslot",
        3,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the number of keys in a hash slot.",
        "slot",
        countkeysinslot,
    ),
    cmd(
        "getkeysinslot",
        4,
        STALE,
        (0, 0, 0),
        ACL,
        "cluster",
        "3.0.0",
        "Returns the key names in a hash slot.",
        "slot count",
        getkeysinslot,
    ),
    cmd(
        "rebalance",
        2,
        &["admin", "stale", "no_async_loading"],
        (0, 0, 0),
        &["@admin", "@slow", "@dangerous"],
        "shoal",
        "0.1.0",
        "Moves slots, with their keys, to where the ring places them now (shoal's own).",
        "",
        rebalance,
    ),
    cmd(
        "drain",
        3,
        &["admin", "stale", "no_async_loading"],
        (0, 0, 0),
        &["@admin", "@slow", "@dangerous"],
        "shoal",
        "0.1.0",
        "Moves every slot of a node, with its keys, to the others before it is removed (shoal's own).",
        "node-id",
        drain,
    ),
    cmd(
        "forget",
        3,
        &["admin", "stale", "no_async_loading"],
        (0, 0, 0),
        &["@admin", "@slow", "@dangerous"],
        "cluster",
        "3.0.0",
        "Removes a node from the cluster (shoal: from every node, through the metadata group).",
        "node-id",
        forget,
    ),
    cmd(
        "meet",
        -4,
        &["admin", "stale", "no_async_loading"],
        (0, 0, 0),
        &["@admin", "@slow", "@dangerous"],
        "cluster",
        "3.0.0",
        "Forces a node to handshake with another node (shoal: a node alone joins the other's cluster).",
        "ip port [cluster-bus-port]",
        meet,
    ),
    cmd(
        "join",
        -6,
        &["admin", "stale", "no_async_loading"],
        (0, 0, 0),
        &["@admin", "@slow", "@dangerous"],
        "cluster",
        "shoal",
        "Admits a node to the cluster (shoal's own; what `shoal --join` sends).",
        "node-id host:port host:busport weight [secret]",
        join,
    ),
    cmd(
        "proxylink",
        2,
        &["stale", "fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "cluster",
        "shoal",
        "Marks this connection as another node's forwarding link (shoal's own).",
        "",
        proxylink,
    ),
];

/// `ASKING`: the next command may be served here for a slot moving to
/// this node ([`crate::migrate`]).
fn asking(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.conn.asking = true;
    ctx.out.ok();
    Ok(())
}

/// `READONLY`, `READWRITE`: accepted; with no replicas they change nothing.
fn ok(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn cluster<'a>(ctx: &Ctx<'a>) -> Result<&'a Arc<Cluster>, CmdError> {
    ctx.node
        .cluster
        .get()
        .ok_or_else(|| CmdError::other("ERR This instance has cluster support disabled"))
}

/// `CLUSTER KEYSLOT key`
fn keyslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.out.int(i64::from(key_slot(&argv[2])));
    Ok(())
}

/// `CLUSTER MYID`
fn myid(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let id = cluster(ctx)?.me.id.clone();
    ctx.out.bulk(id.as_bytes());
    Ok(())
}

/// Healthy nodes that own at least one slot (Redis's `cluster_size`).
fn serving(map: &ShardMap) -> usize {
    map.nodes()
        .iter()
        .filter(|n| n.healthy && map.slots_of(&n.id) > 0)
        .count()
}

/// `CLUSTER INFO`
fn info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let map = cluster(ctx)?.map();
    let text = info_text(&map);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The `CLUSTER INFO` text (also INFO's view of the cluster's state).
pub fn info_text(map: &ShardMap) -> String {
    let assigned: usize = map
        .ranges()
        .iter()
        .map(|(a, b, _)| usize::from(b - a) + 1)
        .sum();
    let state = if map.covered() { "ok" } else { "fail" };
    let failed = map.nodes().iter().filter(|n| !n.healthy).count();
    let epoch = map.epoch;
    format!(
        "cluster_state:{state}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{assigned}\r\ncluster_slots_pfail:0\r\n\
         cluster_slots_fail:0\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{epoch}\r\n\
         cluster_my_epoch:{epoch}\r\ncluster_failed_nodes:{failed}\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n",
        map.nodes().len(),
        serving(map),
    )
}

/// A node's client address as host and port.
fn endpoint(node: &Node) -> (&str, i64) {
    match node.addr.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(0)),
        None => (node.addr.as_str(), 0),
    }
}

/// `CLUSTER SLOTS`
fn slots(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let map = cluster(ctx)?.map();
    let ranges = map.ranges();
    let out = &mut *ctx.out;
    out.array(ranges.len());
    for (first, last, node) in ranges {
        let (ip, port) = endpoint(node);
        out.array(3);
        out.int(i64::from(first));
        out.int(i64::from(last));
        out.array(4);
        out.bulk(ip.as_bytes());
        out.int(port);
        out.bulk(node.id.as_bytes());
        out.map(0);
    }
    Ok(())
}

/// `CLUSTER SHARDS`: one shard per node (shoal has no replicas).
fn shards(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let map = cluster(ctx)?.map();
    let ranges = map.ranges();
    let out = &mut *ctx.out;
    out.array(map.nodes().len());
    for node in map.nodes() {
        let own: Vec<(u16, u16)> = ranges
            .iter()
            .filter(|(_, _, n)| n.id == node.id)
            .map(|&(a, b, _)| (a, b))
            .collect();
        let (ip, port) = endpoint(node);
        out.map(2);
        out.bulk(b"slots");
        out.array(own.len() * 2);
        for (a, b) in own {
            out.int(i64::from(a));
            out.int(i64::from(b));
        }
        out.bulk(b"nodes");
        out.array(1);
        out.map(7);
        out.bulk(b"id");
        out.bulk(node.id.as_bytes());
        out.bulk(b"port");
        out.int(port);
        out.bulk(b"ip");
        out.bulk(ip.as_bytes());
        out.bulk(b"endpoint");
        out.bulk(ip.as_bytes());
        out.bulk(b"role");
        out.bulk(b"master");
        out.bulk(b"replication-offset");
        out.int(0);
        out.bulk(b"health");
        out.bulk(if node.healthy { b"online" } else { b"fail" });
    }
    Ok(())
}

/// `CLUSTER NODES`: Redis's line format, one line per node.
fn nodes(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let cluster = cluster(ctx)?;
    let text = nodes_text(&cluster.map(), &cluster.me.id);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The `CLUSTER NODES` text as node `me` sees `map`.
pub fn nodes_text(map: &ShardMap, me: &str) -> String {
    let ranges = map.ranges();
    let mut text = String::new();
    for node in map.nodes() {
        let bus_port = node.bus.rsplit_once(':').map_or("0", |(_, p)| p);
        let mut flags = Vec::new();
        if node.id == me {
            flags.push("myself");
        }
        flags.push("master");
        if !node.healthy {
            flags.push("fail");
        }
        let link = if node.healthy {
            "connected"
        } else {
            "disconnected"
        };
        text.push_str(&format!(
            "{} {}@{bus_port} {} - 0 0 {} {link}",
            node.id,
            node.addr,
            flags.join(","),
            map.epoch
        ));
        for (a, b, _) in ranges.iter().filter(|(_, _, n)| n.id == node.id) {
            if a == b {
                text.push_str(&format!(" {a}"));
            } else {
                text.push_str(&format!(" {a}-{b}"));
            }
        }
        if node.id == me {
            // Slots moving, as Redis shows them on the node's own line.
            let nodes = map.nodes();
            for (slot, owner, to) in map.moving_slots() {
                if nodes[owner].id == me {
                    text.push_str(&format!(" [{slot}->-{}]", nodes[to].id));
                } else if nodes[to].id == me {
                    text.push_str(&format!(" [{slot}-<-{}]", nodes[owner].id));
                }
            }
        }
        text.push('\n');
    }
    text
}

/// A slot argument: an integer in 0..16384.
fn slot_arg(arg: &[u8]) -> Result<Option<u16>, CmdError> {
    let n = arg_int(arg)?;
    Ok(u16::try_from(n).ok().filter(|&s| s < SLOTS))
}

/// The keys of this node's current database in `slot`, at most `limit`.
fn keys_in_slot(ctx: &Ctx<'_>, slot: u16, limit: usize) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    for shard in ctx.db().shards() {
        let shard = shard.lock();
        for (k, e) in shard.iter() {
            if found.len() >= limit {
                return found;
            }
            if !e.is_expired(ctx.now) && key_slot(k) == slot {
                found.push(k.to_vec());
            }
        }
    }
    found
}

/// `CLUSTER COUNTKEYSINSLOT slot` (a scan of the keyspace: shoal keeps no
/// per-slot index yet).
fn countkeysinslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slot = slot_arg(&argv[2])?.ok_or_else(|| CmdError::other("ERR Invalid slot"))?;
    let n = keys_in_slot(ctx, slot, usize::MAX).len();
    ctx.out.int(n as i64);
    Ok(())
}

/// `CLUSTER GETKEYSINSLOT slot count`
fn getkeysinslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let slot = slot_arg(&argv[2])?;
    let count = arg_int(&argv[3])?;
    let (Some(slot), Ok(count)) = (slot, usize::try_from(count)) else {
        return Err(CmdError::other("ERR Invalid slot or number of keys"));
    };
    let keys = keys_in_slot(ctx, slot, count);
    ctx.out.array(keys.len());
    for k in &keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// `CLUSTER REBALANCE` (shoal's own)
fn rebalance(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    ctx.conn.deferred = Some(Deferred::Propose(Proposal::Map(Change::Rebalance)));
    Ok(())
}

/// `CLUSTER DRAIN node-id` (shoal's own)
fn drain(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cluster = cluster(ctx)?;
    let id = String::from_utf8_lossy(&argv[2]).into_owned();
    if cluster.map().node(&id).is_none() {
        return Err(CmdError::other(format!("ERR Unknown node {id}")));
    }
    ctx.conn.deferred = Some(Deferred::Propose(Proposal::Map(Change::Drain { id })));
    Ok(())
}

/// `CLUSTER FORGET node-id`
fn forget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cluster = cluster(ctx)?;
    let id = String::from_utf8_lossy(&argv[2]).into_owned();
    if id == cluster.me.id {
        return Err(CmdError::other(
            "ERR I tried hard but I can't forget myself...",
        ));
    }
    if cluster.map().node(&id).is_none() {
        return Err(CmdError::other(format!("ERR Unknown node {id}")));
    }
    ctx.conn.deferred = Some(Deferred::Propose(Proposal::Remove { id }));
    Ok(())
}

/// `CLUSTER JOIN node-id host:port host:busport weight [secret]`: with a
/// `cluster-secret`, only a node that gives it is admitted.
fn join(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    if argv.len() > 7 {
        return Err(CmdError::Syntax);
    }
    let secret = ctx.node.config.read().cluster_secret.clone();
    let given = argv.get(6).map(|s| &s[..]).unwrap_or_default();
    if !secret.is_empty() && given != secret.as_bytes() {
        return Err(CmdError::other("ERR cluster-secret does not match"));
    }
    let text = |i: usize| String::from_utf8_lossy(&argv[i]).into_owned();
    let id = text(2);
    if raft_id(&id).is_none() {
        return Err(CmdError::other(format!("ERR Invalid node id {id}")));
    }
    let is_addr = |a: &str| {
        a.rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    };
    let (addr, bus) = (text(3), text(4));
    if !is_addr(&addr) || !is_addr(&bus) {
        return Err(CmdError::other("ERR Invalid node address"));
    }
    let weight = u32::try_from(arg_int(&argv[5])?)
        .ok()
        .filter(|w| (1..=1000).contains(w))
        .ok_or_else(|| CmdError::other("ERR Invalid node weight"))?;
    ctx.conn.deferred = Some(Deferred::Propose(Proposal::Admit(Node {
        id,
        addr,
        bus,
        weight,
        healthy: true,
    })));
    Ok(())
}

/// `CLUSTER MEET ip port [cluster-bus-port]`: this node, alone in its
/// cluster, joins the cluster of the node at ip:port (the bus port is
/// learnt from the cluster, so the third argument is accepted and unused).
fn meet(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    if argv.len() > 5 {
        return Err(CmdError::Syntax);
    }
    let ip = String::from_utf8_lossy(&argv[2]).into_owned();
    let port = String::from_utf8_lossy(&argv[3]).into_owned();
    if ip.is_empty() || port.parse::<u16>().is_err() {
        return Err(CmdError::other(format!(
            "ERR Invalid node address specified: {ip}:{port}"
        )));
    }
    ctx.conn.deferred = Some(Deferred::Meet(format!("{ip}:{port}")));
    Ok(())
}

/// `CLUSTER PROXYLINK`
fn proxylink(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.conn.proxylink = true;
    ctx.out.ok();
    Ok(())
}
