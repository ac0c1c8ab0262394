//! Client histories of lock operations and a linearizability check for
//! them, for the fault tests (DESIGN.md §6: two clients never hold a lock
//! at overlapping times, no acknowledged acquire is forgotten).
//!
//! Clients record each operation with the times they sent it and got the
//! answer ([`History::record`]); [`History::check`] then searches, key by
//! key (linearizability is local: a history is linearizable when each
//! key's is), for an order of the operations that respects real time (an
//! operation answered before another was sent comes first) and that a
//! single lock with leases explains. An operation without an answer (an
//! error, a timeout, a killed node) may have taken effect at any time
//! after it was sent, or never.
//!
//! The lock model knows time only from the clients' clocks. The server
//! ends a lease by the log's time, which runs no faster than real time
//! (see `crate::locks`), from a stamp taken after the acquire was sent;
//! so a lease granted to an acquire sent at `t` cannot have ended before
//! `t + lease`, and an operation may see it ended only if it was answered
//! at or after that. A lease may last longer (the log's time pauses
//! between leaders), so a holder may always still be seen holding.
//! Fencing tokens, read with `LOCK.TOKEN` while held, must be larger for
//! each later holder than for every earlier holder whose token was read.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use parking_lot::Mutex;

/// What a client asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `SET key <holder> NX PX lease_ms`; each attempt a distinct holder.
    Acquire { holder: u64, lease_ms: u64 },
    /// `DELIFEQ key <holder>`.
    Release { holder: u64 },
    /// `LOCK.TOKEN key`.
    Token,
}

/// What it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `+OK` to an acquire.
    Ok,
    /// Nil: an acquire of a held lock, or the token of a free one.
    Nil,
    /// DELIFEQ's count, or a token.
    Int(u64),
    /// No answer, or an error: the operation may or may not have happened.
    Unknown,
}

/// One operation: times are µs since the history began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub client: usize,
    pub key: String,
    pub call: Call,
    pub sent: u64,
    /// When the answer came; `None` for [`Answer::Unknown`].
    pub answered: Option<u64>,
    pub answer: Answer,
}

/// Operations recorded by any number of client threads.
pub struct History {
    start: Instant,
    ops: Mutex<Vec<Op>>,
}

impl Default for History {
    fn default() -> History {
        History::new()
    }
}

impl History {
    pub fn new() -> History {
        History {
            start: Instant::now(),
            ops: Mutex::new(Vec::new()),
        }
    }

    fn micros(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_micros() as u64
    }

    /// Records `call` on `key`, sent at `sent` and answered `answer` at
    /// `answered` (ignored when the answer is [`Answer::Unknown`]).
    pub fn record(
        &self,
        client: usize,
        key: &str,
        call: Call,
        sent: Instant,
        answered: Instant,
        answer: Answer,
    ) {
        let (sent, answered) = (self.micros(sent), self.micros(answered));
        self.record_micros(client, key, call, sent, answered, answer);
    }

    /// [`History::record`] with times in µs from any fixed start (a
    /// simulation's virtual clock).
    pub fn record_micros(
        &self,
        client: usize,
        key: &str,
        call: Call,
        sent: u64,
        answered: u64,
        answer: Answer,
    ) {
        let op = Op {
            client,
            key: key.to_string(),
            call,
            sent,
            answered: (answer != Answer::Unknown).then_some(answered),
            answer,
        };
        self.ops.lock().push(op);
    }

    /// The operations recorded so far.
    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().clone()
    }

    /// Ok if every key's operations are linearizable for a leased lock;
    /// else the first key that is not, with its operations.
    pub fn check(&self) -> Result<(), String> {
        check(&self.ops())
    }
}

/// [`History::check`] for a list of operations.
pub fn check(ops: &[Op]) -> Result<(), String> {
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in ops {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, mut ops) in by_key {
        // A read without an answer changed nothing: leave it out.
        ops.retain(|o| !(o.call == Call::Token && o.answer == Answer::Unknown));
        ops.sort_by_key(|o| o.sent);
        if !Search::new(&ops).run() {
            let listed: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
            return Err(format!(
                "the history of {key} is not linearizable ({} operations):\n{}",
                ops.len(),
                listed.join("\n")
            ));
        }
    }
    Ok(())
}

/// The lock in the model: who holds it, and the tokens seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    held: Option<Held>,
    /// The largest token read for any holder so far.
    top_token: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Held {
    holder: u64,
    /// The earliest real time (µs) the lease can have ended.
    earliest_end: u64,
    /// Its token, once read.
    token: Option<u64>,
}

