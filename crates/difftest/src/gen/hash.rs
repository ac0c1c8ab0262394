//! `@hash`. A listpack hash keeps insertion order, which HGETALL, HKEYS and
//! HVALS show and which is compared exactly; only a hashtable's order is
//! left free (`Check::HashOrder`).

use super::collection::{fill_members, LONG_MEMBER};
use super::{checked, cmd, Gen, Step};
use crate::compare::{Check, Collection, Pick};

impl Gen {
    fn hash_value(&mut self) -> Vec<u8> {
        if self.rng.chance(50) {
            self.member()
        } else {
            self.value()
        }
    }

    /// `HSET`/`HMSET key field value…`; now and then 520 fields or a
    /// 70-byte value, past the listpack limits, or 130 fields, past
    /// redis.conf's 128 but still a listpack under the built-in 512.
    pub(super) fn hset_on(&mut self, name: &str, key: Vec<u8>) -> Option<Step> {
        let mut args = vec![self.word(name), key];
        match self.rng.below(16) {
            0 => {
                let n = if self.rng.chance(70) { 520 } else { 130 };
                for (i, field) in fill_members(n, false).into_iter().enumerate() {
                    args.push(field);
                    args.push(i.to_string().into_bytes());
                }
            }
            1 => {
                args.push(self.member());
                args.push(LONG_MEMBER.to_vec());
            }
            _ => {
                for _ in 0..self.rng.range(1, 4) {
                    args.push(self.member());
                    args.push(self.hash_value());
                }
            }
        }
        cmd(args)
    }

    pub(super) fn hset(&mut self) -> Option<Step> {
        let key = self.key();
        self.hset_on("HSET", key)
    }

    pub(super) fn hmset(&mut self) -> Option<Step> {
        let key = self.key();
        self.hset_on("HMSET", key)
    }

    pub(super) fn hsetnx(&mut self) -> Option<Step> {
        let args = vec![
            self.word("HSETNX"),
            self.key(),
            self.member(),
            self.hash_value(),
        ];
        cmd(args)
    }

    fn with_key_field(&mut self, name: &str) -> Option<Step> {
        let args = vec![self.word(name), self.key(), self.member()];
        cmd(args)
    }

    fn with_key_fields(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name), self.key()];
        args.extend(self.members(1, 4));
        cmd(args)
    }

    pub(super) fn hget(&mut self) -> Option<Step> {
        self.with_key_field("HGET")
    }

    pub(super) fn hmget(&mut self) -> Option<Step> {
        self.with_key_fields("HMGET")
    }

    pub(super) fn hdel(&mut self) -> Option<Step> {
        self.with_key_fields("HDEL")
    }

    pub(super) fn hexists(&mut self) -> Option<Step> {
        self.with_key_field("HEXISTS")
    }

    pub(super) fn hstrlen(&mut self) -> Option<Step> {
        self.with_key_field("HSTRLEN")
    }

    pub(super) fn hlen(&mut self) -> Option<Step> {
        self.with_key("HLEN")
    }

    fn hash_order(&mut self, name: &str, pairs: bool) -> Option<Step> {
        let args = vec![self.word(name), self.key()];
        checked(args, Check::HashOrder { key: 1, pairs })
    }

    pub(super) fn hgetall(&mut self) -> Option<Step> {
        self.hash_order("HGETALL", true)
    }

    pub(super) fn hkeys(&mut self) -> Option<Step> {
        self.hash_order("HKEYS", false)
    }

    pub(super) fn hvals(&mut self) -> Option<Step> {
        self.hash_order("HVALS", false)
    }

    pub(super) fn hincrby(&mut self) -> Option<Step> {
        let args = vec![self.word("HINCRBY"), self.key(), self.member(), self.int()];
        cmd(args)
    }

    pub(super) fn hincrbyfloat(&mut self) -> Option<Step> {
        let args = vec![
            self.word("HINCRBYFLOAT"),
            self.key(),
            self.member(),
            self.float(),
        ];
        cmd(args)
    }

    pub(super) fn hrandfield(&mut self) -> Option<Step> {
        let mut args = vec![self.word("HRANDFIELD"), self.key()];
        if self.rng.chance(75) {
            args.push(self.pick_count());
            if self.rng.chance(50) {
                args.push(self.word("WITHVALUES"));
            }
        }
        checked(args, Check::Pick(Pick::new(Collection::Hash)))
    }

    pub(super) fn hscan(&mut self) -> Option<Step> {
        self.collection_scan("HSCAN", true)
    }

    /// `HSCAN`/`SSCAN`/`ZSCAN key` with MATCH/COUNT options (and now and
    /// then one these commands reject).
    pub(super) fn collection_scan(&mut self, name: &str, pairs: bool) -> Option<Step> {
        let command = vec![self.word(name), self.key()];
        let cursor = self.scan_cursor();
        let mut options = Vec::new();
        for _ in 0..self.rng.range(0, 3) {
            match self.rng.below(9) {
                0..=3 => self.scan_match(&mut options),
                4..=7 => self.scan_count(&mut options),
                _ => {
                    // TYPE is SCAN's alone; NOVALUES came with Redis 7.4.
                    if self.rng.chance(50) {
                        options.push(self.word("TYPE"));
                        options.push(b"hash".to_vec());
                    } else {
                        options.push(self.word("NOVALUES"));
                    }
                }
            }
        }
        Some(Step::Scan {
            command,
            cursor,
            options,
            pairs,
        })
    }
}
