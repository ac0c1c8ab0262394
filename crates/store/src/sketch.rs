//! `allkeys-tinylfu`'s frequency memory, in two parts.
//!
//! [`Sketch`]: a count-min sketch of 4-bit counters (two rows, each key one
//! counter per row, the estimate the smaller) of what is known about keys
//! *not* in the cache: a key is counted when a write creates it
//! ([`Sketch::increment`]), and its own count is put back when it is
//! evicted ([`Sketch::deposit`]). After [`AGING_PERIOD`] × width accesses
//! (those counted, and reads of cached keys, [`Sketch::tick`]) every
//! counter is halved (one *epoch* ends), so the figures describe recent
//! popularity. This is what lets the policy tell a returning popular key
//! from one seen once. Reads of cached keys never reach the counters:
//! with them carrying only the cache's misses and departures, a narrow
//! sketch collides little.
//!
//! Resident counts ([`resident`], [`resident_count`], [`resident_touch`]):
//! a cached key carries its own count in its entry's 32-bit access field,
//! started from the sketch's estimate when the key is created and raised by
//! one on every access after that. Being exact while the key is cached, it
//! ranks cached keys without the sketch's collisions; it is halved once per
//! epoch, as the sketch is, by stamping the epoch beside it (the top 8
//! bits) and shifting by the epochs passed when it is read. An entry idle
//! for a multiple of 256 epochs reads as if stamped now: its old count
//! comes back, and ages away again from then on.
//!
//! Counters are atomics updated without a lock: concurrent increments may
//! now and then lose one, which an estimate can afford.

use std::sync::atomic::{AtomicU64, Ordering};

const ROWS: usize = 2;
/// Counters saturate here (4 bits, as TinyLFU's paper and Caffeine): with
/// resident counts ranking the cached keys, the sketch only has to tell a
/// returning key from a new one, and half a byte per counter buys twice
/// the width of 8-bit counters for the same memory (bench/hitratio.sh).
pub const MAX: u8 = 15;
/// Accesses (ticks), per counter in a row, between two halvings. 20, on
/// bench/hitratio.sh's streams: 10 lost 1.3 points on the 1% scan row
/// with Zipf 0.8; 40 let stale counts linger when the hot set shifts.
pub const AGING_PERIOD: u64 = 20;
const PER_WORD: usize = 16;
/// Every nibble's low bit, to halve sixteen counters at once.
const HALVE_MASK: u64 = 0x7777_7777_7777_7777;

pub struct Sketch {
    /// Sixteen 4-bit counters per word; row r's counter i is number
    /// `r * width + i`.
    words: Box<[AtomicU64]>,
    /// Counters per row.
    width: usize,
    additions: AtomicU64,
}

