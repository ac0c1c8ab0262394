//! Random command sequences: the catalogue of generated commands and the
//! argument generators behind it.
//!
//! A sequence is a pure function of (seed, sequence index, enabled commands,
//! maximum length) plus the wall-clock base used for absolute expiry times, so
//! any failing sequence can be regenerated alone with `--first N
//! --sequences 1`.
//!
//! Sequences must not be flaky between two correct servers, which rules out a
//! few inputs on purpose:
//! - every positive time that can matter (relative TTLs, absolute
//!   timestamps) is drawn from its own 10-second slot, unique within the
//!   sequence, so `EXPIRE … GT/LT` never compares two times that a
//!   millisecond of scheduling could reorder;
//! - `SET … EXAT/PXAT <past>` leaves a logically expired key that Redis's
//!   active expiry reclaims at a moment of its choosing, so once a sequence
//!   may hold one, it generates no more `DBSIZE` (the only command here that
//!   counts such keys);
//! - `SETRANGE` offsets are small or past the 512 MB limit, never in between,
//!   and strings stay short, so `LCS` and `SETRANGE` never allocate much;
//! - `SCAN` and `HSCAN`/`SSCAN`/`ZSCAN` start only from cursor 0 or an
//!   invalid cursor (a valid non-zero cursor of a hashtable depends on the
//!   server's hash seed);
//! - a random `SPOP` (count below the set's size, which the generator cannot
//!   know) leaves the two sets different, so its key is *tainted*: only the
//!   `SCARD` that follows it reads it again, and [`Gen::key`] never returns it;
//! - blocking commands (`BLPOP`, `BZMPOP`, …) always carry a short, valid
//!   timeout or an invalid one, never 0, and are never mutated (an appended
//!   number would become their timeout); most are *primed* with a push to one
//!   of their keys just before, so they answer at once instead of waiting;
//! - `SETBIT`/`BITFIELD` write only at small bit offsets (or invalid ones):
//!   a valid offset near 2^32 allocates 512 MB;
//! - random counts never come near `-LONG_MAX`, which asks for a reply of
//!   2^63 elements;
//! - HyperLogLog strings are corrupted only in their header, never in a sparse
//!   body (Redis 7.0 trusts sparse opcodes: CVE-2025-32023).
//!
//! ## Families
//!
//! The generators live next to this file, one family per module:
//!
//! | Module       | Group              | Commands                                          |
//! |--------------|--------------------|---------------------------------------------------|
//! | `collection` | —                  | shared arguments: members, counts, scores, bounds, timeouts, big fills |
//! | `hash`       | `@hash`            | HSET … HSCAN                                      |
//! | `list`       | `@list`            | LPUSH … LMPOP, BLPOP … BLMPOP                     |
//! | `set`        | `@set`             | SADD … SSCAN                                      |
//! | `zset`       | `@zset`            | ZADD … ZSCAN, BZPOPMIN/BZPOPMAX/BZMPOP            |
//! | `bitmap`     | `@bitmap`          | SETBIT … BITFIELD_RO                              |
//! | `hll`        | `@hll`             | PFADD, PFCOUNT, PFMERGE, GET/SET of HLL strings   |
//! | `tx`         | `@tx`              | MULTI/EXEC/DISCARD/WATCH/UNWATCH blocks           |
//! | `keyspace`   | every family above | TYPE, OBJECT ENCODING, RENAME, COPY, DEL, EXISTS, EXPIRE…, DUMP/RESTORE |
//!
//! Each data family also has a `keyspace` entry, so `--commands @hash` meets
//! the generic commands on hashes without selecting all of `@keys`.

mod bitmap;
mod collection;
mod hash;
mod hll;
mod keyspace;
mod list;
mod memory;
mod set;
mod tx;
mod zset;

use crate::compare::Check;
use crate::rng::Rng;

/// One step of a sequence, run on both servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A single command and how its two replies are compared.
    Command {
        args: Vec<Vec<u8>>,
        check: Check,
        /// Sent as an inline command (`GET a\r\n`) instead of a multibulk.
        inline: bool,
    },
    /// `<command…> <cursor> <options…>` (`SCAN`, or `HSCAN key` and the like)
    /// iterated to completion on each server; the sets of items seen are
    /// compared, not cursors or page contents. With `pairs`, items are
    /// field/value (or member/score) pairs.
    Scan {
        command: Vec<Vec<u8>>,
        cursor: Vec<u8>,
        options: Vec<Vec<u8>>,
        pairs: bool,
    },
    /// `OBJECT ENCODING key` and `DUMP key` on each server, then, when
    /// `restore` is given and the DUMP returned a payload, `RESTORE
    /// <restore[0]> <restore[1]> <payload> <restore[2..]>`. Each server
    /// restores what it dumped itself, unless the key is a hashtable (see
    /// the runner's `dump`).
    Dump {
        key: Vec<u8>,
        restore: Option<Vec<Vec<u8>>>,
    },
}

impl Step {
    /// The arguments as sent (for `Scan`, the first call; for `Dump`, the
    /// DUMP).
    pub fn args(&self) -> Vec<Vec<u8>> {
        match self {
            Step::Command { args, .. } => args.clone(),
            Step::Scan {
                command,
                cursor,
                options,
                ..
            } => {
                let mut args = command.clone();
                args.push(cursor.clone());
                args.extend(options.iter().cloned());
                args
            }
            Step::Dump { key, .. } => vec![b"DUMP".to_vec(), key.clone()],
        }
    }
}

/// One generated command: its name for `--commands`/`--skip`, its group
/// (usable as `@group`), its relative frequency and its generator.
pub struct CommandSpec {
    pub name: &'static str,
    pub group: &'static str,
    weight: u32,
    generate: fn(&mut Gen) -> Option<Step>,
}

