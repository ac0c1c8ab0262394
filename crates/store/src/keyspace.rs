//! The keyspace: numbered databases, each split into shards.
//!
//! A database is [`SHARDS`] independently locked [`Shard`]s; a key's shard
//! is a hash of the key. Single-key commands lock one shard, so clients on
//! different cores rarely meet. Multi-key commands lock every shard they
//! touch through [`Store::lock`], always in (database, shard) order, so they
//! are atomic and cannot deadlock. Whole-database work (`FLUSHDB`, `KEYS`,
//! the expire cycle) visits shards one at a time and never stops the world.
//!
//! Expiry is lazy (a lookup of an expired key deletes it) plus
//! [`Store::active_expire_cycle`], which samples keys with a TTL the way
//! Redis's `activeExpireCycle` does.

use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, MutexGuard};

use crate::dict::Dict;
use crate::value::Value;

/// Shards per database (a power of two).
pub const SHARDS: usize = 64;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One key's value and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 means no TTL.
    pub expire_at: u64,
    /// Last access, in seconds of the LRU clock ([`lru_clock`]).
    pub access: u32,
    /// The value is this key's own copy (made by COPY), so it is never one
    /// of Redis's shared small integers: `OBJECT REFCOUNT` shows 1.
    pub unshared: bool,
}

/// The LRU clock: Unix seconds, as Redis's LRU clock at 1 s resolution.
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Entry {
    pub fn new(value: Value, now_ms: u64) -> Entry {
        Entry {
            value,
            expire_at: 0,
            access: lru_clock(now_ms),
            unshared: false,
        }
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at < now_ms
    }
}

/// Bytes a key costs: its table node, the key (unless kept in the node)
/// and the value's heap.
pub fn entry_bytes(key: &[u8], entry: &Entry) -> usize {
    // Node: next pointer + key (pointer, length) + entry, plus the bucket slot.
    let node = std::mem::size_of::<Entry>() + 3 * std::mem::size_of::<usize>();
    node + std::mem::size_of::<usize>() + crate::key::heap_len(key.len()) + entry.value.heap_bytes()
}

/// Counters a shard keeps under its own lock; INFO adds them up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

impl std::ops::AddAssign for ShardStats {
    fn add_assign(&mut self, o: ShardStats) {
        self.keyspace_hits += o.keyspace_hits;
        self.keyspace_misses += o.keyspace_misses;
        self.expired_keys += o.expired_keys;
        self.evicted_keys += o.evicted_keys;
    }
}

/// A part of one database, behind one lock.
#[derive(Default)]
pub struct Shard {
    keys: Dict<Entry>,
    /// Keys that have a TTL, for sampling by the expire cycle.
    volatile: Dict<()>,
    pub stats: ShardStats,
}

impl Shard {
    /// The live entry for `key`, deleting it first if it has expired.
    pub fn lookup(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let expired = self.keys.get(key)?.is_expired(now);
        if expired {
            self.remove(key);
            self.stats.expired_keys += 1;
            return None;
        }
        self.keys.get_mut(key)
    }

    /// The stored expiry of `key` (0 for none) if it is physically
    /// present, expired or not; unlike [`Shard::lookup`] this deletes nothing.
    pub fn peek_expire(&self, key: &[u8]) -> Option<u64> {
        self.keys.get(key).map(|e| e.expire_at)
    }

    /// Like [`Shard::lookup`] for a read command: counts a hit or a miss.
    pub fn lookup_read(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let found = self.lookup(key, now).is_some();
        if found {
            self.stats.keyspace_hits += 1;
        } else {
            self.stats.keyspace_misses += 1;
        }
        self.keys.get_mut(key)
    }

