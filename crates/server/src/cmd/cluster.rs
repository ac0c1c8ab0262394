//! Cluster commands, answered for a node that owns every slot: shoal with
//! no peers is a one-node cluster (DESIGN.md §5), so cluster-aware clients
//! find all 16384 slots here.

use bytes::Bytes;
use shoal_cluster::{key_slot, SLOTS};

use crate::command::{cmd, container, Command, Ctx};
use crate::error::CmdResult;

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
        ok,
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
];

/// `ASKING`, `READONLY`, `READWRITE`: accepted; with one node they change nothing.
fn ok(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

/// `CLUSTER KEYSLOT key`
fn keyslot(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.out.int(i64::from(key_slot(&argv[2])));
    Ok(())
}

/// `CLUSTER MYID`
fn myid(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.bulk(ctx.node.run_id.as_bytes());
    Ok(())
}

/// `CLUSTER INFO`
fn info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let text = format!(
        "cluster_state:ok\r\ncluster_slots_assigned:{SLOTS}\r\ncluster_slots_ok:{SLOTS}\r\ncluster_slots_pfail:0\r\n\
         cluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\ncluster_current_epoch:1\r\n\
         cluster_my_epoch:1\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n"
    );
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The address clients reach this node at: the one this client connected to.
fn endpoint(ctx: &Ctx<'_>) -> (String, u16) {
    let laddr = ctx.conn.handle.laddr;
    (laddr.ip().to_string(), laddr.port())
}

/// `CLUSTER SLOTS`
fn slots(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = endpoint(ctx);
    let out = &mut *ctx.out;
    out.array(1);
    out.array(3);
    out.int(0);
    out.int(i64::from(SLOTS - 1));
    out.array(4);
    out.bulk(ip.as_bytes());
    out.int(i64::from(port));
    out.bulk(ctx.node.run_id.as_bytes());
    out.map(0);
    Ok(())
}

/// `CLUSTER SHARDS`
fn shards(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = endpoint(ctx);
    let out = &mut *ctx.out;
    out.array(1);
    out.map(2);
    out.bulk(b"slots");
    out.array(2);
    out.int(0);
    out.int(i64::from(SLOTS - 1));
    out.bulk(b"nodes");
    out.array(1);
    out.map(7);
    out.bulk(b"id");
    out.bulk(ctx.node.run_id.as_bytes());
    out.bulk(b"port");
    out.int(i64::from(port));
    out.bulk(b"ip");
    out.bulk(ip.as_bytes());
    out.bulk(b"endpoint");
    out.bulk(ip.as_bytes());
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"replication-offset");
    out.int(0);
    out.bulk(b"health");
    out.bulk(b"online");
    Ok(())
}

/// `CLUSTER NODES`
fn nodes(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = endpoint(ctx);
    let bus = u32::from(port) + 10000;
    let line = format!(
        "{} {ip}:{port}@{bus} myself,master - 0 0 1 connected 0-{}\n",
        ctx.node.run_id,
        SLOTS - 1
    );
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}
