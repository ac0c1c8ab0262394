//! MULTI/EXEC/WATCH across clients: atomicity and optimistic locking.

mod common;

use common::{encode, Shoal};

#[test]
fn exec_is_atomic_for_other_clients() {
    let node = Shoal::start(&[]);
    let port = node.port;
    let writer = std::thread::spawn(move || {
        let mut w = common::Raw::connect(port);
        for _ in 0..200 {
            let mut batch = encode(&[b"MULTI"]);
            for _ in 0..50 {
                batch.extend_from_slice(&encode(&[b"INCR", b"x"]));
            }
            batch.extend_from_slice(&encode(&[b"EXEC"]));
            w.send(&batch);
            for _ in 0..52 {
                w.reply();
            }
        }
    });
    let mut r = node.raw();
    let mut seen = 0;
    while seen < 10_000 {
        let reply = r.call("GET x");
        if reply == "$-1\r\n" {
            continue;
        }
        let v: i64 = reply
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .expect("integer value");
        assert_eq!(v % 50, 0, "saw a transaction half applied: {v}");
        seen = v;
    }
    writer.join().expect("writer finishes");
}

#[test]
fn watched_key_written_by_another_client_aborts_exec() {
    let node = Shoal::start(&[]);
    let mut a = node.raw();
    let mut b = node.raw();
    assert_eq!(a.call("WATCH k other"), "+OK\r\n");
    assert_eq!(b.call("SET k changed"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("SET k mine"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
    assert_eq!(a.call("GET k"), "$7\r\nchanged\r\n");
    // Watches end with EXEC; an untouched watch lets EXEC run.
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    assert_eq!(b.call("SET unrelated 1"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("SET k mine"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*1\r\n+OK\r\n");
    // FLUSHALL touches every watched key it deletes.
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    assert_eq!(b.call("FLUSHALL"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("PING"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
}

/// Redis 7.0 dirties a watch only when a command really changes the key
/// (`signalModifiedKey`); each case below was checked against redis-server.
#[test]
fn only_a_real_change_touches_a_watched_key() {
    let node = Shoal::start(&[]);
    let mut a = node.raw();
    let mut b = node.raw();
    let cases: &[(&str, &str, &str, bool)] = &[
        // (setup, key, write by another client, EXEC fails)
        ("", "nokey", "DEL nokey", false),
        ("", "nokey", "FLUSHALL", false),
        ("SET s x", "s", "FLUSHALL", true),
        ("SET s x", "s", "SET s y NX", false),
        ("", "nokey", "SET nokey y XX", false),
        ("SET s x", "s", "SETRANGE s 0 \"\"", false),
        ("SET s x", "s", "APPEND s \"\"", true),
        ("SET s x", "s", "INCR s", false),
        ("SET s x", "s", "GETEX s PERSIST", false),
        ("SET s x EX 100", "s", "GETEX s PERSIST", true),
        ("SET s x", "s", "EXPIRE s 100 GT", false),
        ("SET s x", "s", "SETBIT s 0 0", false),
        ("SET s x", "s", "SETBIT s 0 1", true),
        ("SET s x", "s", "SETBIT s 8 0", true),
        ("SET s x", "s", "BITFIELD s SET u8 0 120", false),
        ("SET s x", "s", "BITFIELD s INCRBY u8 0 0", false),
        ("SET s x", "s", "BITFIELD s INCRBY u8 0 1", true),
        (
            "SET s x",
            "s",
            "BITFIELD s OVERFLOW FAIL INCRBY u2 0 10",
            false,
        ),
        ("", "nokey", "BITFIELD nokey SET u8 0 0", true),
        (
            "",
            "nokey",
            "BITFIELD nokey OVERFLOW FAIL INCRBY u2 0 10",
            false,
        ),
        ("", "d", "SINTERSTORE d nokey", false),
        ("SADD d m", "d", "SINTERSTORE d nokey", true),
        ("", "d", "BITOP OR d nokey", false),
        ("SADD t a", "t", "SPOP t 0", false),
        ("SADD t a", "t", "SADD t a", false),
        ("SADD t a", "t", "SREM t b", false),
        ("SADD t a", "t", "SMOVE t t a", false),
        ("RPUSH l a", "l", "LPOP l 0", false),
        ("RPUSH l a", "l", "LTRIM l 0 -1", true),
        ("RPUSH l a", "l", "LREM l 0 b", false),
        ("RPUSH l a", "l", "LINSERT l BEFORE b c", false),
        ("HSET h f v", "h", "HSET h f v", true),
        ("HSET h f v", "h", "HSETNX h f w", false),
        ("HSET h f v", "h", "HDEL h g", false),
        ("ZADD z 1 a", "z", "ZADD z 1 a", false),
        ("ZADD z 1 a", "z", "ZADD z INCR 0 a", false),
        ("ZADD z 1 a", "z", "ZADD z 2 a", true),
        ("ZADD z 1 a", "z", "ZREM z b", false),
        ("ZADD z 1 a", "z", "ZREMRANGEBYSCORE z 5 6", false),
        ("ZADD z 1 a", "z", "ZPOPMIN z 0", false),
        ("SET s x", "s", "COPY nokey s", false),
        ("SET s x", "s", "RENAME s s", false),
        ("SET s x", "s", "RESTORE s 0 junk", false),
        ("PFADD p a", "p", "PFADD p a", false),
        ("PFADD p a", "p", "PFCOUNT p", true),
        ("", "p", "PFMERGE p", true),
        ("SET s x", "s", "SET s x", true),
    ];
    for (setup, key, write, dirty) in cases {
        assert_eq!(a.call("FLUSHALL"), "+OK\r\n");
        if !setup.is_empty() {
            a.call(setup);
        }
        if *write == "PFCOUNT p" {
            // The first count after PFADD rewrites the cached cardinality.
            assert_eq!(a.call("WATCH p"), "+OK\r\n");
            assert_eq!(b.call("PFCOUNT p"), ":1\r\n");
            assert_eq!(a.call("MULTI"), "+OK\r\n");
            assert_eq!(a.call("EXEC"), "*-1\r\n", "first PFCOUNT");
            // The cache is fresh now: a second count changes nothing.
            assert_eq!(a.call("WATCH p"), "+OK\r\n");
            assert_eq!(b.call("PFCOUNT p"), ":1\r\n");
            assert_eq!(a.call("MULTI"), "+OK\r\n");
            assert_eq!(a.call("EXEC"), "*0\r\n", "second PFCOUNT");
            continue;
        }
        assert_eq!(a.call(&format!("WATCH {key}")), "+OK\r\n");
        // `""` stands for an empty argument.
        let args: Vec<&[u8]> = write
            .split(' ')
            .map(|w| if w == "\"\"" { &b""[..] } else { w.as_bytes() })
            .collect();
        b.cmd(&args);
        assert_eq!(a.call("MULTI"), "+OK\r\n");
        let expected = if *dirty { "*-1\r\n" } else { "*0\r\n" };
        assert_eq!(
            a.call("EXEC"),
            expected,
            "after {setup:?} WATCH {key} then {write:?}"
        );
    }
}

#[test]
fn watched_key_that_expires_aborts_exec() {
    let node = Shoal::start(&["--hz", "1"]);
    let mut a = node.raw();
    assert_eq!(a.call("SET k v PX 50"), "+OK\r\n");
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("PING"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
}

#[test]
fn refused_exec_inside_multi_discards_the_transaction() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(r.call("SET a 1"), "+QUEUED\r\n");
    assert_eq!(
        r.call("EXEC now"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(r.call("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(
        r.call("EXEC now"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(r.call("EXISTS a"), ":0\r\n");
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(
        r.call("DISCARD now"),
        "-ERR wrong number of arguments for 'discard' command\r\n"
    );
    assert_eq!(r.call("PING"), "+QUEUED\r\n");
    assert_eq!(
        r.call("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}