    /// Stores `entry` under `key`, replacing any value; returns the old entry.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let volatile = entry.expire_at != 0;
        let old = self.keys.insert(key, entry);
        let was_volatile = old.as_ref().is_some_and(|e| e.expire_at != 0);
        match (was_volatile, volatile) {
            (false, true) => {
                self.volatile.insert(key, ());
            }
            (true, false) => {
                self.volatile.remove(key);
            }
            _ => {}
        }
        old
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let old = self.keys.remove(key)?;
        if old.expire_at != 0 {
            self.volatile.remove(key);
        }
        Some(old)
    }

    /// Sets or clears (`at == 0`) the TTL of an existing key; false if absent.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some(entry) = self.keys.get_mut(key) else {
            return false;
        };
        let was = std::mem::replace(&mut entry.expire_at, at);
        match (was != 0, at != 0) {
            (false, true) => {
                self.volatile.insert(key, ());
            }
            (true, false) => {
                self.volatile.remove(key);
            }
            _ => {}
        }
        true
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.volatile.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.keys.iter()
    }

    /// Offers up to `n` random keys (only keys with a TTL if `volatile`)
    /// and their entries to `visit`; the same key may come twice.
    pub fn sample(
        &self,
        n: usize,
        volatile: bool,
        rng: &mut Rng,
        mut visit: impl FnMut(&[u8], &Entry),
    ) {
        for _ in 0..n {
            let key = if volatile {
                self.volatile.random(|| rng.next_u64()).map(|(k, ())| k)
            } else {
                self.keys.random(|| rng.next_u64()).map(|(k, _)| k)
            };
            let Some(key) = key else {
                return;
            };
            if let Some(e) = self.keys.get(key) {
                visit(key, e);
            }
        }
    }

    /// Bytes of bookkeeping for the keys and for the TTL index (tables and
    /// nodes, without keys and values), as MEMORY STATS reports them.
    pub fn overhead(&self) -> (usize, usize) {
        let word = std::mem::size_of::<usize>();
        let node = std::mem::size_of::<Entry>() + 3 * word;
        (
            self.keys.table_bytes() + self.keys.len() * node,
            self.volatile.table_bytes() + self.volatile.len() * 3 * word,
        )
    }

    /// Evicts `key` if it is still there (and, if `volatile`, still has a
    /// TTL) and `confirm` agrees on seeing its entry; counts it in
    /// `evicted_keys`. `None`: no such key; `Some(evicted)` otherwise.
    pub fn evict(
        &mut self,
        key: &[u8],
        volatile: bool,
        confirm: impl FnOnce(&Entry) -> bool,
    ) -> Option<bool> {
        let e = self
            .keys
            .get(key)
            .filter(|e| !volatile || e.expire_at != 0)?;
        if !confirm(e) {
            return Some(false);
        }
        self.remove(key);
        self.stats.evicted_keys += 1;
        Some(true)
    }

    /// Samples up to `samples` keys with a TTL and deletes the expired ones;
    /// returns (sampled, expired).
    fn expire_sample(&mut self, samples: usize, now: u64, rng: &mut Rng) -> (usize, usize) {
        let mut expired = 0;
        let n = samples.min(self.volatile.len());
        for _ in 0..n {
            let Some((key, ())) = self.volatile.random(|| rng.next_u64()) else {
                break;
            };
            let key = key.to_vec();
            if self.keys.get(&key).is_some_and(|e| e.is_expired(now)) {
                self.remove(&key);
                self.stats.expired_keys += 1;
                expired += 1;
            }
        }
        (n, expired)
    }
}