/// The states `op` can lead to from `s` (none: it cannot happen there).
fn step(s: &State, op: &Op) -> Vec<State> {
    let answered = op.answered.unwrap_or(u64::MAX);
    // The lease may have ended by the time the operation was answered.
    let may_have_ended = |h: &Held| answered >= h.earliest_end;
    let free = State {
        held: None,
        top_token: s.top_token,
    };
    match (op.call, op.answer) {
        (Call::Acquire { holder, lease_ms }, Answer::Ok | Answer::Unknown) => {
            if s.held.as_ref().is_none_or(may_have_ended) {
                vec![State {
                    held: Some(Held {
                        holder,
                        earliest_end: op.sent.saturating_add(lease_ms.saturating_mul(1000)),
                        token: None,
                    }),
                    top_token: s.top_token,
                }]
            } else {
                vec![]
            }
        }
        (Call::Acquire { .. }, Answer::Nil) if s.held.is_some() => vec![s.clone()],
        (Call::Release { holder }, Answer::Int(1) | Answer::Unknown) => match &s.held {
            Some(h) if h.holder == holder => vec![free],
            _ => vec![],
        },
        (Call::Release { holder }, Answer::Int(0)) => match &s.held {
            None => vec![s.clone()],
            Some(h) if h.holder != holder => vec![s.clone()],
            Some(h) if may_have_ended(h) => vec![free],
            Some(_) => vec![],
        },
        (Call::Token, Answer::Int(t)) => match &s.held {
            Some(h) if h.token == Some(t) => vec![s.clone()],
            Some(h) if h.token.is_none() && t > s.top_token => vec![State {
                held: Some(Held {
                    token: Some(t),
                    ..h.clone()
                }),
                top_token: t,
            }],
            _ => vec![],
        },
        (Call::Token, Answer::Nil) => match &s.held {
            None => vec![s.clone()],
            Some(h) if may_have_ended(h) => vec![free],
            Some(_) => vec![],
        },
        _ => vec![],
    }
}

