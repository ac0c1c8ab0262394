//! `@list`, blocking forms included. Redis 7.0 encodes every list as a
//! quicklist of 8 kB listpack nodes; 130 elements of 70 bytes span two nodes.

use super::collection::fill_members;
use super::{cmd, Gen, Step};

impl Gen {
    fn end(&mut self) -> Vec<u8> {
        let end = *self.rng.pick(&["LEFT", "RIGHT", "LEFT", "RIGHT", "MIDDLE"]);
        self.word(end)
    }

    /// `LPUSH`/`RPUSH`/`…X key element…`; now and then a long list.
    pub(super) fn push_on(&mut self, name: &str, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![self.word(name), key];
        match self.rng.below(30) {
            0 => args.extend(fill_members(130, true)),
            1 => args.extend(fill_members(300, false)),
            _ => args.extend(self.members(1, 4)),
        }
        cmd(args)
    }

    fn push(&mut self, name: &str) -> Option<Step> {
        let key = self.key();
        self.push_on(name, key)
    }

    pub(super) fn lpush(&mut self) -> Option<Step> {
        self.push("LPUSH")
    }

    pub(super) fn rpush(&mut self) -> Option<Step> {
        self.push("RPUSH")
    }

    pub(super) fn lpushx(&mut self) -> Option<Step> {
        self.push("LPUSHX")
    }

    pub(super) fn rpushx(&mut self) -> Option<Step> {
        self.push("RPUSHX")
    }

    /// `name key [count]`: LPOP/RPOP, ZPOPMIN/ZPOPMAX.
    pub(super) fn pop(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name), self.key()];
        if self.rng.chance(50) {
            args.push(self.count());
        }
        cmd(args)
    }

    pub(super) fn lpop(&mut self) -> Option<Step> {
        self.pop("LPOP")
    }

    pub(super) fn rpop(&mut self) -> Option<Step> {
        self.pop("RPOP")
    }

    /// `name key start stop` with list indices.
    pub(super) fn key_range(&mut self, name: &str) -> Option<Step> {
        let args = vec![self.word(name), self.key(), self.index(), self.index()];
        cmd(args)
    }

    pub(super) fn lrange(&mut self) -> Option<Step> {
        self.key_range("LRANGE")
    }

    pub(super) fn ltrim(&mut self) -> Option<Step> {
        self.key_range("LTRIM")
    }

    pub(super) fn llen(&mut self) -> Option<Step> {
        self.with_key("LLEN")
    }

    pub(super) fn lindex(&mut self) -> Option<Step> {
        let args = vec![self.word("LINDEX"), self.key(), self.index()];
        cmd(args)
    }

    pub(super) fn lset(&mut self) -> Option<Step> {
        let args = vec![self.word("LSET"), self.key(), self.index(), self.member()];
        cmd(args)
    }

    pub(super) fn lrem(&mut self) -> Option<Step> {
        let count = if self.rng.chance(85) {
            self.rng.range(-3, 3).to_string().into_bytes()
        } else {
            self.int()
        };
        let args = vec![self.word("LREM"), self.key(), count, self.member()];
        cmd(args)
    }

    pub(super) fn linsert(&mut self) -> Option<Step> {
        let side = *self
            .rng
            .pick(&["BEFORE", "AFTER", "BEFORE", "AFTER", "AROUND"]);
        let args = vec![
            self.word("LINSERT"),
            self.key(),
            self.word(side),
            self.member(),
            self.member(),
        ];
        cmd(args)
    }

    pub(super) fn lpos(&mut self) -> Option<Step> {
        let mut args = vec![self.word("LPOS"), self.key(), self.member()];
        for _ in 0..self.rng.range(0, 3) {
            match self.rng.below(3) {
                0 => {
                    args.push(self.word("RANK"));
                    let rank = if self.rng.chance(80) {
                        self.rng.range(-3, 3).to_string().into_bytes()
                    } else {
                        self.int()
                    };
                    args.push(rank);
                }
                1 => {
                    args.push(self.word("COUNT"));
                    args.push(self.rng.range(-1, 3).to_string().into_bytes());
                }
                _ => {
                    args.push(self.word("MAXLEN"));
                    args.push(self.rng.range(-1, 5).to_string().into_bytes());
                }
            }
        }
        cmd(args)
    }

    pub(super) fn lmove(&mut self) -> Option<Step> {
        let args = vec![
            self.word("LMOVE"),
            self.key(),
            self.key(),
            self.end(),
            self.end(),
        ];
        cmd(args)
    }

    pub(super) fn rpoplpush(&mut self) -> Option<Step> {
        let args = vec![self.word("RPOPLPUSH"), self.key(), self.key()];
        cmd(args)
    }

    /// `LMPOP`/`ZMPOP`'s `numkeys key… <where> [COUNT c]` part.
    pub(super) fn mpop_tail(&mut self, ends: [&str; 2], keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut args = vec![self.numkeys(keys.len())];
        args.extend(keys.iter().cloned());
        let end = if self.rng.chance(95) {
            *self.rng.pick(&ends)
        } else {
            "UP"
        };
        args.push(self.word(end));
        if self.rng.chance(40) {
            args.push(self.word("COUNT"));
            args.push(self.count());
        }
        args
    }

    pub(super) fn lmpop(&mut self) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word("LMPOP")];
        args.extend(self.mpop_tail(["LEFT", "RIGHT"], &keys));
        cmd(args)
    }

    // ---- blocking ---------------------------------------------------------

    fn prime_list(gen: &mut Gen, key: Vec<u8>) -> Vec<Vec<u8>> {
        let mut args = vec![gen.word("RPUSH"), key];
        args.extend(gen.members(1, 3));
        args
    }

    fn blocking_pop(&mut self, name: &str) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word(name)];
        args.extend(keys.iter().cloned());
        args.push(self.timeout());
        self.blocking(&keys, Gen::prime_list, args)
    }

    pub(super) fn blpop(&mut self) -> Option<Step> {
        self.blocking_pop("BLPOP")
    }

    pub(super) fn brpop(&mut self) -> Option<Step> {
        self.blocking_pop("BRPOP")
    }

    pub(super) fn blmove(&mut self) -> Option<Step> {
        let (src, dst) = (self.key(), self.key());
        let args = vec![
            self.word("BLMOVE"),
            src.clone(),
            dst,
            self.end(),
            self.end(),
            self.timeout(),
        ];
        self.blocking(&[src], Gen::prime_list, args)
    }

    pub(super) fn brpoplpush(&mut self) -> Option<Step> {
        let (src, dst) = (self.key(), self.key());
        let args = vec![self.word("BRPOPLPUSH"), src.clone(), dst, self.timeout()];
        self.blocking(&[src], Gen::prime_list, args)
    }

    pub(super) fn blmpop(&mut self) -> Option<Step> {
        let keys = self.keys(1, 3);
        let mut args = vec![self.word("BLMPOP"), self.timeout()];
        args.extend(self.mpop_tail(["LEFT", "RIGHT"], &keys));
        self.blocking(&keys, Gen::prime_list, args)
    }
}
