//! Request streams: which key each request asks for, and each key's value
//! size. Every stream is a pure function of its parameters and seed, so
//! every server (and the offline optimum) sees exactly the same requests.

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf popularity over ranks `0..n` (rank 0 the most popular), sampled
/// by binary search in the cumulative distribution.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, alpha: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += 1.0 / (rank as f64).powf(alpha);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// How a stream picks keys.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Zipf(alpha) over the key universe.
    Zipf { alpha: f64 },
    /// Zipf(alpha), but `percent` of requests go to keys never seen before
    /// or again (a scan).
    Scan { alpha: f64, percent: u32 },
    /// Zipf(alpha) over a block of keys that is replaced by a fresh block
    /// `shifts` times over the stream (recency).
    Shift { alpha: f64, shifts: u32 },
}

/// Value sizes: one size for every key, or log-uniform between two sizes
/// (fixed per key).
#[derive(Debug, Clone, Copy)]
pub enum Sizes {
    Fixed(usize),
    Spread { min: usize, max: usize },
}

impl Sizes {
    /// The value size of key `id`.
    pub fn of(self, id: u64) -> usize {
        match self {
            Sizes::Fixed(n) => n,
            Sizes::Spread { min, max } => {
                let u = Rng::new(id ^ 0x5151_5151).next_u64() as f64 / u64::MAX as f64;
                let span = (max as f64 / min as f64).ln();
                ((min as f64) * (u * span).exp()).round() as usize
            }
        }
    }
}

/// A stream of key ids.
pub struct Stream {
    pub requests: Vec<u64>,
}

/// Builds `len` requests over `universe` keys.
pub fn stream(shape: Shape, universe: u64, len: usize, seed: u64) -> Stream {
    let mut rng = Rng::new(seed);
    let mut requests = Vec::with_capacity(len);
    let alpha = match shape {
        Shape::Zipf { alpha } | Shape::Scan { alpha, .. } | Shape::Shift { alpha, .. } => alpha,
    };
    let zipf = Zipf::new(universe as usize, alpha);
    let mut one_time = universe * 1_000;
    for i in 0..len {
        let rank = zipf.sample(&mut rng) as u64;
        let id = match shape {
            Shape::Zipf { .. } => rank,
            Shape::Scan { percent, .. } => {
                if rng.next_u64() % 100 < u64::from(percent) {
                    one_time += 1;
                    one_time
                } else {
                    rank
                }
            }
            Shape::Shift { shifts, .. } => {
                let epoch = (i as u64 * u64::from(shifts)) / len as u64;
                epoch * universe + rank
            }
        };
        requests.push(id);
    }
    Stream { requests }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_ranks_follow_the_law() {
        let z = Zipf::new(1000, 1.0);
        let mut rng = Rng::new(1);
        let mut counts = vec![0u32; 1000];
        for _ in 0..200_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        // Rank 1 is drawn about twice as often as rank 2, ten times rank 10.
        let r = f64::from(counts[0]) / f64::from(counts[1]);
        assert!((1.8..2.2).contains(&r), "{r}");
        let r = f64::from(counts[0]) / f64::from(counts[9]);
        assert!((8.5..11.5).contains(&r), "{r}");
    }

    #[test]
    fn streams_are_reproducible_and_shaped() {
        let a = stream(
            Shape::Scan {
                alpha: 1.0,
                percent: 30,
            },
            1000,
            10_000,
            7,
        );
        let b = stream(
            Shape::Scan {
                alpha: 1.0,
                percent: 30,
            },
            1000,
            10_000,
            7,
        );
        assert_eq!(a.requests, b.requests);
        let once = a.requests.iter().filter(|&&id| id >= 1000).count();
        assert!((2_700..3_300).contains(&once), "{once}");
        let s = stream(
            Shape::Shift {
                alpha: 1.0,
                shifts: 4,
            },
            1000,
            8_000,
            7,
        );
        assert!(s.requests[..2000].iter().all(|&id| id < 1000));
        assert!(s.requests[6000..]
            .iter()
            .all(|&id| (3000..4000).contains(&id)));
        for id in 0..1000 {
            let n = Sizes::Spread {
                min: 10,
                max: 40_000,
            }
            .of(id);
            assert!((10..=40_000).contains(&n));
        }
    }
}
