//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC a connection queues commands (checked for
//! existence and arity as they arrive; a bad one makes EXEC answer
//! EXECABORT). EXEC runs the queue while holding the exclusive side of the
//! node's EXEC gate — every other command holds the shared side while it
//! runs — so no other client sees a transaction half done.
//!
//! WATCH registers keys in [`Watches`]; a write command touches each key
//! it really changed (`Ctx::modified`, Redis's `signalModifiedKey`; a
//! no-op such as DEL of a missing key touches nothing), FLUSHDB/FLUSHALL
//! touch the watched keys they delete, and EXEC also
//! treats a watched key whose TTL ran out since WATCH as changed (Redis 7.0
//! does too, by its expired-key check and by touching keys it reclaims).
//! A touched watch turns EXEC's reply into a null array.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::command::{self, cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const TX: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];
const ACL: &[&str] = &["@fast", "@transaction"];

pub static COMMANDS: &[Command] = &[
    cmd(
        "multi",
        1,
        TX,
        (0, 0, 0),
        ACL,
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        "",
        multi,
    ),
    cmd(
        "exec",
        1,
        &["noscript", "loading", "stale", "skip_slowlog"],
        (0, 0, 0),
        &["@slow", "@transaction"],
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        "",
        exec,
    ),
    cmd(
        "discard",
        1,
        TX,
        (0, 0, 0),
        ACL,
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        "",
        discard,
    ),
    cmd(
        "watch",
        -2,
        TX,
        (1, -1, 1),
        ACL,
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        "key [key ...]",
        watch,
    ),
    cmd(
        "unwatch",
        1,
        TX,
        (0, 0, 0),
        ACL,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        "",
        unwatch,
    ),
];

