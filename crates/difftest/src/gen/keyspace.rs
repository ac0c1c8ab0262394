//! The generic commands on whatever the data families put in the keyspace:
//! TYPE, OBJECT ENCODING (compared exactly: a Redis-compatible server must
//! name Redis's encodings), RENAME, COPY, DEL, EXISTS, the EXPIRE family,
//! and DUMP/RESTORE as a `Step::Dump`.

use super::{cmd, Gen, Step, Unit, When};

impl Gen {
    pub(super) fn keyspace(&mut self) -> Option<Step> {
        match self.rng.below(40) {
            0..=9 => {
                let args = vec![self.word("OBJECT"), self.word("ENCODING"), self.key()];
                cmd(args)
            }
            10..=12 => self.type_cmd(),
            13 => self.exists(),
            14 => self.del(),
            15..=16 => self.rename(),
            17..=18 => self.copy(),
            19..=20 => self.expire(),
            21 => self.pexpire(),
            22 => self.persist(),
            23 => self.ttl(),
            24..=29 => Some(Step::Dump {
                key: self.key(),
                restore: None,
            }),
            30..=38 => self.dump_restore(),
            _ => {
                // A payload no server accepts.
                let payload = self
                    .rng
                    .pick(&[&b""[..], b"\x00\x01a\n\x00", b"garbage payload"])
                    .to_vec();
                let args = vec![self.word("RESTORE"), self.key(), b"0".to_vec(), payload];
                cmd(args)
            }
        }
    }

    /// DUMP a key, then RESTORE each server's payload under another (or the
    /// same) key: `dest ttl [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`.
    fn dump_restore(&mut self) -> Option<Step> {
        let key = self.key();
        let dest = self.key();
        let abs = self.rng.chance(15);
        let ttl = if self.rng.chance(60) {
            b"0".to_vec()
        } else if abs {
            self.time(Unit::Millis, When::Absolute, false)
        } else {
            self.time(Unit::Millis, When::Relative, false)
        };
        let mut restore = vec![dest, ttl];
        if self.rng.chance(50) {
            restore.push(self.word("REPLACE"));
        }
        if abs {
            restore.push(self.word("ABSTTL"));
        }
        if self.rng.chance(10) {
            restore.push(self.word("IDLETIME"));
            restore.push(self.rng.pick(&[&b"0"[..], b"100", b"-1", b"x"]).to_vec());
        }
        if self.rng.chance(5) {
            restore.push(self.word("FREQ"));
            restore.push(self.rng.pick(&[&b"0"[..], b"10", b"300"]).to_vec());
        }
        Some(Step::Dump {
            key,
            restore: Some(restore),
        })
    }
}