/// The key's 64-bit hash (FNV-1a, then a finalizer to spread the bits).
fn hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl Sketch {
    /// A sketch for about `keys` distinct keys (at least 1024 a row).
    pub fn new(keys: usize) -> Sketch {
        let width = keys.clamp(1024, u32::MAX as usize);
        Sketch {
            words: (0..(ROWS * width).div_ceil(PER_WORD))
                .map(|_| AtomicU64::new(0))
                .collect(),
            width,
            additions: AtomicU64::new(0),
        }
    }

    /// Bytes the counters take.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    fn get(&self, n: usize) -> u8 {
        let word = self.words[n / PER_WORD].load(Ordering::Relaxed);
        ((word >> (4 * (n % PER_WORD))) & 0xf) as u8
    }

    /// Sets counter `n` to `v` (at most [`MAX`]), leaving its neighbours be.
    fn set(&self, n: usize, v: u8) {
        let shift = 4 * (n % PER_WORD);
        let _ = self.words[n / PER_WORD].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
            Some((w & !(0xf << shift)) | (u64::from(v.min(MAX)) << shift))
        });
    }

    /// A sketch for about `keys` keys that keeps this one's estimates: a
    /// key's slot in a row is its hash's place along the row, so each new
    /// counter starts from the largest of the old counters covering the
    /// same stretch of hashes, and no key's estimate drops.
    pub fn resized(&self, keys: usize) -> Sketch {
        let new = Sketch::new(keys);
        let (old_w, new_w) = (self.width, new.width);
        for row in 0..ROWS {
            for j in 0..new_w {
                let first = j * old_w / new_w;
                let last = ((j + 1) * old_w - 1) / new_w;
                let v = (first..=last)
                    .map(|i| self.get(row * old_w + i))
                    .max()
                    .unwrap_or(0);
                new.set(row * new_w + j, v);
            }
        }
        new
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn slots(&self, key: &[u8]) -> [usize; ROWS] {
        let h = hash(key);
        std::array::from_fn(|row| {
            let part = h
                .rotate_left(16 * row as u32)
                .wrapping_mul(2 * row as u64 + 1);
            // The top 32 bits scaled to the width (any width, no modulo).
            row * self.width + (((part >> 32) * self.width as u64) >> 32) as usize
        })
    }

    /// The key's estimated recent frequency, 0..=[`MAX`].
    pub fn estimate(&self, key: &[u8]) -> u8 {
        self.slots(key)
            .iter()
            .map(|&n| self.get(n))
            .min()
            .unwrap_or(0)
    }

    /// Counts one access that the counters do not record (a read of a
    /// cached key, which counts in its entry): the epoch is measured in
    /// all accesses, so cached keys' counts age while the cache hits. True
    /// when this access ended an epoch (every counter was halved).
    pub fn tick(&self) -> bool {
        let n = self.additions.fetch_add(1, Ordering::Relaxed) + 1;
        let aged = n.is_multiple_of(AGING_PERIOD * self.width as u64);
        if aged {
            self.age();
        }
        aged
    }

    /// Counts one access to `key` (a [`Sketch::tick`] that its counters
    /// record); true when it ended an epoch.
    pub fn increment(&self, key: &[u8]) -> bool {
        let aged = self.tick();
        let slots = self.slots(key);
        // Conservative update: raise only the counters at the minimum.
        let min = slots.iter().map(|&n| self.get(n)).min().unwrap_or(0);
        if min < MAX {
            for &n in &slots {
                if self.get(n) == min {
                    self.set(n, min + 1);
                }
            }
        }
        aged
    }

    /// Raises each of the key's counters to at least `count` (capped at
    /// [`MAX`]): an evicted key's own count, kept for when it comes back.
    pub fn deposit(&self, key: &[u8], count: u32) {
        let v = count.min(u32::from(MAX)) as u8;
        for n in self.slots(key) {
            if self.get(n) < v {
                self.set(n, v);
            }
        }
    }

    /// Halves every counter.
    fn age(&self) {
        for w in self.words.iter() {
            let _ = w.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some((v >> 1) & HALVE_MASK)
            });
        }
    }
}

/// Largest resident count (24 bits).
pub const RESIDENT_MAX: u32 = 0xff_ffff;

/// The access field of a cached key whose count is `count` in `epoch`.
pub fn resident(count: u32, epoch: u32) -> u32 {
    ((epoch & 0xff) << 24) | count.min(RESIDENT_MAX)
}

/// The count an access field holds in `epoch`: halved once for each epoch
/// since it was stamped.
pub fn resident_count(access: u32, epoch: u32) -> u32 {
    let passed = (epoch & 0xff).wrapping_sub(access >> 24) & 0xff;
    (access & RESIDENT_MAX) >> passed.min(24)
}

