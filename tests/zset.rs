//! Sorted sets end to end: replies in RESP2 and RESP3 as Redis 7.0 writes
//! them, option conflicts and their errors, encodings and conversions,
//! set algebra, ZSCAN's guarantee, and the blocking pops.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{encode, wait_until, Raw, Shoal};

fn blocked_clients(node: &Shoal) -> usize {
    let list = node.raw().call("CLIENT LIST");
    ["cmd=bzpopmin", "cmd=bzpopmax", "cmd=bzmpop", "cmd=blpop"]
        .iter()
        .map(|c| list.matches(c).count())
        .sum()
}

fn resp3(node: &Shoal) -> Raw {
    let mut r = node.raw();
    r.call("HELLO 3");
    r
}

#[test]
fn zadd_options_conflicts_and_replies() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("ZADD z 1 a 2 b 3 c"), ":3\r\n");
    assert_eq!(
        r.call("ZADD z NX XX 1 a"),
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    assert_eq!(
        r.call("ZADD z GT LT 1 a"),
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
    );
    assert_eq!(
        r.call("ZADD z NX GT 1 a"),
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
    );
    assert_eq!(
        r.call("ZADD z INCR 1 a 2 b"),
        "-ERR INCR option supports a single increment-element pair\r\n"
    );
    assert_eq!(r.call("ZADD z 1 a 2"), "-ERR syntax error\r\n");
    assert_eq!(r.call("ZADD z NX XX"), "-ERR syntax error\r\n");
    assert_eq!(r.call("ZADD z x a"), "-ERR value is not a valid float\r\n");
    assert_eq!(
        r.call("ZADD z nan a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        r.call("ZADD z 1e400 a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(r.call("ZADD z CH 5 a 2 b 7 d"), ":2\r\n");
    assert_eq!(r.call("ZADD z XX CH 6 a 9 nosuch"), ":1\r\n");
    assert_eq!(r.call("ZADD z GT CH 1 a 10 b"), ":1\r\n");
    assert_eq!(r.call("ZADD z INCR LT 1 a"), "$-1\r\n");
    assert_eq!(r.call("ZADD z INCR -1.5 a"), "$3\r\n4.5\r\n");
    assert_eq!(r.call("ZADD nokey XX 1 a"), ":0\r\n");
    assert_eq!(r.call("ZADD nokey XX INCR 1 a"), "$-1\r\n");
    assert_eq!(r.call("EXISTS nokey"), ":0\r\n");
    assert_eq!(r.call("ZADD inf +inf a"), ":1\r\n");
    assert_eq!(
        r.call("ZINCRBY inf -inf a"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(r.call("ZINCRBY z nx a"), "-ERR syntax error\r\n");
    assert_eq!(r.call("ZINCRBY z 0.5 new"), "$3\r\n0.5\r\n");
    let mut r3 = resp3(&node);
    assert_eq!(r3.call("ZINCRBY z 0.25 new"), ",0.75\r\n");
    assert_eq!(r3.call("ZSCORE z nosuch"), "_\r\n");
    assert_eq!(r3.call("ZMSCORE z new nosuch"), "*2\r\n,0.75\r\n_\r\n");
    assert_eq!(r.call("SET s x"), "+OK\r\n");
    assert_eq!(
        r.call("ZADD s 1 a"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

#[test]
fn zrange_forms_and_their_errors() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(
        r.call("ZRANGE z 0 -1 WITHSCORES"),
        "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z (1 +inf BYSCORE LIMIT 1 2"),
        "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z +inf -inf BYSCORE REV LIMIT 0 1"),
        "*1\r\n$1\r\nd\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z [b (d BYLEX"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z 0 -1 LIMIT 0 1"),
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z - + BYLEX WITHSCORES"),
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z 0 -1 BYSCORE BYLEX"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z x y BYSCORE"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        r.call("ZRANGE z x y BYLEX"),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(r.call("ZRANGEBYSCORE z 0 10 REV"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("ZREVRANGEBYSCORE z 3 (1 WITHSCORES"),
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        r.call("ZREVRANGEBYLEX z + - LIMIT 1 1"),
        "*1\r\n$1\r\nc\r\n"
    );
    assert_eq!(r.call("ZREVRANGE z 0 0"), "*1\r\n$1\r\nd\r\n");
    assert_eq!(r.call("ZCOUNT z (1 3"), ":2\r\n");
    assert_eq!(r.call("ZLEXCOUNT z [b +"), ":3\r\n");
    assert_eq!(r.call("ZRANK z c"), ":2\r\n");
    assert_eq!(r.call("ZREVRANK z c"), ":1\r\n");
    assert_eq!(r.call("ZRANK z nosuch"), "$-1\r\n");
    // RESP3: pairs of member and double.
    let mut r3 = resp3(&node);
    assert_eq!(
        r3.call("ZRANGE z 0 1 WITHSCORES"),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    );
    // ZRANGESTORE: a listpack destination; an empty range deletes it.
    assert_eq!(r.call("ZRANGESTORE dst z 1 2"), ":2\r\n");
    assert_eq!(r.call("OBJECT ENCODING dst"), "$8\r\nlistpack\r\n");
    assert_eq!(
        r.call("ZRANGESTORE dst z 0 -1 WITHSCORES"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(r.call("ZRANGESTORE dst z 5 9"), ":0\r\n");
    assert_eq!(r.call("EXISTS dst"), ":0\r\n");
}

#[test]
fn removal_and_pops_delete_the_emptied_key() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f");
    assert_eq!(r.call("ZREM z a nosuch"), ":1\r\n");
    assert_eq!(r.call("ZREMRANGEBYRANK z 0 0"), ":1\r\n");
    assert_eq!(r.call("ZREMRANGEBYSCORE z (3 4"), ":1\r\n");
    assert_eq!(r.call("ZREMRANGEBYLEX z [c [c"), ":1\r\n");
    assert_eq!(r.call("ZPOPMIN z"), "*2\r\n$1\r\ne\r\n$1\r\n5\r\n");
    assert_eq!(
        r.call("ZPOPMIN z -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(r.call("ZPOPMIN z 0"), "*0\r\n");
    let mut r3 = resp3(&node);
    assert_eq!(r3.call("ZPOPMAX z 5"), "*1\r\n*2\r\n$1\r\nf\r\n,6\r\n");
    assert_eq!(r.call("EXISTS z"), ":0\r\n");
    assert_eq!(r.call("ZPOPMIN z"), "*0\r\n");
    r.call("ZADD y 1 a 2 b 3 c");
    assert_eq!(
        r.call("ZMPOP 2 nokey y MAX COUNT 2"),
        "*2\r\n$1\r\ny\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.call("ZMPOP 1 nokey MIN"), "*-1\r\n");
    assert_eq!(
        r.call("ZMPOP 0 y MIN"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        r.call("ZMPOP 1 y MIN COUNT 0"),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(r.call("ZMPOP 5 y MIN"), "-ERR syntax error\r\n");
}

#[test]
fn encodings_convert_at_the_configured_limits() {
    let node = Shoal::start(&[
        "--zset-max-listpack-entries",
        "4",
        "--zset-max-listpack-value",
        "8",
    ]);
    let mut r = node.raw();
    assert_eq!(
        r.call("CONFIG GET zset-max-listpack-entries"),
        "*2\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n4\r\n"
    );
    r.call("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(r.call("OBJECT ENCODING z"), "$8\r\nlistpack\r\n");
    assert_eq!(r.call("TYPE z"), "+zset\r\n");
    r.call("ZADD z 5 e");
    assert_eq!(r.call("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");
    r.call("ZADD long 1 longer-than-8");
    assert_eq!(r.call("OBJECT ENCODING long"), "$8\r\nskiplist\r\n");
    // A skiplist stays one after shrinking; a store destination shrinks.
    r.call("ZREM z e d");
    assert_eq!(r.call("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");
    assert_eq!(r.call("ZUNIONSTORE u 1 z"), ":3\r\n");
    assert_eq!(r.call("OBJECT ENCODING u"), "$8\r\nlistpack\r\n");
    // Generic commands see sorted sets.
    assert_eq!(r.call("COPY z z2"), ":1\r\n");
    assert_eq!(r.call("RENAME z2 z3"), "+OK\r\n");
    assert_eq!(
        r.call("ZRANGE z3 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(r.call("CONFIG SET zset-max-listpack-entries 0"), "+OK\r\n");
    r.call("ZADD fresh 1 a");
    assert_eq!(r.call("OBJECT ENCODING fresh"), "$8\r\nskiplist\r\n");
}

#[test]
fn set_algebra_weights_aggregates_and_plain_sets() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("ZADD z1 1 a 2 b 3 c");
    r.call("ZADD z2 10 b 20 c 30 d");
    r.call("SADD s a d");
    assert_eq!(
        r.call("ZUNION 3 z1 z2 s WITHSCORES"),
        "*8\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n31\r\n"
    );
    assert_eq!(
        r.call("ZINTER 2 z1 z2 WEIGHTS 2 1 AGGREGATE MAX WITHSCORES"),
        "*4\r\n$1\r\nb\r\n$2\r\n10\r\n$1\r\nc\r\n$2\r\n20\r\n"
    );
    assert_eq!(
        r.call("ZDIFF 2 z1 z2 WITHSCORES"),
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(r.call("ZDIFF 2 z1 z2 WEIGHTS 1 1"), "-ERR syntax error\r\n");
    assert_eq!(r.call("ZINTERCARD 2 z1 z2 LIMIT 1"), ":1\r\n");
    assert_eq!(
        r.call("ZINTERCARD 2 z1 z2 LIMIT -1"),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(
        r.call("ZUNION 0 z1"),
        "-ERR at least 1 input key is needed for 'zunion' command\r\n"
    );
    assert_eq!(r.call("ZUNION 3 z1 z2"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("ZUNION 2 z1 z2 WEIGHTS 1 x"),
        "-ERR weight value is not a float\r\n"
    );
    r.call("SET str x");
    // Types are checked before the options are parsed.
    assert_eq!(
        r.call("ZUNION 2 z1 str BOGUS"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    // +inf plus -inf is 0 in SUM, as in Redis.
    r.call("ZADD p 1 a");
    assert_eq!(
        r.call("ZUNION 2 p p WEIGHTS +inf -inf WITHSCORES"),
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n"
    );
    assert_eq!(r.call("ZINTERSTORE d 2 z1 z2"), ":2\r\n");
    assert_eq!(
        r.call("ZRANGE d 0 -1 WITHSCORES"),
        "*4\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n"
    );
    assert_eq!(r.call("ZINTERSTORE d 2 z1 nokey"), ":0\r\n");
    assert_eq!(r.call("EXISTS d"), ":0\r\n");
    let mut r3 = resp3(&node);
    assert_eq!(
        r3.call("ZDIFF 1 z1 WITHSCORES"),
        "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    );
    assert_eq!(
        r.call("COMMAND GETKEYS ZUNIONSTORE d 2 z1 z2 WEIGHTS 1 2"),
        "*3\r\n$1\r\nd\r\n$2\r\nz1\r\n$2\r\nz2\r\n"
    );
}

#[test]
fn zrandmember_counts_and_shapes() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("ZADD z 1 a 2 b 3 c");
    // A count past the size returns the whole set, highest first, as Redis.
    assert_eq!(
        r.call("ZRANDMEMBER z 10 WITHSCORES"),
        "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(r.call("ZRANDMEMBER z 0"), "*0\r\n");
    assert_eq!(r.call("ZRANDMEMBER nokey"), "$-1\r\n");
    assert_eq!(r.call("ZRANDMEMBER nokey 3"), "*0\r\n");
    assert_eq!(r.call("ZRANDMEMBER z 1 WITHSCORE"), "-ERR syntax error\r\n");
    let picks = r.call("ZRANDMEMBER z -5");
    assert!(picks.starts_with("*5\r\n"), "{picks}");
    let mut r3 = resp3(&node);
    let pairs = r3.call("ZRANDMEMBER z -2 WITHSCORES");
    assert!(pairs.starts_with("*2\r\n*2\r\n$1\r\n"), "{pairs}");
    // Negative counts are bounded (README: compatibility).
    assert_eq!(
        r.call("ZRANDMEMBER z -2000000"),
        "-ERR value is out of range\r\n"
    );
    assert_eq!(
        r.call("ZRANDMEMBER z -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
}

/// Reads a ZSCAN reply: (cursor, [member, score, ...]).
fn scan_reply(reply: &str) -> (u64, Vec<String>) {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let cursor = lines[2].parse().expect("cursor");
    let items = lines[4..]
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| (*s).to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (cursor, items)
}

#[test]
fn zscan_returns_every_member_present_throughout_despite_deletes() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    let mut args: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"big".to_vec()];
    for i in 0..1000 {
        args.push(i.to_string().into_bytes());
        args.push(format!("m{i}").into_bytes());
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    assert_eq!(r.cmd(&refs), ":1000\r\n");
    assert_eq!(r.call("OBJECT ENCODING big"), "$8\r\nskiplist\r\n");
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    let mut calls = 0;
    loop {
        let (next, items) = scan_reply(&r.call(&format!("ZSCAN big {cursor} COUNT 10")));
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone());
        }
        calls += 1;
        // Delete low-ranked members between calls: a rank cursor would skip.
        r.call("ZREMRANGEBYRANK big 0 4");
        cursor = next;
        if cursor == 0 {
            break;
        }
        assert!(calls < 200, "ZSCAN did not finish");
    }
    let left = r.call("ZRANGE big 0 -1");
    let left: Vec<&str> = left
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with(['*', '$']))
        .collect();
    assert!(left.len() > 400, "{} left", left.len());
    for m in left {
        assert!(
            seen.contains(m),
            "{m} present throughout but never returned"
        );
    }
    // A listpack comes back whole, with scores as stored.
    r.call("ZADD small 1e17 a 0.5 b");
    assert_eq!(
        r.call("ZSCAN small 0 COUNT 1"),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$3\r\n0.5\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n"
    );
    assert_eq!(r.call("ZSCAN nokey 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.call("ZSCAN small 0 COUNT 0"), "-ERR syntax error\r\n");
}

#[test]
fn bzpopmin_waits_and_is_served_oldest_first() {
    let node = Shoal::start(&[]);
    let mut first = node.raw();
    first.send(&encode(&[b"BZPOPMIN", b"z", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    let mut second = resp3(&node);
    second.send(&encode(&[b"BZPOPMAX", b"other", b"z", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 2);
    assert_eq!(node.raw().call("ZADD z 2 x 1 y"), ":2\r\n");
    assert_eq!(first.reply(), "*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\n1\r\n");
    assert_eq!(second.reply(), "*3\r\n$1\r\nz\r\n$1\r\nx\r\n,2\r\n");
    assert_eq!(node.raw().call("EXISTS z"), ":0\r\n");
}

#[test]
fn list_and_sorted_set_waiters_on_one_key_get_only_their_type() {
    let node = Shoal::start(&[]);
    let mut list_waiter = node.raw();
    list_waiter.send(&encode(&[b"BLPOP", b"k", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    let mut zset_waiter = node.raw();
    zset_waiter.send(&encode(&[
        b"BZMPOP", b"0", b"1", b"k", b"MAX", b"COUNT", b"2",
    ]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 2);
    let mut r = node.raw();
    // A store into the key wakes the sorted-set waiter, not the list one.
    r.call("ZADD src 1 a 2 b 3 c");
    assert_eq!(r.call("ZUNIONSTORE k 1 src"), ":3\r\n");
    assert_eq!(
        zset_waiter.reply(),
        "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    // The list waiter is still waiting: it gets the next push.
    assert_eq!(r.call("DEL k"), ":1\r\n");
    assert_eq!(r.call("RPUSH k v"), ":1\r\n");
    assert_eq!(list_waiter.reply(), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

#[test]
fn blocking_pops_check_types_key_by_key_and_time_out_with_null() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    r.call("SET str x");
    r.call("ZADD ok 1 a");
    // The first non-empty key is served before a later wrong type is seen.
    assert_eq!(
        r.call("BZPOPMIN ok str 0"),
        "*3\r\n$2\r\nok\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.call("BZPOPMIN str ok 0"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(r.call("BZPOPMIN none 0.05"), "*-1\r\n");
    assert_eq!(r.call("BZMPOP 0.05 1 none MIN"), "*-1\r\n");
    assert_eq!(r.call("BZPOPMAX none inf"), "-ERR timeout is negative\r\n");
    assert_eq!(r.call("BZMPOP x 1 none FOO"), "-ERR syntax error\r\n");
    let mut r3 = resp3(&node);
    assert_eq!(r3.call("BZPOPMIN none 0.05"), "_\r\n");
    // Inside EXEC nothing blocks.
    r.call("MULTI");
    r.call("BZPOPMIN none 0");
    assert_eq!(r.call("EXEC"), "*1\r\n*-1\r\n");
}