/// Every command the harness generates. `unknown` produces commands no
/// server knows; the `types` group creates lists, hashes and sets so the
/// string and key commands meet `WRONGTYPE`. The groups from `hash` on are
/// the data families (see the module docs); a few of their entries share a
/// name with another group's (`rpush`, `get`, `set`, `keyspace`), and a name
/// selects all of them.
pub static CATALOGUE: &[CommandSpec] = &[
    // connection
    spec("ping", "connection", 2, Gen::ping),
    spec("echo", "connection", 1, Gen::echo),
    spec("select", "connection", 3, Gen::select),
    spec("hello", "connection", 1, Gen::hello),
    spec("client", "connection", 2, Gen::client),
    // server
    spec("dbsize", "server", 3, Gen::dbsize),
    spec("flushdb", "server", 1, Gen::flushdb),
    spec("flushall", "server", 1, Gen::flushall),
    spec("config", "server", 1, Gen::config),
    spec("info", "server", 1, Gen::info),
    spec("time", "server", 1, Gen::time_cmd),
    // strings
    spec("get", "strings", 8, Gen::get),
    spec("set", "strings", 14, Gen::set),
    spec("setnx", "strings", 2, Gen::setnx),
    spec("setex", "strings", 2, Gen::setex),
    spec("psetex", "strings", 2, Gen::psetex),
    spec("getset", "strings", 2, Gen::getset),
    spec("getdel", "strings", 2, Gen::getdel),
    spec("getex", "strings", 4, Gen::getex),
    spec("mget", "strings", 3, Gen::mget),
    spec("mset", "strings", 3, Gen::mset),
    spec("msetnx", "strings", 2, Gen::msetnx),
    spec("incr", "strings", 3, Gen::incr),
    spec("decr", "strings", 2, Gen::decr),
    spec("incrby", "strings", 3, Gen::incrby),
    spec("decrby", "strings", 2, Gen::decrby),
    spec("incrbyfloat", "strings", 4, Gen::incrbyfloat),
    spec("append", "strings", 3, Gen::append),
    spec("strlen", "strings", 2, Gen::strlen),
    spec("getrange", "strings", 3, Gen::getrange),
    spec("setrange", "strings", 3, Gen::setrange),
    spec("lcs", "strings", 3, Gen::lcs),
    // keys
    spec("del", "keys", 3, Gen::del),
    spec("unlink", "keys", 2, Gen::unlink),
    spec("exists", "keys", 3, Gen::exists),
    spec("type", "keys", 3, Gen::type_cmd),
    spec("expire", "keys", 4, Gen::expire),
    spec("pexpire", "keys", 3, Gen::pexpire),
    spec("expireat", "keys", 3, Gen::expireat),
    spec("pexpireat", "keys", 3, Gen::pexpireat),
    spec("ttl", "keys", 4, Gen::ttl),
    spec("pttl", "keys", 4, Gen::pttl),
    spec("expiretime", "keys", 2, Gen::expiretime),
    spec("pexpiretime", "keys", 2, Gen::pexpiretime),
    spec("persist", "keys", 2, Gen::persist),
    spec("keys", "keys", 3, Gen::keys_cmd),
    spec("scan", "keys", 3, Gen::scan),
    spec("randomkey", "keys", 1, Gen::randomkey),
    spec("rename", "keys", 3, Gen::rename),
    spec("renamenx", "keys", 2, Gen::renamenx),
    spec("copy", "keys", 3, Gen::copy),
    spec("touch", "keys", 2, Gen::touch),
    spec("object", "keys", 4, Gen::object),
    // other types, for WRONGTYPE paths
    spec("rpush", "types", 2, Gen::wrongtype_rpush),
    spec("hset", "types", 2, Gen::wrongtype_hset),
    spec("sadd", "types", 2, Gen::wrongtype_sadd),
    // commands no server implements
    spec("unknown", "errors", 2, Gen::unknown),
    // hashes
    spec("hset", "hash", 8, Gen::hset),
    spec("hsetnx", "hash", 2, Gen::hsetnx),
    spec("hget", "hash", 4, Gen::hget),
    spec("hmget", "hash", 2, Gen::hmget),
    spec("hmset", "hash", 2, Gen::hmset),
    spec("hgetall", "hash", 3, Gen::hgetall),
    spec("hdel", "hash", 3, Gen::hdel),
    spec("hexists", "hash", 2, Gen::hexists),
    spec("hlen", "hash", 2, Gen::hlen),
    spec("hkeys", "hash", 2, Gen::hkeys),
    spec("hvals", "hash", 2, Gen::hvals),
    spec("hincrby", "hash", 3, Gen::hincrby),
    spec("hincrbyfloat", "hash", 3, Gen::hincrbyfloat),
    spec("hstrlen", "hash", 2, Gen::hstrlen),
    spec("hrandfield", "hash", 3, Gen::hrandfield),
    spec("hscan", "hash", 2, Gen::hscan),
    spec("keyspace", "hash", 5, Gen::keyspace),
    // lists
    spec("lpush", "list", 5, Gen::lpush),
    spec("rpush", "list", 5, Gen::rpush),
    spec("lpushx", "list", 2, Gen::lpushx),
    spec("rpushx", "list", 2, Gen::rpushx),
    spec("lpop", "list", 3, Gen::lpop),
    spec("rpop", "list", 3, Gen::rpop),
    spec("lrange", "list", 4, Gen::lrange),
    spec("llen", "list", 2, Gen::llen),
    spec("lindex", "list", 2, Gen::lindex),
    spec("lset", "list", 2, Gen::lset),
    spec("lrem", "list", 2, Gen::lrem),
    spec("ltrim", "list", 2, Gen::ltrim),
    spec("linsert", "list", 2, Gen::linsert),
    spec("lpos", "list", 3, Gen::lpos),
    spec("lmove", "list", 2, Gen::lmove),
    spec("rpoplpush", "list", 1, Gen::rpoplpush),
    spec("lmpop", "list", 2, Gen::lmpop),
    spec("blpop", "list", 1, Gen::blpop),
    spec("brpop", "list", 1, Gen::brpop),
    spec("blmove", "list", 1, Gen::blmove),
    spec("brpoplpush", "list", 1, Gen::brpoplpush),
    spec("blmpop", "list", 1, Gen::blmpop),
    spec("keyspace", "list", 5, Gen::keyspace),
    // sets
    spec("sadd", "set", 8, Gen::sadd),
    spec("srem", "set", 3, Gen::srem),
    spec("smembers", "set", 3, Gen::smembers),
    spec("sismember", "set", 2, Gen::sismember),
    spec("smismember", "set", 2, Gen::smismember),
    spec("scard", "set", 2, Gen::scard),
    spec("spop", "set", 3, Gen::spop),
    spec("srandmember", "set", 3, Gen::srandmember),
    spec("smove", "set", 2, Gen::smove),
    spec("sinter", "set", 2, Gen::sinter),
    spec("sintercard", "set", 2, Gen::sintercard),
    spec("sunion", "set", 2, Gen::sunion),
    spec("sdiff", "set", 2, Gen::sdiff),
    spec("sinterstore", "set", 2, Gen::sinterstore),
    spec("sunionstore", "set", 2, Gen::sunionstore),
    spec("sdiffstore", "set", 2, Gen::sdiffstore),
    spec("sscan", "set", 2, Gen::sscan),
    spec("keyspace", "set", 5, Gen::keyspace),
    // sorted sets
    spec("zadd", "zset", 10, Gen::zadd),
    spec("zincrby", "zset", 3, Gen::zincrby),
    spec("zscore", "zset", 2, Gen::zscore),
    spec("zmscore", "zset", 2, Gen::zmscore),
    spec("zcard", "zset", 2, Gen::zcard),
    spec("zcount", "zset", 2, Gen::zcount),
    spec("zlexcount", "zset", 2, Gen::zlexcount),
    spec("zrange", "zset", 6, Gen::zrange),
    spec("zrangestore", "zset", 2, Gen::zrangestore),
    spec("zrangebyscore", "zset", 2, Gen::zrangebyscore),
    spec("zrevrangebyscore", "zset", 2, Gen::zrevrangebyscore),
    spec("zrangebylex", "zset", 2, Gen::zrangebylex),
    spec("zrevrangebylex", "zset", 2, Gen::zrevrangebylex),
    spec("zrevrange", "zset", 2, Gen::zrevrange),
    spec("zrank", "zset", 2, Gen::zrank),
    spec("zrevrank", "zset", 2, Gen::zrevrank),
    spec("zrem", "zset", 3, Gen::zrem),
    spec("zremrangebyrank", "zset", 1, Gen::zremrangebyrank),
    spec("zremrangebyscore", "zset", 1, Gen::zremrangebyscore),
    spec("zremrangebylex", "zset", 1, Gen::zremrangebylex),
    spec("zpopmin", "zset", 2, Gen::zpopmin),
    spec("zpopmax", "zset", 2, Gen::zpopmax),
    spec("zmpop", "zset", 2, Gen::zmpop),
    spec("zrandmember", "zset", 3, Gen::zrandmember),
    spec("zunion", "zset", 2, Gen::zunion),
    spec("zinter", "zset", 2, Gen::zinter),
    spec("zdiff", "zset", 2, Gen::zdiff),
    spec("zunionstore", "zset", 2, Gen::zunionstore),
    spec("zinterstore", "zset", 2, Gen::zinterstore),
    spec("zdiffstore", "zset", 2, Gen::zdiffstore),
    spec("zintercard", "zset", 2, Gen::zintercard),
    spec("zscan", "zset", 2, Gen::zscan),
    spec("bzpopmin", "zset", 1, Gen::bzpopmin),
    spec("bzpopmax", "zset", 1, Gen::bzpopmax),
    spec("bzmpop", "zset", 1, Gen::bzmpop),
    spec("keyspace", "zset", 6, Gen::keyspace),
    // bitmaps
    spec("setbit", "bitmap", 8, Gen::setbit),
    spec("getbit", "bitmap", 3, Gen::getbit),
    spec("bitcount", "bitmap", 4, Gen::bitcount),
    spec("bitpos", "bitmap", 4, Gen::bitpos),
    spec("bitop", "bitmap", 3, Gen::bitop),
    spec("bitfield", "bitmap", 6, Gen::bitfield),
    spec("bitfield_ro", "bitmap", 2, Gen::bitfield_ro),
    spec("get", "bitmap", 2, Gen::get),
    spec("keyspace", "bitmap", 3, Gen::keyspace),
    // HyperLogLog
    spec("pfadd", "hll", 8, Gen::pfadd),
    spec("pfcount", "hll", 4, Gen::pfcount),
    spec("pfmerge", "hll", 3, Gen::pfmerge),
    spec("get", "hll", 3, Gen::get),
    spec("set", "hll", 1, Gen::not_an_hll),
    spec("keyspace", "hll", 2, Gen::keyspace),
    // transactions, one client
    spec("multi", "tx", 8, Gen::multi),
    spec("watch", "tx", 5, Gen::watch),
    spec("exec", "tx", 1, Gen::lone_exec),
    spec("discard", "tx", 1, Gen::lone_discard),
    spec("unwatch", "tx", 1, Gen::lone_unwatch),
    // out of memory, every policy
    spec("oom", "memory", 10, Gen::out_of_memory),
];

