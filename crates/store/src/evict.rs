//! Eviction policies as Redis 7.0 defines them, and its eviction pool.
//!
//! The LRU, LFU and TTL policies do not find the best key in the whole
//! keyspace: each round samples `maxmemory-samples` keys per database into
//! a [`Pool`] of the best [`POOL_SIZE`] candidates seen so far (kept across
//! rounds), and evicts the best of those that still exists. The random
//! policies evict any random key (with a TTL, for `volatile-random`).

use crate::keyspace::{lru_clock, Entry};

/// Redis's `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    /// shoal's own: TinyLFU. A frequency sketch remembers keys created and
    /// evicted; a created key starts from the sketch's estimate and counts
    /// its own accesses while cached (`crate::sketch`); the victim is the
    /// sampled (or newly written) key with the lowest count.
    AllKeysTinyLfu,
}

/// Candidates the pool keeps (Redis's `EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

impl Policy {
    /// Redis's eight, in the order its error messages list them.
    pub const REDIS: [Policy; 8] = [
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::NoEviction,
    ];

    /// Every policy shoal knows: Redis's, then its own.
    pub const ALL: [Policy; 9] = {
        let mut all = [Policy::AllKeysTinyLfu; 9];
        let mut i = 0;
        while i < Policy::REDIS.len() {
            all[i] = Policy::REDIS[i];
            i += 1;
        }
        all
    };

    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllKeysTinyLfu => "allkeys-tinylfu",
        }
    }

    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Only keys with a TTL may go.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Picks through the pool (LRU, LFU, TTL) rather than at random.
    pub fn pooled(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLru
                | Policy::AllKeysLfu
                | Policy::AllKeysTinyLfu
                | Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileTtl
        )
    }

    pub fn lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// Counts accesses per key, so `OBJECT FREQ` answers and `OBJECT
    /// IDLETIME` does not: Redis's LFU policies and TinyLFU.
    pub fn counts_frequency(self) -> bool {
        self.lfu() || self == Policy::AllKeysTinyLfu
    }

    /// TinyLFU's victim score from a key's count (`sketch::resident_count`):
    /// the lower the count, the better the victim.
    pub fn tinylfu_score(count: u32) -> u64 {
        u64::from(crate::sketch::RESIDENT_MAX.saturating_sub(count))
    }

    /// How good a victim `entry` is: higher goes first. LRU: idle
    /// milliseconds; LFU: 255 minus the decayed counter; TTL: sooner expiry
    /// scores higher (Redis's `ULLONG_MAX - expire`).
    pub fn score(self, entry: &Entry, now_ms: u64, lfu_decay_minutes: u64) -> u64 {
        match self {
            Policy::AllKeysLfu | Policy::VolatileLfu => {
                255 - u64::from(crate::lfu::decayed(entry.access, now_ms, lfu_decay_minutes))
            }
            Policy::VolatileTtl => u64::MAX - entry.expire_at,
            _ => {
                // The clock wraps as Redis's 24-bit one does not, so a key
                // touched "in the future" (clock moved back) counts as fresh.
                u64::from(lru_clock(now_ms).saturating_sub(entry.access)) * 1000
            }
        }
    }
}

/// A key the pool holds, with its score and database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub score: u64,
    pub db: usize,
    pub key: Box<[u8]>,
}

/// The best candidates seen, ascending by score (Redis's eviction pool).
#[derive(Debug, Default)]
pub struct Pool {
    items: Vec<Candidate>,
}

impl Pool {
    /// Takes a sampled key unless the pool is full of better ones; when
    /// full, the worst candidate makes room (`evictionPoolPopulate`).
    pub fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        let at = self.items.partition_point(|c| c.score < score);
        if at == 0 && self.items.len() >= POOL_SIZE {
            return;
        }
        if let Some(same) = self.items.iter().position(|c| c.db == db && *c.key == *key) {
            // Resampled: keep one copy, with the newer score.
            self.items.remove(same);
            return self.offer(score, db, key);
        }
        self.items.insert(
            at,
            Candidate {
                score,
                db,
                key: key.into(),
            },
        );
        if self.items.len() > POOL_SIZE {
            self.items.remove(0);
        }
    }

    /// The best candidate, removed from the pool.
    pub fn pop_best(&mut self) -> Option<Candidate> {
        self.items.pop()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Str, Value};

    fn entry(access: u32, expire_at: u64) -> Entry {
        let mut e = Entry::new(Value::Str(Str::new(b"v")), 0);
        e.access = access;
        e.expire_at = expire_at;
        e
    }

    #[test]
    fn names_round_trip_and_classify() {
        for p in Policy::ALL {
            assert_eq!(Policy::parse(p.name()), Some(p));
        }
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::parse("lru"), None);
        assert!(Policy::VolatileTtl.volatile() && Policy::VolatileTtl.pooled());
        assert!(!Policy::AllKeysRandom.pooled() && !Policy::AllKeysRandom.volatile());
        assert!(Policy::VolatileLfu.lfu() && !Policy::AllKeysLru.lfu());
    }

    #[test]
    fn scores_rank_victims_as_redis_does() {
        let now = 1_000_000_000;
        let clock = lru_clock(now);
        // LRU: longer idle first.
        let idle = Policy::AllKeysLru.score(&entry(clock - 100, 0), now, 1);
        let fresh = Policy::AllKeysLru.score(&entry(clock, 0), now, 1);
        assert_eq!((idle, fresh), (100_000, 0));
        // LFU: lower counter first.
        let minute = ((now / 60_000) & 0xffff) as u32;
        let rare = Policy::AllKeysLfu.score(&entry(minute << 8 | 1, 0), now, 1);
        let hot = Policy::AllKeysLfu.score(&entry(minute << 8 | 200, 0), now, 1);
        assert_eq!((rare, hot), (254, 55));
        // TTL: sooner expiry first.
        let soon = Policy::VolatileTtl.score(&entry(0, now + 10), now, 1);
        let late = Policy::VolatileTtl.score(&entry(0, now + 10_000), now, 1);
        assert!(soon > late);
    }

    #[test]
    fn pool_keeps_the_best_sixteen_and_pops_the_best() {
        let mut pool = Pool::default();
        for i in 0..40u64 {
            pool.offer(i * 7 % 40, 0, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        // A candidate worse than every one in a full pool is not taken.
        pool.offer(0, 0, b"worst");
        assert_eq!(pool.len(), POOL_SIZE);
        pool.offer(100, 1, b"best");
        pool.offer(100, 1, b"best");
        let order: Vec<u64> = std::iter::from_fn(|| pool.pop_best().map(|c| c.score)).collect();
        assert_eq!(order[0], 100);
        assert_eq!(order[1..], (25..40).rev().collect::<Vec<u64>>()[..]);
        assert!(pool.is_empty());
    }
}
