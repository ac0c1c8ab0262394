//! Routing a keyed command by the replicated shard map (DESIGN.md §4):
//! served here, forwarded to the slot's owner with its reply relayed
//! (`cluster-redirect proxy`, the default), split per owner (MGET, MSET,
//! DEL, UNLINK, EXISTS, TOUCH across slots), or refused with Redis
//! Cluster's `-MOVED`, `-CROSSSLOT` or `-CLUSTERDOWN`.
//!
//! Each client connection keeps its own link to each owner it forwards
//! to, set to the client's database and protocol, so a forwarded command
//! sees what the client would see connected to the owner itself.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use shoal_proto::frame::reply_len;
use shoal_proto::Reply;

use crate::cluster::{Place, Route};
use crate::command::Command;
use crate::conn::{finish_reply, reply_error, ConnState, ReplyMode};
use crate::error::CmdError;
use crate::node::Node;

/// How long a forwarded command may take (blocking commands: unbounded).
const FORWARD_LIMIT: Duration = Duration::from_secs(10);

/// Work a command cannot finish without waiting on the network.
pub enum Deferred {
    /// Forward the request to the owner of `slot` at `addr`; relay the
    /// reply (a blocking command's without a time limit).
    Forward {
        slot: u16,
        addr: String,
        blocking: bool,
    },
    /// A multi-key command whose keys have several owners: each owner runs
    /// its share, the replies are put back together in key order.
    Split,
    /// Put a change through the metadata group's leader; `+OK` when done.
    Propose(shoal_meta::types::Proposal),
    /// Leave this node's cluster of one to join the one of the node at
    /// this client address (`CLUSTER MEET`); `+OK` once admitted.
    Meet(String),
    /// A command on lock keys, for the metadata group ([`crate::lock`]).
    Lock(crate::lock::Call),
    /// A key of a slot moving away that is not here any more (or not
    /// yet): send the request, after ASKING, to the slot's destination.
    Ask { slot: u16, addr: String },
    /// A key on its way to another node: run the command again once the
    /// batch carrying it is answered ([`crate::migrate`]).
    Wait(tokio::sync::watch::Receiver<u64>),
}

/// Redis Cluster's answer to a multi-key command whose keys are split
/// between a moving slot's owner and its destination.
const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";

/// How long a command waits for a batch of moving keys to be answered.
const WAIT_LIMIT: Duration = Duration::from_secs(12);

/// Multi-key commands that are split per owner rather than refused.
fn splits(command: &Command) -> bool {
    matches!(
        command.name,
        "mget" | "mset" | "del" | "unlink" | "exists" | "touch"
    )
}

/// Where a keyed command runs: here (None), deferred to the network, or
/// refused: -MOVED under `cluster-redirect moved`, inside MULTI and on a
/// link from another node; -CROSSSLOT when the keys have several owners
/// and the command cannot be split; -CLUSTERDOWN when a slot has none.
pub fn route(
    node: &Node,
    state: &ConnState,
    command: &Command,
    argv: &[Bytes],
    asking: bool,
) -> Result<Option<Deferred>, CmdError> {
    let Some(cluster) = node.cluster.get() else {
        return Ok(None);
    };
    if command.first_key <= 0 && command.movable_keys.is_none() {
        return Ok(None);
    }
    // Lock keys live in the metadata group, whatever the slot. A link
    // from another node only ever carries cache keys.
    if !state.proxylink {
        if let Some(call) = crate::lock::intercept(node, state, command, argv)? {
            return Ok(Some(Deferred::Lock(call)));
        }
    }
    if cluster.is_alone() {
        return Ok(None);
    }
    let moved = node.hot.cluster_moved.load(Ordering::Relaxed);
    // Shard channels are served where the client is (SPUBLISH reaches
    // every node, see [`crate::fanout`]); under `moved`, as in Redis
    // Cluster, only by the slot's owner.
    if command.has_flag("pubsub") && (state.proxylink || !moved) {
        return Ok(None);
    }
    let redirect = state.proxylink || state.multi.is_some() || moved;
    // One key (most commands): no list of positions to build.
    let single = command.movable_keys.is_none() && command.first_key == command.last_key;
    let route = match argv.get(command.first_key as usize) {
        Some(key) if single => cluster.route([&key[..]], asking),
        _ => {
            let keys = command.key_positions(argv);
            cluster.route(keys.iter().map(|&i| &argv[i][..]), asking)
        }
    };
    match route {
        Route::Local => Ok(None),
        Route::Migrating { slot, addr } => {
            migrating(node, state, command, argv, slot, addr, redirect)
        }
        Route::Elsewhere { slot, addr } if redirect => {
            Err(CmdError::other(format!("MOVED {slot} {addr}")))
        }
        Route::Elsewhere { slot, addr } => Ok(Some(Deferred::Forward {
            slot,
            addr,
            blocking: command.has_flag("blocking"),
        })),
        Route::CrossSlot if !redirect && splits(command) => Ok(Some(Deferred::Split)),
        Route::CrossSlot => Err(CmdError::other(
            "CROSSSLOT Keys in request don't hash to the same slot",
        )),
        Route::Down => Err(CmdError::other("CLUSTERDOWN Hash slot not served")),
    }
}

