//! `@memory`: out-of-memory blocks. `CONFIG SET maxmemory 1` leaves a
//! server over its limit for good, which makes eviction deterministic: an
//! `allkeys-*` policy evicts every key before each command, a `volatile-*`
//! one every key with a TTL, and then (like `noeviction` at once) commands
//! that may grow memory get OOM, and inside MULTI everything does. A block
//! picks a policy, sets the limit, runs a few commands (sometimes a
//! transaction) and lifts the limit again; the runner also lifts it
//! before every sequence, in case a block was cut short.

use super::{cmd, Gen, Step};

const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

impl Gen {
    fn config_set(&mut self, name: &str, value: &str) {
        let args = vec![
            self.word("CONFIG"),
            self.word("SET"),
            name.as_bytes().to_vec(),
            value.as_bytes().to_vec(),
        ];
        self.then.extend(cmd(args));
    }

    pub(super) fn out_of_memory(&mut self) -> Option<Step> {
        let policy = *self.rng.pick(POLICIES);
        self.config_set("maxmemory", "1");
        for _ in 0..self.rng.range(1, 6) {
            if self.rng.chance(15) {
                self.transaction();
            } else {
                self.push_between_watch_and_multi();
            }
        }
        self.config_set("maxmemory", "0");
        self.verbatim = true;
        let args = vec![
            self.word("CONFIG"),
            self.word("SET"),
            b"maxmemory-policy".to_vec(),
            policy.as_bytes().to_vec(),
        ];
        cmd(args)
    }
}
