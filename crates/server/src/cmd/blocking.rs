//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP on lists, and
//! the waits of BZPOPMIN, BZPOPMAX and BZMPOP on sorted sets (whose
//! commands live in [`super::zset`]).
//!
//! A client that finds every key empty registers a [`Waiter`] on each of
//! them while still holding their shard locks, so no push can slip in
//! between its check and its registration. After a command that wrote
//! keys (a whole EXEC counts as one command), the writer serves the
//! waiters of those keys itself, oldest first, as Redis does: it claims a
//! waiter, pops for it under the shard lock, and sends it the finished
//! reply. The waiting connection either receives that reply, or claims
//! itself on timeout (or `CLIENT UNBLOCK`) and answers null; the claim is
//! an atomic swap, so exactly one side wins.
//!
//! A key is served only to waiters of its type, as in Redis: a list
//! waiter skips a key that now holds a sorted set and the reverse. Keys
//! are tried in the order given and type-checked one by one, so a
//! non-empty key before a key of the wrong type is served.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use shoal_proto::longdouble::LongDouble;
use shoal_proto::Reply;
use shoal_store::{Locked, Value};
use tokio::sync::mpsc;

use super::list::{parse_end, pop, push, End};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::node::Node;

const BW: &[&str] = &["write", "blocking"];
const ACL: &[&str] = &["@write", "@list", "@slow", "@blocking"];