/// A depth-first search for a linearization, remembering the (done set,
/// state) pairs already explored so no pair is explored twice.
struct Search<'a> {
    ops: &'a [&'a Op],
    seen: HashSet<(Vec<u64>, State)>,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [&'a Op]) -> Search<'a> {
        Search {
            ops,
            seen: HashSet::new(),
        }
    }

    fn run(&mut self) -> bool {
        let done = vec![0u64; self.ops.len().div_ceil(64)];
        let start = State {
            held: None,
            top_token: 0,
        };
        // An explicit stack: histories can be long.
        let mut stack = vec![(done, start)];
        while let Some((done, state)) = stack.pop() {
            let is_done = |i: usize| done[i / 64] & (1 << (i % 64)) != 0;
            // Every answered operation placed: found one.
            let pending: Vec<usize> = (0..self.ops.len()).filter(|&i| !is_done(i)).collect();
            if pending.iter().all(|&i| self.ops[i].answered.is_none()) {
                return true;
            }
            // The next one must have been sent before every pending
            // operation was answered.
            let deadline = pending
                .iter()
                .filter_map(|&i| self.ops[i].answered)
                .min()
                .unwrap_or(u64::MAX);
            for &i in pending.iter().rev() {
                let op = self.ops[i];
                if op.sent > deadline {
                    continue;
                }
                for next in step(&state, op) {
                    let mut done = done.clone();
                    done[i / 64] |= 1 << (i % 64);
                    if self.seen.insert((done.clone(), next.clone())) {
                        stack.push((done, next));
                    }
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An operation by `client` on lock:a, sent at `sent` ms and answered
    /// at `answered` ms (None: unknown).
    fn op(client: usize, call: Call, sent: u64, answered: Option<u64>, answer: Answer) -> Op {
        Op {
            client,
            key: "lock:a".into(),
            call,
            sent: sent * 1000,
            answered: answered.map(|t| t * 1000),
            answer,
        }
    }

    fn acquire(holder: u64) -> Call {
        Call::Acquire {
            holder,
            lease_ms: 1_000,
        }
    }

    fn release(holder: u64) -> Call {
        Call::Release { holder }
    }

    #[test]
    fn one_holder_after_another_is_linearizable() {
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(2, acquire(2), 5, Some(15), Answer::Nil),
            op(1, Call::Token, 20, Some(25), Answer::Int(4)),
            op(1, release(1), 30, Some(40), Answer::Int(1)),
            op(2, acquire(3), 35, Some(50), Answer::Ok),
            op(2, Call::Token, 60, Some(65), Answer::Int(9)),
            // A non-holder's release, while 3 holds: 0.
            op(1, release(1), 70, Some(80), Answer::Int(0)),
        ];
        assert_eq!(check(&ops), Ok(()));
    }

    #[test]
    fn two_holders_at_once_are_caught() {
        // Both answered OK while the first lease (1 s) still ran.
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(2, acquire(2), 20, Some(999), Answer::Ok),
        ];
        assert!(check(&ops).is_err());
        // Answered at 1000 ms after the first acquire was sent: the lease
        // may have ended, so a second holder is fine.
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(2, acquire(2), 20, Some(1000), Answer::Ok),
        ];
        assert_eq!(check(&ops), Ok(()));
        // Overlapping in time, both OK: one of them came first, and the
        // other could not be granted.
        let ops = [
            op(1, acquire(1), 0, Some(100), Answer::Ok),
            op(2, acquire(2), 10, Some(90), Answer::Ok),
        ];
        assert!(check(&ops).is_err());
    }

    #[test]
    fn a_forgotten_acquire_is_caught() {
        // Acquired (no release, lease still running), then another
        // acquire is refused and a token read says free: the grant was
        // forgotten.
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(2, Call::Token, 20, Some(30), Answer::Nil),
        ];
        assert!(check(&ops).is_err());
        // Nil to an acquire of a free lock is wrong too.
        let ops = [op(2, acquire(2), 0, Some(10), Answer::Nil)];
        assert!(check(&ops).is_err());
    }

    #[test]
    fn an_unanswered_acquire_may_or_may_not_have_happened() {
        // Client 1's acquire got no answer; client 2 is then refused: only
        // explained by 1's acquire having happened.
        let ops = [
            op(1, acquire(1), 0, None, Answer::Unknown),
            op(2, acquire(2), 20, Some(30), Answer::Nil),
        ];
        assert_eq!(check(&ops), Ok(()));
        // Or granted: explained by 1's acquire not (yet) having happened.
        let ops = [
            op(1, acquire(1), 0, None, Answer::Unknown),
            op(2, acquire(2), 20, Some(30), Answer::Ok),
            op(2, release(2), 40, Some(50), Answer::Int(1)),
        ];
        assert_eq!(check(&ops), Ok(()));
        // An unanswered release by a non-holder cannot free the lock.
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(2, release(2), 20, None, Answer::Unknown),
            op(2, acquire(3), 30, Some(40), Answer::Ok),
        ];
        assert!(check(&ops).is_err());
    }

    #[test]
    fn tokens_must_grow_from_holder_to_holder() {
        let history = |second: u64| {
            [
                op(1, acquire(1), 0, Some(10), Answer::Ok),
                op(1, Call::Token, 20, Some(30), Answer::Int(7)),
                op(1, release(1), 40, Some(50), Answer::Int(1)),
                op(2, acquire(2), 60, Some(70), Answer::Ok),
                op(2, Call::Token, 80, Some(90), Answer::Int(second)),
            ]
        };
        assert_eq!(check(&history(8)), Ok(()));
        assert!(check(&history(7)).is_err());
        assert!(check(&history(3)).is_err());
        // A holder's token does not change while it holds.
        let ops = [
            op(1, acquire(1), 0, Some(10), Answer::Ok),
            op(1, Call::Token, 20, Some(30), Answer::Int(7)),
            op(1, Call::Token, 40, Some(50), Answer::Int(8)),
        ];
        assert!(check(&ops).is_err());
    }

    #[test]
    fn keys_are_checked_apart_and_the_history_records_threads() {
        let history = History::new();
        let now = Instant::now();
        std::thread::scope(|s| {
            for client in 0..4 {
                let history = &history;
                s.spawn(move || {
                    let key = format!("lock:{client}");
                    let call = acquire(client as u64);
                    history.record(client, &key, call, now, now, Answer::Ok);
                });
            }
        });
        assert_eq!(history.ops().len(), 4);
        assert_eq!(history.check(), Ok(()));
        // A second grant of lock:0 while the first lease runs.
        history.record(9, "lock:0", acquire(9), now, now, Answer::Ok);
        let err = history.check().expect_err("two holders of lock:0");
        assert!(err.starts_with("the history of lock:0 "), "{err}");
    }
}
