//! `maxmemory` and the eviction policies end to end: memory stays under the
//! limit while 100 MB are written, `evicted_keys` counts what went,
//! volatile policies take only keys with a TTL, `noeviction` and an
//! exhausted volatile policy answer OOM while reads and deletes go on, and
//! transactions are refused as Redis 7.0 refuses them.

mod common;

use std::time::Duration;

use common::{encode, Raw, Shoal};

const LIMIT: u64 = 10 * 1024 * 1024;
/// used_memory counts every allocation, INFO's own reply and the
/// connections' buffers included, which eviction before the command cannot
/// account for: INFO may show a few kB over the limit.
const SLACK: u64 = 64 * 1024;
const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

/// A field of `INFO` as a number.
fn info_u64(r: &mut Raw, field: &str) -> u64 {
    let info = r.call("INFO everything");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no numeric {field}"))
}

/// Writes `count` keys `prefix:i` of `size` bytes in pipelined batches;
/// returns how many replies were OOM errors.
fn write_keys(r: &mut Raw, prefix: &str, count: usize, size: usize, ttl: bool) -> usize {
    let value = vec![b'v'; size];
    let mut oom = 0;
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        let mut req = Vec::new();
        for i in batch {
            let key = format!("{prefix}:{i}");
            if ttl {
                req.extend(encode(&[b"SET", key.as_bytes(), &value, b"EX", b"100000"]));
            } else {
                req.extend(encode(&[b"SET", key.as_bytes(), &value]));
            }
        }
        r.send(&req);
        for _ in batch {
            match r.reply().as_str() {
                "+OK\r\n" => {}
                OOM => oom += 1,
                other => panic!("unexpected reply {other:?}"),
            }
        }
    }
    oom
}

#[test]
fn every_evicting_policy_keeps_memory_under_the_limit() {
    let node = Shoal::start(&["--maxmemory", "10mb"]);
    let mut r = node.raw();
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "allkeys-tinylfu",
    ] {
        assert_eq!(r.call("FLUSHALL"), "+OK\r\n");
        assert_eq!(r.call("CONFIG RESETSTAT"), "+OK\r\n");
        assert_eq!(
            r.call(&format!("CONFIG SET maxmemory-policy {policy}")),
            "+OK\r\n"
        );
        // 100 MB in 10 kB values; every key has a TTL so volatile
        // policies can evict too.
        let oom = write_keys(&mut r, "k", 10_000, 10_000, true);
        assert_eq!(oom, 0, "{policy}: no write refused");
        let used = info_u64(&mut r, "used_memory");
        assert!(
            used <= LIMIT + SLACK,
            "{policy}: used_memory {used} over {LIMIT}"
        );
        let evicted = info_u64(&mut r, "evicted_keys");
        let kept = r.call("DBSIZE");
        let kept: u64 = kept[1..kept.len() - 2].parse().expect("DBSIZE integer");
        assert_eq!(
            evicted + kept,
            10_000,
            "{policy}: every key kept or counted evicted"
        );
        assert!(
            kept > 100 && kept < 1_100,
            "{policy}: {kept} keys of 10 kB kept in 10 MB"
        );
    }
}

#[test]
fn volatile_policies_take_only_keys_with_a_ttl_then_refuse() {
    let node = Shoal::start(&["--maxmemory", "10mb", "--maxmemory-policy", "volatile-lru"]);
    let mut r = node.raw();
    // 4 MB that may not go, then 20 MB with a TTL.
    assert_eq!(write_keys(&mut r, "keep", 400, 10_000, false), 0);
    assert_eq!(write_keys(&mut r, "ttl", 2_000, 10_000, true), 0);
    assert!(info_u64(&mut r, "used_memory") <= LIMIT + SLACK);
    for i in 0..400 {
        assert_eq!(r.call(&format!("EXISTS keep:{i}")), ":1\r\n", "keep:{i}");
    }
    // Past what the keys with a TTL can free: OOM, reads and deletes go on.
    let refused = write_keys(&mut r, "more", 1_000, 10_000, false);
    assert!(refused > 0, "OOM once no key with a TTL is left");
    assert_eq!(r.call("SET one more"), OOM);
    assert_eq!(r.call("STRLEN keep:0"), ":10000\r\n");
    assert_eq!(r.call("DEL keep:0"), ":1\r\n");
}

