//! Command behaviour end to end, with exact replies. Breadth against real
//! Redis is the differential harness's job (crates/difftest); these pin the
//! behaviours that need a running node: expiry over time, iteration,
//! cross-database commands, introspection.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{encode, wait_until, Shoal};

#[test]
fn set_options_follow_redis_rules() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET k v NX"), "+OK\r\n");
    assert_eq!(r.call("SET k w NX"), "$-1\r\n");
    assert_eq!(r.call("SET k w XX GET"), "$1\r\nv\r\n");
    assert_eq!(r.call("SET k x NX XX"), "-ERR syntax error\r\n");
    assert_eq!(r.call("SET k x EX 10 PX 100"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("SET k x EX 0"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        r.call("SET k x EX abc"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("SET k x PX 100000"), "+OK\r\n");
    assert_eq!(r.call("SET k y KEEPTTL"), "+OK\r\n");
    let pttl: i64 = r
        .call("PTTL k")
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("int");
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    assert_eq!(r.call("SET k z"), "+OK\r\n");
    assert_eq!(r.call("TTL k"), ":-1\r\n");
}

#[test]
fn counters_and_ranges_match_redis() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("INCRBY n 9223372036854775807"),
        ":9223372036854775807\r\n"
    );
    assert_eq!(
        r.call("INCR n"),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(r.call("SET s abc"), "+OK\r\n");
    assert_eq!(
        r.call("INCR s"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("INCRBYFLOAT f 10.5"), "$4\r\n10.5\r\n");
    assert_eq!(r.call("INCRBYFLOAT f 0.1"), "$4\r\n10.6\r\n");
    assert_eq!(r.call("SET t Hello"), "+OK\r\n");
    assert_eq!(r.call("APPEND t World"), ":10\r\n");
    assert_eq!(r.call("GETRANGE t -5 -1"), "$5\r\nWorld\r\n");
    assert_eq!(r.call("SETRANGE t 12 !"), ":13\r\n");
    assert_eq!(r.cmd(&[b"GET", b"t"]), "$13\r\nHelloWorld\0\0!\r\n");
    assert_eq!(r.call("OBJECT ENCODING t"), "$3\r\nraw\r\n");
    assert_eq!(r.call("SET i 12345"), "+OK\r\n");
    assert_eq!(r.call("OBJECT ENCODING i"), "$3\r\nint\r\n");
    assert_eq!(r.call("SET a ohmytext"), "+OK\r\n");
    assert_eq!(r.call("SET b mynewtext"), "+OK\r\n");
    assert_eq!(r.call("LCS a b"), "$6\r\nmytext\r\n");
    assert_eq!(r.call("LCS a b LEN"), ":6\r\n");
    assert_eq!(
        r.call("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
}

#[test]
fn expire_family_conditions() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET k v"), "+OK\r\n");
    assert_eq!(r.call("EXPIRE k 100 XX"), ":0\r\n");
    assert_eq!(r.call("EXPIRE k 100 NX"), ":1\r\n");
    assert_eq!(r.call("EXPIRE k 50 GT"), ":0\r\n");
    assert_eq!(r.call("EXPIRE k 50 LT"), ":1\r\n");
    assert_eq!(
        r.call("EXPIRE k 50 NX XX"),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(r.call("EXPIRE k 50 FOO"), "-ERR Unsupported option FOO\r\n");
    assert_eq!(r.call("PERSIST k"), ":1\r\n");
    assert_eq!(r.call("TTL k"), ":-1\r\n");
    assert_eq!(r.call("EXPIRE k -1"), ":1\r\n");
    assert_eq!(r.call("EXISTS k"), ":0\r\n");
    assert_eq!(r.call("TTL k"), ":-2\r\n");
}

#[test]
fn active_expiry_reclaims_keys_nobody_reads() {
    let node = Shoal::start(&["--hz", "50"]);
    let mut r = node.raw();
    let mut batch = Vec::new();
    for i in 0..2000 {
        batch.extend_from_slice(&encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            b"v",
            b"PX",
            b"100",
        ]));
    }
    r.send(&batch);
    for _ in 0..2000 {
        assert_eq!(r.reply(), "+OK\r\n");
    }
    // DBSIZE counts keys without touching them, so only the active cycle can
    // bring it to zero.
    wait_until(Duration::from_secs(10), || r.call("DBSIZE") == ":0\r\n");
    let info = r.call("INFO stats");
    assert!(info.contains("expired_keys:2000\r\n"), "{info}");
}

#[test]
fn scan_visits_every_key_and_filters() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    for i in 0..500 {
        r.cmd(&[b"SET", format!("user:{i}").as_bytes(), b"x"]);
        r.cmd(&[b"SET", format!("other:{i}").as_bytes(), b"x"]);
    }
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    loop {
        let reply = r.cmd(&[
            b"SCAN",
            cursor.as_bytes(),
            b"MATCH",
            b"user:*",
            b"COUNT",
            b"50",
        ]);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_string();
        for key in lines.iter().skip(5).step_by(2) {
            if !key.is_empty() {
                assert!(key.starts_with("user:"), "{key}");
                seen.insert(key.to_string());
            }
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert_eq!(r.call("SCAN x"), "-ERR invalid cursor\r\n");
    assert_eq!(r.call("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
    let keys = r.call("KEYS other:1?");
    assert!(keys.starts_with("*10\r\n"), "{keys}");
}

#[test]
fn rename_copy_and_select_work_across_databases() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("RENAME nosuch x"), "-ERR no such key\r\n");
    assert_eq!(r.call("SET a 1"), "+OK\r\n");
    assert_eq!(r.call("EXPIRE a 100"), ":1\r\n");
    assert_eq!(r.call("RENAME a b"), "+OK\r\n");
    assert_eq!(r.call("TTL b"), ":100\r\n");
    assert_eq!(r.call("COPY b c DB 3"), ":1\r\n");
    assert_eq!(r.call("COPY b c DB 3"), ":0\r\n");
    assert_eq!(
        r.call("COPY b b"),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(r.call("SELECT 3"), "+OK\r\n");
    assert_eq!(r.call("GET c"), "$1\r\n1\r\n");
    assert_eq!(r.call("SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(r.call("FLUSHALL"), "+OK\r\n");
    assert_eq!(r.call("DBSIZE"), ":0\r\n");
}

#[test]
fn command_introspection_comes_from_the_table() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("COMMAND GETKEYS MSET a 1 b 2"),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        r.call("COMMAND GETKEYS PING x"),
        "-ERR The command has no key arguments\r\n"
    );
    let info = r.call("COMMAND INFO get nosuch");
    assert!(
        info.starts_with(
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{info}"
    );
    assert!(info.ends_with("$-1\r\n"), "{info}");
    let count: usize = r
        .call("COMMAND COUNT")
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("int");
    let list = r.call("COMMAND");
    assert!(list.starts_with(&format!("*{count}\r\n")));
    let docs = r.call("COMMAND DOCS get");
    assert!(docs.contains("$7\r\nsummary\r\n"), "{docs}");
}

#[test]
fn slowlog_records_commands_over_the_threshold() {
    let node = Shoal::start(&["--slowlog-log-slower-than", "0"]);
    let mut r = node.raw();
    assert_eq!(r.call("SLOWLOG RESET"), "+OK\r\n");
    assert_eq!(r.call("SET slow value"), "+OK\r\n");
    let entry = r.call("SLOWLOG GET 1");
    assert!(
        entry.contains("*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n"),
        "{entry}"
    );
    assert_eq!(r.call("CONFIG SET slowlog-log-slower-than -1"), "+OK\r\n");
    assert_eq!(r.call("SLOWLOG RESET"), "+OK\r\n");
    assert_eq!(r.call("GET slow"), "$5\r\nvalue\r\n");
    assert_eq!(r.call("SLOWLOG LEN"), ":0\r\n");
}

#[test]
fn info_has_the_fields_tools_read() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("SET k v");
    r.call("GET k");
    r.call("GET missing");
    let info = r.call("INFO");
    for field in [
        "redis_version:",
        "connected_clients:1\r\n",
        "used_memory:",
        "maxmemory:0\r\n",
        "maxmemory_policy:noeviction\r\n",
        "keyspace_hits:1\r\n",
        "keyspace_misses:1\r\n",
        "evicted_keys:0\r\n",
        "expired_keys:0\r\n",
        "cluster_enabled:1\r\n",
        "db0:keys=1,expires=0,avg_ttl=0\r\n",
    ] {
        assert!(info.contains(field), "missing {field:?} in {info}");
    }
    assert_eq!(r.call("CONFIG RESETSTAT"), "+OK\r\n");
    assert!(r.call("INFO stats").contains("keyspace_hits:0\r\n"));
}

#[test]
fn cluster_commands_describe_a_one_node_cluster() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("CLUSTER KEYSLOT foo"), ":12182\r\n");
    let slots = r.call("CLUSTER SLOTS");
    assert!(
        slots.starts_with(&format!(
            "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:{}\r\n$40\r\n",
            node.port
        )),
        "{slots}"
    );
    let mut con = node.client();
    let v: Option<String> = redis::cmd("GET")
        .arg("anything")
        .query(&mut con)
        .expect("get");
    assert_eq!(v, None);
}

#[test]
fn object_freq_counts_accesses_under_lfu_only() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET k v"), "+OK\r\n");
    assert_eq!(
        r.call("OBJECT FREQ k"),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(r.call("OBJECT IDLETIME k"), ":0\r\n");
    // A log factor of 0 makes every access count, so the counter is exact.
    assert_eq!(
        r.call("CONFIG SET maxmemory-policy allkeys-lfu lfu-log-factor 0"),
        "+OK\r\n"
    );
    assert_eq!(r.call("SET f v"), "+OK\r\n");
    assert_eq!(r.call("OBJECT FREQ f"), ":5\r\n");
    for _ in 0..100 {
        r.call("GET f");
    }
    assert_eq!(r.call("OBJECT FREQ f"), ":105\r\n");
    assert!(r
        .call("OBJECT IDLETIME f")
        .starts_with("-ERR An LFU maxmemory policy is selected"));
    assert_eq!(r.call("CLIENT NO-TOUCH on"), "+OK\r\n");
    r.call("GET f");
    assert_eq!(r.call("OBJECT FREQ f"), ":105\r\n");
}