/// A command whose slot is moving away from this node: served here when
/// its keys are here; sent to the destination when none is (-ASK, or
/// forwarded with ASKING); -TRYAGAIN when only some are, as in Redis
/// Cluster; held while one is on its way.
fn migrating(
    node: &Node,
    state: &ConnState,
    command: &Command,
    argv: &[Bytes],
    slot: u16,
    addr: String,
    redirect: bool,
) -> Result<Option<Deferred>, CmdError> {
    let positions = command.key_positions(argv);
    let keys: Vec<&[u8]> = positions.iter().map(|&i| &argv[i][..]).collect();
    if let Some(released) = node.migrations.held(state.db, &keys) {
        if state.multi.is_none() {
            return Ok(Some(Deferred::Wait(released)));
        }
        return Err(CmdError::other(TRYAGAIN));
    }
    let now = shoal_store::keyspace::now_ms();
    let db = node.store.db(state.db);
    let here = keys
        .iter()
        .filter(|k| db.lock(k).lookup(k, now).is_some())
        .count();
    if here == keys.len() {
        Ok(None)
    } else if here > 0 {
        Err(CmdError::other(TRYAGAIN))
    } else if redirect {
        Err(CmdError::other(format!("ASK {slot} {addr}")))
    } else {
        Ok(Some(Deferred::Ask { slot, addr }))
    }
}

/// Most forwards sent in one pipeline.
const MAX_BATCH: usize = 128;

/// A pipeline's forwards, not sent yet, with the replies of the local
/// commands between them: at [`flush`] every owner gets its share as one
/// pipeline, all owners at once (a key's commands all go to one owner, in
/// order), and the replies are written in request order.
#[derive(Default)]
pub struct Batch {
    owners: Vec<Owner>,
    order: Vec<Part>,
    /// The database and protocol the forwards were made in.
    db: usize,
    resp3: bool,
    forwards: usize,
}

struct Owner {
    addr: String,
    /// The first request's slot (for the error if the owner is gone).
    slot: u16,
    requests: Vec<Vec<Bytes>>,
}

enum Part {
    Local(Bytes),
    /// Request `1` of owner `0`.
    Remote(usize, usize),
}

impl Batch {
    /// No forward is waiting (local replies need not be held back).
    pub fn is_empty(&self) -> bool {
        self.forwards == 0
    }

    /// Holds a local command's reply for its place in the order.
    pub fn hold(&mut self, reply: Bytes) {
        self.order.push(Part::Local(reply));
    }
}

