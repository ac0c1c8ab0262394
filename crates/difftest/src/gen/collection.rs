//! Arguments the data families share: members, counts, `numkeys` lists,
//! blocking timeouts, and the big fills that push a collection past Redis's
//! compact encodings. The servers run without a config file, so the limits
//! are Redis 7.0's built-in defaults: `hash-max-listpack-entries` 512 (the
//! shipped redis.conf says 128), `zset-max-listpack-entries` 128, both
//! `-value`s 64 bytes, `set-max-intset-entries` 512, 8 kB quicklist nodes.

use super::{cmd, Gen, Step};
use crate::compare::Check;

/// 70 bytes: over `hash-max-listpack-value` and `zset-max-listpack-value`.
pub(super) const LONG_MEMBER: &[u8] =
    b"0123456789012345678901234567890123456789012345678901234567890123456789";

/// Members most commands draw, so they meet each other's members.
const COMMON_MEMBERS: &[&[u8]] = &[
    b"a", b"b", b"c", b"d", b"foo", b"bar", b"1", b"2", b"3", b"10", b"-1", b"0",
];

const ODD_MEMBERS: &[&[u8]] = &[
    b"",
    b"x\x00y",
    b"\xff\xfe",
    b"k\r\nv",
    b"01",
    b"1.5",
    b" 1",
    b"+1",
    b"-0",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"A",
    LONG_MEMBER,
];

/// Invalid blocking timeouts; each fails at once. (Not "0x10": Redis reads
/// timeouts with strtold, which takes hex, so that is 16 seconds.)
pub(super) const BAD_TIMEOUTS: &[&[u8]] = &[
    b"-1", b"abc", b"", b"-0.5", b"1e20", b"inf", b"-inf", b"nan",
];

impl Gen {
    /// A list element, hash field, set or zset member.
    pub(super) fn member(&mut self) -> Vec<u8> {
        if self.rng.chance(80) {
            self.rng.pick(COMMON_MEMBERS).to_vec()
        } else {
            self.rng.pick(ODD_MEMBERS).to_vec()
        }
    }

    pub(super) fn members(&mut self, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let n = self.rng.range(lo, hi);
        (0..n).map(|_| self.member()).collect()
    }

    /// A count for pops and `COUNT` options: small, sometimes zero, huge or
    /// invalid.
    pub(super) fn count(&mut self) -> Vec<u8> {
        let n: &[u8] = match self.rng.below(20) {
            0..=11 => return self.rng.range(1, 5).to_string().into_bytes(),
            12..=13 => b"0",
            14 => b"1000",
            15 => b"9223372036854775807",
            16 => b"-1",
            17 => b"abc",
            18 => b"",
            _ => b"-9223372036854775808",
        };
        n.to_vec()
    }

    /// A count for SRANDMEMBER/HRANDFIELD/ZRANDMEMBER. Negative counts allow
    /// repeats; none comes near -LONG_MAX (a reply of 2^63 elements).
    pub(super) fn pick_count(&mut self) -> Vec<u8> {
        let n: &[u8] = match self.rng.below(20) {
            0..=7 => return self.rng.range(1, 6).to_string().into_bytes(),
            8..=11 => return self.rng.range(-8, -1).to_string().into_bytes(),
            12 => return self.rng.range(100, 200).to_string().into_bytes(),
            13 => b"0",
            14 => b"1000",
            15 => b"-300",
            16 => b"9223372036854775807",
            17 => b"-9223372036854775808",
            18 => b"abc",
            _ => b"1.5",
        };
        n.to_vec()
    }

    /// A `numkeys` argument for `n` keys: usually right.
    pub(super) fn numkeys(&mut self, n: usize) -> Vec<u8> {
        match self.rng.below(16) {
            0 => b"0".to_vec(),
            1 => b"-1".to_vec(),
            2 => (n + 1).to_string().into_bytes(),
            3 => b"abc".to_vec(),
            _ => n.to_string().into_bytes(),
        }
    }

    /// `numkeys key…` with between `lo` and `hi` keys.
    pub(super) fn numbered_keys(&mut self, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let keys = self.keys(lo, hi);
        let mut out = vec![self.numkeys(keys.len())];
        out.extend(keys);
        out
    }

    /// A blocking timeout in seconds: short and valid, or invalid. Never 0,
    /// which would block for good.
    pub(super) fn timeout(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0..=15 => b"0.01".to_vec(),
            16 => b"0.001".to_vec(),
            17 => b"0.02".to_vec(),
            _ => self.rng.pick(BAD_TIMEOUTS).to_vec(),
        }
    }

    /// A blocking command. Most are primed: `prime` pushes to one of its
    /// keys first, so the command answers at once; the rest may wait out
    /// their short timeout on an empty key, which Redis 7.0 notices only at
    /// its next event-loop tick (up to 100 ms), hence rarely. Neither step is
    /// mutated.
    pub(super) fn blocking(
        &mut self,
        keys: &[Vec<u8>],
        prime: fn(&mut Gen, Vec<u8>) -> Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
    ) -> Option<Step> {
        self.verbatim = true;
        let step = Step::Command {
            args,
            check: Check::Exact,
            inline: false,
        };
        if !keys.is_empty() && self.rng.chance(95) {
            let key = self.rng.pick(keys).clone();
            let push = prime(self, key);
            self.then.push(step);
            return cmd(push);
        }
        Some(step)
    }

    /// What a sequence's preamble runs to give `key` some content of
    /// `family`.
    pub(super) fn fill(&mut self, family: &str, key: Vec<u8>) -> Option<Step> {
        match family {
            "hash" => self.hset_on("HSET", key),
            "list" => self.push_on("RPUSH", key),
            "set" => self.sadd_on(key),
            "zset" => self.zadd_on(key),
            "bitmap" => self.bitfield_fill(key),
            "hll" => self.pfadd_on(key),
            _ => None,
        }
    }
}

/// `n` distinct members: `m0`, `m1`… or, when `long`, 70-byte ones.
pub(super) fn fill_members(n: usize, long: bool) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            if long {
                format!("{i:070}").into_bytes()
            } else {
                format!("m{i}").into_bytes()
            }
        })
        .collect()
}