/// One numbered database.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for Db {
    fn default() -> Self {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

/// The shard a key lives in (FNV-1a; independent of each table's hasher).
pub fn shard_index(key: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in key {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h as usize) & (SHARDS - 1)
}

impl Db {
    /// Locks the shard holding `key`.
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.shards[shard_index(key)].lock()
    }

    pub fn shards(&self) -> impl Iterator<Item = &Mutex<Shard>> {
        self.shards.iter()
    }

    /// [`Shard::overhead`] summed over the shards.
    pub fn overhead(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(m, e), s| {
            let (sm, se) = s.lock().overhead();
            (m + sm, e + se)
        })
    }

    /// (keys, keys with a TTL).
    pub fn sizes(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(k, v), s| {
            let s = s.lock();
            (k + s.len(), v + s.volatile_len())
        })
    }

    /// Removes every key `doomed` picks, a shard at a time; returns how
    /// many went.
    pub fn remove_where(&self, mut doomed: impl FnMut(&[u8]) -> bool) -> usize {
        let mut removed = 0;
        for s in self.shards.iter() {
            let mut shard = s.lock();
            let keys: Vec<Vec<u8>> = shard
                .iter()
                .filter(|(k, _)| doomed(k))
                .map(|(k, _)| k.to_vec())
                .collect();
            for k in &keys {
                shard.remove(k);
            }
            removed += keys.len();
        }
        removed
    }

    pub fn flush(&self) {
        for s in self.shards.iter() {
            // Take the tables out under the lock, free them outside it.
            let old = std::mem::take(&mut *s.lock());
            let stats = old.stats;
            s.lock().stats = stats;
            drop(old);
        }
    }

    /// One step of a keyspace scan. The cursor's low bits pick the shard and
    /// the rest is that shard's table cursor, so the guarantee of
    /// [`Dict::scan`] holds shard by shard. Visits buckets until `count`
    /// keys were offered or ten times that many buckets were empty.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut visit: impl FnMut(&[u8], &Entry),
    ) -> u64 {
        let shard_bits = SHARDS.trailing_zeros();
        let mut shard = (cursor & (SHARDS as u64 - 1)) as usize;
        let mut inner = cursor >> shard_bits;
        let mut offered = 0;
        let mut budget = count.saturating_mul(10).max(1);
        while budget > 0 {
            let guard = self.shards[shard].lock();
            while budget > 0 {
                inner = guard.keys.scan(inner, |k, e| {
                    if !e.is_expired(now) {
                        offered += 1;
                        visit(k, e);
                    }
                });
                budget -= 1;
                if offered >= count || inner == 0 {
                    break;
                }
            }
            drop(guard);
            if inner == 0 {
                shard += 1;
                if shard == SHARDS {
                    return 0;
                }
            }
            if offered >= count {
                break;
            }
        }
        (inner << shard_bits) | shard as u64
    }

    /// Offers up to `n` random keys (with a TTL if `volatile`) to `visit`,
    /// from the first shard, starting at a random one, that has any.
    pub fn sample(
        &self,
        n: usize,
        volatile: bool,
        rng: &mut Rng,
        mut visit: impl FnMut(&[u8], &Entry),
    ) {
        let start = rng.below(SHARDS);
        for i in 0..SHARDS {
            let shard = self.shards[(start + i) % SHARDS].lock();
            let has = if volatile {
                shard.volatile_len() > 0
            } else {
                !shard.is_empty()
            };
            if has {
                shard.sample(n, volatile, rng, &mut visit);
                return;
            }
        }
    }

    /// Evicts `key` (see [`Shard::evict`]).
    pub fn evict(
        &self,
        key: &[u8],
        volatile: bool,
        confirm: impl FnOnce(&Entry) -> bool,
    ) -> Option<bool> {
        self.lock(key).evict(key, volatile, confirm)
    }

    /// A random live key, or `None` if the database is empty.
    pub fn random_key(&self, now: u64, rng: &mut Rng) -> Option<Vec<u8>> {
        // Bounded tries: a database full of expired keys must not spin.
        for _ in 0..100 {
            let start = rng.below(SHARDS);
            for i in 0..SHARDS {
                let mut shard = self.shards[(start + i) % SHARDS].lock();
                let Some((key, _)) = shard.keys.random(|| rng.next_u64()) else {
                    continue;
                };
                let key = key.to_vec();
                if shard.lookup(&key, now).is_some() {
                    return Some(key);
                }
                break;
            }
        }
        None
    }
}

/// A small fast PRNG (xorshift64*) for sampling; not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn from_time() -> Rng {
        Rng::new(now_ms() ^ (std::process::id() as u64).rotate_left(32))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// All databases of a node.
pub struct Store {
    dbs: Box<[Db]>,
}

/// Shards held locked together by [`Store::lock`].
pub struct Locked<'a> {
    guards: Vec<((usize, usize), MutexGuard<'a, Shard>)>,
}

impl Locked<'_> {
    /// The locked shard of `key` in database `db`.
    ///
    /// # Panics
    /// If that shard was not among those locked: a bug in the caller, which
    /// must name every key it touches when locking.
    pub fn shard(&mut self, db: usize, key: &[u8]) -> &mut Shard {
        let at = (db, shard_index(key));
        let i = self
            .guards
            .binary_search_by_key(&at, |(k, _)| *k)
            .expect("every key a command touches is locked up front");
        &mut self.guards[i].1
    }
}