/// The access field after one more access in `epoch`.
pub fn resident_touch(access: u32, epoch: u32) -> u32 {
    resident(resident_count(access, epoch) + 1, epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_age() {
        let s = Sketch::new(1000);
        assert_eq!(s.width(), 1024);
        for _ in 0..5 {
            s.increment(b"five");
        }
        for _ in 0..300 {
            s.increment(b"hot");
        }
        assert_eq!(s.estimate(b"five"), 5);
        assert_eq!(s.estimate(b"hot"), MAX);
        assert_eq!(s.estimate(b"never"), 0);
        // AGING_PERIOD × width accesses in all halve every counter.
        let done = 305;
        for _ in 0..(AGING_PERIOD as usize * 1024 - done - 1) {
            assert!(!s.increment(b"filler"));
        }
        assert_eq!(s.estimate(b"five"), 5);
        assert!(s.increment(b"filler"), "the epoch ends here");
        assert_eq!(s.estimate(b"hot"), MAX / 2);
        assert_eq!(s.estimate(b"five"), 2);
        assert_eq!(s.bytes(), ROWS * 1024 / 2);
    }

    #[test]
    fn ticks_age_without_counting_and_deposits_raise() {
        let s = Sketch::new(1024);
        for _ in 0..6 {
            s.increment(b"k");
        }
        s.deposit(b"gone", 9);
        s.deposit(b"gone", 3);
        s.deposit(b"big", 1000);
        assert_eq!(
            (s.estimate(b"k"), s.estimate(b"gone"), s.estimate(b"big")),
            (6, 9, MAX)
        );
        // Ticks end the epoch as increments do, without counting a key.
        for _ in 6..(AGING_PERIOD as usize * 1024 - 1) {
            assert!(!s.tick());
        }
        assert!(s.tick());
        assert_eq!((s.estimate(b"k"), s.estimate(b"gone")), (3, 4));
    }

    #[test]
    fn resident_counts_grow_and_halve_per_epoch() {
        let mut access = resident(13, 7);
        assert_eq!(resident_count(access, 7), 13);
        for _ in 0..3 {
            access = resident_touch(access, 7);
        }
        assert_eq!(resident_count(access, 7), 16);
        // Two epochs later: halved twice; a touch restamps it.
        assert_eq!(resident_count(access, 9), 4);
        access = resident_touch(access, 9);
        assert_eq!((access >> 24, resident_count(access, 9)), (9, 5));
        // Epochs wrap at 256: 255 -> 0 is one epoch.
        assert_eq!(resident_count(resident(8, 255), 256), 4);
        assert_eq!(resident_count(resident(8, 255), 255 + 30), 0);
        assert_eq!(resident_count(resident(u32::MAX, 0), 0), RESIDENT_MAX);
    }

    #[test]
    fn resizing_keeps_estimates() {
        let s = Sketch::new(1024);
        for i in 0..300 {
            for _ in 0..(i % 16) {
                s.increment(format!("k{i}").as_bytes());
            }
        }
        let wide = s.resized(8192);
        let narrow = s.resized(256);
        assert_eq!(wide.width(), 8192);
        let exact = (0..300)
            .filter(|i| {
                let k = format!("k{i}");
                wide.estimate(k.as_bytes()) == s.estimate(k.as_bytes())
            })
            .count();
        // Growing splits each counter's stretch: almost every key keeps its exact count.
        assert!(exact >= 290, "{exact}");
        for i in 0..300 {
            let k = format!("k{i}");
            assert!(
                wide.estimate(k.as_bytes()) >= s.estimate(k.as_bytes()),
                "{k}"
            );
            assert!(
                narrow.estimate(k.as_bytes()) >= s.estimate(k.as_bytes()),
                "{k}"
            );
        }
    }

    #[test]
    fn estimates_rank_keys_by_frequency() {
        let s = Sketch::new(10_000);
        for round in 0..10 {
            for k in 0..1000 {
                // Key k is touched in rounds 0..k/100: frequency grows with k.
                if round < k / 100 {
                    s.increment(format!("k{k}").as_bytes());
                }
            }
        }
        let low = s.estimate(b"k50");
        let high = s.estimate(b"k950");
        assert!(low <= 1 && high >= 8, "{low} {high}");
    }
}
