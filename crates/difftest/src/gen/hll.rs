//! `@hll`. A HyperLogLog is a string, so GET shows its exact bytes: sparse or
//! dense encoding (sparse turns dense past `hll-sparse-max-bytes`, 3000, which
//! Redis 7.0 reaches between 1500 and 2000 distinct elements), registers and the cached
//! cardinality PFCOUNT writes back. Invalid HLL strings differ only in their
//! header (see the module docs of `gen`).

use super::{cmd, Gen, Step};

const ELEMENTS: &[&[u8]] = &[
    b"a", b"b", b"c", b"foo", b"bar", b"1", b"2", b"", b"\x00", b"\xff",
];

/// Strings that are not valid HyperLogLogs, each rejected by the header
/// checks before any register is read.
const NOT_HLLS: &[&[u8]] = &[
    b"HYLL",
    b"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80",
    b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80",
    b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    b"hello",
    b"",
];

impl Gen {
    /// `PFADD key [element…]`; now and then hundreds or thousands of
    /// distinct elements.
    pub(super) fn pfadd_on(&mut self, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![self.word("PFADD"), key];
        match self.rng.below(25) {
            0 => {}
            1 => {
                let n = *self.rng.pick(&[300, 1700, 2200]);
                let base = self.rng.range(0, 3) * 1000;
                args.extend((base..base + n).map(|i| format!("e{i}").into_bytes()));
            }
            _ => {
                for _ in 0..self.rng.range(1, 4) {
                    args.push(self.rng.pick(ELEMENTS).to_vec());
                }
            }
        }
        cmd(args)
    }

    pub(super) fn pfadd(&mut self) -> Option<Step> {
        let key = self.key();
        self.pfadd_on(key)
    }

    pub(super) fn pfcount(&mut self) -> Option<Step> {
        let mut args = vec![self.word("PFCOUNT")];
        let n = if self.rng.chance(60) {
            1
        } else {
            self.rng.range(2, 3)
        };
        args.extend(self.keys(n, n));
        cmd(args)
    }

    pub(super) fn pfmerge(&mut self) -> Option<Step> {
        let mut args = vec![self.word("PFMERGE"), self.key()];
        args.extend(self.keys(0, 3));
        cmd(args)
    }

    /// `SET key <not an HLL>`, for PF* to reject.
    pub(super) fn not_an_hll(&mut self) -> Option<Step> {
        let args = vec![
            self.word("SET"),
            self.key(),
            self.rng.pick(NOT_HLLS).to_vec(),
        ];
        cmd(args)
    }
}
