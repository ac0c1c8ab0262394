//! # shoal-difftest
//!
//! Differential correctness harness: generates random command sequences
//! (valid and invalid), runs each against shoal and against a real
//! `redis-server`, and reports every reply that differs on the raw RESP wire.
//!
//! ## Layout
//!
//! | Module     | Job                                                           |
//! |------------|---------------------------------------------------------------|
//! | `main`     | command line, the run loop, reporting                         |
//! | `gen`      | the command catalogue and random argument generators          |
//! | `compare`  | when two replies count as equal (the only normalisations)     |
//! | `resp`     | raw RESP2/RESP3 client with deadlines; byte escaping          |
//! | `servers`  | starting/stopping the servers under test on loopback ports    |
//! | `rng`      | SplitMix64, so a seed reproduces a run                        |
//!
//! ## Running
//!
//! ```text
//! cargo build --release -p shoal -p shoal-difftest
//! target/release/shoal-difftest --shoal-bin target/release/shoal --seed 1 --sequences 10000
//! # only what shoal implements so far (no lists/hashes/sets):
//! target/release/shoal-difftest --shoal-bin target/release/shoal --only-strings-and-keys
//! # one data family (with the generic commands on it), or several:
//! target/release/shoal-difftest --shoal-bin target/release/shoal --commands @hash
//! target/release/shoal-difftest --shoal-bin target/release/shoal --commands @list,@zset --commands @tx
//! target/release/shoal-difftest --shoal-bin target/release/shoal --commands @datatypes
//! # replay one failing sequence printed by a run:
//! target/release/shoal-difftest --shoal-bin target/release/shoal --seed 1 --first 37 --sequences 1
//! # check the harness itself: redis against redis must give 0 failures
//! target/release/shoal-difftest --shoal-bin redis-server --seed 1 --sequences 10000
//! ```
//!
//! The last line of output is always `difftest: N passed, M failed`
//! (sequences); the exit status is 0 only if nothing failed (2 for a usage or
//! setup error).
//!
//! Each sequence runs on a clean keyspace (`FLUSHALL` on both servers first).
//! A sequence stops at its first differing reply, since the two keyspaces may
//! have diverged from there on (`--keep-going` reports the rest too).
//!
//! Some steps send more than one command to each server (see
//! [`gen::Step`]): a SCAN-family iteration, a DUMP followed by a RESTORE of
//! the payload, and a random pick preceded by a read of the whole
//! collection. Others first ask the reference server (redis) something:
//! `OBJECT ENCODING` before HGETALL/HKEYS/HVALS/SMEMBERS, the score range
//! before a lex range (see [`compare`] for why).

/// `println!` that ignores a closed stdout (`| head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod compare;
mod crosscheck;
mod gen;
mod resp;
mod rng;
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use compare::{Check, Pick};
use gen::{CommandSpec, Step};
use resp::{Conn, ReadError, Reply, Value};
use servers::{Scratch, Spawned};

const USAGE: &str = "\
usage: shoal-difftest (--shoal-bin PATH | --shoal-addr HOST:PORT)
                      [--redis-bin PATH | --redis-addr HOST:PORT]
                      [--seed N|random] [--sequences N] [--first N]
                      [--commands a,b,@group]... [--skip x,y]... [--only-strings-and-keys]
                      [--max-len N] [--max-diffs N] [--timeout-ms N] [--keep-going] [--trace]
                      [--shoal-arg ARG]... [--redis-arg ARG]... [--list] [--dump-crosscheck]

Runs random command sequences against shoal and redis-server and reports
every reply that differs byte for byte (after the few normalisations for
timing- and server-dependent replies). Servers given by --*-bin are started
on free loopback ports and killed at the end; --*-addr uses running servers
(their data is FLUSHALLed).

  --seed N|random        run seed (default: random; the seed is printed)
  --sequences N          how many sequences to run (default 1000)
  --first N              index of the first sequence (to replay one: --first N --sequences 1)
  --commands LIST        generate only these commands / @groups (see --list); repeatable,
                         lists add up; @datatypes = @hash,@list,@set,@zset,@bitmap,@hll
  --skip LIST            never generate these commands / @groups (repeatable)
  --only-strings-and-keys  skip every data-type group and @tx: strings, keys,
                         connection and server commands only
  --max-len N            commands per sequence at most (default 20)
  --max-diffs N          differences printed in detail (default 20)
  --timeout-ms N         per-reply deadline (default 5000)
  --keep-going           report later differences of a sequence too
  --trace                print every step and redis's reply (for inspecting the generator)
  --shoal-arg/--redis-arg ARG  extra argument for a started server (repeatable)
  --list                 print the command catalogue and exit
  --dump-crosscheck      instead of sequences: build every type in each of its encodings
                         on both servers, RESTORE each server's DUMP on the other, and
                         check that the copies read back the same