/// Takes the work a command left: a forward joins the batch (sent when the
/// pipeline ends, the database or protocol changes, or a command of
/// another kind comes); anything else runs once the batch is sent.
pub async fn defer(
    node: &Node,
    state: &mut ConnState,
    out: &mut Reply,
    argv: &[Bytes],
    work: Deferred,
    batch: &mut Batch,
) {
    if let Deferred::Forward {
        slot,
        addr,
        blocking: false,
    } = &work
    {
        if state.reply_mode == ReplyMode::On {
            if !batch.is_empty() && (batch.db != state.db || batch.resp3 != out.resp3) {
                flush(node, state, out, batch).await;
            }
            batch.db = state.db;
            batch.resp3 = out.resp3;
            let at = match batch.owners.iter().position(|o| o.addr == *addr) {
                Some(at) => at,
                None => {
                    batch.owners.push(Owner {
                        addr: addr.clone(),
                        slot: *slot,
                        requests: Vec::new(),
                    });
                    batch.owners.len() - 1
                }
            };
            let owner = &mut batch.owners[at];
            batch.order.push(Part::Remote(at, owner.requests.len()));
            owner.requests.push(argv.to_vec());
            batch.forwards += 1;
            if batch.forwards >= MAX_BATCH {
                flush(node, state, out, batch).await;
            }
            return;
        }
    }
    flush(node, state, out, batch).await;
    finish(node, state, out, argv, work).await;
}

/// Sends the batched forwards, every owner's at once, and writes all the
/// held replies in request order.
pub async fn flush(node: &Node, state: &mut ConnState, out: &mut Reply, batch: &mut Batch) {
    let owners = std::mem::take(&mut batch.owners);
    let order = std::mem::take(&mut batch.order);
    batch.forwards = 0;
    let (db, resp3) = (batch.db, batch.resp3);
    let mut replies: Vec<Result<Vec<Bytes>, CmdError>> = Vec::with_capacity(owners.len());
    if db == 0 && !resp3 {
        // The common case rides the owners' shared links: all submitted
        // first, so every owner works at once.
        let password = node.config.read().requirepass.clone();
        let mut answers = Vec::with_capacity(owners.len());
        for o in &owners {
            answers.push(node.mux.submit(&o.addr, &password, &o.requests).await);
        }
        for (o, answer) in owners.iter().zip(answers) {
            let got = crate::mux::wait(answer).await;
            replies.push(got.map_err(|e| unreachable(o.slot, &o.addr, &e)));
        }
    } else {
        let mut sent: Vec<std::io::Result<()>> = Vec::with_capacity(owners.len());
        for o in &owners {
            let r = match link(node, state, &o.addr, db, resp3).await {
                Ok(l) => l.send(&o.requests, FORWARD_LIMIT).await,
                Err(e) => Err(e),
            };
            sent.push(r);
        }
        for (o, s) in owners.iter().zip(sent) {
            let got = match (s, state.links.get_mut(&o.addr)) {
                (Ok(()), Some(l)) => l.receive(o.requests.len(), Some(FORWARD_LIMIT)).await,
                (Ok(()), None) => Err(std::io::Error::other("link gone")),
                (Err(e), _) => Err(e),
            };
            if got.is_err() {
                state.links.remove(&o.addr);
            }
            replies.push(got.map_err(|e| unreachable(o.slot, &o.addr, &e)));
        }
    }
    for o in &owners {
        state.commands_run += o.requests.len() as u64;
    }
    for (o, got) in replies.iter_mut().enumerate() {
        if let Ok(rs) = got {
            for (i, r) in rs.iter_mut().enumerate() {
                *r = follow_redirect(node, state, db, resp3, &owners[o].requests[i], r.clone())
                    .await;
            }
        }
    }
    for part in order {
        match part {
            Part::Local(bytes) => out.buf.extend_from_slice(&bytes),
            Part::Remote(o, i) => match &replies[o] {
                Ok(r) => {
                    if r[i].starts_with(b"-") {
                        node.stats.error_replies.fetch_add(1, Ordering::Relaxed);
                    }
                    out.raw(&r[i]);
                }
                Err(e) => reply_error(node, out, e),
            },
        }
    }
}