#[test]
fn noeviction_refuses_writes_and_serves_reads_and_deletes() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET a 1"), "+OK\r\n");
    assert_eq!(write_keys(&mut r, "k", 1_500, 10_000, false), 0);
    assert_eq!(r.call("CONFIG SET maxmemory 10mb"), "+OK\r\n");
    assert_eq!(r.call("SET b 1"), OOM);
    assert_eq!(r.call("APPEND a x"), OOM);
    assert_eq!(r.call("GET a"), "$1\r\n1\r\n");
    assert_eq!(r.call("DEL k:1"), ":1\r\n");
    assert_eq!(r.call("EXPIRE a 100"), ":1\r\n", "EXPIRE is not denyoom");
    assert_eq!(info_u64(&mut r, "evicted_keys"), 0);
    // Inside MULTI everything but EXEC/DISCARD/QUIT/RESET is refused and
    // fails the transaction.
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(r.call("GET a"), OOM);
    assert_eq!(
        r.call("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // A transaction queued before memory ran out: EXEC is refused if it
    // holds a denyoom command, and runs otherwise.
    assert_eq!(r.call("CONFIG SET maxmemory 0"), "+OK\r\n");
    let mut other = node.raw();
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(r.call("SET c 1"), "+QUEUED\r\n");
    assert_eq!(other.call("CONFIG SET maxmemory 10mb"), "+OK\r\n");
    assert_eq!(
        r.call("EXEC"),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert_eq!(other.call("CONFIG SET maxmemory 0"), "+OK\r\n");
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(r.call("PING"), "+QUEUED\r\n");
    assert_eq!(other.call("CONFIG SET maxmemory 10mb"), "+OK\r\n");
    assert_eq!(r.call("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn lowering_maxmemory_sheds_keys_without_more_traffic() {
    let node = Shoal::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut r = node.raw();
    assert_eq!(write_keys(&mut r, "k", 5_000, 10_000, false), 0);
    assert!(info_u64(&mut r, "used_memory") > 40 * 1024 * 1024);
    assert_eq!(r.call("CONFIG SET maxmemory 10mb"), "+OK\r\n");
    // No command for a while: only the background task can shed the
    // 40 MB (a command's own eviction stops after 500 µs at the default
    // tenacity, far too little for 4,000 keys).
    std::thread::sleep(Duration::from_secs(3));
    let n = r.call("DBSIZE");
    let kept: u64 = n[1..n.len() - 2].parse().expect("DBSIZE integer");
    assert!(kept < 1_100, "{kept} keys left");
    assert!(info_u64(&mut r, "used_memory") <= LIMIT + SLACK);
    assert!(info_u64(&mut r, "evicted_keys") >= 3_900);
}

#[test]
fn an_evicted_watched_key_fails_exec() {
    let node = Shoal::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut r = node.raw();
    assert_eq!(write_keys(&mut r, "k", 3_000, 10_000, false), 0);
    let mut watcher = node.raw();
    let keys: Vec<String> = (0..3_000).map(|i| format!("k:{i}")).collect();
    assert_eq!(
        watcher.call(&format!("WATCH {}", keys.join(" "))),
        "+OK\r\n"
    );
    assert_eq!(r.call("CONFIG SET maxmemory 10mb"), "+OK\r\n");
    assert_eq!(watcher.call("MULTI"), "+OK\r\n");
    assert_eq!(watcher.call("EXEC"), "*-1\r\n");
}

/// allkeys-tinylfu resists a scan: keys read often survive a stream of
/// keys written once, which under allkeys-lru pushes them out.
#[test]
fn tinylfu_keeps_frequent_keys_through_a_scan() {
    let survivors = |policy: &str| {
        let node = Shoal::start(&["--maxmemory", "10mb", "--maxmemory-policy", policy]);
        let mut r = node.raw();
        assert_eq!(write_keys(&mut r, "hot", 100, 10_000, false), 0);
        for _ in 0..20 {
            let mut req = Vec::new();
            for i in 0..100 {
                req.extend(encode(&[b"GET", format!("hot:{i}").as_bytes()]));
            }
            r.send(&req);
            for _ in 0..100 {
                r.reply_bytes();
            }
        }
        assert_eq!(write_keys(&mut r, "once", 3_000, 10_000, false), 0);
        (0..100)
            .filter(|i| r.call(&format!("EXISTS hot:{i}")) == ":1\r\n")
            .count()
    };
    let tinylfu = survivors("allkeys-tinylfu");
    let lru = survivors("allkeys-lru");
    assert!(tinylfu >= 90, "tinylfu kept {tinylfu} of 100");
    assert!(lru < tinylfu, "lru kept {lru}, tinylfu {tinylfu}");
}

/// MEMORY STATS has Redis's fields in Redis's order and agrees with INFO.
#[test]
fn memory_stats_agree_with_info() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(write_keys(&mut r, "k", 1_000, 1_000, true), 0);
    let stats = r.call("MEMORY STATS");
    let names: Vec<&str> = stats
        .split("\r\n")
        .filter(|l| l.contains('.') || *l == "fragmentation")
        .filter(|l| !l.starts_with('$') && !l.starts_with(':') && l.parse::<f64>().is_err())
        .collect();
    assert_eq!(
        names,
        [
            "peak.allocated",
            "total.allocated",
            "startup.allocated",
            "replication.backlog",
            "clients.slaves",
            "clients.normal",
            "cluster.links",
            "aof.buffer",
            "lua.caches",
            "functions.caches",
            "db.0",
            "overhead.hashtable.main",
            "overhead.hashtable.expires",
            "overhead.hashtable.slot-to-keys",
            "overhead.total",
            "keys.count",
            "keys.bytes-per-key",
            "dataset.bytes",
            "dataset.percentage",
            "peak.percentage",
            "allocator.allocated",
            "allocator.active",
            "allocator.resident",
            "allocator-fragmentation.ratio",
            "allocator-fragmentation.bytes",
            "allocator-rss.ratio",
            "allocator-rss.bytes",
            "rss-overhead.ratio",
            "rss-overhead.bytes",
            "fragmentation",
            "fragmentation.bytes",
        ]
    );
    assert!(stats.contains("$10\r\nkeys.count\r\n:1000\r\n"), "{stats}");
    let field = |name: &str| -> u64 {
        let at = stats.find(&format!("\r\n{name}\r\n:")).expect(name) + name.len() + 5;
        stats[at..]
            .split("\r\n")
            .next()
            .and_then(|v| v.parse().ok())
            .expect(name)
    };
    let total = field("total.allocated");
    let info = info_u64(&mut r, "used_memory");
    // Both read the same allocator count, a few replies apart.
    assert!(total.abs_diff(info) < 64 * 1024, "{total} vs {info}");
    assert!(field("dataset.bytes") > 1_000_000, "1,000 values of 1 kB");
    assert!(field("peak.allocated") >= total);
    assert_eq!(r.call("MEMORY PURGE"), "+OK\r\n");
    // As a Redis built without jemalloc answers.
    assert_eq!(
        r.call("MEMORY MALLOC-STATS"),
        "$45\r\nStats not supported for the current allocator\r\n"
    );
    assert_eq!(
        r.call("MEMORY STATS x"),
        "-ERR wrong number of arguments for 'memory|stats' command\r\n"
    );
}

/// The eviction settings: Redis's ranges and errors; shoal's own policy
/// is accepted but Redis's error text lists only Redis's eight.
#[test]
fn eviction_settings_take_redis_values_and_errors() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("CONFIG SET maxmemory-eviction-tenacity 100"),
        "+OK\r\n"
    );
    assert_eq!(
        r.call("CONFIG SET maxmemory-eviction-tenacity 101"),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive\r\n"
    );
    assert_eq!(
        r.call("CONFIG SET maxmemory-policy ALLKEYS-TINYLFU"),
        "+OK\r\n"
    );
    assert_eq!(
        r.call("CONFIG GET maxmemory-policy"),
        "*2\r\n$16\r\nmaxmemory-policy\r\n$15\r\nallkeys-tinylfu\r\n"
    );
    assert_eq!(
        r.call("CONFIG SET maxmemory-policy lru"),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"
    );
    // tinylfu counts accesses: OBJECT FREQ shows a key's count (started
    // when created from the sketch's estimate, which counts the creation,
    // plus one; one more per access), OBJECT IDLETIME is refused as under
    // LFU.
    assert_eq!(r.call("CONFIG SET maxmemory 1gb"), "+OK\r\n");
    assert_eq!(r.call("SET k v"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ k"), ":2\r\n");
    for _ in 0..3 {
        assert_eq!(r.call("GET k"), "$1\r\nv\r\n");
    }
    // EXISTS and TYPE are not accesses.
    assert_eq!(r.call("EXISTS k"), ":1\r\n");
    assert_eq!(r.call("TYPE k"), "+string\r\n");
    assert_eq!(r.call("OBJECT FREQ k"), ":5\r\n");
    // Written again: the new value keeps the count, one more for the write.
    assert_eq!(r.call("SET k w"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ k"), ":6\r\n");
    // Deleted and created again: the sketch saw one creation of it (reads
    // of a cached key count in the key), this is the second.
    assert_eq!(r.call("DEL k"), ":1\r\n");
    assert_eq!(r.call("SET k x"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ k"), ":3\r\n");
    assert_eq!(
        r.call("OBJECT IDLETIME k"),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    // RESTORE ... FREQ sets the count.
    // A DUMP of "v" (as redis-server 7.0 writes it) restored with FREQ.
    let dump = b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce";
    assert_eq!(
        r.cmd(&[b"RESTORE", b"r", b"0", dump, b"FREQ", b"42"]),
        "+OK\r\n"
    );
    assert_eq!(r.call("OBJECT FREQ r"), ":42\r\n");
    // As redis-server 7.0: under an LFU policy RESTORE ignores IDLETIME (the
    // counter starts at 5); under LRU it ignores FREQ (idle 0).
    assert_eq!(r.call("CONFIG SET maxmemory-policy allkeys-lfu"), "+OK\r\n");
    assert_eq!(
        r.cmd(&[b"RESTORE", b"i", b"0", dump, b"IDLETIME", b"100"]),
        "+OK\r\n"
    );
    assert_eq!(r.call("OBJECT FREQ i"), ":5\r\n");
    // As redis-server 7.0: a SET over a key keeps its LFU counter, touched
    // once (5 -> 6 is certain); a new key starts at 5.
    assert_eq!(r.call("SET o v"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ o"), ":5\r\n");
    assert_eq!(r.call("SET o w"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ o"), ":6\r\n");
    // Every write that replaces a value does the same (redis-server 7.0
    // answers 6 to each, with maxmemory set as here).
    assert_eq!(r.call("SADD s1 a"), ":1\r\n");
    for (create, replace, key) in [
        ("SET w:m v", "MSET w:m w", "w:m"),
        ("SET w:g v", "GETSET w:g w", "w:g"),
        ("SET w:x v", "SETEX w:x 100 w", "w:x"),
        ("SET w:n 1000", "INCR w:n", "w:n"),
        ("SET w:f 1.5", "INCRBYFLOAT w:f 1", "w:f"),
        ("SADD w:d x", "SUNIONSTORE w:d s1", "w:d"),
    ] {
        r.call(create);
        assert_eq!(r.call(&format!("OBJECT FREQ {key}")), ":5\r\n", "{create}");
        r.call(replace);
        assert_eq!(r.call(&format!("OBJECT FREQ {key}")), ":6\r\n", "{replace}");
    }
    assert_eq!(r.call("CONFIG SET maxmemory-policy allkeys-lru"), "+OK\r\n");
    assert_eq!(
        r.cmd(&[b"RESTORE", b"f", b"0", dump, b"FREQ", b"42"]),
        "+OK\r\n"
    );
    assert_eq!(r.call("OBJECT IDLETIME f"), ":0\r\n");
}

/// allkeys-tinylfu's sketch (at least 4096 counters × 2 rows of 4 bits = 4 kB)
/// counts in used_memory while the policy is in force, and is freed by
/// FLUSHALL and by switching to a policy that does not read it.
#[test]
fn the_tinylfu_sketch_is_freed_when_not_in_use() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    const SKETCH: i64 = 4096 * 2 / 2;
    let grown = |r: &mut Raw, command: &str| {
        let before = info_u64(r, "used_memory") as i64;
        assert_eq!(r.call(command), "+OK\r\n", "{command}");
        info_u64(r, "used_memory") as i64 - before
    };
    // Warm up whatever the first commands allocate once.
    for _ in 0..3 {
        grown(&mut r, "SET w v");
    }
    let plain = grown(&mut r, "SET a v");
    assert_eq!(
        r.call("CONFIG SET maxmemory-policy allkeys-tinylfu"),
        "+OK\r\n"
    );
    let made = grown(&mut r, "SET b v") - plain;
    let flushed = grown(&mut r, "FLUSHALL");
    grown(&mut r, "SET c v");
    let switched = grown(&mut r, "CONFIG SET maxmemory-policy allkeys-lru");
    let after = grown(&mut r, "SET d v");
    // The counters plus the sketch's own header (used_memory counts the
    // bytes asked of the allocator, so these are exact: 4096 + 48).
    let sketch = SKETCH..=SKETCH + 64;
    assert!(sketch.contains(&made), "the sketch made {made}");
    assert!(sketch.contains(&-switched), "switching freed {switched}");
    assert!(flushed <= -SKETCH, "FLUSHALL freed {flushed}");
    // Under another policy nothing makes one again.
    assert_eq!(after, plain);
}

/// The sketch grows with the keyspace while it fills, before anything is
/// evicted (left at its first size it saturated, and every key written
/// after started with a high count): with 20,000 keys written it is sized
/// for between 12,288 and 24,576 keys (checked every 4,096 keys created;
/// remade when a quarter short or half over), 2 rows × 8 counters a key ×
/// 4 bits.
#[test]
fn the_tinylfu_sketch_grows_with_the_keyspace_before_eviction() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("CONFIG SET maxmemory-policy allkeys-tinylfu"),
        "+OK\r\n"
    );
    assert_eq!(write_keys(&mut r, "g", 20_000, 10, false), 0);
    let before = info_u64(&mut r, "used_memory");
    assert_eq!(r.call("CONFIG SET maxmemory-policy allkeys-lru"), "+OK\r\n");
    let freed = before - info_u64(&mut r, "used_memory");
    // Give or take 8 kB for what INFO and CONFIG themselves allocate; a
    // sketch left at its first size would free only 4 kB.
    let per_key = 2 * 8 / 2;
    assert!(
        (12_288 * per_key - 8192..=24_576 * per_key + 8192).contains(&freed),
        "switching policy freed {freed} bytes"
    );
}
