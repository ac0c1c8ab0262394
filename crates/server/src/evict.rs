//! Keeping the keyspace under `maxmemory` (Redis's `performEvictions`).
//!
//! Before each command, while `maxmemory` is set and the allocator's count
//! is over it, the connection running the command evicts keys itself,
//! chosen by `maxmemory-policy`, for at most the time
//! `maxmemory-eviction-tenacity` allows; every connection does so on its
//! own core, and each eviction locks one shard, so nothing stops the
//! world. If the limit is still exceeded when the time is up, a background
//! task carries on until it is not (so lowering `maxmemory` sheds memory
//! progressively even with no traffic). A command flagged `denyoom` is
//! refused with OOM only when eviction cannot get under the limit: the
//! policy is `noeviction`, or no key is left that the policy may take.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use shoal_store::evict::{Policy, Pool, POOL_SIZE};
use shoal_store::sketch::{self, Sketch};
use shoal_store::{now_ms, Rng};

use crate::node::Node;

/// What an eviction attempt achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or no limit).
    Ok,
    /// Still over after this attempt's time; evicting goes on.
    Running,
    /// Over the limit and nothing the policy may evict.
    Fail,
}

/// The pool and which databases sampling skips: a database found empty is
/// not sampled again for [`EMPTY_RECHECK`] rounds (an empty database costs
/// a lock per shard to find empty), and every database is tried before
/// eviction gives up.
#[derive(Default)]
struct Sampling {
    pool: Pool,
    empty: Vec<bool>,
    rounds: u64,
    /// The policy the pool's scores were computed for.
    policy: Option<Policy>,
}

/// Rounds a database found empty is skipped for.
const EMPTY_RECHECK: u64 = 64;

thread_local! {
    /// Each thread evicts through its own pool (fed by its own samples):
    /// one shared pool made every writer on every core queue for it.
    static SAMPLING: RefCell<Sampling> = RefCell::new(Sampling::default());
    static RNG: RefCell<Rng> = RefCell::new(thread_rng());
}

/// A generator seeded differently on each thread.
fn thread_rng() -> Rng {
    use std::hash::BuildHasher;
    let salt = std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id());
    Rng::new(Rng::from_time().next_u64() ^ salt)
}

/// Eviction state shared by every connection.
pub struct Evictor {
    /// Database the random policies try next (Redis's `next_db`).
    next_db: AtomicUsize,
    /// When the limit was first found exceeded, in ms since `epoch`, plus
    /// one (0: not exceeded).
    exceeded_since: AtomicU64,
    /// Finished periods over the limit, in ms (`total_eviction_exceeded_time`).
    exceeded_total_ms: AtomicU64,
    background: AtomicBool,
    epoch: Instant,
    /// The node itself, for the background task (set by [`Node::new`]).
    pub node: OnceLock<Weak<Node>>,
    /// `allkeys-tinylfu`'s frequency sketch, made on first use and remade
    /// larger when the keyspace outgrows it.
    sketch: RwLock<Option<Arc<Sketch>>>,
    /// Epochs the sketch has aged through: resident counts stamped in an
    /// earlier one are halved once per epoch passed.
    sketch_epoch: AtomicU32,
    /// Keys counted into the sketch, to check its size every so often.
    sketch_counted: AtomicU64,
}

/// Counters a row a sketch has at least (4 kB in all).
const SKETCH_MIN_KEYS: usize = 4096;
/// Sketch width per key held: 8 counters a row (8 bytes a key over two
/// rows of 4-bit counters, counted in used_memory, as Caffeine's sketch),
/// so an epoch lasts 160 accesses (reads of cached keys and creations) per
/// cached key. Chosen on
/// bench/hitratio.sh's streams: 4 and 2 collided too often at a 1% budget
/// (returning keys and new ones looked alike: 1.9 and 3.3 points lost on
/// Zipf 0.8), and gained nothing at 10%; two rows of twice the width beat
/// four rows for the same bytes.
const SKETCH_KEYS_FACTOR: usize = 8;
/// Keys counted into the sketch between checks that it still fits the
/// keyspace.
/// Checked as keys are counted, not only when evicting: a sketch
/// left at its first size while an empty cache fills saturates, and every
/// key written after would start with a high count.
const SKETCH_CHECK_EVERY: u64 = 4096;

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            next_db: AtomicUsize::new(0),
            exceeded_since: AtomicU64::new(0),
            exceeded_total_ms: AtomicU64::new(0),
            background: AtomicBool::new(false),
            epoch: Instant::now(),
            node: OnceLock::new(),
            sketch: RwLock::new(None),
            sketch_epoch: AtomicU32::new(0),
            sketch_counted: AtomicU64::new(0),
        }
    }
}