pub static COMMANDS: &[Command] = &[
    cmd("blpop", -3, BW, (1, -2, 1), ACL, "list", "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "key [key ...] timeout", blpop),
    cmd("brpop", -3, BW, (1, -2, 1), ACL, "list", "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "key [key ...] timeout", brpop),
    cmd("blmove", 6, &["write", "denyoom", "blocking"], (1, 2, 1), ACL, "list", "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        "source destination LEFT|RIGHT LEFT|RIGHT timeout", blmove),
    cmd("brpoplpush", 4, &["write", "denyoom", "blocking"], (1, 2, 1), ACL, "list", "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        "source destination timeout", brpoplpush),
    cmd("blmpop", -5, &["write", "blocking", "movablekeys"], (0, 0, 0), ACL, "list", "7.0.0",
        "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]", blmpop).keys_by(crate::command::numkeys_at::<2, false>),
];

/// What a blocked client is waiting to do.
#[derive(Debug, Clone)]
enum Op {
    /// BLPOP/BRPOP (`count: None`) and BLMPOP (`count: Some`).
    Pop { end: End, count: Option<usize> },
    /// BLMOVE/BRPOPLPUSH.
    Move { dst: Bytes, from: End, to: End },
    /// BZPOPMIN/BZPOPMAX (`count: None`, flat reply) and BZMPOP (`count:
    /// Some`, nested reply); `max` pops the highest scores.
    ZPop { max: bool, count: Option<usize> },
}

impl Op {
    /// WRONGTYPE unless `value` is of the type this wait pops from.
    fn check_type(&self, value: &Value) -> CmdResult {
        match (self, value) {
            (Op::ZPop { .. }, Value::ZSet(_)) => Ok(()),
            (Op::Pop { .. } | Op::Move { .. }, Value::List(_)) => Ok(()),
            _ => Err(CmdError::WrongType),
        }
    }

    /// Whether this wait can take something from `value` now.
    fn can_serve(&self, value: &Value) -> bool {
        self.check_type(value).is_ok() && !value.is_empty_collection()
    }
}

/// How a wait ended, sent to the waiting connection.
pub enum Wake {
    Served(Vec<u8>),
    /// `CLIENT UNBLOCK … ERROR`.
    Unblocked,
}

pub struct Waiter {
    client_id: u64,
    db: usize,
    keys: Vec<Bytes>,
    op: Op,
    resp3: bool,
    claimed: AtomicBool,
    tx: mpsc::UnboundedSender<Wake>,
}

impl Waiter {
    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }
}

type KeyId = (usize, Bytes);

/// Every blocked client, by the keys it waits on (oldest first).
#[derive(Default)]
pub struct Blocking {
    waiters: Mutex<HashMap<KeyId, VecDeque<Arc<Waiter>>>>,
    count: AtomicUsize,
}

impl Blocking {
    /// Whether anyone is blocked (writers skip the bookkeeping otherwise).
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    fn register(&self, w: &Arc<Waiter>) {
        let mut map = self.waiters.lock();
        for k in &w.keys {
            map.entry((w.db, k.clone()))
                .or_default()
                .push_back(w.clone());
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        let mut map = self.waiters.lock();
        for k in &w.keys {
            let id = (w.db, k.clone());
            if let Some(q) = map.get_mut(&id) {
                q.retain(|x| !Arc::ptr_eq(x, w));
                if q.is_empty() {
                    map.remove(&id);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    fn waiting_on(&self, key: &KeyId) -> Vec<Arc<Waiter>> {
        self.waiters
            .lock()
            .get(key)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// `CLIENT UNBLOCK`: ends the wait of `client_id`; true if it was blocked.
    pub fn unblock(&self, client_id: u64, with_error: bool) -> bool {
        let found = self
            .waiters
            .lock()
            .values()
            .flat_map(|q| q.iter())
            .find(|w| w.client_id == client_id)
            .cloned();
        let Some(w) = found else { return false };
        if !w.claim() {
            return false;
        }
        self.unregister(&w);
        let _ = w.tx.send(if with_error {
            Wake::Unblocked
        } else {
            Wake::Served(null_reply(&w))
        });
        true
    }
}

/// The reply a wait that times out (or is unblocked) gets: a null array
/// for every blocking pop, moves included, as Redis's
/// `replyToBlockedClientTimedOut`.
fn null_reply(w: &Waiter) -> Vec<u8> {
    let mut r = Reply::new();
    r.resp3 = w.resp3;
    r.null_array();
    r.buf.to_vec()
}

/// The reply of a blocking command that may not block (inside EXEC) and
/// finds nothing: BLMOVE and BRPOPLPUSH answer a null bulk there.
fn no_wait_reply(w: &Waiter) -> Vec<u8> {
    let mut r = Reply::new();
    r.resp3 = w.resp3;
    match w.op {
        Op::Move { .. } => r.null(),
        Op::Pop { .. } | Op::ZPop { .. } => r.null_array(),
    }
    r.buf.to_vec()
}

/// A connection's wait in progress.
pub struct Blocked {
    pub rx: mpsc::UnboundedReceiver<Wake>,
    /// When to give up; `None` waits forever.
    pub deadline: Option<tokio::time::Instant>,
    waiter: Arc<Waiter>,
    registry: Arc<Blocking>,
}

impl Blocked {
    /// Gives up waiting (timeout, disconnect). Returns the null reply to
    /// send, or `None` if a writer already claimed this wait and its reply
    /// is on the way.
    pub fn give_up(&self) -> Option<Vec<u8>> {
        if !self.waiter.claim() {
            return None;
        }
        self.registry.unregister(&self.waiter);
        Some(null_reply(&self.waiter))
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let _ = self.give_up();
    }
}

/// Serves the clients blocked on keys that were just written, oldest
/// first, until the keys run dry. Moves make their destination ready too.
pub fn serve_ready(node: &Node, ready: &mut Vec<KeyId>) {
    let mut queue: VecDeque<KeyId> = ready.drain(..).collect();
    while let Some(key) = queue.pop_front() {
        for w in node.blocking.waiting_on(&key) {
            let mut locked = match &w.op {
                Op::Move { dst, .. } => node.store.lock([(key.0, &key.1[..]), (key.0, &dst[..])]),
                Op::Pop { .. } | Op::ZPop { .. } => node.store.lock([(key.0, &key.1[..])]),
            };
            let value = locked
                .shard(key.0, &key.1)
                .lookup(&key.1, shoal_store::now_ms())
                .map(|e| &e.value);
            match value {
                None => break,
                // Another type's waiter (a list waiter on a key that now
                // holds a sorted set): it keeps waiting, the next may fit.
                Some(v) if !w.op.can_serve(v) => continue,
                Some(_) => {}
            }
            if !w.claim() {
                continue;
            }
            if let Some(e) = wrong_destination(&mut locked, &w) {
                // As Redis: this waiter gets the error and stops waiting;
                // the element stays for the next one.
                drop(locked);
                node.blocking.unregister(&w);
                let mut out = Reply::new();
                out.error(&e.wire());
                let _ = w.tx.send(Wake::Served(out.buf.to_vec()));
                continue;
            }
            let reply = perform(&mut locked, &w, &key.1, w.resp3);
            drop(locked);
            node.blocking.unregister(&w);
            // The pop (and push) changed keys as the served client's own
            // command would have: watchers of them must see it.
            if node.watches.active() {
                node.watches.touch(key.0, &key.1);
            }
            if let Op::Move { dst, .. } = &w.op {
                if node.watches.active() {
                    node.watches.touch(key.0, dst);
                }
                queue.push_back((key.0, dst.clone()));
            }
            let _ = w.tx.send(Wake::Served(reply));
        }
    }
}

/// For a move, the error if its destination holds something other than a
/// list (Redis checks the destination only once the source has an element).
fn wrong_destination(locked: &mut Locked<'_>, w: &Waiter) -> Option<CmdError> {
    let Op::Move { dst, .. } = &w.op else {
        return None;
    };
    let value = &locked
        .shard(w.db, dst)
        .lookup(dst, shoal_store::now_ms())?
        .value;
    w.op.check_type(value).err()
}

/// Pops for a waiter (or a client that did not need to wait) from a list
/// or sorted set known to be non-empty, and returns the reply bytes.
fn perform(locked: &mut Locked<'_>, w: &Waiter, key: &[u8], resp3: bool) -> Vec<u8> {
    let now = shoal_store::now_ms();
    let mut out = Reply::new();
    out.resp3 = resp3;
    let db = w.db;
    let end = match w.op {
        Op::Pop { end, .. } => end,
        Op::Move { from, .. } => from,
        Op::ZPop { max, count } => {
            let popped = match locked.shard(db, key).lookup(key, now).map(|e| &mut e.value) {
                Some(Value::ZSet(z)) => super::zset::pop(z, max, count.unwrap_or(1)),
                _ => Vec::new(),
            };
            super::typed::drop_if_empty(locked.shard(db, key), key, now);
            super::zset::reply_pop(&mut out, Some(key), &popped, count.is_some());
            return out.buf.to_vec();
        }
    };
    let mut items = Vec::new();
    if let Some(Value::List(list)) = locked.shard(db, key).lookup(key, now).map(|e| &mut e.value) {
        let n = match w.op {
            Op::Pop { count: Some(c), .. } => c.min(list.len()),
            _ => 1,
        };
        items.extend((0..n).filter_map(|_| pop(list, end)));
    }
    super::typed::drop_if_empty(locked.shard(db, key), key, now);
    match &w.op {
        Op::Pop { count: None, .. } => {
            out.array(2);
            out.bulk(key);
            out.bulk(items.first().map_or(&b""[..], |i| &i[..]));
        }
        Op::Pop { count: Some(_), .. } => {
            out.array(2);
            out.bulk(key);
            out.array(items.len());
            for i in &items {
                out.bulk(i);
            }
        }
        Op::Move { dst, to, .. } => {
            if let Some(item) = items.first() {
                let shard = locked.shard(db, dst);
                if shard.lookup(dst, now).is_none() {
                    shard.insert(
                        dst,
                        shoal_store::Entry::new(Value::List(shoal_store::List::default()), now),
                    );
                }
                if let Some(Value::List(l)) = shard.lookup(dst, now).map(|e| &mut e.value) {
                    push(l, *to, item);
                }
                out.bulk(item);
            }
        }
        // Served (and returned) where `end` was chosen.
        Op::ZPop { .. } => {}
    }
    out.buf.to_vec()
}

/// Redis's blocking timeout (`getTimeoutFromObjectOrReply`): seconds as
/// a long double, times 1000 and truncated to whole milliseconds as C's
/// `(long long)` cast does (on x86-64, infinity and anything out of range
/// become `LLONG_MIN`, hence "negative"); 0 for forever. Redis 7.0 has no
/// upper bound: a deadline past the end of time never comes, as here.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<std::time::Duration>, CmdError> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let ms = LongDouble::parse(arg)
        .ok_or_else(|| CmdError::other("ERR timeout is not a float or out of range"))?
        .to_f64()
        * 1000.0;
    let ms = if (-TWO_63..TWO_63).contains(&ms) {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| std::time::Duration::from_millis(ms as u64)))
}

/// The shared path: serve at once from the first non-empty key, answer
/// null inside a transaction, or register a wait.
fn block_or_serve(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    op: Op,
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    let db = ctx.conn.db;
    let mut all: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    if let Op::Move { dst, .. } = &op {
        all.push((db, &dst[..]));
    }
    let mut locked = ctx.node.store.lock(all);
    let (tx, rx) = mpsc::unbounded_channel();
    let waiter = Arc::new(Waiter {
        client_id: ctx.conn.handle.id,
        db,
        keys: keys.to_vec(),
        op,
        resp3: ctx.out.resp3,
        claimed: AtomicBool::new(false),
        tx,
    });
    // Key by key, as Redis: a wrong type stops the command only if no
    // earlier key could be served.
    for key in keys {
        let ready = match locked.shard(db, key).lookup(key, ctx.now) {
            None => false,
            Some(e) => {
                waiter.op.check_type(&e.value)?;
                waiter.op.can_serve(&e.value)
            }
        };
        if ready {
            if let Some(e) = wrong_destination(&mut locked, &waiter) {
                return Err(e);
            }
            let reply = perform(&mut locked, &waiter, key, ctx.out.resp3);
            drop(locked);
            ctx.out.raw(&reply);
            ctx.modified(key);
            if let Op::Move { dst, .. } = &waiter.op {
                ctx.modified(dst);
            }
            return Ok(());
        }
    }
    if ctx.conn.in_exec {
        ctx.out.raw(&no_wait_reply(&waiter));
        return Ok(());
    }
    ctx.node.blocking.register(&waiter);
    drop(locked);
    ctx.conn.blocked = Some(Blocked {
        rx,
        // A deadline past what the clock can hold never comes: wait forever.
        deadline: timeout.and_then(|t| tokio::time::Instant::now().checked_add(t)),
        waiter,
        registry: ctx.node.blocking.clone(),
    });
    Ok(())
}

/// BZPOPMIN/BZPOPMAX (`count: None`) and BZMPOP: pops from the first
/// non-empty sorted set among `keys`, or waits for one.
pub fn zpop_or_block(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    max: bool,
    count: Option<usize>,
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    block_or_serve(ctx, keys, Op::ZPop { max, count }, timeout)
}

/// `BLPOP key [key ...] timeout`
fn blpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&argv[argv.len() - 1])?;
    block_or_serve(
        ctx,
        &argv[1..argv.len() - 1],
        Op::Pop {
            end: End::Left,
            count: None,
        },
        timeout,
    )
}

/// `BRPOP key [key ...] timeout`
fn brpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&argv[argv.len() - 1])?;
    block_or_serve(
        ctx,
        &argv[1..argv.len() - 1],
        Op::Pop {
            end: End::Right,
            count: None,
        },
        timeout,
    )
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
fn blmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    let timeout = parse_timeout(&argv[5])?;
    let op = Op::Move {
        dst: argv[2].clone(),
        from,
        to,
    };
    block_or_serve(ctx, &argv[1..2], op, timeout)
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&argv[3])?;
    let op = Op::Move {
        dst: argv[2].clone(),
        from: End::Right,
        to: End::Left,
    };
    block_or_serve(ctx, &argv[1..2], op, timeout)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn blmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis reads the timeout last, after the other arguments.
    let (keys, end, count) = super::mpop_args(argv, 2, parse_end)?;
    let timeout = parse_timeout(&argv[1])?;
    block_or_serve(
        ctx,
        keys,
        Op::Pop {
            end,
            count: Some(count),
        },
        timeout,
    )
}