/// Commands that run at once even inside MULTI (everything else is queued).
pub fn runs_inside_multi(c: &Command, container: Option<&Command>) -> bool {
    container.is_none()
        && matches!(
            c.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
}

pub fn is_exec(c: &Command) -> bool {
    std::ptr::eq(c, &COMMANDS[1])
}

/// A transaction being queued.
#[derive(Default)]
pub struct Queued {
    pub queued: Vec<Vec<Bytes>>,
    /// A queued command was refused: EXEC must answer EXECABORT.
    pub failed: bool,
    /// A queued command may grow memory (EXEC is refused when out of memory).
    pub denyoom: bool,
}

type WatchKey = (usize, Box<[u8]>);

/// Every watched key and the flags of the connections watching it.
#[derive(Default)]
pub struct Watches {
    map: Mutex<HashMap<WatchKey, Vec<Weak<AtomicBool>>>>,
    watchers: AtomicUsize,
}

impl Watches {
    /// Whether any connection watches anything (writers skip the lookup otherwise).
    pub fn active(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    /// Marks every watcher of `key` in `db` dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        let map = self.map.lock();
        if let Some(flags) = map.get(&(db, Box::from(key))) {
            for f in flags.iter().filter_map(Weak::upgrade) {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Before `db` (every database if `None`) is emptied: marks dirty the
    /// watchers of its keys that `exists` finds there. As Redis 7.0, a
    /// watched key that was absent anyway is not changed by a flush.
    pub fn touch_db(&self, db: Option<usize>, exists: impl Fn(usize, &[u8]) -> bool) {
        if !self.active() {
            return;
        }
        // Copied out so no shard lock is taken under the map's lock (writers
        // take the map's lock under their shard lock).
        let keys: Vec<WatchKey> = self
            .map
            .lock()
            .keys()
            .filter(|(d, _)| db.is_none_or(|db| db == *d))
            .cloned()
            .collect();
        for (d, key) in keys {
            if exists(d, &key) {
                self.touch(d, &key);
            }
        }
    }

    fn add(&self, key: WatchKey, flag: &Arc<AtomicBool>) {
        self.map
            .lock()
            .entry(key)
            .or_default()
            .push(Arc::downgrade(flag));
    }

    fn remove(&self, key: &WatchKey, flag: &Arc<AtomicBool>) {
        let mut map = self.map.lock();
        if let Some(flags) = map.get_mut(key) {
            flags.retain(|f| f.upgrade().is_some_and(|f| !Arc::ptr_eq(&f, flag)));
            if flags.is_empty() {
                map.remove(key);
            }
        }
    }
}

/// One connection's watched keys, each with its expiry at WATCH time
/// (0 for none, `None` if it had already expired then).
#[derive(Default)]
pub struct Watching {
    keys: Vec<(WatchKey, Option<u64>)>,
    dirty: Arc<AtomicBool>,
    registry: Option<Arc<Watches>>,
}

impl Watching {
    fn watch(&mut self, registry: &Arc<Watches>, db: usize, key: &[u8], expiry: Option<u64>) {
        let k: WatchKey = (db, Box::from(key));
        if self.keys.iter().any(|(w, _)| *w == k) {
            return;
        }
        if self.keys.is_empty() {
            registry.watchers.fetch_add(1, Ordering::Relaxed);
            self.registry = Some(registry.clone());
        }
        registry.add(k.clone(), &self.dirty);
        self.keys.push((k, expiry));
    }

    /// Forgets every watched key.
    pub fn clear(&mut self) {
        if let Some(registry) = self.registry.take() {
            for (k, _) in &self.keys {
                registry.remove(k, &self.dirty);
            }
            registry.watchers.fetch_sub(1, Ordering::Relaxed);
        }
        self.keys.clear();
        self.dirty.store(false, Ordering::Release);
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `MULTI`
fn multi(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::other("ERR MULTI calls can not be nested"));
    }
    ctx.conn.multi = Some(Queued::default());
    ctx.out.ok();
    Ok(())
}

/// Whether EXEC must fail: a watched key was written, or has expired since
/// WATCH (whether or not it has been reclaimed yet, so the answer does not
/// depend on when the expire cycle ran).
fn watched_changed(ctx: &Ctx<'_>) -> bool {
    let w = &ctx.conn.watching;
    w.dirty.load(Ordering::Acquire)
        || w.keys
            .iter()
            .any(|(_, expiry)| matches!(expiry, Some(at) if *at != 0 && *at < ctx.now))
}

/// `EXEC`
fn exec(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let Some(tx) = ctx.conn.multi.take() else {
        return Err(CmdError::other("ERR EXEC without MULTI"));
    };
    let changed = watched_changed(ctx);
    ctx.conn.watching.clear();
    if tx.failed {
        return Err(CmdError::other(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if changed {
        ctx.out.null_array();
        return Ok(());
    }
    let _exclusive = ctx.node.exec_gate.write();
    ctx.out.array(tx.queued.len());
    ctx.conn.in_exec = true;
    for argv in &tx.queued {
        match command::resolve(argv) {
            Ok((c, _)) => crate::conn::run(ctx.node, ctx.conn, ctx.out, c, argv),
            Err(e) => ctx.out.error(&e.wire()),
        }
    }
    ctx.conn.in_exec = false;
    Ok(())
}

/// `DISCARD`
fn discard(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.take().is_none() {
        return Err(CmdError::other("ERR DISCARD without MULTI"));
    }
    ctx.conn.watching.clear();
    ctx.out.ok();
    Ok(())
}

/// `WATCH key [key ...]`
fn watch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::other("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.conn.db;
    for key in &argv[1..] {
        let at = ctx.db().lock(key).peek_expire(key).unwrap_or(0);
        let expiry = (at == 0 || at >= ctx.now).then_some(at);
        ctx.conn.watching.watch(&ctx.node.watches, db, key, expiry);
    }
    ctx.out.ok();
    Ok(())
}

/// `UNWATCH`
fn unwatch(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.conn.watching.clear();
    ctx.out.ok();
    Ok(())
}
