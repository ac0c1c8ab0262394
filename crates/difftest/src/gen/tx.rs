//! `@tx`: MULTI/EXEC/DISCARD/WATCH/UNWATCH on one connection. A block is
//! generated whole (its first step is returned, the rest queued in
//! `Gen::then`), so no other generator's step lands inside it and it always
//! ends with EXEC or DISCARD. The commands queued inside are drawn from
//! generators whose replies compare exactly, since EXEC's array is compared
//! byte for byte.

use super::{cmd, CommandSpec, Gen, Step, CATALOGUE, DATA_GROUPS};
use crate::compare::Check;

impl Gen {
    /// A command to queue inside MULTI, or (not `queued`) to run between
    /// WATCH and MULTI.
    fn tx_command(&mut self, queued: bool) -> Option<Step> {
        match self.rng.below(if queued { 24 } else { 22 }) {
            0 => self.get(),
            1 => self.set(),
            2 => self.incr(),
            3 => self.append(),
            4 => self.del(),
            5 => self.exists(),
            6 => self.type_cmd(),
            7 => self.expire(),
            8 => self.lpush(),
            9 => self.lrange(),
            10 => self.lpop(),
            11 => self.hset(),
            12 => self.hget(),
            13 => self.hincrby(),
            14 => self.sadd(),
            15 => self.scard(),
            16 => self.zadd(),
            17 => self.zrange(),
            18 => self.setbit(),
            19 => self.pfadd(),
            20 => self.ping(),
            21 => self.unknown(),
            22 => {
                // Blocking commands do not block inside MULTI. It may have
                // ended early (EXEC with arguments discards the
                // transaction), so the timeout stays short and unmutated.
                self.verbatim = true;
                let args = vec![self.word("BLPOP"), self.key(), b"0.01".to_vec()];
                cmd(args)
            }
            _ => self.incrbyfloat(),
        }
    }

    fn push_tx_command(&mut self, queued: bool) {
        // Only exactly compared commands: the runner cannot normalise a
        // reply inside EXEC's array, nor probe a server inside MULTI.
        let step = self.tx_command(queued).filter(|s| {
            matches!(
                s,
                Step::Command {
                    check: Check::Exact,
                    ..
                }
            )
        });
        let verbatim = std::mem::take(&mut self.verbatim);
        if let Some(step) = step {
            // Wrong arity inside MULTI aborts the transaction (EXECABORT).
            let step = if verbatim { step } else { self.mutate(step) };
            self.then.push(step);
        }
    }

    /// A step between WATCH and MULTI: half the time the transaction
    /// subset, otherwise any string, key or data-family command, so every
    /// write command's effect on a watched key is compared (Redis dirties a
    /// watch only when a command really changes the key).
    pub(super) fn push_between_watch_and_multi(&mut self) {
        if self.rng.chance(50) {
            return self.push_tx_command(false);
        }
        let specs: Vec<&CommandSpec> = CATALOGUE
            .iter()
            .filter(|s| ["strings", "keys"].contains(&s.group) || DATA_GROUPS.contains(&s.group))
            .collect();
        let spec = *self.rng.pick(&specs);
        // The generator may queue follow-up steps of its own: they go after
        // its step, and before what this block queues next.
        let mut queued = std::mem::take(&mut self.then);
        if let Some(step) = (spec.generate)(self) {
            let step = if std::mem::take(&mut self.verbatim) {
                step
            } else {
                self.mutate(step)
            };
            queued.push(step);
        }
        self.verbatim = false;
        queued.append(&mut self.then);
        self.then = queued;
    }

    fn push_word(&mut self, word: &str) {
        let args = vec![self.word(word)];
        self.then.extend(cmd(args));
    }

    /// `MULTI`, up to five queued commands (sometimes a nested MULTI, a
    /// WATCH, or an EXEC with arguments, which Redis 7.0 answers with
    /// EXECABORT at once), then EXEC or DISCARD.
    pub(super) fn transaction(&mut self) {
        self.push_word("MULTI");
        for _ in 0..self.rng.range(0, 5) {
            match self.rng.below(20) {
                0 => self.push_word("MULTI"),
                1 => {
                    let mut args = vec![self.word("WATCH")];
                    args.extend(self.keys(1, 2));
                    self.then.extend(cmd(args));
                }
                2 => {
                    let args = vec![self.word("EXEC"), self.value()];
                    self.then.extend(cmd(args));
                }
                _ => self.push_tx_command(true),
            }
        }
        let end = if self.rng.chance(80) {
            "EXEC"
        } else {
            "DISCARD"
        };
        self.push_word(end);
    }

    /// A MULTI block on its own.
    pub(super) fn multi(&mut self) -> Option<Step> {
        self.transaction();
        self.verbatim = true;
        let first = self.then.remove(0);
        Some(first)
    }

    /// `WATCH key…`, then commands that may touch a watched key (EXEC then
    /// answers nil), sometimes UNWATCH, then a MULTI block.
    pub(super) fn watch(&mut self) -> Option<Step> {
        let mut args = vec![self.word("WATCH")];
        args.extend(self.keys(1, 3));
        for _ in 0..self.rng.range(0, 2) {
            self.push_between_watch_and_multi();
        }
        if self.rng.chance(15) {
            self.push_word("UNWATCH");
        }
        self.transaction();
        cmd(args)
    }

    pub(super) fn lone_exec(&mut self) -> Option<Step> {
        cmd(vec![self.word("EXEC")])
    }

    pub(super) fn lone_discard(&mut self) -> Option<Step> {
        cmd(vec![self.word("DISCARD")])
    }

    pub(super) fn lone_unwatch(&mut self) -> Option<Step> {
        cmd(vec![self.word("UNWATCH")])
    }
}