";

/// Parsed command line.
#[derive(Debug, Clone)]
struct Options {
    shoal: Target,
    redis: Target,
    shoal_args: Vec<String>,
    redis_args: Vec<String>,
    seed: Option<u64>,
    sequences: u64,
    first: u64,
    commands: Option<Vec<String>>,
    skip: Vec<String>,
    max_len: usize,
    max_diffs: u64,
    timeout: Duration,
    keep_going: bool,
    trace: bool,
    /// Run the DUMP/RESTORE cross-check instead of sequences.
    dump_crosscheck: bool,
    /// The command line minus seed/first/sequences, for reproduce hints.
    replay_args: Vec<String>,
}

#[derive(Debug, Clone)]
enum Target {
    Bin(String),
    Addr(String),
}

enum Parsed {
    Run(Box<Options>),
    Help,
    List,
}

fn parse_args(argv: &[String]) -> Result<Parsed, String> {
    let mut shoal_bin = None;
    let mut shoal_addr = None;
    let mut redis_bin = None;
    let mut redis_addr = None;
    let mut opts = Options {
        shoal: Target::Addr(String::new()),
        redis: Target::Addr(String::new()),
        shoal_args: Vec::new(),
        redis_args: Vec::new(),
        seed: None,
        sequences: 1000,
        first: 0,
        commands: None,
        skip: Vec::new(),
        max_len: 20,
        max_diffs: 20,
        timeout: Duration::from_millis(5000),
        keep_going: false,
        trace: false,
        dump_crosscheck: false,
        replay_args: Vec::new(),
    };
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let number = |flag: &str, s: &str| -> Result<u64, String> {
        s.parse::<u64>()
            .map_err(|_| format!("{flag} needs a non-negative integer, got '{s}'"))
    };
    let mut i = 0;
    while i < argv.len() {
        let (flag, inline_value) = match argv[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (argv[i].clone(), None),
        };
        let takes_value = !matches!(
            flag.as_str(),
            "--help"
                | "-h"
                | "--list"
                | "--keep-going"
                | "--trace"
                | "--only-strings-and-keys"
                | "--dump-crosscheck"
        );
        let value = if !takes_value {
            String::new()
        } else if let Some(v) = inline_value {
            v
        } else {
            i += 1;
            argv.get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?
        };
        i += 1;
        if !matches!(flag.as_str(), "--seed" | "--first" | "--sequences") {
            opts.replay_args.push(flag.clone());
            if takes_value {
                opts.replay_args.push(value.clone());
            }
        }
        match flag.as_str() {
            "--help" | "-h" => return Ok(Parsed::Help),
            "--list" => return Ok(Parsed::List),
            "--shoal-bin" => shoal_bin = Some(value),
            "--shoal-addr" => shoal_addr = Some(value),
            "--redis-bin" => redis_bin = Some(value),
            "--redis-addr" => redis_addr = Some(value),
            "--shoal-arg" => opts.shoal_args.push(value),
            "--redis-arg" => opts.redis_args.push(value),
            "--seed" => {
                opts.seed = if value == "random" {
                    None
                } else {
                    Some(number(&flag, &value)?)
                }
            }
            "--sequences" => opts.sequences = number(&flag, &value)?,
            "--first" => opts.first = number(&flag, &value)?,
            "--commands" => opts
                .commands
                .get_or_insert_with(Vec::new)
                .extend(list(&value)),
            "--skip" => opts.skip.extend(list(&value)),
            "--only-strings-and-keys" => opts
                .skip
                .extend(gen::NOT_STRINGS_AND_KEYS.iter().map(|g| g.to_string())),
            "--max-len" => opts.max_len = number(&flag, &value)?.clamp(1, 1000) as usize,
            "--max-diffs" => opts.max_diffs = number(&flag, &value)?,
            "--timeout-ms" => opts.timeout = Duration::from_millis(number(&flag, &value)?.max(1)),
            "--keep-going" => opts.keep_going = true,
            "--trace" => opts.trace = true,
            "--dump-crosscheck" => opts.dump_crosscheck = true,
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    opts.shoal = match (shoal_bin, shoal_addr) {
        (Some(b), None) => Target::Bin(b),
        (None, Some(a)) => Target::Addr(a),
        (None, None) => return Err("give --shoal-bin or --shoal-addr".into()),
        (Some(_), Some(_)) => return Err("give only one of --shoal-bin and --shoal-addr".into()),
    };
    opts.redis = match (redis_bin, redis_addr) {
        (Some(b), None) => Target::Bin(b),
        (None, Some(a)) => Target::Addr(a),
        (None, None) => Target::Bin("redis-server".into()),
        (Some(_), Some(_)) => return Err("give only one of --redis-bin and --redis-addr".into()),
    };
    Ok(Parsed::Run(Box::new(opts)))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&argv) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::List) => {
            for spec in gen::CATALOGUE {
                say!("{:<12} @{}", spec.name, spec.group);
            }
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(opts)) => match run(&opts) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(1),
            Err(e) => {
                eprintln!("difftest: error: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("difftest: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// One server under test and the harness's connection to it.
struct Side {
    label: &'static str,
    addr: String,
    spawned: Option<Spawned>,
    conn: Option<Conn>,
}

impl Side {
    fn new(
        label: &'static str,
        target: &Target,
        extra: &[String],
        redis_style: bool,
        scratch: &Scratch,
    ) -> Result<Side, String> {
        match target {
            Target::Addr(addr) => Ok(Side {
                label,
                addr: addr.clone(),
                spawned: None,
                conn: None,
            }),
            Target::Bin(bin) => {
                let mut args: Vec<String> = Vec::new();
                // A redis-server standing in for shoal (to check the harness)
                // gets the same flags as the reference one.
                let is_redis = bin.rsplit('/').next() == Some("redis-server");
                if redis_style || is_redis {
                    // No persistence: a cache comparison must not fork for RDB saves.
                    args.extend(["--save", "", "--appendonly", "no"].map(String::from));
                }
                args.extend(extra.iter().cloned());
                let server = Spawned::start(label, bin, &args, &scratch.path)?;
                Ok(Side {
                    label,
                    addr: server.addr.clone(),
                    spawned: Some(server),
                    conn: None,
                })
            }
        }
    }

    fn conn(&mut self, timeout: Duration) -> Result<&mut Conn, ReadError> {
        if self.conn.is_none() {
            let conn = Conn::connect(&self.addr, timeout)
                .map_err(|e| ReadError::Io(format!("connect {}: {e}", self.addr)))?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(ReadError::Closed)
    }

    /// Why the server is gone, if it is a process we started and it exited.
    fn death(&mut self) -> Option<String> {
        let server = self.spawned.as_mut()?;
        let status = server.exited()?;
        Some(format!(
            "{} exited ({status}); last log lines:\n{}",
            self.label,
            server.log_tail()
        ))
    }
}

type Outcome = Result<Reply, ReadError>;

/// The record of a step already run, for printing the sequence so far.
struct Ran {
    step: Step,
    replies: [Outcome; 2],
}

struct Runner<'a> {
    opts: &'a Options,
    seed: u64,
    enabled: Vec<&'static CommandSpec>,
    sides: [Side; 2],
    passed: u64,
    failed: u64,
    diffs: u64,
    commands: u64,
    /// Command name of each failing sequence's first difference.
    by_command: BTreeMap<String, u64>,
}

/// Stops the run: a server hung, died or refused the setup commands.
struct Fatal(String);

fn run(opts: &Options) -> Result<u64, String> {
    let enabled = gen::select(opts.commands.as_deref(), &opts.skip)?;
    let seed = opts.seed.unwrap_or_else(random_seed);
    say!("difftest: seed {seed}");
    let scratch = Scratch::create().map_err(|e| format!("scratch directory: {e}"))?;
    let shoal = Side::new("shoal", &opts.shoal, &opts.shoal_args, false, &scratch)?;
    let redis = Side::new("redis", &opts.redis, &opts.redis_args, true, &scratch)?;
    let mut runner = Runner {
        opts,
        seed,
        enabled,
        sides: [shoal, redis],
        passed: 0,
        failed: 0,
        diffs: 0,
        commands: 0,
        by_command: BTreeMap::new(),
    };
    if opts.dump_crosscheck {
        let (passed, failed) = runner.crosscheck();
        say!("dump crosscheck: {passed} passed, {failed} failed");
        drop(runner);
        drop(scratch);
        return Ok(failed);
    }
    let started = Instant::now();
    let mut fatal = None;
    for index in opts.first..opts.first.saturating_add(opts.sequences) {
        match runner.sequence(index) {
            Ok(true) => runner.passed += 1,
            Ok(false) => runner.failed += 1,
            Err(Fatal(msg)) => {
                runner.failed += 1;
                fatal = Some(msg);
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(msg) = &fatal {
        say!("difftest: run aborted: {msg}");
    }
    say!(
        "difftest: {} sequences, {} commands in {:.1} s (seed {seed})",
        runner.passed + runner.failed,
        runner.commands,
        elapsed.as_secs_f64()
    );
    if !runner.by_command.is_empty() {
        let tally: Vec<String> = runner
            .by_command
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        say!(
            "difftest: first differing command per failed sequence: {}",
            tally.join(", ")
        );
    }
    say!(
        "difftest: {} passed, {} failed",
        runner.passed,
        runner.failed
    );
    let failed = runner.failed;
    drop(runner); // kill started servers before removing their directory
    drop(scratch);
    Ok(failed)
}

fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = rng::Rng::new(nanos ^ u64::from(std::process::id()).rotate_left(32));
    rng.next_u64() >> 1
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What both servers "reply" to a lex range that is not run (see
/// `compare`'s `LexRange`).
const LEX_SKIPPED: &[u8] = b"+DIFFTEST not run: lex range over differing scores\r\n";

/// Most `SCAN` calls one iteration may take before it counts as endless.
const MAX_SCAN_CALLS: usize = 100_000;
/// Longest reply shown in full in a report.
const SHOW_BYTES: usize = 1500;
/// Longest reply shown for the earlier steps of a sequence.
const SHOW_BYTES_HISTORY: usize = 120;

impl Runner<'_> {
    /// Runs sequence `index`; `Ok(true)` when every reply agreed.
    fn sequence(&mut self, index: u64) -> Result<bool, Fatal> {
        self.flushall()?;
        let steps = gen::sequence(&self.enabled, self.seed, index, self.opts.max_len, now_ms());
        let mut ran: Vec<Ran> = Vec::with_capacity(steps.len());
        let mut ok = true;
        let mut dirty = false;
        let total = steps.len();
        for step in steps {
            self.commands += 1;
            let (replies, check) = self.execute(&step);
            let agree = match (&replies[0], &replies[1]) {
                (Ok(a), Ok(b)) => compare::agree(check, a, b),
                (Err(ReadError::Closed), Err(ReadError::Closed)) => true,
                _ => false,
            };
            let broken = replies.iter().any(Result::is_err);
            let timed_out = replies.iter().any(|r| r == &Err(ReadError::Timeout));
            let name = step_name(&step);
            if self.opts.trace {
                say!(
                    "[{index}] {}  -> {}",
                    show_step(&step),
                    show_outcome(&replies[1], SHOW_BYTES_HISTORY)
                );
            }
            // WATCH outlives a failed EXEC, and FLUSHALL would then flag the
            // next sequence's transaction.
            dirty |= broken || matches!(name.as_str(), "hello" | "select" | "client" | "watch");
            ran.push(Ran { step, replies });
            if !agree {
                if ok {
                    *self.by_command.entry(name).or_insert(0) += 1;
                }
                ok = false;
                dirty = true;
                self.report(index, &ran, total, check, timed_out);
            }
            if timed_out {
                return Err(Fatal(format!(
                    "no reply within {} ms (seed {}, sequence {index})",
                    self.opts.timeout.as_millis(),
                    self.seed
                )));
            }
            for side in &mut self.sides {
                if let Some(death) = side.death() {
                    return Err(Fatal(death));
                }
            }
            if broken || (!agree && !self.opts.keep_going) {
                break;
            }
        }
        if dirty {
            // Connection state (protocol, database, name) may differ now; the
            // next sequence starts from fresh connections.
            for side in &mut self.sides {
                side.conn = None;
            }
        }
        Ok(ok)
    }

    /// Empties both servers; anything but `+OK` means the run cannot go on.
    fn flushall(&mut self) -> Result<(), Fatal> {
        if self.enabled.iter().any(|s| s.group == "memory") {
            // An out-of-memory block cut short leaves the limit set.
            let reset: Vec<Vec<u8>> = [
                "CONFIG",
                "SET",
                "maxmemory",
                "0",
                "maxmemory-policy",
                "noeviction",
            ]
            .iter()
            .map(|w| w.as_bytes().to_vec())
            .collect();
            // A dead server shows at the FLUSHALL below.
            let _ = self.pipeline(&[reset]);
        }
        let replies = self.pipeline(&[vec![b"FLUSHALL".to_vec()]]);
        for (side, reply) in self.sides.iter_mut().zip(replies) {
            match reply.map(|mut r| r.remove(0)) {
                Ok(r) if r.raw == b"+OK\r\n" => {}
                Ok(r) => {
                    return Err(Fatal(format!(
                        "{} answered FLUSHALL with {}",
                        side.label,
                        resp::escape(&r.raw)
                    )))
                }
                Err(e) => {
                    let why = side.death().unwrap_or_default();
                    return Err(Fatal(format!("{} FLUSHALL failed: {e} {why}", side.label)));
                }
            }
        }
        Ok(())
    }

    /// Runs one step on both servers and says how to compare the replies.
    /// Single commands are written to both servers before either reply is
    /// read, so the servers work concurrently.
    fn execute(&mut self, step: &Step) -> ([Outcome; 2], Check) {
        let timeout = self.opts.timeout;
        match step {
            Step::Command {
                args,
                inline,
                check,
            } => match *check {
                Check::Pick(pick) => {
                    let pick = pick.for_args(args);
                    (self.pick(args, pick), Check::Pick(pick))
                }
                Check::HashOrder { key, pairs } => {
                    let check = self.hash_order(args, key, pairs);
                    (self.command(args, *inline), check)
                }
                Check::LexRange { key } => {
                    if self.mixed_scores(args, key) {
                        let skipped = Reply {
                            raw: LEX_SKIPPED.to_vec(),
                            value: Value::Simple(LEX_SKIPPED[1..LEX_SKIPPED.len() - 2].to_vec()),
                        };
                        ([Ok(skipped.clone()), Ok(skipped)], Check::Exact)
                    } else {
                        (self.command(args, *inline), Check::Exact)
                    }
                }
                check => (self.command(args, *inline), check),
            },
            Step::Scan {
                command,
                cursor,
                options,
                pairs,
            } => {
                let replies = self.sides.each_mut().map(|side| {
                    side.conn(timeout)
                        .and_then(|c| scan_all(c, command, cursor, options, *pairs))
                });
                (replies, Check::Exact)
            }
            Step::Dump { key, restore } => (self.dump(key, restore.as_deref()), Check::Dump),
        }
    }

    fn command(&mut self, args: &[Vec<u8>], inline: bool) -> [Outcome; 2] {
        let mut req = Vec::new();
        if inline {
            resp::encode_inline(args, &mut req);
        } else {
            resp::encode_request(args, &mut req);
        }
        self.exchange([(req.clone(), 1), (req, 1)])
            .map(|replies| replies.and_then(|mut r| r.pop().ok_or(ReadError::Closed)))
    }

    /// Resolves `Check::HashOrder` by asking the reference server (redis)
    /// how it encodes the key; see `compare` for why only that server.
    fn hash_order(&mut self, args: &[Vec<u8>], key: usize, pairs: bool) -> Check {
        let Some(key) = args.get(key) else {
            return Check::Exact;
        };
        let timeout = self.opts.timeout;
        let encoding = self.sides[1]
            .conn(timeout)
            .and_then(|c| c.call(&[b"OBJECT", b"ENCODING", key]));
        match encoding {
            Ok(r) if r.value == Value::Bulk(b"hashtable".to_vec()) => {
                if pairs {
                    Check::Pairs
                } else {
                    Check::Sorted
                }
            }
            _ => Check::Exact,
        }
    }

    /// Whether the zset at argument `key` has members of differing scores on
    /// the reference server (a lex range over it is unspecified).
    fn mixed_scores(&mut self, args: &[Vec<u8>], key: usize) -> bool {
        let Some(key) = args.get(key) else {
            return false;
        };
        let timeout = self.opts.timeout;
        let Ok(conn) = self.sides[1].conn(timeout) else {
            return false;
        };
        let mut score = |index: &[u8]| {
            let reply = conn
                .call(&[b"ZRANGE", key, index, index, b"WITHSCORES"])
                .ok()?;
            match reply.value {
                // RESP2: [member, score]; RESP3: [[member, score]].
                Value::Array(mut items) => match items.pop()? {
                    Value::Array(mut pair) => pair.pop(),
                    score => Some(score),
                },
                _ => None,
            }
        };
        match (score(b"0"), score(b"-1")) {
            (Some(low), Some(high)) => low != high,
            _ => false,
        }
    }

    /// A random pick: each server first returns the whole collection, then
    /// answers the command; the outcome is the composite of both replies.
    fn pick(&mut self, args: &[Vec<u8>], pick: Pick) -> [Outcome; 2] {
        let read = pick.collection_command(args.get(1).map_or(&b""[..], |k| k));
        self.pipeline(&[read, args.to_vec()])
            .map(|replies| replies.map(compare::composite))
    }

    /// `OBJECT ENCODING key`, `DUMP key` and, given `restore` and a payload,
    /// `RESTORE restore[0] restore[1] <payload> restore[2..]` on each
    /// server, as composites `[encoding, payload, restore reply or null]`.
    ///
    /// Each server restores its own payload, except when the reference
    /// server holds the key as a hashtable: both then restore the
    /// reference's. Such payloads list elements in hash order, and a small
    /// hash restores as a listpack in that order, which HGETALL would then
    /// show; the payloads themselves are still compared (see `compare`).
    fn dump(&mut self, key: &[u8], restore: Option<&[Vec<u8>]>) -> [Outcome; 2] {
        let dumped = self.pipeline(&[
            vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), key.to_vec()],
            vec![b"DUMP".to_vec(), key.to_vec()],
        ]);
        let mut dumped = dumped;
        self.accept_equivalent_quicklist(key, &mut dumped);
        let reference = match &dumped[1] {
            Ok(parts) if parts[0].value == Value::Bulk(b"hashtable".to_vec()) => {
                Some(parts[1].clone())
            }
            _ => None,
        };
        let restores = dumped.each_ref().map(|d| match (restore, d) {
            (Some([dest, ttl, options @ ..]), Ok(parts)) => {
                match &reference.as_ref().unwrap_or(&parts[1]).value {
                    Value::Bulk(payload) => {
                        let mut args = vec![b"RESTORE".to_vec(), dest.clone(), ttl.clone()];
                        args.push(payload.clone());
                        args.extend(options.iter().cloned());
                        vec![args]
                    }
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        });
        let restored = self.pipeline_each(&restores);
        let combine = |dumped: Result<Vec<Reply>, ReadError>,
                       restored: Result<Vec<Reply>, ReadError>| {
            let mut parts = dumped?;
            parts.push(restored?.pop().unwrap_or(Reply {
                raw: b"_\r\n".to_vec(),
                value: Value::Null,
            }));
            Ok(compare::composite(parts))
        };
        let ([d0, d1], [r0, r1]) = (dumped, restored);
        [combine(d0, r0), combine(d1, r1)]
    }

    /// How a quicklist splits into listpack nodes depends on the order of
    /// its pushes and pops, so two servers holding the same list may DUMP
    /// different (equally valid) payloads. When the reference holds `key`
    /// as a quicklist and the payloads differ, the reference server itself
    /// restores the tested server's payload into a scratch key; if it takes
    /// it and reads back the same elements as `key`, the tested payload is
    /// counted as the reference's.
    fn accept_equivalent_quicklist(
        &mut self,
        key: &[u8],
        dumped: &mut [Result<Vec<Reply>, ReadError>; 2],
    ) {
        let [Ok(tested), Ok(reference)] = &*dumped else {
            return;
        };
        if reference[0].value != Value::Bulk(b"quicklist".to_vec())
            || tested[0].raw != reference[0].raw
            || tested[1].raw == reference[1].raw
        {
            return;
        }
        let Value::Bulk(payload) = &tested[1].value else {
            return;
        };
        let scratch = b"__difftest:quicklist".to_vec();
        let check = vec![
            vec![
                b"RESTORE".to_vec(),
                scratch.clone(),
                b"0".to_vec(),
                payload.clone(),
                b"REPLACE".to_vec(),
            ],
            vec![
                b"LRANGE".to_vec(),
                scratch.clone(),
                b"0".to_vec(),
                b"-1".to_vec(),
            ],
            vec![
                b"LRANGE".to_vec(),
                key.to_vec(),
                b"0".to_vec(),
                b"-1".to_vec(),
            ],
            vec![b"DEL".to_vec(), scratch],
        ];
        let [_, Ok(replies)] = self.pipeline_each(&[Vec::new(), check]) else {
            return;
        };
        let restored = matches!(&replies[0].value, Value::Simple(ok) if ok == b"OK");
        if restored && replies[1].raw == replies[2].raw {
            let reference_dump = reference[1].clone();
            if let Ok(tested) = &mut dumped[0] {
                tested[1] = reference_dump;
            }
        }
    }

    /// Sends the same `requests` to both servers, each in one write, before
    /// reading either's replies.
    fn pipeline(&mut self, requests: &[Vec<Vec<u8>>]) -> [Result<Vec<Reply>, ReadError>; 2] {
        let both = [requests.to_vec(), requests.to_vec()];
        self.pipeline_each(&both)
    }

    /// Sends each server its own `requests` in one write, then reads their
    /// replies.
    fn pipeline_each(
        &mut self,
        requests: &[Vec<Vec<Vec<u8>>>; 2],
    ) -> [Result<Vec<Reply>, ReadError>; 2] {
        let encoded = requests.each_ref().map(|requests| {
            let mut req = Vec::new();
            for args in requests {
                resp::encode_request(args, &mut req);
            }
            (req, requests.len())
        });
        self.exchange(encoded)
    }

    /// Writes each server its bytes, then reads the given number of replies
    /// from each (none when nothing is sent). Both servers get their
    /// requests before either is read, so they work concurrently; a server
    /// sending more than asked fails as in [`read_one_reply`].
    fn exchange(&mut self, requests: [(Vec<u8>, usize); 2]) -> [Result<Vec<Reply>, ReadError>; 2] {
        let timeout = self.opts.timeout;
        let mut sides = self.sides.each_mut();
        let sent = [0, 1].map(|i| {
            let (req, n) = &requests[i];
            if *n == 0 {
                return Ok(());
            }
            sides[i]
                .conn(timeout)
                .and_then(|c| c.send(req).map_err(|e| ReadError::Io(e.to_string())))
        });
        [0, 1].map(|i| {
            sent[i].clone()?;
            let n = requests[i].1;
            if n == 0 {
                return Ok(Vec::new());
            }
            let conn = sides[i].conn(timeout)?;
            (0..n)
                .map(|k| {
                    if k + 1 == n {
                        read_one_reply(conn)
                    } else {
                        conn.read_reply()
                    }
                })
                .collect()
        })
    }

    fn report(&mut self, index: u64, ran: &[Ran], total: usize, check: Check, timed_out: bool) {
        self.diffs += 1;
        if self.diffs > self.opts.max_diffs && !timed_out {
            if self.diffs == self.opts.max_diffs + 1 {
                say!(
                    "difftest: more differences follow; only the first {} are shown",
                    self.opts.max_diffs
                );
            }
            return;
        }
        let Some((last, before)) = ran.split_last() else {
            return;
        };
        say!(
            "=== difference {}: seed {}, sequence {index}, step {} of {total} ({}) ===",
            self.diffs,
            self.seed,
            ran.len(),
            step_name(&last.step)
        );
        for (i, r) in before.iter().enumerate() {
            say!(
                "   {:>2}  {}  -> {}",
                i + 1,
                show_step(&r.step),
                show_outcome(&r.replies[1], SHOW_BYTES_HISTORY)
            );
        }
        say!(">  {:>2}  {}", ran.len(), show_step(&last.step));
        for (side, reply) in self.sides.iter().zip(&last.replies) {
            say!("    {}: {}", side.label, show_outcome(reply, SHOW_BYTES));
        }
        say!("    compared: {}", describe(check, &last.step));
        let mut replay = vec!["shoal-difftest".to_string()];
        replay.extend(self.opts.replay_args.iter().map(|a| shell_quote(a)));
        say!(
            "    replay: {} --seed {} --first {index} --sequences 1",
            replay.join(" "),
            self.seed
        );
    }
}

/// Reads a reply to a single request; anything already received after it
/// means the server sent more than one reply, which is a protocol error.
fn read_one_reply(conn: &mut Conn) -> Outcome {
    let reply = conn.read_reply()?;
    if conn.pending().is_empty() {
        return Ok(reply);
    }
    Err(ReadError::Protocol(format!(
        "reply {} followed by unrequested bytes {}",
        resp::escape(&reply.raw),
        resp::escape(&conn.pending()[..conn.pending().len().min(SHOW_BYTES)])
    )))
}

/// Sends one command and reads its one reply.
fn call_owned(conn: &mut Conn, args: &[Vec<u8>]) -> Outcome {
    let mut req = Vec::new();
    resp::encode_request(args, &mut req);
    conn.send(&req).map_err(|e| ReadError::Io(e.to_string()))?;
    read_one_reply(conn)
}

/// Iterates `<command…> <cursor> <options…>` (SCAN, HSCAN key…) from
/// `cursor` to the end and returns what it saw as one array reply: the
/// sorted set of items, or with `pairs` of field/value pairs (flattened). A
/// reply that is an error or not a SCAN page is returned as is, so it is
/// compared exactly.
fn scan_all(
    conn: &mut Conn,
    command: &[Vec<u8>],
    cursor: &[u8],
    options: &[Vec<u8>],
    pairs: bool,
) -> Outcome {
    let mut seen: BTreeSet<Vec<Value>> = BTreeSet::new();
    let mut cursor = cursor.to_vec();
    let width = if pairs { 2 } else { 1 };
    for _ in 0..MAX_SCAN_CALLS {
        let mut args = command.to_vec();
        args.push(cursor.clone());
        args.extend(options.iter().cloned());
        let reply = call_owned(conn, &args)?;
        let Value::Array(parts) = &reply.value else {
            return Ok(reply);
        };
        let [Value::Bulk(next), Value::Array(page)] = parts.as_slice() else {
            return Ok(reply);
        };
        if !page.len().is_multiple_of(width) || page.iter().any(|v| !matches!(v, Value::Bulk(_))) {
            return Ok(reply);
        }
        seen.extend(page.chunks(width).map(<[Value]>::to_vec));
        if next.as_slice() == b"0" {
            let value = Value::Array(seen.into_iter().flatten().collect());
            return Ok(Reply {
                raw: value.to_wire(),
                value,
            });
        }
        cursor = next.clone();
    }
    let value = Value::Error(
        format!("DIFFTEST SCAN did not finish within {MAX_SCAN_CALLS} calls").into_bytes(),
    );
    Ok(Reply {
        raw: value.to_wire(),
        value,
    })
}

/// The catalogue name of a step's command, lower-case.
fn step_name(step: &Step) -> String {
    match step {
        Step::Dump { restore: None, .. } => "dump".into(),
        Step::Dump { .. } => "restore".into(),
        Step::Scan { command: args, .. } | Step::Command { args, .. } => {
            let first = args
                .first()
                .map(|a| a.to_ascii_lowercase())
                .unwrap_or_default();
            let name = String::from_utf8_lossy(&first).into_owned();
            if gen::is_generated_name(&name) {
                name
            } else {
                "unknown".into()
            }
        }
    }
}

fn show_step(step: &Step) -> String {
    let args: Vec<String> = step.args().iter().map(|a| resp::escape(a)).collect();
    let mut s = args.join(" ");
    match step {
        Step::Command { inline: true, .. } => s.push_str("  (inline)"),
        Step::Scan { .. } => s.push_str("  (iterated to the end)"),
        Step::Dump { key, restore } => {
            let mut pre = format!("OBJECT ENCODING {}; ", resp::escape(key));
            pre.push_str(&s);
            s = pre;
            if let Some([dest, ttl, options @ ..]) = restore.as_deref() {
                let options: Vec<String> = options.iter().map(|a| resp::escape(a)).collect();
                s.push_str(&format!(
                    "; RESTORE {} {} <payload> {}",
                    resp::escape(dest),
                    resp::escape(ttl),
                    options.join(" ")
                ));
            }
        }
        Step::Command { .. } => {}
    }
    s
}

fn show_outcome(outcome: &Outcome, limit: usize) -> String {
    match outcome {
        Ok(reply) => {
            let shown = &reply.raw[..reply.raw.len().min(limit)];
            let mut s = resp::escape(shown);
            if reply.raw.len() > limit {
                s.push_str(&format!("... ({} bytes)", reply.raw.len()));
            }
            s
        }
        Err(e) => e.to_string(),
    }
}

fn describe(check: Check, step: &Step) -> &'static str {
    if matches!(step, Step::Scan { pairs: false, .. }) {
        return "set of items returned by the whole iteration";
    }
    if matches!(step, Step::Scan { pairs: true, .. }) {
        return "set of field/value pairs returned by the whole iteration";
    }
    match check {
        Check::Exact => "exact bytes",
        Check::Tolerance(_) => "exact, or integers within the time tolerance",
        Check::Sorted => "elements in any order (redis holds the key as a hashtable)",
        Check::Pairs => "name/value pairs in any order (dict or hashtable order)",
        Check::NilOrNot => "nil versus not nil",
        Check::Shape => "reply type only (server-specific content)",
        Check::HashOrder { .. } => "exact bytes (encoding not checked)",
        Check::LexRange { .. } => "exact bytes (scores not checked)",
        Check::Pick(_) => {
            "[collection read first, reply]: same collection; picks of the same type \
             and length, distinct for a count >= 0, members with their exact values"
        }
        Check::Dump => {
            "[OBJECT ENCODING, DUMP, RESTORE] exact; a hashtable's payload as a \
             multiset of encoded elements with valid CRC"
        }
    }
}

/// Quotes an argument for a copy-pasteable replay command line.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,@=".contains(&b))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_a_full_command_line() {
        let Ok(Parsed::Run(o)) = parse_args(&args(
            "--shoal-bin target/release/shoal --redis-bin redis-server --seed 1 --sequences 10 --skip rpush,hset --keep-going",
        )) else {
            panic!("should parse");
        };
        assert!(matches!(o.shoal, Target::Bin(ref b) if b == "target/release/shoal"));
        assert_eq!(o.seed, Some(1));
        assert_eq!(o.sequences, 10);
        assert_eq!(o.skip, vec!["rpush", "hset"]);
        assert!(o.keep_going);
        assert!(!o
            .replay_args
            .iter()
            .any(|a| a == "--seed" || a == "--sequences"));
    }

    #[test]
    fn addresses_seed_random_and_equals_syntax() {
        let Ok(Parsed::Run(o)) = parse_args(&args(
            "--shoal-addr=127.0.0.1:1 --redis-addr 127.0.0.1:2 --seed random",
        )) else {
            panic!("should parse");
        };
        assert!(matches!(o.redis, Target::Addr(ref a) if a == "127.0.0.1:2"));
        assert_eq!(o.seed, None);
    }

    #[test]
    fn commands_add_up_and_only_strings_and_keys_skips_the_data_types() {
        let Ok(Parsed::Run(o)) = parse_args(&args(
            "--shoal-bin s --commands @hash,@list --commands @tx --only-strings-and-keys",
        )) else {
            panic!("should parse");
        };
        assert_eq!(
            o.commands.as_deref(),
            Some(&["@hash".to_string(), "@list".into(), "@tx".into()][..])
        );
        assert!(o.skip.iter().any(|g| g == "@types"));
        assert!(o.skip.iter().any(|g| g == "@zset"));
    }

    #[test]
    fn rejects_bad_command_lines() {
        assert!(parse_args(&args("--redis-bin redis-server")).is_err());
        assert!(parse_args(&args("--shoal-bin a --shoal-addr b")).is_err());
        assert!(parse_args(&args("--shoal-bin a --sequences x")).is_err());
        assert!(parse_args(&args("--shoal-bin a --bogus 1")).is_err());
        assert!(parse_args(&args("--shoal-bin")).is_err());
    }

    #[test]
    fn shell_quote_keeps_simple_words() {
        assert_eq!(shell_quote("--skip"), "--skip");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
    }
}