/// The data-type families (`@datatypes` selects them all).
pub const DATA_GROUPS: &[&str] = &["hash", "list", "set", "zset", "bitmap", "hll"];

/// What `--only-strings-and-keys` skips: everything that is not a string,
/// key, connection or server command.
pub const NOT_STRINGS_AND_KEYS: &[&str] = &[
    "@types", "@hash", "@list", "@set", "@zset", "@bitmap", "@hll", "@tx", "@memory",
];

/// Command names that compound steps send besides the catalogue's.
const OTHER_NAMES: &[&str] = &["dump", "restore"];

/// True when `name` (lower case) is a command this harness generates on
/// purpose, as opposed to the `unknown` generator's junk names.
pub fn is_generated_name(name: &str) -> bool {
    CATALOGUE.iter().any(|s| s.name == name) || OTHER_NAMES.contains(&name)
}

const fn spec(
    name: &'static str,
    group: &'static str,
    weight: u32,
    generate: fn(&mut Gen) -> Option<Step>,
) -> CommandSpec {
    CommandSpec {
        name,
        group,
        weight,
        generate,
    }
}

/// Picks the enabled commands. `only` (names or `@group`s, `@datatypes` for
/// all of [`DATA_GROUPS`]) restricts the catalogue, `skip` removes from it. A
/// name stands for every entry of that name (`rpush` is in `@types` and
/// `@list`, `keyspace` in every data family); unknown names are an error so
/// a typo in CI does not silently test less.
pub fn select(
    only: Option<&[String]>,
    skip: &[String],
) -> Result<Vec<&'static CommandSpec>, String> {
    let matches = |spec: &CommandSpec, word: &str| {
        let word = word.trim().to_ascii_lowercase();
        word == spec.name
            || word.strip_prefix('@') == Some(spec.group)
            || (word == "@datatypes" && DATA_GROUPS.contains(&spec.group))
    };
    let known = |word: &String| CATALOGUE.iter().any(|s| matches(s, word));
    for word in only.unwrap_or(&[]).iter().chain(skip) {
        if !known(word) {
            return Err(format!(
                "unknown command or group '{word}' (see --list for names)"
            ));
        }
    }
    let enabled: Vec<&CommandSpec> = CATALOGUE
        .iter()
        .filter(|s| only.is_none_or(|o| o.iter().any(|w| matches(s, w))))
        .filter(|s| !skip.iter().any(|w| matches(s, w)))
        .collect();
    if enabled.is_empty() {
        return Err("no commands left to generate".into());
    }
    Ok(enabled)
}

/// Builds sequence `index` of a run.
pub fn sequence(
    enabled: &[&CommandSpec],
    seed: u64,
    index: u64,
    max_len: usize,
    base_ms: i64,
) -> Vec<Step> {
    let mut rng = Rng::for_sequence(seed, index);
    let pool_len = rng.range(2, 5) as usize;
    let mut pool = Vec::with_capacity(pool_len);
    while pool.len() < pool_len {
        let key = if rng.chance(75) {
            rng.pick(SIMPLE_KEYS).to_vec()
        } else {
            rng.pick(ODD_KEYS).to_vec()
        };
        if !pool.contains(&key) {
            pool.push(key);
        }
    }
    let mut gen = Gen::new(rng, pool, base_ms);
    gen.slot = gen.rng.range(1, 50);

    let families: Vec<&str> = DATA_GROUPS
        .iter()
        .copied()
        .filter(|g| enabled.iter().any(|s| s.group == *g))
        .collect();
    let mut steps = Vec::new();
    // The data families (and EXEC's nil) reply differently under RESP3, so
    // they switch protocol as often as the `hello` generator would.
    let hello =
        enabled.iter().any(|s| s.name == "hello" || s.group == "tx") || !families.is_empty();
    if hello && gen.rng.chance(25) {
        steps.push(Step::Command {
            args: vec![gen.word("HELLO"), b"3".to_vec()],
            check: Check::Shape,
            inline: false,
        });
    }
    // Half the sequences start with a few plain SETs so that later commands
    // more often find values to work on.
    if enabled
        .iter()
        .any(|s| s.name == "set" && s.group == "strings")
        && gen.rng.chance(50)
    {
        for i in 0..gen.rng.range(1, gen.pool.len() as i64) as usize {
            let args = vec![b"SET".to_vec(), gen.pool[i].clone(), gen.value()];
            steps.push(Step::Command {
                args,
                check: Check::Exact,
                inline: false,
            });
        }
    }
    // Likewise most sequences with data families fill a few keys of one
    // family first: commands on missing keys teach little.
    if !families.is_empty() && gen.rng.chance(75) {
        let family = *gen.rng.pick(&families);
        for i in 0..gen.rng.range(1, gen.pool.len() as i64) as usize {
            let key = gen.pool[i].clone();
            steps.extend(gen.fill(family, key));
        }
    }
    let total: u64 = enabled.iter().map(|s| u64::from(s.weight)).sum();
    let len = gen.rng.range(1, max_len.max(1) as i64) as usize;
    while steps.len() < len {
        let mut ticket = gen.rng.below(total);
        let spec = enabled
            .iter()
            .find(|s| {
                let w = u64::from(s.weight);
                if ticket < w {
                    true
                } else {
                    ticket -= w;
                    false
                }
            })
            .expect("ticket is below the total weight");
        let Some(step) = (spec.generate)(&mut gen) else {
            if enabled.len() == 1 {
                break; // the only command cannot be generated here
            }
            continue;
        };
        let step = if std::mem::take(&mut gen.verbatim) {
            step
        } else {
            gen.mutate(step)
        };
        steps.push(step);
        steps.append(&mut gen.then);
    }
    steps
}

