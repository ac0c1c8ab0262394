//! `@zset`, blocking forms included. Scores run through integers, decimals,
//! `inf`/`-inf`/`+inf`, `nan` (always an error), huge and tiny exponents;
//! range bounds add exclusive `(` forms and lex bounds. A third of the ZADDs
//! give every member score 0, where lex ranges are meaningful; a lex range
//! over differing scores is unspecified (Redis's skiplist answers depend on
//! its random node levels), so lex commands carry `Check::LexRange`.

use super::collection::{fill_members, LONG_MEMBER};
use super::{checked, cmd, Gen, Step};
use crate::compare::{Check, Collection, Pick};

const SCORES: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"2.5",
    b"-0.5",
    b"0.1",
    b"inf",
    b"-inf",
    b"+inf",
    b"1e308",
    b"-1e308",
    b"1e309",
    b"nan",
    b"abc",
    b"",
    b"-0",
    b"1e-320",
    b"5e-324",
    b"0x10",
    b" 1",
    b"1e5",
    b"+1",
    b".5",
    b"9007199254740993",
    b"3.0000000000000001",
    b"123456789012345678901234567890",
];

const ODD_BOUNDS: &[&[u8]] = &[
    b"(inf", b"(-inf", b"(+inf", b"inf", b"-inf", b"((1", b"(", b"[1", b"nan", b"(nan", b"abc", b"",
];

const LEX_MEMBERS: &[&[u8]] = &[b"a", b"b", b"c", b"d", b"foo", b"bar", b"", b"1", b"\xff"];

const ODD_LEX_BOUNDS: &[&[u8]] = &[b"a", b"", b"[", b"(", b"-a", b"+a", b"-inf", b"+inf", b"*"];

const WEIGHTS: &[&[u8]] = &[
    b"1", b"2", b"0", b"-1", b"0.5", b"1.5", b"inf", b"-inf", b"nan", b"abc", b"1e308",
];

