//! A lock client for fault tests: takes and releases contended locks
//! through whichever node answers, recording every operation with its
//! send and answer times for the linearizability checker
//! (shoal_meta::history).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shoal_meta::history::{Answer, Call, History};

use super::{Roaming, Sent};

/// The locks the clients fight over.
pub const KEYS: [&str; 2] = ["lock:fault:a", "lock:fault:b"];
/// Every grant's lease.
pub const LEASE_MS: u64 = 800;
/// How long a client waits for an answer before it counts as unknown.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Bounds on each client's loop.
pub const MAX_ROUNDS: u64 = 5_000;
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A lock client: connected to one node, moving to the next when its
/// node stops answering.
pub struct Client {
    id: usize,
    link: Roaming,
    rng: u64,
}

/// A command's fate: answered, answered with an error or not at all (it
/// may have happened), or never sent (no connection).
enum Fate<T> {
    Answered(T),
    Unknown,
    Unsent,
}

impl Client {
    pub fn new(id: usize, addrs: Vec<String>) -> Client {
        Client {
            id,
            link: Roaming::new(addrs, id, ANSWER_TIMEOUT),
            rng: 0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1),
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below
    }

    fn send<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Fate<T> {
        match self.link.send(cmd) {
            Sent::Answered(v) => Fate::Answered(v),
            Sent::Failed(_) => Fate::Unknown,
            Sent::Unsent(_) => Fate::Unsent,
        }
    }

    /// Sends `call` on `key` and records it; the answer, if any.
    fn run(&mut self, history: &History, key: &str, call: Call) -> Option<Answer> {
        let cmd = match call {
            Call::Acquire { holder, lease_ms } => {
                let mut c = redis::cmd("SET");
                c.arg(key).arg(holder).arg("NX").arg("PX").arg(lease_ms);
                c
            }
            Call::Release { holder } => {
                let mut c = redis::cmd("DELIFEQ");
                c.arg(key).arg(holder);
                c
            }
            Call::Token => {
                let mut c = redis::cmd("LOCK.TOKEN");
                c.arg(key);
                c
            }
        };
        let sent = Instant::now();
        let answer = match call {
            Call::Acquire { .. } => match self.send::<Option<String>>(&cmd) {
                Fate::Answered(Some(ok)) if ok == "OK" => Answer::Ok,
                Fate::Answered(Some(other)) => panic!("SET NX answered {other}"),
                Fate::Answered(None) => Answer::Nil,
                Fate::Unknown => Answer::Unknown,
                Fate::Unsent => return None,
            },
            Call::Release { .. } | Call::Token => match self.send::<Option<u64>>(&cmd) {
                Fate::Answered(Some(n)) => Answer::Int(n),
                Fate::Answered(None) => Answer::Nil,
                Fate::Unknown => Answer::Unknown,
                Fate::Unsent => return None,
            },
        };
        history.record(self.id, key, call, sent, Instant::now(), answer);
        Some(answer)
    }

    /// Takes and releases locks until `stop` (or its bounds).
    pub fn work(mut self, history: &History, stop: &AtomicBool) {
        let start = Instant::now();
        for round in 0..MAX_ROUNDS {
            if stop.load(Ordering::Relaxed) || start.elapsed() > RUN_LIMIT {
                break;
            }
            let key = KEYS[self.random(KEYS.len() as u64) as usize];
            // Now and then a read first: a deposed leader must not answer
            // it from its own copy.
            if self.random(3) == 0 {
                self.run(history, key, Call::Token);
            }
            let holder = ((self.id as u64) << 32) | round;
            let acquire = Call::Acquire {
                holder,
                lease_ms: LEASE_MS,
            };
            match self.run(history, key, acquire) {
                Some(Answer::Ok) => {
                    self.run(history, key, Call::Token);
                    // One holder in six walks away (as if it crashed): the
                    // next must wait for the lease to end.
                    if self.random(6) != 0 {
                        std::thread::sleep(Duration::from_millis(5 + self.random(20)));
                        self.run(history, key, Call::Release { holder });
                    }
                }
                None => std::thread::sleep(Duration::from_millis(50)),
                Some(Answer::Nil) => {
                    // Refused: a release by this non-holder must free nothing.
                    if self.random(4) == 0 {
                        self.run(history, key, Call::Release { holder });
                    }
                    std::thread::sleep(Duration::from_millis(5 + self.random(20)));
                }
                _ => std::thread::sleep(Duration::from_millis(5 + self.random(20))),
            }
        }
    }
}