/// Redis's `evictionTimeLimitUs`: linear to 500 µs at tenacity 10, then
/// 15 % more per step, unlimited at 100.
pub fn time_limit(tenacity: u64) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * tenacity)),
        11..=99 => Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        )),
        _ => None,
    }
}

impl Evictor {
    fn elapsed_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Notes whether memory is over the limit now, for
    /// `total_eviction_exceeded_time`.
    fn mark_exceeded(&self, over: bool) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        if over && since == 0 {
            let _ = self.exceeded_since.compare_exchange(
                0,
                self.elapsed_ms() + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        } else if !over
            && since != 0
            && self
                .exceeded_since
                .compare_exchange(since, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.exceeded_total_ms
                .fetch_add(self.elapsed_ms() + 1 - since, Ordering::Relaxed);
        }
    }

    /// (`total_eviction_exceeded_time`, `current_eviction_exceeded_time`)
    /// in ms: all time over the limit, the current period included, and
    /// the current period alone.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        let current = if since == 0 {
            0
        } else {
            (self.elapsed_ms() + 1).saturating_sub(since)
        };
        (
            self.exceeded_total_ms.load(Ordering::Relaxed) + current,
            current,
        )
    }

    /// `CONFIG RESETSTAT`.
    pub fn reset_stats(&self) {
        self.exceeded_total_ms.store(0, Ordering::Relaxed);
        if self.exceeded_since.load(Ordering::Relaxed) != 0 {
            self.exceeded_since
                .store(self.elapsed_ms() + 1, Ordering::Relaxed);
        }
    }
}

impl Evictor {
    /// The sketch, made now if there is none.
    fn sketch(&self) -> Arc<Sketch> {
        if let Some(s) = self.sketch.read().as_ref() {
            return s.clone();
        }
        self.sketch
            .write()
            .get_or_insert_with(|| Arc::new(Sketch::new(SKETCH_MIN_KEYS)))
            .clone()
    }

    /// The sketch's current epoch, for resident counts.
    pub fn epoch(&self) -> u32 {
        self.sketch_epoch.load(Ordering::Relaxed)
    }