const SIMPLE_KEYS: &[&[u8]] = &[
    b"a", b"b", b"c", b"key:1", b"key:2", b"{t}x", b"{t}y", b"hello", b"hallo", b"12345",
];

const ODD_KEYS: &[&[u8]] = &[
    b"",
    b"\x00",
    b"k\r\nv",
    b"\xff\x80bin",
    b"sp ace",
    b"*",
    b"[ab]",
    b"h?llo",
    b"x\\y",
    b"\"q\"",
    b"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL",
];

const VALUES: &[&[u8]] = &[
    b"",
    b"v",
    b"hello",
    b"hello world",
    b"0",
    b"1",
    b"-1",
    b"10",
    b"123",
    b"+5",
    b" 5",
    b"5 ",
    b"05",
    b"-0",
    b"0x10",
    b"1e3",
    b"3.14",
    b".5",
    b"5.",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"12345678901234567890",
    b"1234567890123456789",
    b"inf",
    b"-inf",
    b"nan",
    b"abc",
    b"\x00\xff\r\n",
    b"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    b"fffffffffffffffffffffffffffffffffffffffffffff",
];

const INTS: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"5",
    b"-5",
    b"100",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775806",
    b"-9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"abc",
    b"",
    b"1.5",
    b" 1",
    b"1 ",
    b"+1",
    b"01",
    b"-0",
    b"1e3",
];

const FLOATS: &[&[u8]] = &[
    b"1",
    b"1.5",
    b"-0.5",
    b"0",
    b"-0",
    b"0.1",
    b"1e10",
    b"1e308",
    b"-1e308",
    b"1e-300",
    b"inf",
    b"-inf",
    b"+inf",
    b"nan",
    b"abc",
    b"",
    b" 1",
    b"1 ",
    b"0x10",
    b"1.0e3",
    b"3.0000000000000001",
    b"1e400",
    b"5e-5",
    b"123456789012345678901234567890",
    b"9223372036854775807",
];

const PATTERNS: &[&[u8]] = &[
    b"*",
    b"",
    b"a",
    b"?",
    b"h?llo",
    b"h*llo",
    b"h[ae]llo",
    b"h[^e]llo",
    b"h[a-e]llo",
    b"h[e-a]llo",
    b"[",
    b"[a-",
    b"\\*",
    b"*\\",
    b"key:*",
    b"{t}*",
    b"*\x00*",
    b"\xff*",
    b"**",
    b"*[*",
    b"[]]",
    b"[\\]]",
    b"*y",
    b"?????",
    b"k\r\n*",
];

/// Generator state for one sequence.
pub struct Gen {
    rng: Rng,
    /// The few keys this sequence mostly works on, so commands interact.
    pool: Vec<Vec<u8>>,
    base_ms: i64,
    /// Last 10-second time slot handed out; only grows (see module docs).
    slot: i64,
    /// A `SET … EXAT/PXAT <past>` may have left a logically expired key.
    ghosts: bool,
    /// Steps that must directly follow the one being generated, unmutated
    /// (the rest of a MULTI block, a primed blocking pop, the SCARD after a
    /// random SPOP).
    then: Vec<Step>,
    /// The step being generated must not be mutated (blocking commands, SPOP).
    verbatim: bool,
    /// Keys whose content may differ between two correct servers (after a
    /// random SPOP); [`Gen::key`] never returns them.
    tainted: Vec<Vec<u8>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Relative,
    Absolute,
}

fn cmd(args: Vec<Vec<u8>>) -> Option<Step> {
    checked(args, Check::Exact)
}

fn checked(args: Vec<Vec<u8>>, check: Check) -> Option<Step> {
    Some(Step::Command {
        args,
        check,
        inline: false,
    })
}

impl Gen {
    fn new(rng: Rng, pool: Vec<Vec<u8>>, base_ms: i64) -> Gen {
        Gen {
            rng,
            pool,
            base_ms,
            slot: 0,
            ghosts: false,
            then: Vec::new(),
            verbatim: false,
            tainted: Vec::new(),
        }
    }

    // ---- argument helpers -------------------------------------------------

    /// A keyword in a random letter case: mostly upper, sometimes lower or
    /// mixed, since command names and options are case-insensitive.
    fn word(&mut self, w: &str) -> Vec<u8> {
        match self.rng.below(10) {
            0 => w.to_ascii_lowercase().into_bytes(),
            1 => w
                .bytes()
                .enumerate()
                .map(|(i, b)| {
                    if i % 2 == 0 {
                        b.to_ascii_lowercase()
                    } else {
                        b
                    }
                })
                .collect(),
            _ => w.as_bytes().to_vec(),
        }
    }

    fn key(&mut self) -> Vec<u8> {
        if self.tainted.is_empty() {
            return self.any_key();
        }
        for _ in 0..16 {
            let key = self.any_key();
            if !self.tainted.contains(&key) {
                return key;
            }
        }
        // Every likely key is tainted: one no other step uses.
        format!("fresh:{}", self.tainted.len()).into_bytes()
    }

    fn any_key(&mut self) -> Vec<u8> {
        // Favouring the first pool key makes commands meet each other's
        // effects (a value to read, a TTL to compare) more often.
        if self.rng.chance(35) {
            self.pool[0].clone()
        } else if self.rng.chance(88) {
            self.rng.pick(&self.pool).clone()
        } else if self.rng.chance(50) {
            self.rng.pick(SIMPLE_KEYS).to_vec()
        } else {
            self.rng.pick(ODD_KEYS).to_vec()
        }
    }

    fn keys(&mut self, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let n = self.rng.range(lo, hi);
        (0..n).map(|_| self.key()).collect()
    }

