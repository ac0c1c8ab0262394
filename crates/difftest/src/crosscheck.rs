//! `--dump-crosscheck`: DUMP payloads carried between the servers, both
//! ways, for every type and every encoding Redis 7.0 gives it.
//!
//! Each case builds the same key `k` on both servers. Then shoal RESTOREs
//! redis-server's payload of `k` into `x`, and redis-server RESTOREs
//! shoal's; on each server `x` must read back exactly as `k` does, and `k`
//! must read the same on both. "Read back" is the type's whole content in
//! a canonical order (members and fields sorted; list and sorted-set order
//! kept; a string's bytes, which covers HyperLogLogs register for register).

use crate::resp::{self, Value};
use crate::Runner;

/// One case: its name and the commands that build key `k`.
struct Case {
    name: String,
    setup: Vec<Vec<Vec<u8>>>,
}

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// `command k` followed by `items`.
fn with_items(command: &str, items: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    let mut a = args(&[command, "k"]);
    a.extend(items.into_iter().map(String::into_bytes));
    a
}

fn case(name: &str, setup: Vec<Vec<Vec<u8>>>) -> Case {
    Case {
        name: name.to_string(),
        setup,
    }
}

/// Every type, in each encoding Redis 7.0 picks at its default thresholds
/// (listpack and intset limits, quicklist node size, sparse HLL size).
fn cases() -> Vec<Case> {
    let long = "v".repeat(100);
    vec![
        case("string raw", vec![args(&["SET", "k", "hello world"])]),
        case("string int", vec![args(&["SET", "k", "-123456789"])]),
        case("string 100 bytes", vec![args(&["SET", "k", &long])]),
        case(
            "list small listpack",
            vec![args(&["RPUSH", "k", "a", "1", "-7", "123456789012", ""])],
        ),
        case(
            "list quicklist, many nodes",
            vec![with_items(
                "RPUSH",
                (0..3000).map(|i| {
                    if i % 7 == 0 {
                        format!("{i}{long}")
                    } else {
                        i.to_string()
                    }
                }),
            )],
        ),
        case(
            "list with a 20 kB element",
            vec![args(&["RPUSH", "k", "a", &"x".repeat(20_000), "b"])],
        ),
        case(
            "set intset",
            vec![args(&["SADD", "k", "1", "-2", "300000", "9"])],
        ),
        case(
            "set intset past 512 -> hashtable",
            vec![with_items("SADD", (0..600).map(|i| i.to_string()))],
        ),
        case(
            "set of strings",
            vec![args(&["SADD", "k", "a", "b", "7", "c d"])],
        ),
        case(
            "set of 1000 strings",
            vec![with_items("SADD", (0..1000).map(|i| format!("m:{i}")))],
        ),
        case(
            "hash listpack",
            vec![args(&["HSET", "k", "f", "v", "n", "12", "e", ""])],
        ),
        case(
            "hash with a long value -> hashtable",
            vec![args(&["HSET", "k", "f", "v", "long", &long])],
        ),
        case(
            "hash of 600 fields -> hashtable",
            vec![with_items(
                "HSET",
                (0..600).flat_map(|i| [format!("f{i}"), format!("{}", i * 3)]),
            )],
        ),
        case(
            "zset listpack",
            vec![args(&[
                "ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0", "e", "1e300", "f",
                "-0.125", "g",
            ])],
        ),
        case(
            "zset of 200 -> skiplist",
            vec![with_items(
                "ZADD",
                (0..200).flat_map(|i| [format!("{}.25", i % 17), format!("m{i}")]),
            )],
        ),
        case(
            "zset with a long member -> skiplist",
            vec![args(&["ZADD", "k", "1", "a", "2", &long])],
        ),
        case("hll sparse", vec![args(&["PFADD", "k", "a", "b", "c"])]),
        case(
            "hll dense",
            vec![with_items("PFADD", (0..5000).map(|i| format!("e{i}")))],
        ),
    ]
}