impl Gen {
    fn score(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=3 => self.rng.range(-5, 5).to_string().into_bytes(),
            4..=5 => {
                let frac = *self.rng.pick(&["5", "25", "1", "75"]);
                format!("{}.{frac}", self.rng.range(-5, 5)).into_bytes()
            }
            _ => self.rng.pick(SCORES).to_vec(),
        }
    }

    /// A ZRANGEBYSCORE-style bound: a score, often exclusive.
    fn score_bound(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=5 => {
                let score = self.score();
                if self.rng.chance(30) {
                    [&b"("[..], &score].concat()
                } else {
                    score
                }
            }
            6 => b"-inf".to_vec(),
            7 => b"+inf".to_vec(),
            _ => self.rng.pick(ODD_BOUNDS).to_vec(),
        }
    }

    fn lex_bound(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=5 => {
                let open = *self.rng.pick(&[&b"["[..], b"("]);
                [open, *self.rng.pick(LEX_MEMBERS)].concat()
            }
            6 => b"-".to_vec(),
            7 => b"+".to_vec(),
            8 => self.rng.pick(ODD_LEX_BOUNDS).to_vec(),
            _ => [&b"["[..], &self.member()].concat(),
        }
    }

    /// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member…`, flags in any
    /// order and combination (the invalid ones are errors); now and then
    /// 130 members or a 70-byte one, past the listpack limits.
    pub(super) fn zadd_on(&mut self, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![self.word("ZADD"), key];
        let flags = match self.rng.below(10) {
            0..=5 => 0,
            6..=8 => 1,
            _ => self.rng.range(2, 3),
        };
        let mut incr = false;
        for _ in 0..flags {
            let flag = *self
                .rng
                .pick(&["NX", "XX", "GT", "LT", "CH", "INCR", "CH", "GT"]);
            incr |= flag == "INCR";
            args.push(self.word(flag));
        }
        let lex = self.rng.chance(30);
        match self.rng.below(12) {
            0 => {
                for (i, member) in fill_members(130, false).into_iter().enumerate() {
                    let score = if lex { 0 } else { i % 50 };
                    args.push(score.to_string().into_bytes());
                    args.push(member);
                }
            }
            1 => {
                args.push(b"1".to_vec());
                args.push(LONG_MEMBER.to_vec());
            }
            _ => {
                let pairs = if incr && self.rng.chance(85) {
                    1
                } else {
                    self.rng.range(1, 4)
                };
                for _ in 0..pairs {
                    let score = if lex { b"0".to_vec() } else { self.score() };
                    args.push(score);
                    args.push(self.member());
                }
            }
        }
        cmd(args)
    }

    pub(super) fn zadd(&mut self) -> Option<Step> {
        let key = self.key();
        self.zadd_on(key)
    }

    pub(super) fn zincrby(&mut self) -> Option<Step> {
        let args = vec![
            self.word("ZINCRBY"),
            self.key(),
            self.score(),
            self.member(),
        ];
        cmd(args)
    }

    pub(super) fn zscore(&mut self) -> Option<Step> {
        let args = vec![self.word("ZSCORE"), self.key(), self.member()];
        cmd(args)
    }

    pub(super) fn zmscore(&mut self) -> Option<Step> {
        let mut args = vec![self.word("ZMSCORE"), self.key()];
        args.extend(self.members(1, 4));
        cmd(args)
    }

    pub(super) fn zcard(&mut self) -> Option<Step> {
        self.with_key("ZCARD")
    }

    pub(super) fn zcount(&mut self) -> Option<Step> {
        let args = vec![
            self.word("ZCOUNT"),
            self.key(),
            self.score_bound(),
            self.score_bound(),
        ];
        cmd(args)
    }

    pub(super) fn zlexcount(&mut self) -> Option<Step> {
        let args = vec![
            self.word("ZLEXCOUNT"),
            self.key(),
            self.lex_bound(),
            self.lex_bound(),
        ];
        checked(args, Check::LexRange { key: 1 })
    }

    fn limit(&mut self, args: &mut Vec<Vec<u8>>) {
        args.push(self.word("LIMIT"));
        let offset = self.rng.range(-1, 4).to_string().into_bytes();
        let count = self.rng.range(-1, 4).to_string().into_bytes();
        args.push(offset);
        args.push(count);
    }

    /// The `min max [BYSCORE|BYLEX] [REV] [LIMIT o c]` of ZRANGE and
    /// ZRANGESTORE, with the odd invalid combination; true for BYLEX.
    fn zrange_tail(&mut self, args: &mut Vec<Vec<u8>>) -> bool {
        let by = self.rng.below(3);
        let (min, max) = match by {
            0 => (self.index(), self.index()),
            1 => (self.score_bound(), self.score_bound()),
            _ => (self.lex_bound(), self.lex_bound()),
        };
        args.push(min);
        args.push(max);
        if by == 1 {
            args.push(self.word("BYSCORE"));
        } else if by == 2 {
            args.push(self.word("BYLEX"));
        } else if self.rng.chance(5) {
            // Index ranges with LIMIT or a second BY… are errors.
            args.push(self.word("BYLEX"));
        }
        if self.rng.chance(30) {
            args.push(self.word("REV"));
        }
        if self.rng.chance(if by == 0 { 5 } else { 35 }) {
            self.limit(args);
        }
        by == 2
    }

    /// Exact, or for a lex range the check that skips it over differing
    /// scores; `key` is the position of the zset read.
    fn lex_check(lex: bool, key: usize) -> Check {
        if lex {
            Check::LexRange { key }
        } else {
            Check::Exact
        }
    }

    pub(super) fn zrange(&mut self) -> Option<Step> {
        let mut args = vec![self.word("ZRANGE"), self.key()];
        let lex = self.zrange_tail(&mut args);
        if self.rng.chance(40) {
            args.push(self.word("WITHSCORES"));
        }
        checked(args, Gen::lex_check(lex, 1))
    }

    pub(super) fn zrangestore(&mut self) -> Option<Step> {
        let mut args = vec![self.word("ZRANGESTORE"), self.key(), self.key()];
        let lex = self.zrange_tail(&mut args);
        if self.rng.chance(5) {
            args.push(self.word("WITHSCORES"));
        }
        checked(args, Gen::lex_check(lex, 2))
    }

    fn by_score(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![
            self.word(name),
            self.key(),
            self.score_bound(),
            self.score_bound(),
        ];
        if self.rng.chance(40) {
            args.push(self.word("WITHSCORES"));
        }
        if self.rng.chance(30) {
            self.limit(&mut args);
        }
        cmd(args)
    }

    pub(super) fn zrangebyscore(&mut self) -> Option<Step> {
        self.by_score("ZRANGEBYSCORE")
    }

    pub(super) fn zrevrangebyscore(&mut self) -> Option<Step> {
        self.by_score("ZREVRANGEBYSCORE")
    }

    fn by_lex(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![
            self.word(name),
            self.key(),
            self.lex_bound(),
            self.lex_bound(),
        ];
        if self.rng.chance(30) {
            self.limit(&mut args);
        }
        checked(args, Check::LexRange { key: 1 })
    }

    pub(super) fn zrangebylex(&mut self) -> Option<Step> {
        self.by_lex("ZRANGEBYLEX")
    }

    pub(super) fn zrevrangebylex(&mut self) -> Option<Step> {
        self.by_lex("ZREVRANGEBYLEX")
    }

    pub(super) fn zrevrange(&mut self) -> Option<Step> {
        let mut args = vec![
            self.word("ZREVRANGE"),
            self.key(),
            self.index(),
            self.index(),
        ];
        if self.rng.chance(40) {
            args.push(self.word("WITHSCORES"));
        }
        cmd(args)
    }

    pub(super) fn zrank(&mut self) -> Option<Step> {
        let args = vec![self.word("ZRANK"), self.key(), self.member()];
        cmd(args)
    }

    pub(super) fn zrevrank(&mut self) -> Option<Step> {
        let args = vec![self.word("ZREVRANK"), self.key(), self.member()];
        cmd(args)
    }

    pub(super) fn zrem(&mut self) -> Option<Step> {
        let mut args = vec![self.word("ZREM"), self.key()];
        args.extend(self.members(1, 3));
        cmd(args)
    }

    pub(super) fn zremrangebyrank(&mut self) -> Option<Step> {
        self.key_range("ZREMRANGEBYRANK")
    }

    pub(super) fn zremrangebyscore(&mut self) -> Option<Step> {
        let args = vec![
            self.word("ZREMRANGEBYSCORE"),
            self.key(),
            self.score_bound(),
            self.score_bound(),
        ];
        cmd(args)
    }

    pub(super) fn zremrangebylex(&mut self) -> Option<Step> {
        let args = vec![
            self.word("ZREMRANGEBYLEX"),
            self.key(),
            self.lex_bound(),
            self.lex_bound(),
        ];
        checked(args, Check::LexRange { key: 1 })
    }

    pub(super) fn zpopmin(&mut self) -> Option<Step> {
        self.pop("ZPOPMIN")
    }

    pub(super) fn zpopmax(&mut self) -> Option<Step> {
        self.pop("ZPOPMAX")
    }

    pub(super) fn zmpop(&mut self) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word("ZMPOP")];
        args.extend(self.mpop_tail(["MIN", "MAX"], &keys));
        cmd(args)
    }

    pub(super) fn zrandmember(&mut self) -> Option<Step> {
        let mut args = vec![self.word("ZRANDMEMBER"), self.key()];
        if self.rng.chance(75) {
            args.push(self.pick_count());
            if self.rng.chance(50) {
                args.push(self.word("WITHSCORES"));
            }
        }
        checked(args, Check::Pick(Pick::new(Collection::Zset)))
    }

    /// ZUNION/ZINTER/ZDIFF and their STORE forms: `[dest] numkeys key…
    /// [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`. ZDIFF takes
    /// neither WEIGHTS nor AGGREGATE, so it gets them only now and then.
    fn zset_algebra(&mut self, name: &str, store: bool, diff: bool) -> Option<Step> {
        let mut args = vec![self.word(name)];
        if store {
            args.push(self.key());
        }
        let keys = self.keys(1, 3);
        args.push(self.numkeys(keys.len()));
        args.extend(keys.iter().cloned());
        let options = if diff { 10 } else { 50 };
        if self.rng.chance(options) {
            args.push(self.word("WEIGHTS"));
            let n = if self.rng.chance(90) {
                keys.len()
            } else {
                keys.len() + 1
            };
            for _ in 0..n {
                let weight = if self.rng.chance(30) {
                    self.rng.range(-3, 3).to_string().into_bytes()
                } else {
                    self.rng.pick(WEIGHTS).to_vec()
                };
                args.push(weight);
            }
        }
        if self.rng.chance(options) {
            args.push(self.word("AGGREGATE"));
            let how = *self.rng.pick(&["SUM", "MIN", "MAX", "MAX", "AVG"]);
            args.push(self.word(how));
        }
        if self.rng.chance(if store { 5 } else { 50 }) {
            args.push(self.word("WITHSCORES"));
        }
        cmd(args)
    }

    pub(super) fn zunion(&mut self) -> Option<Step> {
        self.zset_algebra("ZUNION", false, false)
    }

    pub(super) fn zinter(&mut self) -> Option<Step> {
        self.zset_algebra("ZINTER", false, false)
    }

    pub(super) fn zdiff(&mut self) -> Option<Step> {
        self.zset_algebra("ZDIFF", false, true)
    }

    pub(super) fn zunionstore(&mut self) -> Option<Step> {
        self.zset_algebra("ZUNIONSTORE", true, false)
    }

    pub(super) fn zinterstore(&mut self) -> Option<Step> {
        self.zset_algebra("ZINTERSTORE", true, false)
    }

    pub(super) fn zdiffstore(&mut self) -> Option<Step> {
        self.zset_algebra("ZDIFFSTORE", true, true)
    }

    pub(super) fn zintercard(&mut self) -> Option<Step> {
        self.intercard("ZINTERCARD")
    }

    pub(super) fn zscan(&mut self) -> Option<Step> {
        self.collection_scan("ZSCAN", true)
    }

    // ---- blocking ---------------------------------------------------------

    fn prime_zset(gen: &mut Gen, key: Vec<u8>) -> Vec<Vec<u8>> {
        let mut args = vec![gen.word("ZADD"), key];
        for _ in 0..gen.rng.range(1, 3) {
            args.push(gen.rng.range(-5, 5).to_string().into_bytes());
            args.push(gen.member());
        }
        args
    }

    fn bzpop(&mut self, name: &str) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word(name)];
        args.extend(keys.iter().cloned());
        args.push(self.timeout());
        self.blocking(&keys, Gen::prime_zset, args)
    }

    pub(super) fn bzpopmin(&mut self) -> Option<Step> {
        self.bzpop("BZPOPMIN")
    }

    pub(super) fn bzpopmax(&mut self) -> Option<Step> {
        self.bzpop("BZPOPMAX")
    }

    pub(super) fn bzmpop(&mut self) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word("BZMPOP"), self.timeout()];
        args.extend(self.mpop_tail(["MIN", "MAX"], &keys));
        self.blocking(&keys, Gen::prime_zset, args)
    }
}