impl Store {
    pub fn new(databases: usize) -> Store {
        Store {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
        }
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    /// Locks the shards of all the given (database, key) pairs at once, in
    /// a fixed order, for a command that must see and change them atomically.
    pub fn lock<'k>(&self, keys: impl IntoIterator<Item = (usize, &'k [u8])>) -> Locked<'_> {
        let mut at: Vec<(usize, usize)> = keys
            .into_iter()
            .map(|(db, k)| (db, shard_index(k)))
            .collect();
        at.sort_unstable();
        at.dedup();
        Locked {
            guards: at
                .into_iter()
                .map(|(db, s)| ((db, s), self.dbs[db].shards[s].lock()))
                .collect(),
        }
    }

    /// Summed counters of every shard.
    pub fn stats(&self) -> ShardStats {
        let mut total = ShardStats::default();
        for db in self.dbs.iter() {
            for s in db.shards() {
                total += s.lock().stats;
            }
        }
        total
    }

    pub fn reset_stats(&self) {
        for db in self.dbs.iter() {
            for s in db.shards() {
                s.lock().stats = ShardStats::default();
            }
        }
    }

    /// One run of the active expire cycle: samples keys with a TTL in every
    /// shard (20 at a time, again while more than 10% of a sample had
    /// expired, as Redis does) until `budget` has passed. Returns how many
    /// keys it deleted. Each shard is locked only for one sample.
    pub fn active_expire_cycle(&self, budget: std::time::Duration, rng: &mut Rng) -> usize {
        const SAMPLE: usize = 20;
        let start = std::time::Instant::now();
        let now = now_ms();
        let mut deleted = 0;
        for db in self.dbs.iter() {
            for shard in db.shards() {
                loop {
                    let (sampled, expired) = shard.lock().expire_sample(SAMPLE, now, rng);
                    deleted += expired;
                    if sampled == 0 || expired * 10 <= sampled || start.elapsed() > budget {
                        break;
                    }
                }
                if start.elapsed() > budget {
                    return deleted;
                }
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Str;

    fn entry(s: &str) -> Entry {
        Entry::new(Value::Str(Str::new(s.as_bytes())), 0)
    }

    #[test]
    fn lookup_deletes_expired_keys_and_counts_them() {
        let db = Db::default();
        let mut shard = db.lock(b"k");
        let mut e = entry("v");
        e.expire_at = 1000;
        shard.insert(b"k", e);
        assert!(
            shard.lookup(b"k", 1000).is_some(),
            "alive at its expiry instant, as Redis"
        );
        assert!(shard.lookup(b"k", 1001).is_none());
        assert_eq!(shard.stats.expired_keys, 1);
        assert_eq!(shard.volatile_len(), 0);
    }

    #[test]
    fn active_expire_cycle_reclaims_expired_keys() {
        let store = Store::new(1);
        let now = now_ms();
        for i in 0..10_000u32 {
            let key = format!("k{i}");
            let mut e = entry("v");
            e.expire_at = if i % 2 == 0 { now - 1 } else { now + 1_000_000 };
            store.db(0).lock(key.as_bytes()).insert(key.as_bytes(), e);
        }
        let mut rng = Rng::new(7);
        let mut deleted = 0;
        for _ in 0..50 {
            deleted += store.active_expire_cycle(std::time::Duration::from_millis(25), &mut rng);
        }
        let (keys, volatile) = store.db(0).sizes();
        assert_eq!(keys, 10_000 - deleted);
        assert_eq!(volatile, keys);
        // Redis's cycle stops sampling a table once at most 10% of a sample
        // has expired, so some expired keys may remain; bound them.
        assert!(deleted > 4_000, "reclaimed only {deleted} of 5000");
        assert_eq!(store.stats().expired_keys as usize, deleted);
    }

    #[test]
    fn full_scan_visits_every_key_once_per_table_walk() {
        let db = Db::default();
        for i in 0..3000u32 {
            let key = format!("key{i}");
            db.lock(key.as_bytes()).insert(key.as_bytes(), entry("v"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 10, 0, |k, _| {
                seen.insert(k.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 3000);
    }

    #[test]
    fn lock_many_gives_each_key_its_shard() {
        let store = Store::new(2);
        let mut locked = store.lock([(0, &b"a"[..]), (1, &b"b"[..]), (0, &b"a"[..])]);
        locked.shard(0, b"a").insert(b"a", entry("1"));
        locked.shard(1, b"b").insert(b"b", entry("2"));
        drop(locked);
        assert_eq!(store.db(0).sizes().0, 1);
        assert_eq!(store.db(1).sizes().0, 1);
    }
}
