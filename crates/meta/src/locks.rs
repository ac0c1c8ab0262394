//! [`Locks`]: the lock table the metadata group replicates (DESIGN.md §6).
//!
//! Every member applies the same entries in log order and so holds the same
//! table. Nothing here reads a clock: an entry carries the time the leader
//! stamped on it, and the table's time ([`Locks::clock`]) is the largest
//! stamp applied so far, so a lease ends at the same point of the log on
//! every member whatever its own clock says. A lock's fencing token comes
//! from the position in the log of the change that granted it (see
//! [`token`]): it only grows.
//!
//! A change may reach the log twice: the member that proposed it retries
//! when an answer is lost (the leader died, or was slow). Each change
//! carries a [`Ticket`], and the table keeps the answers of its sender's
//! changes still in flight, so a second copy answers what the first did
//! instead of applying again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One held lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub value: Vec<u8>,
    /// The grant's fencing token ([`token`]): a new holder (the key
    /// created, or its value changed) gets the token of the change that
    /// did it.
    pub token: u64,
    /// Log time (ms) at which the lease ends; `None`: held until deleted.
    pub expires_at: Option<u64>,
}

/// When a SET applies (Redis's NX, XX and IFEQ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    Always,
    /// Only if the key is not held.
    Nx,
    /// Only if it is.
    Xx,
    /// Only if it is held with this value.
    IfEq(Vec<u8>),
}

/// The lease a SET or PEXPIRE gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    /// No lease: held until deleted (SET without EX/PX).
    Never,
    /// The lease the key had (KEEPTTL).
    Keep,
    /// Ends this many ms after the entry's time (PX, EX).
    After(u64),
    /// Ends at this log time in ms (PXAT, EXAT).
    At(u64),
}

/// PEXPIRE's NX, XX, GT and LT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpireWhen {
    Always,
    /// Only if the key has no lease.
    Nx,
    /// Only if it has one.
    Xx,
    /// Only if the new end is later (no lease counts as forever).
    Gt,
    /// Only if the new end is sooner.
    Lt,
}

/// A change to the table, as the log carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Set {
        key: Vec<u8>,
        value: Vec<u8>,
        condition: Condition,
        expiry: Expiry,
        /// Answer with the previous value (SET ... GET).
        get: bool,
    },
    Del {
        keys: Vec<Vec<u8>>,
    },
    /// DELIFEQ, DELEX ... IFEQ: delete only if held with `value`.
    DelIfEq {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Expire {
        key: Vec<u8>,
        expiry: Expiry,
        when: ExpireWhen,
    },
    Persist {
        key: Vec<u8>,
    },
    /// A read whose answer depends on time the log has not reached yet
    /// (a lease that ended since the last entry, or a PTTL): written so
    /// that time is in the log before anyone is told of it.
    Read(Read),
}

/// A read of the table, served by the leader at the log's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Read {
    Get(Vec<u8>),
    /// How many of the keys are held.
    Exists(Vec<Vec<u8>>),
    Pttl(Vec<u8>),
    /// The holder's fencing token, nil when not held.
    Token(Vec<u8>),
}

/// What applying an [`Op`] answers, in Redis's reply shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    Nil,
    Int(i64),
    /// A value or nil: SET ... GET's previous value, GET's.
    Bulk(Option<Vec<u8>>),
    /// Refused, with Redis's error text.
    Error(String),
}

/// Most changes one log entry carries (the leader batches the changes
/// that arrive while earlier ones are being written).
pub const MAX_BATCH: usize = 256;

/// The fencing token of the `position`th change in the entry at log
/// `index`: `index * 1000 + position`, so tokens grow along the log and
/// read as "entry, then change" in decimal.
pub fn token(index: u64, position: usize) -> u64 {
    index.saturating_mul(1000).saturating_add(position as u64)
}

/// Most locks the table holds: a SET of a new key beyond it is refused, so
/// no client can grow the replicated state without bound.
pub const MAX_LOCKS: usize = 1 << 20;
/// Longest key or value of a lock, in bytes.
pub const MAX_BYTES: usize = 4096;
/// Entries every applied change looks at for ended leases.
const SWEEP: usize = 8;
/// Entries a SET looks at before refusing a full table.
const SWEEP_WHEN_FULL: usize = 1024;