/// The node a `-MOVED slot host:port` reply sends the request to.
fn moved_to(reply: &[u8]) -> Option<String> {
    redirected_to(reply, b"-MOVED ")
}

/// The node of a `-<kind> slot host:port` reply.
fn redirected_to(reply: &[u8], kind: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(reply.strip_prefix(kind)?).ok()?;
    let (_, addr) = text.trim_end().split_once(' ')?;
    Some(addr.to_string())
}

/// Sends `argv` after ASKING to the node at `addr` (the destination of a
/// moving slot) on this connection's link to it; the command's reply.
async fn ask(
    node: &Node,
    state: &mut ConnState,
    db: usize,
    resp3: bool,
    argv: &[Bytes],
    addr: &str,
) -> std::io::Result<Bytes> {
    let requests = [vec![Bytes::from_static(b"ASKING")], argv.to_vec()];
    let got = match link(node, state, addr, db, resp3).await {
        Ok(l) => l.call_many(&requests, Some(FORWARD_LIMIT)).await,
        Err(e) => Err(e),
    };
    match got {
        Ok(mut replies) if replies.len() == 2 => Ok(replies.swap_remove(1)),
        Ok(_) => Err(std::io::Error::other("ASKING: short reply")),
        Err(e) => {
            state.links.remove(addr);
            Err(e)
        }
    }
}

/// An owner whose map is a step ahead of (or behind) this node's answers
/// a forwarded request with -MOVED, and the owner of a moving slot
/// without the key answers -ASK; the request follows either once, so a
/// plain client never sees a redirect it cannot follow.
async fn follow_redirect(
    node: &Node,
    state: &mut ConnState,
    db: usize,
    resp3: bool,
    argv: &[Bytes],
    reply: Bytes,
) -> Bytes {
    if let Some(to) = redirected_to(&reply, b"-ASK ") {
        // The slot is moving and the key is not at its owner: its
        // destination serves it (once: a second redirect goes back).
        return ask(node, state, db, resp3, argv, &to)
            .await
            .unwrap_or(reply);
    }
    let Some(to) = moved_to(&reply) else {
        return reply;
    };
    if node.cluster.get().is_some_and(|c| c.me.addr == to) {
        // Sent back here: one of the two maps is behind (for a moment);
        // the client gets the redirect.
        return reply;
    }
    let args: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
    let again = match link(node, state, &to, db, resp3).await {
        Ok(l) => l.call(&args, Some(FORWARD_LIMIT)).await,
        Err(e) => Err(e),
    };
    match again {
        Ok(r) => r,
        Err(_) => {
            state.links.remove(&to);
            reply
        }
    }
}

/// This connection's link to `addr` (made on first use), set to `db` and
/// `resp3`.
async fn link<'s>(
    node: &Node,
    state: &'s mut ConnState,
    addr: &str,
    db: usize,
    resp3: bool,
) -> std::io::Result<&'s mut crate::link::Link> {
    use std::collections::hash_map::Entry;
    let link = match state.links.entry(addr.to_string()) {
        Entry::Occupied(l) => l.into_mut(),
        Entry::Vacant(v) => {
            let password = node.config.read().requirepass.clone();
            v.insert(crate::link::Link::forwarding(addr, &password, FORWARD_LIMIT).await?)
        }
    };
    link.align(db, resp3, FORWARD_LIMIT).await?;
    Ok(link)
}

