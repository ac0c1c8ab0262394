//! The lock namespace on one node: Redis's reply shapes for the commands a
//! lock takes, the errors for anything else, and cache keys untouched.
//! (Across nodes and leader changes: tests/cluster.rs.)

mod common;

use common::Shoal;

const NOT_TAKEN: &str = "is not allowed on the lock namespace (keys starting with 'lock:'): it takes SET, GET, EXISTS, PTTL, TTL, PEXPIRE, EXPIRE, PERSIST, DEL, UNLINK, DELEX, DELIFEQ and LOCK.TOKEN";

#[test]
fn lock_commands_answer_as_redis_does() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    let hset = format!("-ERR 'hset' {NOT_TAKEN}\r\n");
    let big = format!("SET lock:a {} NX", "v".repeat(4097));
    let steps: &[(&str, &str)] = &[
        ("SET lock:a me NX PX 60000", "+OK\r\n"),
        ("SET lock:a you NX PX 60000", "$-1\r\n"),
        ("SET lock:a you NX PX 60000 GET", "$2\r\nme\r\n"),
        ("GET lock:a", "$2\r\nme\r\n"),
        ("EXISTS lock:a lock:b lock:a", ":2\r\n"),
        ("LOCK.TOKEN lock:b", "$-1\r\n"),
        // Release and extend by a non-holder are refused.
        ("DELIFEQ lock:a you", ":0\r\n"),
        ("DELEX lock:a IFEQ you", ":0\r\n"),
        ("SET lock:a you IFEQ you PX 1000", "$-1\r\n"),
        ("SET lock:a me IFEQ me PX 120000", "+OK\r\n"),
        ("TTL lock:a", ":120\r\n"),
        ("DELEX lock:a IFEQ me", ":1\r\n"),
        ("GET lock:a", "$-1\r\n"),
        ("PTTL lock:a", ":-2\r\n"),
        ("SET lock:b x", "+OK\r\n"),
        ("PTTL lock:b", ":-1\r\n"),
        ("PEXPIRE lock:b 50000 XX", ":0\r\n"),
        ("PEXPIRE lock:b 50000 NX", ":1\r\n"),
        ("EXPIRE lock:b 10 GT", ":0\r\n"),
        ("PERSIST lock:b", ":1\r\n"),
        ("DEL lock:b lock:c", ":1\r\n"),
        ("SET lock:a me PXAT 1", "-ERR a lock's lease takes EX or PX (a duration), not EXAT or PXAT\r\n"),
        ("SET lock:a me EX 0", "-ERR invalid expire time in 'set' command\r\n"),
        ("SET lock:a me NX XX", "-ERR syntax error\r\n"),
        (&big, "-ERR a lock's key and value take at most 4096 bytes each\r\n"),
        ("HSET lock:h f v", &hset),
        (
            "MGET lock:a plain",
            "-ERR keys of the lock namespace (keys starting with 'lock:') cannot be mixed with other keys in one command\r\n",
        ),
        // A shard channel is not a lock.
        ("SPUBLISH lock:news hello", ":0\r\n"),
        // Cache keys: untouched by the namespace, and locks are not in the keyspace.
        ("SET plain v", "+OK\r\n"),
        ("DBSIZE", ":1\r\n"),
        ("DELIFEQ plain w", ":0\r\n"),
        ("DELEX plain IFNE w", ":1\r\n"),
        ("HSET h f v", ":1\r\n"),
        ("DELIFEQ h v", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("DELEX h", ":1\r\n"),
        (
            "LOCK.TOKEN plain",
            "-ERR LOCK.TOKEN takes a key of the lock namespace (see lock-prefix)\r\n",
        ),
        // Not inside MULTI: the transaction is refused.
        ("MULTI", "+OK\r\n"),
        (
            "SET lock:a me NX",
            "-ERR commands on the lock namespace (keys starting with 'lock:') cannot run inside MULTI\r\n",
        ),
        ("EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n"),
    ];
    for (command, reply) in steps {
        assert_eq!(r.call(command), *reply, "{command}");
    }
}

#[test]
fn fencing_tokens_grow_with_each_holder_and_prefixes_are_settings() {
    let node = Shoal::start(&["--lock-prefix", "lock: mutex/"]);
    let mut r = node.raw();
    let token = |r: &mut common::Raw, key: &str| -> i64 {
        let reply = r.call(&format!("LOCK.TOKEN {key}"));
        reply
            .trim_start_matches(':')
            .trim_end()
            .parse()
            .unwrap_or_else(|_| panic!("LOCK.TOKEN {key}: {reply:?}"))
    };
    let mut last = 0;
    for holder in ["a", "b", "c"] {
        assert_eq!(
            r.call(&format!("SET mutex/x {holder} NX PX 60000")),
            "+OK\r\n"
        );
        let t = token(&mut r, "mutex/x");
        assert!(t > last, "{holder}: {t} after {last}");
        // The holder's extension keeps the token.
        assert_eq!(
            r.call(&format!("SET mutex/x {holder} IFEQ {holder} PX 60000")),
            "+OK\r\n"
        );
        assert_eq!(token(&mut r, "mutex/x"), t);
        assert_eq!(r.call(&format!("DELIFEQ mutex/x {holder}")), ":1\r\n");
        last = t;
    }
    assert_eq!(
        r.call("CONFIG GET lock-prefix"),
        "*2\r\n$11\r\nlock-prefix\r\n$12\r\nlock: mutex/\r\n"
    );
    // Another prefix: mutex/ keys are cache keys again.
    assert_eq!(r.call("CONFIG SET lock-prefix lock:"), "+OK\r\n");
    assert_eq!(r.call("HSET mutex/x f v"), ":1\r\n");
}