    /// Moves the epoch on when an access to the sketch ended one.
    fn aged(&self, aged: bool) {
        if aged {
            self.sketch_epoch.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `key`, just created, in the sketch; true when it is time to
    /// check the sketch's size.
    fn count(&self, sketch: &Sketch, key: &[u8]) -> bool {
        self.aged(sketch.increment(key));
        let n = self.sketch_counted.fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(SKETCH_CHECK_EVERY)
    }

    /// Counts a read of a cached key towards the sketch's epoch (the key
    /// counts it in its own entry).
    pub fn tick(&self) {
        if let Some(sketch) = self.sketch.read().as_ref() {
            self.aged(sketch.tick());
        }
    }

    /// Drops the sketch (FLUSHALL, or a policy that does not use it): its
    /// memory is freed and counting starts again from nothing.
    pub fn forget_frequencies(&self) {
        *self.sketch.write() = None;
    }

    /// Remakes the sketch when it is off by more than a quarter below or a
    /// half above the size the keyspace (`keys` keys) calls for: TinyLFU
    /// sizes its sketch, and so its aging period, by what the cache holds,
    /// so the counters separate the keys that compete for a place.
    fn fit_sketch(&self, keys: usize) {
        let keys = keys.saturating_mul(SKETCH_KEYS_FACTOR).max(SKETCH_MIN_KEYS);
        let misfit = self
            .sketch
            .read()
            .as_ref()
            .is_some_and(|s| 4 * s.width() < 3 * keys || 2 * s.width() > 3 * keys);
        if misfit {
            let mut slot = self.sketch.write();
            let resized = slot.as_ref().map(|s| s.resized(keys));
            *slot = resized.map(Arc::new);
        }
    }
}

/// A key written anew starts this far above the sketch's estimate (which
/// counts this write): a key fetched again after an eviction then ranks
/// above cached keys with the same history, since it was wanted again
/// more recently. Chosen on bench/hitratio.sh's streams: 1 gained 0.4
/// points on Zipf 1.0 at a 10% budget, lost 1.1 on Zipf 0.8 at 1% (still
/// 2.8 ahead of redis-server there); 2 was no better anywhere.
const WRITTEN_CREDIT: u32 = 1;

/// Under `allkeys-tinylfu`, after a write: gives each key the write created
/// its starting count and, with `maxmemory` set and a write that may grow
/// memory, offers it to the eviction pool at once with that count
/// (TinyLFU's admission: a key seen once goes before a key seen often,
/// however recent).
///
/// A created key is counted in the sketch and starts from its estimate
/// plus [`WRITTEN_CREDIT`] (a replaced one kept its count, `Ctx::put`).
/// Only these writes feed the sketch: a cached key counts its reads in its
/// own entry (`Ctx::touch`), and gives its count to the sketch when
/// evicted, so the sketch holds what is known of keys not in the cache,
/// and a read of a missing key (the GET before a read-through SET) is not
/// counted twice.
pub fn record(node: &Node, command: &crate::command::Command, argv: &[bytes::Bytes], db: usize) {
    if node.hot.policy() != Policy::AllKeysTinyLfu || !command.has_flag("write") {
        return;
    }
    let keys = command.key_positions(argv);
    if keys.is_empty() {
        return;
    }
    let ev = &node.evictor;
    let sketch = ev.sketch();
    let (epoch, now) = (ev.epoch(), now_ms());
    let offer = command.has_flag("denyoom") && node.hot.maxmemory.load(Ordering::Relaxed) != 0;
    let mut check = false;
    SAMPLING.with(|state| {
        let mut state = state.try_borrow_mut().ok();
        for i in keys {
            let key = &argv[i];
            let mut shard = node.store.db(db).lock(key);
            let Some(entry) = shard.lookup(key, now) else {
                continue;
            };
            // Above 0: a key the write found (or replaced, keeping its count).
            if sketch::resident_count(entry.access, epoch) > 0 {
                continue;
            }
            check |= ev.count(&sketch, key);
            let count = u32::from(sketch.estimate(key)) + WRITTEN_CREDIT;
            entry.access = sketch::resident(count, epoch);
            drop(shard);
            if let Some(state) = state.as_mut().filter(|_| offer) {
                state.pool.offer(Policy::tinylfu_score(count), db, key);
            }
        }
    });
    if check {
        let dbs = node.store.databases();
        ev.fit_sketch((0..dbs).map(|db| node.store.db(db).sizes().0).sum());
    }
}

/// Memory counted against `maxmemory`.
fn used() -> u64 {
    shoal_store::alloc::allocated() as u64
}

/// Evicts until under `maxmemory`, the policy has nothing left, or the
/// tenacity's time is up.
pub fn perform(node: &Node) -> Outcome {
    let max = node.hot.maxmemory.load(Ordering::Relaxed);
    if max == 0 {
        return Outcome::Ok;
    }
    let ev = &node.evictor;
    if used() <= max {
        ev.mark_exceeded(false);
        return Outcome::Ok;
    }
    let policy = node.hot.policy();
    if policy == Policy::NoEviction {
        ev.mark_exceeded(true);
        return Outcome::Fail;
    }
    let limit = time_limit(node.hot.maxmemory_eviction_tenacity.load(Ordering::Relaxed));
    let started = Instant::now();
    let mut evicted = 0u64;
    // The exceeded-time clock starts only when a call cannot get back
    // under the limit: the moment between a write and its own eviction is
    // not worth a shared atomic on every write.
    while used() > max {
        if !evict_one(node, policy) {
            ev.mark_exceeded(true);
            return Outcome::Fail;
        }
        evicted += 1;
        // Redis checks the clock every 16 keys.
        if evicted.is_multiple_of(16) && limit.is_some_and(|l| started.elapsed() >= l) {
            ev.mark_exceeded(true);
            start_background(node);
            return Outcome::Running;
        }
    }
    ev.mark_exceeded(false);
    Outcome::Ok
}

/// Keeps evicting off the connections' path until under the limit.
fn start_background(node: &Node) {
    let Some(node) = node.evictor.node.get().and_then(Weak::upgrade) else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if node.evictor.background.swap(true, Ordering::AcqRel) {
        return;
    }
    runtime.spawn(async move {
        loop {
            let step = node.clone();
            let outcome = tokio::task::spawn_blocking(move || perform_step(&step))
                .await
                .unwrap_or(Outcome::Fail);
            if outcome != Outcome::Running {
                break;
            }
            tokio::task::yield_now().await;
        }
        node.evictor.background.store(false, Ordering::Release);
    });
}

/// One time-limited round for the background task (it must not start
/// another task from inside itself).
fn perform_step(node: &Arc<Node>) -> Outcome {
    let max = node.hot.maxmemory.load(Ordering::Relaxed);
    let policy = node.hot.policy();
    if max == 0 || used() <= max {
        node.evictor.mark_exceeded(false);
        return Outcome::Ok;
    }
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    // Off the connections' path, a round may run longer than tenacity's
    // limit (fewer hand-offs between rounds).
    let limit = time_limit(node.hot.maxmemory_eviction_tenacity.load(Ordering::Relaxed))
        .map_or(Duration::from_millis(10), |l| {
            l.max(Duration::from_millis(2))
        });
    let started = Instant::now();
    while used() > max {
        if !evict_one(node, policy) {
            return Outcome::Fail;
        }
        if started.elapsed() >= limit {
            return Outcome::Running;
        }
    }
    node.evictor.mark_exceeded(false);
    Outcome::Ok
}

/// Evicts one key by `policy`; false if there is none it may take.
fn evict_one(node: &Node, policy: Policy) -> bool {
    SAMPLING.with_borrow_mut(|state| evict_one_with(node, policy, state))
}

fn evict_one_with(node: &Node, policy: Policy, state: &mut Sampling) -> bool {
    let volatile = policy.volatile();
    let dbs = node.store.databases();
    let ev = &node.evictor;
    state.empty.resize(dbs, false);
    state.rounds += 1;
    if state.policy != Some(policy) {
        // Scores of another policy mean nothing to this one.
        state.pool.clear();
        state.policy = Some(policy);
    }
    let recheck = state.rounds.is_multiple_of(EMPTY_RECHECK);
    if !policy.pooled() {
        // Random policies: the next database with a candidate, round-robin;
        // databases found empty are skipped until the last resort.
        let start = ev.next_db.fetch_add(1, Ordering::Relaxed);
        for all in [recheck, true] {
            for i in 0..dbs {
                let db = (start + i) % dbs;
                if state.empty[db] && !all {
                    continue;
                }
                let mut key = None;
                RNG.with_borrow_mut(|rng| {
                    node.store
                        .db(db)
                        .sample(1, volatile, rng, |k, _| key = Some(k.to_vec()))
                });
                state.empty[db] = key.is_none();
                if let Some(key) = key {
                    if node.store.db(db).evict(&key, volatile, |_| true) == Some(true) {
                        signal(node, db, &key);
                        return true;
                    }
                }
            }
        }
        return false;
    }
    let samples = node.hot.maxmemory_samples.load(Ordering::Relaxed).max(1) as usize;
    let decay = node.hot.lfu_decay_time.load(Ordering::Relaxed);
    let sketch = (policy == Policy::AllKeysTinyLfu).then(|| ev.sketch());
    let epoch = ev.epoch();
    let score = |e: &shoal_store::Entry, now: u64| match &sketch {
        Some(_) => Policy::tinylfu_score(sketch::resident_count(e.access, epoch)),
        None => policy.score(e, now, decay),
    };
    // Bounded: each round either evicts or finds the pool's picks gone; a
    // keyspace with nothing to sample ends it at once.
    for round in 0..64 {
        let recheck = recheck && round == 0;
        let now = now_ms();
        let sample_dbs = |state: &mut Sampling, all: bool| {
            let mut sampled = 0;
            RNG.with_borrow_mut(|rng| {
                for db in 0..dbs {
                    if state.empty[db] && !all {
                        continue;
                    }
                    let mut found = 0;
                    let pool = &mut state.pool;
                    node.store.db(db).sample(samples, volatile, rng, |k, e| {
                        found += 1;
                        pool.offer(score(e, now), db, k);
                    });
                    state.empty[db] = found == 0;
                    sampled += found;
                }
            });
            sampled
        };
        let mut sampled = sample_dbs(state, recheck);
        if sampled == 0 && !recheck {
            // Only skipped databases may hold keys now: look at them all.
            sampled = sample_dbs(state, true);
        }
        if sampled == 0 && state.pool.is_empty() {
            return false;
        }
        // Redis evicts the pool's best as scored when sampled. TinyLFU
        // looks again: a key read often since it was offered (new keys are
        // offered at once) goes back with its fresh score instead.
        let mut requeued = 0;
        while let Some(c) = state.pool.pop_best() {
            let mut fresh = c.score;
            let mut count = 0;
            let confirm = |e: &shoal_store::Entry| {
                if sketch.is_none() {
                    return true;
                }
                count = sketch::resident_count(e.access, epoch);
                fresh = score(e, now_ms());
                fresh >= c.score
            };
            match node.store.db(c.db).evict(&c.key, volatile, confirm) {
                Some(true) => {
                    if let Some(sketch) = &sketch {
                        // What the cache learnt of the key outlives it.
                        sketch.deposit(&c.key, count);
                    }
                    signal(node, c.db, &c.key);
                    return true;
                }
                Some(false) if requeued < POOL_SIZE => {
                    requeued += 1;
                    state.pool.offer(fresh, c.db, &c.key);
                }
                _ => {}
            }
        }
        if sampled == 0 {
            return false;
        }
    }
    false
}

/// An evicted key counts as modified for WATCH, as in Redis.
fn signal(node: &Node, db: usize, key: &[u8]) {
    if node.watches.active() {
        node.watches.touch(db, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushall_forgets_frequencies() {
        let ev = Evictor::default();
        for _ in 0..3 {
            ev.count(&ev.sketch(), b"k");
        }
        assert_eq!(ev.sketch().estimate(b"k"), 3);
        ev.forget_frequencies();
        assert!(ev.sketch.read().is_none());
        assert_eq!(ev.sketch().estimate(b"k"), 0);
    }
}