    fn value(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.rng.range(-10_000, 10_000).to_string().into_bytes(),
            1 => {
                let n = self.rng.range(0, 20) as usize;
                (0..n).map(|_| self.rng.below(256) as u8).collect()
            }
            2 => {
                let n = self.rng.range(1, 24) as usize;
                (0..n).map(|_| b'0' + self.rng.below(10) as u8).collect()
            }
            _ => self.rng.pick(VALUES).to_vec(),
        }
    }

    fn int(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=2 => self.rng.range(-100, 100).to_string().into_bytes(),
            3 => (self.rng.next_u64() as i64).to_string().into_bytes(),
            _ => self.rng.pick(INTS).to_vec(),
        }
    }

    fn float(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=1 => {
                let whole = self.rng.range(-1000, 1000);
                let frac = self.rng.range(0, 9999);
                format!("{whole}.{frac:04}").into_bytes()
            }
            _ => self.rng.pick(FLOATS).to_vec(),
        }
    }

    /// A small index for GETRANGE-like commands, occasionally extreme.
    fn index(&mut self) -> Vec<u8> {
        if self.rng.chance(80) {
            self.rng.range(-12, 12).to_string().into_bytes()
        } else {
            self.int()
        }
    }

    fn db(&mut self) -> Vec<u8> {
        if self.rng.chance(85) {
            self.rng.range(0, 15).to_string().into_bytes()
        } else {
            self.rng
                .pick(&[
                    &b"16"[..],
                    b"-1",
                    b"abc",
                    b"",
                    b"4294967296",
                    b"1.0",
                    b"99",
                    b" 1",
                ])
                .to_vec()
        }
    }

    /// A time argument. Valid future times come from unique 10-second slots
    /// (see the module docs); the rest are past, zero, negative, overflowing
    /// or not numbers at all. `past_leaves_ghost` marks uses (SET) where an
    /// absolute past time leaves a logically expired key behind.
    fn time(&mut self, unit: Unit, when: When, past_leaves_ghost: bool) -> Vec<u8> {
        let roll = self.rng.below(100);
        let n: i64 = if roll < 70 {
            self.slot += self.rng.range(1, 5);
            let far = if self.rng.chance(10) {
                1_000_000_000
            } else {
                0
            };
            let secs = far + self.slot * 10;
            let jitter = self.rng.range(0, 999);
            match (unit, when) {
                (Unit::Seconds, When::Relative) => secs,
                (Unit::Millis, When::Relative) => secs * 1000 + jitter,
                (Unit::Seconds, When::Absolute) => self.base_ms / 1000 + secs,
                (Unit::Millis, When::Absolute) => self.base_ms + secs * 1000 + jitter,
            }
        } else if roll < 80 {
            // In the past: a relative time reuses nothing that a later
            // relative time could tie with, so only non-positive values.
            match when {
                When::Relative => *self.rng.pick(&[0, -1, -100]),
                When::Absolute => {
                    let past = match unit {
                        Unit::Seconds => self.base_ms / 1000 - 100,
                        Unit::Millis => self.base_ms - 100_000,
                    };
                    let n = *self.rng.pick(&[0, -1, -100, 1, past]);
                    if n > 0 && past_leaves_ghost {
                        self.ghosts = true;
                    }
                    n
                }
            }
        } else if roll < 90 {
            // Extremes. A valid relative time must not repeat (two equal
            // relative times tie or not depending on the millisecond each
            // server reads its clock in), so relative extremes are all
            // invalid: negative, or overflowing once scaled or added to now.
            match (unit, when) {
                (_, When::Absolute) => *self.rng.pick(&[
                    i64::MAX,
                    i64::MAX - 1000,
                    i64::MIN,
                    i64::MAX / 1000,
                    i64::MAX / 1000 + 1,
                    i64::MAX - self.base_ms,
                    -(i64::MAX / 1000),
                ]),
                (Unit::Seconds, When::Relative) => *self.rng.pick(&[
                    i64::MAX,
                    i64::MIN,
                    i64::MAX / 1000,
                    i64::MAX / 1000 + 1,
                    -(i64::MAX / 1000),
                ]),
                (Unit::Millis, When::Relative) => {
                    *self
                        .rng
                        .pick(&[i64::MAX, i64::MAX - 1000, i64::MIN, -(i64::MAX / 1000)])
                }
            }
        } else {
            return self
                .rng
                .pick(&[
                    &b""[..],
                    b"abc",
                    b"1.5",
                    b" 10",
                    b"10 ",
                    b"+10",
                    b"0x10",
                    b"1e3",
                    b"9223372036854775808",
                ])
                .to_vec();
        };
        n.to_string().into_bytes()
    }

    fn client_name(&mut self) -> Vec<u8> {
        self.rng
            .pick(&[
                &b"worker"[..],
                b"",
                b"a-b_c.1",
                b"has space",
                b"new\nline",
                b"\xff",
                b"x",
            ])
            .to_vec()
    }

    /// Random option tokens drawn from `choices` (`None` entries take a time
    /// argument of the given unit), in any order and with repeats.
    fn options(
        &mut self,
        choices: &[(&str, Option<(Unit, When)>)],
        max: i64,
        ghost: bool,
    ) -> Vec<Vec<u8>> {
        let n = match self.rng.below(10) {
            0..=2 => 0,
            3..=6 => 1,
            7..=8 => 2,
            _ => self.rng.range(3, max.max(3)),
        };
        let mut out = Vec::new();
        for _ in 0..n {
            let (name, arg) = *self.rng.pick(choices);
            out.push(self.word(name));
            if let Some((unit, when)) = arg {
                // Now and then leave the number out to hit syntax errors.
                if !self.rng.chance(4) {
                    out.push(self.time(unit, when, ghost));
                }
            }
        }
        out
    }

    /// Occasionally breaks a command's arity (drop or add arguments) or sends
    /// it inline; every other step passes through unchanged.
    fn mutate(&mut self, step: Step) -> Step {
        let Step::Command {
            mut args,
            check,
            inline,
        } = step
        else {
            return step;
        };
        let roll = self.rng.below(100);
        if roll < 3 && args.len() > 1 {
            let keep = self.rng.range(1, args.len() as i64 - 1) as usize;
            args.truncate(keep);
        } else if roll < 5 {
            for _ in 0..self.rng.range(1, 2) {
                let extra = self.value();
                args.push(extra);
            }
        }
        let plain = args.iter().all(|a| {
            !a.is_empty()
                && a.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b":_.-+".contains(b))
        });
        let inline = inline || (plain && self.rng.chance(5));
        Step::Command {
            args,
            check,
            inline,
        }
    }

    fn with_key(&mut self, name: &str) -> Option<Step> {
        let args = vec![self.word(name), self.key()];
        cmd(args)
    }

    fn with_keys(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name)];
        args.extend(self.keys(1, 4));
        cmd(args)
    }

    fn with_key_value(&mut self, name: &str) -> Option<Step> {
        let args = vec![self.word(name), self.key(), self.value()];
        cmd(args)
    }

    fn with_pairs(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name)];
        for _ in 0..self.rng.range(1, 4) {
            args.push(self.key());
            args.push(self.value());
        }
        cmd(args)
    }

    // ---- connection -------------------------------------------------------

    fn ping(&mut self) -> Option<Step> {
        let mut args = vec![self.word("PING")];
        if self.rng.chance(50) {
            args.push(self.value());
        }
        cmd(args)
    }

    fn echo(&mut self) -> Option<Step> {
        let args = vec![self.word("ECHO"), self.value()];
        cmd(args)
    }

    fn select(&mut self) -> Option<Step> {
        let args = vec![self.word("SELECT"), self.db()];
        cmd(args)
    }

    /// HELLO's reply describes the server, so only its shape is compared;
    /// what matters is that later replies switch protocol identically.
    fn hello(&mut self) -> Option<Step> {
        let mut args = vec![self.word("HELLO")];
        match self.rng.below(10) {
            0 => {}
            1..=3 => args.push(b"3".to_vec()),
            4..=5 => args.push(b"2".to_vec()),
            6 => args.push(
                self.rng
                    .pick(&[&b"1"[..], b"4", b"abc", b"-1", b""])
                    .to_vec(),
            ),
            7 => {
                args.push(b"3".to_vec());
                args.push(self.word("SETNAME"));
                args.push(self.client_name());
            }
            8 => {
                args.push(self.rng.pick(&[&b"2"[..], b"3"]).to_vec());
                args.push(self.word("SETNAME"));
            }
            _ => {
                args.push(b"3".to_vec());
                args.push(self.word("AUTH"));
                args.push(b"default".to_vec());
                args.push(b"wrong".to_vec());
            }
        }
        checked(args, Check::Shape)
    }

    fn client(&mut self) -> Option<Step> {
        let client = self.word("CLIENT");
        match self.rng.below(10) {
            0..=3 => {
                let args = vec![client, self.word("SETNAME"), self.client_name()];
                cmd(args)
            }
            4..=6 => cmd(vec![client, self.word("GETNAME")]),
            7 => {
                let sub = self.rng.pick(&["ID", "LIST", "INFO"]);
                checked(vec![client, self.word(sub)], Check::Shape)
            }
            8 => cmd(vec![client, self.word("SETNAME")]),
            _ => cmd(vec![client, self.word("NOSUCHSUB")]),
        }
    }

    // ---- server -----------------------------------------------------------

    fn dbsize(&mut self) -> Option<Step> {
        if self.ghosts {
            return None;
        }
        cmd(vec![self.word("DBSIZE")])
    }

    fn flush(&mut self, name: &str) -> Option<Step> {
        let mut args = vec![self.word(name)];
        match self.rng.below(10) {
            0..=1 => args.push(self.word("ASYNC")),
            2..=3 => args.push(self.word("SYNC")),
            4 => args.push(b"NOW".to_vec()),
            _ => {}
        }
        cmd(args)
    }

    fn flushdb(&mut self) -> Option<Step> {
        self.flush("FLUSHDB")
    }

    fn flushall(&mut self) -> Option<Step> {
        self.flush("FLUSHALL")
    }

    /// Only parameters whose values two default-configured servers share;
    /// several at once come back in dict order, hence `Check::Pairs`.
    fn config(&mut self) -> Option<Step> {
        let mut args = vec![self.word("CONFIG")];
        match self.rng.below(10) {
            0 => args.push(self.word("NOSUCHSUB")),
            1 => args.push(self.word("GET")),
            _ => {
                args.push(self.word("GET"));
                for _ in 0..self.rng.range(1, 3) {
                    let name = *self.rng.pick(&[
                        "maxmemory",
                        "maxmemory-policy",
                        "timeout",
                        "databases",
                        "MAXMEMORY",
                        "no-such-parameter",
                    ]);
                    args.push(name.as_bytes().to_vec());
                }
            }
        }
        checked(args, Check::Pairs)
    }

    fn info(&mut self) -> Option<Step> {
        let mut args = vec![self.word("INFO")];
        if self.rng.chance(50) {
            let section = *self
                .rng
                .pick(&["server", "memory", "keyspace", "stats", "all"]);
            args.push(section.as_bytes().to_vec());
        }
        checked(args, Check::Shape)
    }

    fn time_cmd(&mut self) -> Option<Step> {
        checked(vec![self.word("TIME")], Check::Shape)
    }

    // ---- strings ----------------------------------------------------------

    fn get(&mut self) -> Option<Step> {
        self.with_key("GET")
    }

    fn set(&mut self) -> Option<Step> {
        let mut args = vec![self.word("SET"), self.key(), self.value()];
        let opts = self.options(
            &[
                ("NX", None),
                ("XX", None),
                ("GET", None),
                ("KEEPTTL", None),
                ("EX", Some((Unit::Seconds, When::Relative))),
                ("PX", Some((Unit::Millis, When::Relative))),
                ("EXAT", Some((Unit::Seconds, When::Absolute))),
                ("PXAT", Some((Unit::Millis, When::Absolute))),
            ],
            5,
            true,
        );
        args.extend(opts);
        cmd(args)
    }

    fn setnx(&mut self) -> Option<Step> {
        self.with_key_value("SETNX")
    }

    fn setex(&mut self) -> Option<Step> {
        let args = vec![
            self.word("SETEX"),
            self.key(),
            self.time(Unit::Seconds, When::Relative, false),
            self.value(),
        ];
        cmd(args)
    }

    fn psetex(&mut self) -> Option<Step> {
        let args = vec![
            self.word("PSETEX"),
            self.key(),
            self.time(Unit::Millis, When::Relative, false),
            self.value(),
        ];
        cmd(args)
    }

    fn getset(&mut self) -> Option<Step> {
        self.with_key_value("GETSET")
    }

    fn getdel(&mut self) -> Option<Step> {
        self.with_key("GETDEL")
    }

    fn getex(&mut self) -> Option<Step> {
        let mut args = vec![self.word("GETEX"), self.key()];
        let opts = self.options(
            &[
                ("PERSIST", None),
                ("EX", Some((Unit::Seconds, When::Relative))),
                ("PX", Some((Unit::Millis, When::Relative))),
                ("EXAT", Some((Unit::Seconds, When::Absolute))),
                ("PXAT", Some((Unit::Millis, When::Absolute))),
            ],
            3,
            false,
        );
        args.extend(opts);
        cmd(args)
    }

    fn mget(&mut self) -> Option<Step> {
        self.with_keys("MGET")
    }

    fn mset(&mut self) -> Option<Step> {
        self.with_pairs("MSET")
    }

    fn msetnx(&mut self) -> Option<Step> {
        self.with_pairs("MSETNX")
    }

    fn incr(&mut self) -> Option<Step> {
        self.with_key("INCR")
    }

    fn decr(&mut self) -> Option<Step> {
        self.with_key("DECR")
    }

    fn incrby(&mut self) -> Option<Step> {
        let args = vec![self.word("INCRBY"), self.key(), self.int()];
        cmd(args)
    }

    fn decrby(&mut self) -> Option<Step> {
        let args = vec![self.word("DECRBY"), self.key(), self.int()];
        cmd(args)
    }

    fn incrbyfloat(&mut self) -> Option<Step> {
        let args = vec![self.word("INCRBYFLOAT"), self.key(), self.float()];
        cmd(args)
    }

    fn append(&mut self) -> Option<Step> {
        self.with_key_value("APPEND")
    }

    fn strlen(&mut self) -> Option<Step> {
        self.with_key("STRLEN")
    }

    fn getrange(&mut self) -> Option<Step> {
        let args = vec![
            self.word("GETRANGE"),
            self.key(),
            self.index(),
            self.index(),
        ];
        cmd(args)
    }

    fn setrange(&mut self) -> Option<Step> {
        let key = self.key();
        let mut value = self.value();
        let offset: Vec<u8> = match self.rng.below(10) {
            0..=6 => self.rng.range(0, 40).to_string().into_bytes(),
            7 => self.rng.pick(&[&b"-1"[..], b"abc", b"", b"1.5"]).to_vec(),
            8 => {
                // Past the 512 MB limit: an error, never an allocation.
                if value.is_empty() {
                    value = b"x".to_vec();
                }
                self.rng
                    .pick(&[
                        &b"536870912"[..],
                        b"536870913",
                        b"4294967296",
                        b"1000000000000",
                    ])
                    .to_vec()
            }
            _ => {
                // Large offset with an empty value: a no-op by definition.
                value.clear();
                b"536870911".to_vec()
            }
        };
        cmd(vec![self.word("SETRANGE"), key, offset, value])
    }

    fn lcs(&mut self) -> Option<Step> {
        let mut args = vec![self.word("LCS"), self.key(), self.key()];
        let n = self.rng.range(0, 4);
        for _ in 0..n {
            match self.rng.below(5) {
                0 => args.push(self.word("LEN")),
                1 => args.push(self.word("IDX")),
                2 => args.push(self.word("WITHMATCHLEN")),
                3 => {
                    args.push(self.word("MINMATCHLEN"));
                    args.push(self.index());
                }
                _ => args.push(self.word("NOSUCHOPT")),
            }
        }
        cmd(args)
    }

    // ---- keys -------------------------------------------------------------

    fn del(&mut self) -> Option<Step> {
        self.with_keys("DEL")
    }

    fn unlink(&mut self) -> Option<Step> {
        self.with_keys("UNLINK")
    }

    fn exists(&mut self) -> Option<Step> {
        self.with_keys("EXISTS")
    }

    fn touch(&mut self) -> Option<Step> {
        self.with_keys("TOUCH")
    }

    fn type_cmd(&mut self) -> Option<Step> {
        self.with_key("TYPE")
    }

    fn expire_with(&mut self, name: &str, unit: Unit, when: When) -> Option<Step> {
        let mut args = vec![self.word(name), self.key(), self.time(unit, when, false)];
        let n = match self.rng.below(10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        for _ in 0..n {
            let flag = *self.rng.pick(&["NX", "XX", "GT", "LT", "XY"]);
            args.push(self.word(flag));
        }
        cmd(args)
    }

    fn expire(&mut self) -> Option<Step> {
        self.expire_with("EXPIRE", Unit::Seconds, When::Relative)
    }

    fn pexpire(&mut self) -> Option<Step> {
        self.expire_with("PEXPIRE", Unit::Millis, When::Relative)
    }

    fn expireat(&mut self) -> Option<Step> {
        self.expire_with("EXPIREAT", Unit::Seconds, When::Absolute)
    }

    fn pexpireat(&mut self) -> Option<Step> {
        self.expire_with("PEXPIREAT", Unit::Millis, When::Absolute)
    }

    fn timed(&mut self, name: &str, tolerance: i64) -> Option<Step> {
        let args = vec![self.word(name), self.key()];
        checked(args, Check::Tolerance(tolerance))
    }

    fn ttl(&mut self) -> Option<Step> {
        self.timed("TTL", 1)
    }

    fn pttl(&mut self) -> Option<Step> {
        self.timed("PTTL", 100)
    }

    fn expiretime(&mut self) -> Option<Step> {
        self.timed("EXPIRETIME", 1)
    }

    fn pexpiretime(&mut self) -> Option<Step> {
        self.timed("PEXPIRETIME", 100)
    }

    fn persist(&mut self) -> Option<Step> {
        self.with_key("PERSIST")
    }

    fn keys_cmd(&mut self) -> Option<Step> {
        let pattern = if self.rng.chance(85) {
            self.rng.pick(PATTERNS).to_vec()
        } else {
            self.key()
        };
        checked(vec![self.word("KEYS"), pattern], Check::Sorted)
    }

    /// A SCAN-family cursor: 0, or one no server accepts (see module docs).
    fn scan_cursor(&mut self) -> Vec<u8> {
        if self.rng.chance(90) {
            b"0".to_vec()
        } else {
            self.rng
                .pick(&[&b"abc"[..], b"", b"1.5", b"-abc", b"18446744073709551616"])
                .to_vec()
        }
    }

    fn scan_match(&mut self, options: &mut Vec<Vec<u8>>) {
        options.push(self.word("MATCH"));
        options.push(self.rng.pick(PATTERNS).to_vec());
    }

    fn scan_count(&mut self, options: &mut Vec<Vec<u8>>) {
        options.push(self.word("COUNT"));
        let n = *self.rng.pick(&["1", "2", "10", "1000", "0", "-1", "abc"]);
        options.push(n.as_bytes().to_vec());
    }

    fn scan(&mut self) -> Option<Step> {
        let cursor = self.scan_cursor();
        let mut options = Vec::new();
        for _ in 0..self.rng.range(0, 3) {
            match self.rng.below(3) {
                0 => self.scan_match(&mut options),
                1 => self.scan_count(&mut options),
                _ => {
                    options.push(self.word("TYPE"));
                    let t = *self.rng.pick(&[
                        "string",
                        "list",
                        "hash",
                        "set",
                        "zset",
                        "STRING",
                        "nosuchtype",
                    ]);
                    options.push(t.as_bytes().to_vec());
                }
            }
        }
        Some(Step::Scan {
            command: vec![b"SCAN".to_vec()],
            cursor,
            options,
            pairs: false,
        })
    }

    fn randomkey(&mut self) -> Option<Step> {
        checked(vec![self.word("RANDOMKEY")], Check::NilOrNot)
    }

    fn rename(&mut self) -> Option<Step> {
        let args = vec![self.word("RENAME"), self.key(), self.key()];
        cmd(args)
    }

    fn renamenx(&mut self) -> Option<Step> {
        let args = vec![self.word("RENAMENX"), self.key(), self.key()];
        cmd(args)
    }

    fn copy(&mut self) -> Option<Step> {
        let mut args = vec![self.word("COPY"), self.key(), self.key()];
        for _ in 0..self.rng.range(0, 3) {
            if self.rng.chance(50) {
                args.push(self.word("DB"));
                args.push(self.db());
            } else {
                args.push(self.word("REPLACE"));
            }
        }
        cmd(args)
    }

    fn object(&mut self) -> Option<Step> {
        let object = self.word("OBJECT");
        match self.rng.below(12) {
            0..=4 => {
                let args = vec![object, self.word("ENCODING"), self.key()];
                cmd(args)
            }
            5..=6 => {
                let args = vec![object, self.word("REFCOUNT"), self.key()];
                cmd(args)
            }
            7 => {
                let args = vec![object, self.word("IDLETIME"), self.key()];
                checked(args, Check::Shape)
            }
            8 => {
                let args = vec![object, self.word("FREQ"), self.key()];
                checked(args, Check::Shape)
            }
            9 => cmd(vec![object, self.word("HELP")]),
            10 => cmd(vec![object, self.word("ENCODING")]),
            _ => {
                let args = vec![object, self.word("NOSUCHSUB"), self.key()];
                cmd(args)
            }
        }
    }

    // ---- other types ------------------------------------------------------

    fn wrongtype_rpush(&mut self) -> Option<Step> {
        let mut args = vec![self.word("RPUSH"), self.key()];
        for _ in 0..self.rng.range(1, 3) {
            args.push(self.value());
        }
        cmd(args)
    }

    fn wrongtype_hset(&mut self) -> Option<Step> {
        let mut args = vec![self.word("HSET"), self.key()];
        for _ in 0..self.rng.range(1, 2) {
            args.push(self.value());
            args.push(self.value());
        }
        cmd(args)
    }

    fn wrongtype_sadd(&mut self) -> Option<Step> {
        let mut args = vec![self.word("SADD"), self.key()];
        for _ in 0..self.rng.range(1, 3) {
            args.push(self.value());
        }
        cmd(args)
    }

    // ---- unknown ----------------------------------------------------------

    fn unknown(&mut self) -> Option<Step> {
        let long_name = "NOSUCHCOMMAND".repeat(12);
        let name = *self.rng.pick(&[
            &b"FOO"[..],
            b"foo",
            b"GETT",
            b"SETT",
            b"",
            b"x\x00y",
            b"a\r\nb",
            b"ge t",
            long_name.as_bytes(),
        ]);
        let mut args = vec![name.to_vec()];
        for _ in 0..self.rng.range(0, 3) {
            let arg = if self.rng.chance(10) {
                b"arg".repeat(60)
            } else {
                self.value()
            };
            args.push(arg);
        }
        cmd(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<&'static CommandSpec> {
        select(None, &[]).expect("full catalogue")
    }

    #[test]
    fn a_sequence_is_a_function_of_seed_and_index() {
        let enabled = all();
        for index in 0..200 {
            let a = sequence(&enabled, 9, index, 20, 1_700_000_000_000);
            let b = sequence(&enabled, 9, index, 20, 1_700_000_000_000);
            assert_eq!(a, b);
            // Preamble (HELLO, SETs, fills) plus at most one whole MULTI
            // block past the length.
            assert!(!a.is_empty() && a.len() <= 21 + 5 + 4 + 12, "{}", a.len());
        }
    }

    #[test]
    fn select_understands_names_groups_and_skips() {
        let only = vec!["@strings".to_string(), "del".to_string()];
        let enabled = select(Some(&only), &["set".to_string()]).expect("valid");
        assert!(enabled.iter().any(|s| s.name == "get"));
        assert!(enabled.iter().any(|s| s.name == "del"));
        assert!(!enabled
            .iter()
            .any(|s| s.name == "set" || s.name == "exists"));
        assert!(select(Some(&["nosuch".to_string()]), &[]).is_err());
        assert!(select(Some(&["get".to_string()]), &["get".to_string()]).is_err());
    }

    #[test]
    fn restricted_sequences_only_use_enabled_commands() {
        let only = vec!["incr".to_string()];
        let enabled = select(Some(&only), &[]).expect("valid");
        for index in 0..100 {
            for step in sequence(&enabled, 3, index, 10, 0) {
                let name = step.args()[0].to_ascii_lowercase();
                assert_eq!(name, b"incr");
            }
        }
    }

    #[test]
    fn future_time_slots_never_repeat_within_a_sequence() {
        let mut gen = Gen::new(Rng::new(5), vec![b"a".to_vec()], 1_700_000_000_000);
        gen.slot = 1;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let t = gen.time(Unit::Seconds, When::Relative, false);
            if !t.iter().all(u8::is_ascii_digit) {
                continue;
            }
            if let Ok(n) = String::from_utf8_lossy(&t).parse::<i64>() {
                if n >= 20 && n % 10 == 0 && n < 1_000_000 {
                    assert!(seen.insert(n), "slot {n} handed out twice");
                }
            }
        }
    }

    #[test]
    fn no_dbsize_after_a_possible_ghost_key() {
        let only = vec!["set".to_string(), "dbsize".to_string()];
        let enabled = select(Some(&only), &[]).expect("valid");
        for index in 0..500 {
            let mut ghost_possible = false;
            for step in sequence(&enabled, 11, index, 20, 1_700_000_000_000) {
                let args = step.args();
                let name = args[0].to_ascii_uppercase();
                if name == b"DBSIZE" {
                    assert!(!ghost_possible, "DBSIZE after a past SET expiry: {index}");
                }
                if name == b"SET" {
                    let past = args.windows(2).any(|w| {
                        let opt = w[0].to_ascii_uppercase();
                        // Redis reads only plain digits as numbers ("+10" is an error).
                        let digits = !w[1].is_empty() && w[1].iter().all(u8::is_ascii_digit);
                        let n = if digits {
                            String::from_utf8_lossy(&w[1]).parse::<i64>().unwrap_or(0)
                        } else {
                            0
                        };
                        (opt == b"EXAT" || opt == b"PXAT")
                            && n > 0
                            && n < 1_700_000_000_000
                            && (opt == b"PXAT" || n < 1_700_000_000)
                    });
                    ghost_possible |= past;
                }
            }
        }
    }

    fn upper(arg: &[u8]) -> Vec<u8> {
        arg.to_ascii_uppercase()
    }

    fn int(arg: &[u8]) -> Option<i64> {
        std::str::from_utf8(arg).ok()?.parse().ok()
    }

    fn names(steps: &[Step]) -> Vec<Vec<u8>> {
        steps.iter().map(|s| upper(&s.args()[0])).collect()
    }

    #[test]
    fn only_strings_and_keys_leaves_the_original_groups() {
        let skip: Vec<String> = NOT_STRINGS_AND_KEYS.iter().map(|g| g.to_string()).collect();
        let enabled = select(None, &skip).expect("valid");
        let mut groups: Vec<&str> = enabled.iter().map(|s| s.group).collect();
        groups.dedup();
        assert_eq!(
            groups,
            ["connection", "server", "strings", "keys", "errors"]
        );
    }

    #[test]
    fn datatypes_selects_every_family_and_nothing_else() {
        let enabled = select(Some(&["@datatypes".to_string()]), &[]).expect("valid");
        for group in DATA_GROUPS {
            assert!(enabled.iter().any(|s| s.group == *group), "{group}");
        }
        assert!(enabled.iter().all(|s| DATA_GROUPS.contains(&s.group)));
    }

    /// Runs of every family, each family alone.
    fn family_sequences(seed: u64) -> Vec<Vec<Step>> {
        let mut out = Vec::new();
        for group in DATA_GROUPS.iter().chain(&["tx"]) {
            let enabled = select(Some(&[format!("@{group}")]), &[]).expect("valid");
            for index in 0..300 {
                out.push(sequence(&enabled, seed, index, 20, 1_700_000_000_000));
            }
        }
        out
    }

    #[test]
    fn blocking_commands_never_wait_long() {
        let valid: &[&[u8]] = &[b"0.01", b"0.001", b"0.02"];
        for steps in family_sequences(7) {
            for step in &steps {
                let args = step.args();
                let name = upper(&args[0]);
                let timeout = match name.as_slice() {
                    b"BLPOP" | b"BRPOP" | b"BLMOVE" | b"BRPOPLPUSH" | b"BZPOPMIN" | b"BZPOPMAX" => {
                        args.last()
                    }
                    b"BLMPOP" | b"BZMPOP" => args.get(1),
                    _ => continue,
                };
                let timeout = timeout.expect("blocking commands keep their timeout");
                assert!(
                    valid.contains(&timeout.as_slice())
                        || collection::BAD_TIMEOUTS.contains(&timeout.as_slice()),
                    "{args:?}"
                );
            }
        }
    }

    #[test]
    fn multi_blocks_always_end() {
        for steps in family_sequences(8) {
            let names = names(&steps);
            if let Some(last) = names.iter().rposition(|n| n == b"MULTI") {
                assert!(
                    names[last..]
                        .iter()
                        .any(|n| n == b"EXEC" || n == b"DISCARD"),
                    "{names:?}"
                );
            }
        }
    }

    #[test]
    fn a_random_spop_is_followed_by_scard_and_its_key_is_never_drawn_again() {
        for steps in family_sequences(9) {
            for (i, step) in steps.iter().enumerate() {
                let args = step.args();
                let random = match args.get(2) {
                    None => true,
                    Some(count) => int(count).is_some_and(|n| (0..100_000).contains(&n)),
                };
                if upper(&args[0]) != b"SPOP" || !random {
                    continue;
                }
                let next = steps[i + 1].args();
                assert_eq!(next, vec![b"SCARD".to_vec(), args[1].clone()]);
            }
        }
        let mut gen = Gen::new(Rng::new(3), vec![b"a".to_vec(), b"b".to_vec()], 0);
        gen.tainted = vec![b"a".to_vec(), b"b".to_vec()];
        for _ in 0..1000 {
            let key = gen.key();
            assert!(!gen.tainted.contains(&key));
        }
    }

    #[test]
    fn writes_to_bitmaps_stay_small() {
        for steps in family_sequences(10) {
            for step in &steps {
                let args = step.args();
                let name = upper(&args[0]);
                let offsets: Vec<&Vec<u8>> = match name.as_slice() {
                    b"SETBIT" => args.get(2).into_iter().collect(),
                    b"BITFIELD" => args
                        .windows(3)
                        .filter(|w| matches!(upper(&w[0]).as_slice(), b"SET" | b"INCRBY"))
                        .map(|w| &w[2])
                        .collect(),
                    _ => continue,
                };
                for offset in offsets {
                    let digits = offset.strip_prefix(b"#").unwrap_or(offset);
                    if let Some(n) = int(digits) {
                        assert!(!(1 << 20..1 << 32).contains(&n), "{args:?}");
                    }
                }
            }
        }
    }
}