/// The commands that read a key of `kind` whole.
fn reads(kind: &[u8], key: &str) -> Vec<Vec<u8>> {
    match kind {
        b"list" => args(&["LRANGE", key, "0", "-1"]),
        b"set" => args(&["SMEMBERS", key]),
        b"hash" => args(&["HGETALL", key]),
        b"zset" => args(&["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        _ => args(&["GET", key]),
    }
}

/// A read's reply in a canonical form: sets and hashes sorted.
fn canonical(kind: &[u8], value: &Value) -> Vec<Vec<u8>> {
    let Value::Array(items) = value else {
        return vec![format!("{value:?}").into_bytes()];
    };
    let flat: Vec<Vec<u8>> = items
        .iter()
        .map(|v| format!("{v:?}").into_bytes())
        .collect();
    match kind {
        b"set" => {
            let mut m = flat;
            m.sort();
            m
        }
        b"hash" => {
            let mut pairs: Vec<Vec<u8>> = flat.chunks(2).map(|p| p.concat()).collect();
            pairs.sort();
            pairs
        }
        _ => flat,
    }
}

impl Runner<'_> {
    /// Runs every case; returns (passed, failed).
    pub(crate) fn crosscheck(&mut self) -> (u64, u64) {
        let (mut passed, mut failed) = (0, 0);
        for case in cases() {
            match self.crosscheck_case(&case) {
                Ok(()) => passed += 1,
                Err(why) => {
                    failed += 1;
                    say!("dump crosscheck: {}: {why}", case.name);
                }
            }
        }
        (passed, failed)
    }

    fn crosscheck_case(&mut self, case: &Case) -> Result<(), String> {
        self.flushall().map_err(|e| e.0)?;
        let mut first = case.setup.clone();
        first.push(args(&["TYPE", "k"]));
        first.push(args(&["OBJECT", "ENCODING", "k"]));
        first.push(args(&["DUMP", "k"]));
        let [shoal, redis] = self
            .pipeline(&first)
            .map(|r| r.map_err(|e| format!("{e:?}")));
        let (shoal, redis) = (shoal?, redis?);
        let n = first.len();
        let kind = match &redis[n - 3].value {
            Value::Simple(t) => t.clone(),
            other => return Err(format!("redis TYPE k: {other:?}")),
        };
        if shoal[n - 3].raw != redis[n - 3].raw {
            return Err(format!(
                "TYPE differs: shoal {} redis {}",
                resp::escape(&shoal[n - 3].raw),
                resp::escape(&redis[n - 3].raw)
            ));
        }
        let payload = |replies: &[resp::Reply], who: &str| match &replies[n - 1].value {
            Value::Bulk(p) => Ok(p.clone()),
            other => Err(format!("{who} DUMP k: {other:?}")),
        };
        let (from_shoal, from_redis) = (payload(&shoal, "shoal")?, payload(&redis, "redis")?);
        // Each server restores the other's payload, then reads both keys.
        let second = |payload: Vec<u8>| {
            let mut restore = args(&["RESTORE", "x", "0"]);
            restore.push(payload);
            vec![restore, reads(&kind, "k"), reads(&kind, "x")]
        };
        let [shoal2, redis2] = self
            .pipeline_each(&[second(from_redis.clone()), second(from_shoal.clone())])
            .map(|r| r.map_err(|e| format!("{e:?}")));
        let (shoal2, redis2) = (shoal2?, redis2?);
        for (who, replies) in [("shoal", &shoal2), ("redis", &redis2)] {
            if replies[0].raw != b"+OK\r\n" {
                return Err(format!(
                    "{who} refused the other's payload: {}",
                    resp::escape(&replies[0].raw)
                ));
            }
            if canonical(&kind, &replies[1].value) != canonical(&kind, &replies[2].value) {
                return Err(format!("{who}: the restored copy reads differently"));
            }
        }
        if canonical(&kind, &shoal2[1].value) != canonical(&kind, &redis2[1].value) {
            return Err("k reads differently on the two servers".into());
        }
        let encoding = |replies: &[resp::Reply]| match &replies[n - 2].value {
            Value::Bulk(e) => String::from_utf8_lossy(e).into_owned(),
            other => format!("{other:?}"),
        };
        say!(
            "dump crosscheck: {}: ok (encoding shoal {}, redis {}; payload {} / {} bytes)",
            case.name,
            encoding(&shoal),
            encoding(&redis),
            from_shoal.len(),
            from_redis.len()
        );
        Ok(())
    }
}