/// Which change this is, for answering a retried copy: the sender's
/// session (chosen at random when the member starts, so a restart never
/// reuses numbers), the change's number in it, and the lowest number the
/// sender still waits on (its answers below are no longer kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub session: u64,
    pub seq: u64,
    pub floor: u64,
}

/// One sender's answers to changes it may still retry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    /// Changes numbered below were answered for good; a copy that arrives
    /// now is one the sender gave up on, and is not applied.
    floor: u64,
    /// Log time the session last sent a change.
    seen: u64,
    answers: BTreeMap<u64, Outcome>,
}

/// Most sessions kept: a new one beyond it ends the longest idle.
pub const MAX_SESSIONS: usize = 1024;
/// Most answers one session keeps (its changes in flight at once).
pub const MAX_ANSWERS: usize = 1 << 16;
/// A session idle this long (log time, ms) is dropped when another starts:
/// its sender has restarted or left (a sender retries for 15 s at most).
const SESSION_IDLE_MS: u64 = 10 * 60 * 1000;

/// The table and its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locks {
    /// Written as a list of (key, lock) pairs: JSON map keys must be text.
    #[serde(with = "pairs")]
    held: BTreeMap<Vec<u8>, Lock>,
    /// The largest stamp applied: the table's "now", in ms.
    clock: u64,
    /// Where the sweep for ended leases goes on from (part of the state,
    /// so every member sweeps the same entries and agrees on fullness).
    #[serde(default)]
    sweep_from: Vec<u8>,
    /// Senders' answers, by session (see [`Ticket`]).
    #[serde(default)]
    sessions: BTreeMap<u64, Session>,
    /// [`MAX_LOCKS`], but for tests.
    #[serde(skip, default = "max_locks")]
    limit: usize,
}

fn max_locks() -> usize {
    MAX_LOCKS
}

impl Default for Locks {
    fn default() -> Locks {
        Locks::with_limit(MAX_LOCKS)
    }
}

