//! `@set`. Redis 7.0 keeps all-integer sets of up to 512 members as a sorted
//! intset (SMEMBERS order is then defined and compared exactly), others as a
//! hashtable. SPOP below the set's size pops different members on two
//! correct servers, so its key is tainted afterwards (see the module docs of
//! `gen`).

use super::collection::{fill_members, LONG_MEMBER};
use super::{checked, cmd, Gen, Step};
use crate::compare::{Check, Collection, Pick};

impl Gen {
    /// A member that keeps a set an intset more often than `member` does.
    fn set_member(&mut self) -> Vec<u8> {
        if self.rng.chance(50) {
            self.rng.range(-5, 20).to_string().into_bytes()
        } else {
            self.member()
        }
    }

    fn set_members(&mut self, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let n = self.rng.range(lo, hi);
        (0..n).map(|_| self.set_member()).collect()
    }

    /// `SADD key member…`; now and then 520 integers (past the intset limit),
    /// 130 strings or one 70-byte member.
    pub(super) fn sadd_on(&mut self, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![self.word("SADD"), key];
        match self.rng.below(30) {
            0 => args.extend((0..520).map(|i: i32| i.to_string().into_bytes())),
            1 => args.extend(fill_members(130, false)),
            2 => args.push(LONG_MEMBER.to_vec()),
            _ => args.extend(self.set_members(1, 4)),
        }
        cmd(args)
    }

    pub(super) fn sadd(&mut self) -> Option<Step> {
        let key = self.key();
        self.sadd_on(key)
    }

    pub(super) fn srem(&mut self) -> Option<Step> {
        let mut args = vec![self.word("SREM"), self.key()];
        args.extend(self.set_members(1, 3));
        cmd(args)
    }

    pub(super) fn smembers(&mut self) -> Option<Step> {
        let args = vec![self.word("SMEMBERS"), self.key()];
        checked(
            args,
            Check::HashOrder {
                key: 1,
                pairs: false,
            },
        )
    }

    pub(super) fn sismember(&mut self) -> Option<Step> {
        let args = vec![self.word("SISMEMBER"), self.key(), self.set_member()];
        cmd(args)
    }

    pub(super) fn smismember(&mut self) -> Option<Step> {
        let mut args = vec![self.word("SMISMEMBER"), self.key()];
        args.extend(self.set_members(1, 4));
        cmd(args)
    }

    pub(super) fn scard(&mut self) -> Option<Step> {
        self.with_key("SCARD")
    }

    /// SPOP with a count above any set here pops the whole set: the same on
    /// every server. Any other SPOP is followed by SCARD and taints its key.
    pub(super) fn spop(&mut self) -> Option<Step> {
        self.verbatim = true;
        let key = self.key();
        let mut args = vec![self.word("SPOP"), key.clone()];
        let whole = match self.rng.below(10) {
            0..=2 => false,
            3..=5 => {
                args.push(b"100000".to_vec());
                true
            }
            6..=8 => {
                args.push(self.rng.range(0, 4).to_string().into_bytes());
                false
            }
            _ => {
                args.push(self.rng.pick(&[&b"-1"[..], b"abc", b""]).to_vec());
                true
            }
        };
        if !whole {
            self.then.push(Step::Command {
                args: vec![b"SCARD".to_vec(), key.clone()],
                check: Check::Exact,
                inline: false,
            });
            self.tainted.push(key);
        }
        checked(args, Check::Pick(Pick::new(Collection::Set)))
    }

    pub(super) fn srandmember(&mut self) -> Option<Step> {
        let mut args = vec![self.word("SRANDMEMBER"), self.key()];
        if self.rng.chance(75) {
            args.push(self.pick_count());
        }
        checked(args, Check::Pick(Pick::new(Collection::Set)))
    }

    pub(super) fn smove(&mut self) -> Option<Step> {
        let args = vec![
            self.word("SMOVE"),
            self.key(),
            self.key(),
            self.set_member(),
        ];
        cmd(args)
    }

    /// SINTER/SUNION/SDIFF: the result's order is the order of a temporary
    /// set, so it is compared as a set.
    fn set_algebra(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name)];
        args.extend(self.keys(1, 3));
        checked(args, Check::Sorted)
    }

    pub(super) fn sinter(&mut self) -> Option<Step> {
        self.set_algebra("SINTER")
    }

    pub(super) fn sunion(&mut self) -> Option<Step> {
        self.set_algebra("SUNION")
    }

    pub(super) fn sdiff(&mut self) -> Option<Step> {
        self.set_algebra("SDIFF")
    }

    fn set_store(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name), self.key()];
        args.extend(self.keys(1, 3));
        cmd(args)
    }

    pub(super) fn sinterstore(&mut self) -> Option<Step> {
        self.set_store("SINTERSTORE")
    }

    pub(super) fn sunionstore(&mut self) -> Option<Step> {
        self.set_store("SUNIONSTORE")
    }

    pub(super) fn sdiffstore(&mut self) -> Option<Step> {
        self.set_store("SDIFFSTORE")
    }

    /// SINTERCARD/ZINTERCARD `numkeys key… [LIMIT n]`.
    pub(super) fn intercard(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name)];
        args.extend(self.numbered_keys(1, 3));
        if self.rng.chance(40) {
            args.push(self.word("LIMIT"));
            let limit = if self.rng.chance(80) {
                self.rng.range(0, 4).to_string().into_bytes()
            } else {
                self.int()
            };
            args.push(limit);
        }
        cmd(args)
    }

    pub(super) fn sintercard(&mut self) -> Option<Step> {
        self.intercard("SINTERCARD")
    }

    pub(super) fn sscan(&mut self) -> Option<Step> {
        self.collection_scan("SSCAN", false)
    }
}