/// Does the work a command left for the connection loop and writes its reply.
pub async fn finish(
    node: &Node,
    state: &mut ConnState,
    out: &mut Reply,
    argv: &[Bytes],
    work: Deferred,
) {
    let reply_start = out.len();
    match work {
        Deferred::Forward {
            slot,
            addr,
            blocking,
        } => {
            let limit = (!blocking).then_some(FORWARD_LIMIT);
            let (db, resp3) = (state.db, out.resp3);
            let answer = match forward(node, state, resp3, argv, &addr, limit).await {
                Ok(reply) => Ok(follow_redirect(node, state, db, resp3, argv, reply).await),
                Err(e) => Err(e),
            };
            relay(node, out, answer, slot, &addr);
            state.commands_run += 1;
        }
        Deferred::Split => {
            match split(node, state, out.resp3, argv).await {
                Ok(reply) => out.raw(&reply),
                Err(e) => reply_error(node, out, &e),
            }
            state.commands_run += 1;
        }
        Deferred::Meet(seed) => {
            let done = match node.cluster.get() {
                Some(c) => c.meet(&seed).await,
                None => Err("This instance has cluster support disabled".into()),
            };
            match done {
                Ok(()) => out.ok(),
                Err(e) => reply_error(node, out, &CmdError::other(format!("ERR {e}"))),
            }
        }
        Deferred::Lock(call) => {
            if let Err(e) = crate::lock::run(node, call, out).await {
                reply_error(node, out, &e);
            }
            state.commands_run += 1;
        }
        Deferred::Ask { slot, addr } => {
            let (db, resp3) = (state.db, out.resp3);
            let answer = ask(node, state, db, resp3, argv, &addr).await;
            relay(node, out, answer, slot, &addr);
            state.commands_run += 1;
        }
        Deferred::Wait(mut released) => {
            let _ = tokio::time::timeout(WAIT_LIMIT, released.changed()).await;
            // Runs as if it had just arrived (its reply is its own).
            crate::conn::execute(node, state, out, argv);
            if let Some(work) = state.deferred.take() {
                Box::pin(finish(node, state, out, argv, work)).await;
            }
            return;
        }
        Deferred::Propose(p) => {
            let done = match node.cluster.get() {
                Some(c) => c.meta().propose(p).await.map_err(|e| e.to_string()),
                None => Err("This instance has cluster support disabled".into()),
            };
            match done {
                Ok(_) => out.ok(),
                Err(e) => reply_error(node, out, &CmdError::other(format!("ERR {e}"))),
            }
        }
    }
    finish_reply(state, out, reply_start);
}

/// Writes another node's reply to a request sent there for `slot`, or the
/// error if it did not answer.
fn relay(node: &Node, out: &mut Reply, answer: std::io::Result<Bytes>, slot: u16, addr: &str) {
    match answer {
        Ok(reply) => {
            if reply.starts_with(b"-") {
                node.stats.error_replies.fetch_add(1, Ordering::Relaxed);
            }
            out.raw(&reply);
        }
        Err(e) => reply_error(node, out, &unreachable(slot, addr, &e)),
    }
}

fn unreachable(slot: u16, addr: &str, e: &std::io::Error) -> CmdError {
    CmdError::other(format!(
        "TRYAGAIN the owner of slot {slot} ({addr}) did not answer: {e}"
    ))
}

/// Sends `argv` to the node at `addr` on this connection's link to it
/// (made on first use, dropped after a failure), in this connection's
/// database and protocol, and returns the reply's wire bytes within
/// `limit` (None: unbounded, for blocking commands).
async fn forward(
    node: &Node,
    state: &mut ConnState,
    resp3: bool,
    argv: &[Bytes],
    addr: &str,
    limit: Option<Duration>,
) -> std::io::Result<Bytes> {
    let db = state.db;
    let args: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
    let result = match link(node, state, addr, db, resp3).await {
        Ok(l) => l.call(&args, limit).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        state.links.remove(addr);
    }
    result
}

/// One owner's share of a split command: its client address (None: this
/// node) and the positions in the original argv of its keys.
struct Share {
    at: Option<String>,
    keys: Vec<usize>,
}