/// (De)serializes the table as a list of pairs.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::Lock;

    pub fn serialize<S: Serializer>(
        held: &BTreeMap<Vec<u8>, Lock>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        to.collect_seq(held.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<BTreeMap<Vec<u8>, Lock>, D::Error> {
        Ok(Vec::<(Vec<u8>, Lock)>::deserialize(from)?
            .into_iter()
            .collect())
    }
}

impl Lock {
    fn live_at(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

impl Locks {
    /// An empty table holding at most `limit` locks.
    pub fn with_limit(limit: usize) -> Locks {
        Locks {
            held: BTreeMap::new(),
            clock: 0,
            sweep_from: Vec::new(),
            sessions: BTreeMap::new(),
            limit,
        }
    }

    /// Drops locks whose lease has ended among the next `budget` entries
    /// after the sweep's place, wrapping round at the end.
    fn sweep(&mut self, budget: usize) {
        let now = self.clock;
        let mut ended = Vec::new();
        let mut last = None;
        let mut seen = 0;
        for (key, lock) in self.held.range(self.sweep_from.clone()..).take(budget) {
            seen += 1;
            if !lock.live_at(now) {
                ended.push(key.clone());
            }
            last = Some(key.clone());
        }
        for key in ended {
            self.held.remove(&key);
        }
        self.sweep_from = match last {
            // Just past the last key looked at.
            Some(mut key) if seen == budget => {
                key.push(0);
                key
            }
            _ => Vec::new(),
        };
    }

    /// The table's time: the largest stamp applied so far.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// Locks held at log time `now` (expired ones not yet swept count).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The lock on `key` if its lease runs at `now` (a time at or after
    /// the table's clock; an earlier one reads as the clock).
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Lock> {
        let now = now.max(self.clock);
        self.held.get(key).filter(|l| l.live_at(now))
    }

    /// Redis's PTTL at `now`: -2 when not held, -1 without a lease, else
    /// the ms left.
    pub fn pttl(&self, key: &[u8], now: u64) -> i64 {
        let now = now.max(self.clock);
        match self.get(key, now) {
            None => -2,
            Some(Lock {
                expires_at: None, ..
            }) => -1,
            Some(Lock {
                expires_at: Some(t),
                ..
            }) => i64::try_from(t - now).unwrap_or(i64::MAX),
        }
    }

    /// Answers `read` at log time `now`.
    pub fn read(&self, read: &Read, now: u64) -> Outcome {
        match read {
            Read::Get(key) => Outcome::Bulk(self.get(key, now).map(|l| l.value.clone())),
            Read::Exists(keys) => {
                Outcome::Int(keys.iter().filter(|k| self.get(k, now).is_some()).count() as i64)
            }
            Read::Pttl(key) => Outcome::Int(self.pttl(key, now)),
            Read::Token(key) => match self.get(key, now) {
                Some(lock) => Outcome::Int(i64::try_from(lock.token).unwrap_or(i64::MAX)),
                None => Outcome::Nil,
            },
        }
    }

    /// The live lock on `key` for a change, dropping it if its lease ended.
    fn live(&mut self, key: &[u8]) -> Option<&Lock> {
        let now = self.clock;
        if self.held.get(key).is_some_and(|l| !l.live_at(now)) {
            self.held.remove(key);
        }
        self.held.get(key)
    }

    /// Applies a change whose grant gets fencing token `token`, stamped
    /// `stamp` ms by its leader, unless `ticket` shows it is a copy of a change already applied (the
    /// first copy's answer) or one its sender has given up on (an error).
    pub fn apply_once(
        &mut self,
        ticket: Option<Ticket>,
        op: Op,
        token: u64,
        stamp: u64,
    ) -> Outcome {
        let Some(ticket) = ticket else {
            return self.apply(op, token, stamp);
        };
        self.clock = self.clock.max(stamp);
        let session = self.session(ticket.session);
        session.floor = session.floor.max(ticket.floor);
        let floor = session.floor;
        session.answers.retain(|seq, _| *seq >= floor);
        if ticket.seq < floor {
            return Outcome::Error("ERR the lock request was given up on; retry".into());
        }
        if let Some(answer) = session.answers.get(&ticket.seq) {
            return answer.clone();
        }
        let answer = self.apply(op, token, stamp);
        let session = self.session(ticket.session);
        if session.answers.len() >= MAX_ANSWERS {
            session.answers.pop_first();
        }
        session.answers.insert(ticket.seq, answer.clone());
        answer
    }

    /// Session `id`, started if new (ending idle ones, and the longest
    /// idle if there are [`MAX_SESSIONS`]); marked as seen now.
    fn session(&mut self, id: u64) -> &mut Session {
        let now = self.clock;
        if !self.sessions.contains_key(&id) {
            self.sessions
                .retain(|_, s| now.saturating_sub(s.seen) < SESSION_IDLE_MS);
            if self.sessions.len() >= MAX_SESSIONS {
                let idlest = self.sessions.iter().min_by_key(|(_, s)| s.seen);
                if let Some(idlest) = idlest.map(|(id, _)| *id) {
                    self.sessions.remove(&idlest);
                }
            }
        }
        let session = self.sessions.entry(id).or_default();
        session.seen = now;
        session
    }

    /// Applies a change whose grant gets fencing token `token`, stamped
    /// `stamp` ms by its leader.
    pub fn apply(&mut self, op: Op, token: u64, stamp: u64) -> Outcome {
        let grant = token;
        self.clock = self.clock.max(stamp);
        let now = self.clock;
        self.sweep(SWEEP);
        match op {
            Op::Set {
                key,
                value,
                condition,
                expiry,
                get,
            } => {
                let current = self.live(&key).cloned();
                let applies = match &condition {
                    Condition::Always => true,
                    Condition::Nx => current.is_none(),
                    Condition::Xx => current.is_some(),
                    Condition::IfEq(v) => current.as_ref().is_some_and(|l| l.value == *v),
                };
                let previous = current.as_ref().map(|l| l.value.clone());
                let answer = |done: bool| match (get, done) {
                    (true, _) => Outcome::Bulk(previous.clone()),
                    (false, true) => Outcome::Ok,
                    (false, false) => Outcome::Nil,
                };
                if !applies {
                    return answer(false);
                }
                if key.len() > MAX_BYTES || value.len() > MAX_BYTES {
                    return Outcome::Error(format!(
                        "ERR a lock's key and value take at most {MAX_BYTES} bytes each"
                    ));
                }
                if current.is_none() && self.held.len() >= self.limit {
                    self.sweep(SWEEP_WHEN_FULL);
                    if self.held.len() >= self.limit {
                        return Outcome::Error(format!(
                            "ERR the lock namespace is full ({} locks held)",
                            self.held.len()
                        ));
                    }
                }
                let expires_at = match expiry {
                    Expiry::Never => None,
                    Expiry::Keep => current.as_ref().and_then(|l| l.expires_at),
                    Expiry::After(ms) => Some(now.saturating_add(ms)),
                    Expiry::At(t) => Some(t),
                };
                // The same holder keeps its token; a new one gets this change's.
                let token = match &current {
                    Some(l) if l.value == value => l.token,
                    _ => grant,
                };
                let lock = Lock {
                    value,
                    token,
                    expires_at,
                };
                if lock.live_at(now) {
                    self.held.insert(key, lock);
                } else {
                    // A lease already over (PXAT in the past): set and gone.
                    self.held.remove(&key);
                }
                answer(true)
            }
            Op::Del { keys } => {
                let mut removed = 0;
                for key in keys {
                    if self.live(&key).is_some() {
                        self.held.remove(&key);
                        removed += 1;
                    }
                }
                Outcome::Int(removed)
            }
            Op::DelIfEq { key, value } => {
                if self.live(&key).is_some_and(|l| l.value == value) {
                    self.held.remove(&key);
                    Outcome::Int(1)
                } else {
                    Outcome::Int(0)
                }
            }
            Op::Expire { key, expiry, when } => {
                let Some(current) = self.live(&key).map(|l| l.expires_at) else {
                    return Outcome::Int(0);
                };
                let end = match expiry {
                    Expiry::After(ms) => Some(now.saturating_add(ms)),
                    Expiry::At(t) => Some(t),
                    Expiry::Never => None,
                    Expiry::Keep => current,
                };
                // No lease counts as forever for GT and LT.
                let forever = u64::MAX;
                let applies = match when {
                    ExpireWhen::Always => true,
                    ExpireWhen::Nx => current.is_none(),
                    ExpireWhen::Xx => current.is_some(),
                    ExpireWhen::Gt => end.unwrap_or(forever) > current.unwrap_or(forever),
                    ExpireWhen::Lt => end.unwrap_or(forever) < current.unwrap_or(forever),
                };
                if !applies {
                    return Outcome::Int(0);
                }
                match self.held.get_mut(&key) {
                    Some(lock) if end.is_none_or(|t| t > now) => lock.expires_at = end,
                    _ => {
                        self.held.remove(&key);
                    }
                }
                Outcome::Int(1)
            }
            Op::Read(read) => self.read(&read, now),
            Op::Persist { key } => match self.held.get_mut(&key) {
                Some(lock) if lock.live_at(now) && lock.expires_at.is_some() => {
                    lock.expires_at = None;
                    Outcome::Int(1)
                }
                _ => Outcome::Int(0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acquire(key: &str, holder: &str, ms: u64) -> Op {
        Op::Set {
            key: key.into(),
            value: holder.into(),
            condition: Condition::Nx,
            expiry: Expiry::After(ms),
            get: false,
        }
    }

    fn release(key: &str, holder: &str) -> Op {
        Op::DelIfEq {
            key: key.into(),
            value: holder.into(),
        }
    }

    #[test]
    fn one_holder_at_a_time_and_tokens_only_grow() {
        let mut t = Locks::default();
        // (op, stamp, answer, holder's token after); entry i has index i + 1.
        let steps = [
            (acquire("lock:a", "x", 1000), 10_000, Outcome::Ok, Some(1)),
            (acquire("lock:a", "y", 1000), 10_500, Outcome::Nil, Some(1)),
            // A non-holder cannot release; the holder can.
            (release("lock:a", "y"), 10_600, Outcome::Int(0), Some(1)),
            (release("lock:a", "x"), 10_700, Outcome::Int(1), None),
            (acquire("lock:a", "y", 1000), 10_800, Outcome::Ok, Some(5)),
            // The lease ends at log time 11_800: an entry stamped then frees it.
            (acquire("lock:a", "z", 1000), 11_799, Outcome::Nil, Some(5)),
            (acquire("lock:a", "z", 1000), 11_800, Outcome::Ok, Some(7)),
        ];
        for (i, (op, stamp, answer, token)) in steps.into_iter().enumerate() {
            assert_eq!(t.apply(op, i as u64 + 1, stamp), answer, "step {i}");
            assert_eq!(t.get(b"lock:a", 0).map(|l| l.token), token, "step {i}");
        }
        assert_eq!(t.pttl(b"lock:a", 0), 1000);
    }

    #[test]
    fn ended_leases_are_swept_and_a_full_table_refuses_new_keys() {
        let mut t = Locks::with_limit(3);
        for (i, key) in ["lock:a", "lock:b", "lock:c"].into_iter().enumerate() {
            assert_eq!(
                t.apply(acquire(key, "x", 100), i as u64 + 1, 0),
                Outcome::Ok
            );
        }
        let full = Outcome::Error("ERR the lock namespace is full (3 locks held)".into());
        assert_eq!(t.apply(acquire("lock:d", "x", 100), 4, 50), full);
        // The holder of a held key may still extend it.
        let extend = Op::Set {
            key: b"lock:a".to_vec(),
            value: b"x".to_vec(),
            condition: Condition::IfEq(b"x".to_vec()),
            expiry: Expiry::After(1_000),
            get: false,
        };
        assert_eq!(t.apply(extend, 5, 60), Outcome::Ok);
        // Once b's and c's leases end, a new key sweeps them out and fits.
        assert_eq!(t.apply(acquire("lock:d", "x", 100), 6, 100), Outcome::Ok);
        assert_eq!(t.len(), 2);
        let big = Op::Set {
            key: b"lock:big".to_vec(),
            value: vec![b'v'; MAX_BYTES + 1],
            condition: Condition::Nx,
            expiry: Expiry::Never,
            get: false,
        };
        assert_eq!(
            t.apply(big, 7, 100),
            Outcome::Error("ERR a lock's key and value take at most 4096 bytes each".into())
        );
        // Ended leases go without anyone touching them, a few per entry.
        let mut t = Locks::default();
        for i in 0..100u64 {
            t.apply(acquire(&format!("lock:{i:03}"), "x", 10), i + 1, 0);
        }
        for i in 0..20u64 {
            t.apply(Op::Del { keys: vec![] }, 101 + i, 1_000);
        }
        assert!(t.is_empty(), "{} left", t.len());
    }

    #[test]
    fn time_is_the_largest_stamp_never_a_smaller_one() {
        let mut t = Locks::default();
        t.apply(acquire("lock:a", "x", 100), 1, 5_000);
        // An entry stamped earlier (a leader whose clock is behind) does not
        // move time back: the lease is measured from 5_000.
        t.apply(acquire("lock:b", "x", 100), 2, 4_000);
        assert_eq!(t.clock(), 5_000);
        assert_eq!(t.pttl(b"lock:b", 0), 100);
        assert_eq!(t.pttl(b"lock:a", 5_050), 50);
        assert_eq!(t.pttl(b"lock:a", 5_100), -2);
        assert_eq!(t.pttl(b"lock:missing", 0), -2);
        let reads = [
            (
                Read::Get(b"lock:a".to_vec()),
                Outcome::Bulk(Some(b"x".to_vec())),
            ),
            (Read::Get(b"lock:none".to_vec()), Outcome::Bulk(None)),
            (
                Read::Exists(vec![
                    b"lock:a".to_vec(),
                    b"lock:b".to_vec(),
                    b"lock:a".to_vec(),
                ]),
                Outcome::Int(3),
            ),
            (Read::Pttl(b"lock:a".to_vec()), Outcome::Int(40)),
            (Read::Token(b"lock:b".to_vec()), Outcome::Int(2)),
            (Read::Token(b"lock:none".to_vec()), Outcome::Nil),
        ];
        for (read, answer) in reads {
            assert_eq!(t.read(&read, 5_060), answer, "{read:?}");
        }
        assert_eq!(
            t.read(&Read::Exists(vec![b"lock:a".to_vec()]), 5_100),
            Outcome::Int(0)
        );
    }

    #[test]
    fn extension_by_the_holder_keeps_its_token() {
        let mut t = Locks::default();
        t.apply(acquire("lock:a", "x", 100), 3, 1_000);
        let extend = |holder: &str| Op::Set {
            key: b"lock:a".to_vec(),
            value: holder.into(),
            condition: Condition::IfEq(holder.into()),
            expiry: Expiry::After(1_000),
            get: false,
        };
        assert_eq!(t.apply(extend("y"), 4, 1_050), Outcome::Nil);
        assert_eq!(t.apply(extend("x"), 5, 1_050), Outcome::Ok);
        assert_eq!(t.get(b"lock:a", 0).map(|l| l.token), Some(3));
        assert_eq!(t.pttl(b"lock:a", 0), 1_000);
        // IFEQ on a key nobody holds sets nothing.
        let fresh = Op::Set {
            key: b"lock:b".to_vec(),
            value: b"x".to_vec(),
            condition: Condition::IfEq(b"x".to_vec()),
            expiry: Expiry::Never,
            get: false,
        };
        assert_eq!(t.apply(fresh, 6, 1_060), Outcome::Nil);
        assert!(t.get(b"lock:b", 0).is_none());
        // A plain SET with another value is a new holder: a new token, and
        // no lease unless one is given.
        let take = Op::Set {
            key: b"lock:a".to_vec(),
            value: b"w".to_vec(),
            condition: Condition::Always,
            expiry: Expiry::Never,
            get: true,
        };
        assert_eq!(t.apply(take, 7, 1_070), Outcome::Bulk(Some(b"x".to_vec())));
        assert_eq!(t.get(b"lock:a", 0).map(|l| l.token), Some(7));
        assert_eq!(t.pttl(b"lock:a", 0), -1);
    }

    #[test]
    fn expire_follows_redis_options_and_a_past_end_deletes() {
        let mut t = Locks::default();
        t.apply(acquire("lock:a", "x", 1_000), 1, 0);
        let expire = |ms, when| Op::Expire {
            key: b"lock:a".to_vec(),
            expiry: Expiry::After(ms),
            when,
        };
        assert_eq!(
            t.apply(expire(2_000, ExpireWhen::Nx), 2, 0),
            Outcome::Int(0)
        );
        assert_eq!(t.apply(expire(500, ExpireWhen::Gt), 3, 0), Outcome::Int(0));
        assert_eq!(
            t.apply(expire(2_000, ExpireWhen::Gt), 4, 0),
            Outcome::Int(1)
        );
        assert_eq!(t.pttl(b"lock:a", 0), 2_000);
        assert_eq!(
            t.apply(expire(3_000, ExpireWhen::Lt), 5, 0),
            Outcome::Int(0)
        );
        assert_eq!(
            t.apply(
                Op::Persist {
                    key: b"lock:a".to_vec()
                },
                6,
                0
            ),
            Outcome::Int(1)
        );
        assert_eq!(t.pttl(b"lock:a", 0), -1);
        // No lease counts as forever: LT applies, GT does not.
        assert_eq!(
            t.apply(expire(9_000, ExpireWhen::Gt), 7, 0),
            Outcome::Int(0)
        );
        assert_eq!(
            t.apply(expire(9_000, ExpireWhen::Lt), 8, 0),
            Outcome::Int(1)
        );
        // An end already past deletes the lock, as Redis's PEXPIRE 0 does.
        let past = Op::Expire {
            key: b"lock:a".to_vec(),
            expiry: Expiry::At(0),
            when: ExpireWhen::Always,
        };
        assert_eq!(t.apply(past, 9, 100), Outcome::Int(1));
        assert!(t.is_empty());
        assert_eq!(
            t.apply(expire(10, ExpireWhen::Always), 10, 100),
            Outcome::Int(0)
        );
    }

    #[test]
    fn del_counts_live_locks_and_replay_gives_the_same_table() {
        let ops = [
            (acquire("lock:a", "x", 50), 0),
            (acquire("lock:b", "x", 5_000), 10),
            (
                Op::Set {
                    key: b"lock:c".to_vec(),
                    value: b"x".to_vec(),
                    condition: Condition::Nx,
                    expiry: Expiry::Never,
                    get: true,
                },
                20,
            ),
            (
                Op::Del {
                    keys: vec![b"lock:a".to_vec(), b"lock:b".to_vec(), b"lock:c".to_vec()],
                },
                100,
            ),
        ];
        let run = || {
            let mut t = Locks::default();
            let outcomes: Vec<Outcome> = ops
                .iter()
                .enumerate()
                .map(|(i, (op, stamp))| t.apply(op.clone(), i as u64 + 1, *stamp))
                .collect();
            (t, outcomes)
        };
        let (a, outcomes) = run();
        // lock:a's lease ended at 50; SET NX GET on a free key answers nil.
        assert_eq!(
            outcomes,
            vec![
                Outcome::Ok,
                Outcome::Ok,
                Outcome::Bulk(None),
                Outcome::Int(2)
            ]
        );
        assert!(a.is_empty());
        assert_eq!(a, run().0);
        // A table with locks survives a snapshot's JSON.
        let mut t = Locks::default();
        t.apply(acquire("lock:\u{0}bin", "x", 50), 7, 3);
        let json = serde_json::to_vec(&t).expect("encode");
        assert_eq!(serde_json::from_slice::<Locks>(&json).expect("decode"), t);
    }

    #[test]
    fn a_read_in_the_log_moves_its_time() {
        let mut t = Locks::default();
        t.apply(acquire("lock:a", "x", 1_000), 1, 10_000);
        let token = Op::Read(Read::Token(b"lock:a".to_vec()));
        assert_eq!(t.apply(token.clone(), 2, 10_999), Outcome::Int(1));
        // Written at 11_000: the lease has ended, and stays ended for
        // every later reader, whatever time it reads at.
        assert_eq!(t.apply(token, 3, 11_000), Outcome::Nil);
        assert_eq!(t.clock(), 11_000);
        assert_eq!(t.read(&Read::Token(b"lock:a".to_vec()), 0), Outcome::Nil);
        let pttl = Op::Read(Read::Pttl(b"lock:b".to_vec()));
        assert_eq!(t.apply(pttl, 4, 10_500), Outcome::Int(-2));
        assert_eq!(t.clock(), 11_000);
    }

    #[test]
    fn a_retried_change_answers_what_its_first_copy_did() {
        let mut t = Locks::default();
        let ticket = |session, seq, floor| {
            Some(Ticket {
                session,
                seq,
                floor,
            })
        };
        // Session 7's acquire, then a copy of it (its answer was lost):
        // the copy answers OK again and does not apply (no new token).
        assert_eq!(
            t.apply_once(ticket(7, 0, 0), acquire("lock:a", "x", 60_000), 1, 10),
            Outcome::Ok
        );
        assert_eq!(
            t.apply_once(ticket(7, 0, 0), acquire("lock:a", "x", 60_000), 2, 20),
            Outcome::Ok
        );
        assert_eq!(t.get(b"lock:a", 0).map(|l| l.token), Some(1));
        // The same numbers from another session are another change.
        assert_eq!(
            t.apply_once(ticket(8, 0, 0), acquire("lock:a", "y", 60_000), 3, 30),
            Outcome::Nil
        );
        // A release and its copy: 1 both times, though the key is gone.
        assert_eq!(
            t.apply_once(ticket(7, 1, 0), release("lock:a", "x"), 4, 40),
            Outcome::Int(1)
        );
        assert_eq!(
            t.apply_once(ticket(7, 1, 0), release("lock:a", "x"), 5, 50),
            Outcome::Int(1)
        );
        // Once the sender waits on nothing below 2, answers below go, and
        // a late copy of change 0 (given up on) is refused, not applied.
        assert_eq!(
            t.apply_once(ticket(7, 2, 2), acquire("lock:b", "x", 60_000), 6, 60),
            Outcome::Ok
        );
        assert_eq!(t.sessions[&7].answers.keys().collect::<Vec<_>>(), [&2]);
        assert!(matches!(
            t.apply_once(ticket(7, 0, 0), acquire("lock:a", "x", 60_000), 7, 70),
            Outcome::Error(_)
        ));
        assert_eq!(t.get(b"lock:a", 0), None);
        // Answers survive a snapshot's JSON, so a copy applied after a
        // restart still answers as the first did.
        let json = serde_json::to_vec(&t).expect("encode");
        let mut back: Locks = serde_json::from_slice(&json).expect("decode");
        assert_eq!(back, t);
        assert_eq!(
            back.apply_once(ticket(7, 2, 2), acquire("lock:b", "x", 60_000), 8, 80),
            Outcome::Ok
        );
        assert_eq!(back.get(b"lock:b", 0).map(|l| l.token), Some(6));
    }

    #[test]
    fn sessions_are_bounded_and_idle_ones_end() {
        let mut t = Locks::default();
        let ticket = |session| {
            Some(Ticket {
                session,
                seq: 0,
                floor: 0,
            })
        };
        for s in 0..MAX_SESSIONS as u64 + 10 {
            t.apply_once(ticket(s), release("lock:a", "x"), s + 1, s);
        }
        assert_eq!(t.sessions.len(), MAX_SESSIONS);
        // The longest idle went first.
        assert_eq!(t.sessions.keys().next(), Some(&10));
        // Ten minutes of log time later, a new session ends all the idle.
        let later = MAX_SESSIONS as u64 + 10 + SESSION_IDLE_MS;
        t.apply_once(ticket(u64::MAX), release("lock:a", "x"), 9_999, later);
        assert_eq!(t.sessions.len(), 1);
    }
}
