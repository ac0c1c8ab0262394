//! [`Sketch`]: TinyLFU's frequency sketch. A count-min sketch of 8-bit
//! counters (four rows, each key one counter per row, the estimate the
//! smallest) that every access increments; after [`AGING_PERIOD`] × width increments
//! every counter is halved, so the figures describe recent popularity. It
//! keeps counting keys after they are evicted, which is what lets a policy
//! tell a returning popular key from one seen once.
//!
//! Counters are atomics updated without a lock: concurrent increments may
//! now and then lose one, which an estimate can afford.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

const ROWS: usize = 4;
/// Counters saturate here. TinyLFU's paper uses 4-bit counters; 8 bits
/// (bench/hitratio.sh) rank popular keys apart on Zipf streams, where 15
/// made every cached key look alike, at the same byte per counter.
pub const MAX: u8 = 255;
/// Increments, per counter in a row, between two halvings. 40
/// (bench/hitratio.sh, with each run starting from an empty sketch) ranked
/// Zipf keys better than 10 and 20 at a 1% budget and the same at 10%.
pub const AGING_PERIOD: u64 = 40;

pub struct Sketch {
    counters: Box<[AtomicU8]>,
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
            counters: (0..ROWS * width).map(|_| AtomicU8::new(0)).collect(),
            width,
            additions: AtomicU64::new(0),
        }
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
                    .map(|i| self.counters[row * old_w + i].load(Ordering::Relaxed))
                    .max()
                    .unwrap_or(0);
                new.counters[row * new_w + j].store(v, Ordering::Relaxed);
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
            .map(|&i| self.counters[i].load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }

    /// Counts one access to `key`.
    pub fn increment(&self, key: &[u8]) {
        let n = self.additions.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(AGING_PERIOD * self.width as u64) {
            self.age();
        }
        let slots = self.slots(key);
        // Conservative update: raise only the counters at the minimum.
        let min = slots
            .iter()
            .map(|&i| self.counters[i].load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if min == MAX {
            return;
        }
        for &i in &slots {
            if self.counters[i].load(Ordering::Relaxed) == min {
                self.counters[i].store(min + 1, Ordering::Relaxed);
            }
        }
    }

    /// Halves every counter.
    fn age(&self) {
        for c in self.counters.iter() {
            c.store(c.load(Ordering::Relaxed) >> 1, Ordering::Relaxed);
        }
    }
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
            s.increment(b"filler");
        }
        assert_eq!(s.estimate(b"five"), 5);
        s.increment(b"filler");
        assert_eq!(s.estimate(b"hot"), MAX / 2);
        assert_eq!(s.estimate(b"five"), 2);
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