/// Runs a multi-key command whose keys have several owners: each owner
/// gets the command with its own keys (MSET: with their values), and the
/// replies are merged: MGET's elements back in key order, MSET's `+OK`,
/// the others' counts added up. The first error any owner answers is the
/// reply.
async fn split(
    node: &Node,
    state: &mut ConnState,
    resp3: bool,
    argv: &[Bytes],
) -> Result<Bytes, CmdError> {
    let Some(cluster) = node.cluster.get() else {
        return Err(CmdError::other(
            "ERR This instance has cluster support disabled",
        ));
    };
    let name = argv[0].to_ascii_lowercase();
    let step = if name == b"mset" { 2 } else { 1 };
    let mut shares: Vec<Share> = Vec::new();
    for i in (1..argv.len()).step_by(step) {
        let at = match cluster.place(&argv[i]) {
            Place::Here => None,
            Place::At(addr) => Some(addr),
            Place::Nowhere => return Err(CmdError::other("CLUSTERDOWN Hash slot not served")),
        };
        match shares.iter_mut().find(|s| s.at == at) {
            Some(s) => s.keys.push(i),
            None => shares.push(Share { at, keys: vec![i] }),
        }
    }
    let mut replies = Vec::with_capacity(shares.len());
    for share in &shares {
        let mut sub: Vec<Bytes> = vec![argv[0].clone()];
        for &i in &share.keys {
            sub.extend(argv[i..i + step].iter().cloned());
        }
        let reply = match &share.at {
            None => {
                let mut out = Reply::new();
                out.resp3 = resp3;
                // CLIENT REPLY applies to the whole command, not to a share.
                let mode = std::mem::replace(&mut state.reply_mode, ReplyMode::On);
                crate::conn::execute(node, state, &mut out, &sub);
                // A share in a slot moving away may have to go on (-ASK)
                // or wait for its keys' batch.
                if let Some(work) = state.deferred.take() {
                    Box::pin(finish(node, state, &mut out, &sub, work)).await;
                }
                state.reply_mode = mode;
                out.buf.freeze()
            }
            Some(addr) => {
                let db = state.db;
                match forward(node, state, resp3, &sub, addr, Some(FORWARD_LIMIT)).await {
                    Ok(reply) => follow_redirect(node, state, db, resp3, &sub, reply).await,
                    Err(e) => {
                        let slot = shoal_cluster::key_slot(&argv[share.keys[0]]);
                        return Err(unreachable(slot, addr, &e));
                    }
                }
            }
        };
        if reply.starts_with(b"-") || reply.starts_with(b"!") {
            let text = String::from_utf8_lossy(&reply[1..]);
            return Err(CmdError::other(text.trim_end().to_string()));
        }
        replies.push(reply);
    }
    merge(&name, argv.len(), &shares, &replies)
}

/// Puts the owners' replies to a split command back together.
fn merge(name: &[u8], argc: usize, shares: &[Share], replies: &[Bytes]) -> Result<Bytes, CmdError> {
    let bad = || CmdError::other("ERR a node's reply to a split command was not understood");
    match name {
        b"mset" => Ok(Bytes::from_static(b"+OK\r\n")),
        b"mget" => {
            let mut elements: Vec<Option<Bytes>> = vec![None; argc];
            for (share, reply) in shares.iter().zip(replies) {
                if !reply.starts_with(b"*") {
                    return Err(bad());
                }
                let mut pos = reply
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .ok_or_else(bad)?
                    + 2;
                for &i in &share.keys {
                    let n = reply_len(&reply[pos..]).ok().flatten().ok_or_else(bad)?;
                    elements[i] = Some(reply.slice(pos..pos + n));
                    pos += n;
                }
            }
            let mut out = format!("*{}\r\n", argc - 1).into_bytes();
            for e in elements.into_iter().skip(1) {
                out.extend_from_slice(&e.ok_or_else(bad)?);
            }
            Ok(Bytes::from(out))
        }
        _ => {
            let mut total: i64 = 0;
            for reply in replies {
                let text = std::str::from_utf8(&reply[..]).map_err(|_| bad())?;
                let n: i64 = text
                    .strip_prefix(':')
                    .map(str::trim_end)
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(bad)?;
                total += n;
            }
            Ok(Bytes::from(format!(":{total}\r\n")))
        }
    }
}
