//! Hashes, lists and sets end to end: replies, encodings as Redis reports
//! them, and key deletion when a collection empties.

mod common;

use common::Shoal;

#[test]
fn hash_commands_and_listpack_to_hashtable() {
    let node = Shoal::start(&["--hash-max-listpack-entries", "4"]);
    let mut r = node.raw();
    assert_eq!(r.call("HSET h a 1 b 2"), ":2\r\n");
    assert_eq!(r.call("HSET h a 9"), ":0\r\n");
    assert_eq!(
        r.call("HGETALL h"),
        "*4\r\n$1\r\na\r\n$1\r\n9\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.call("HMGET h a nope"), "*2\r\n$1\r\n9\r\n$-1\r\n");
    assert_eq!(r.call("OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
    assert_eq!(r.call("HINCRBY h a 1"), ":10\r\n");
    assert_eq!(
        r.call("HINCRBY h b x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("HSET h s str"), ":1\r\n");
    assert_eq!(
        r.call("HINCRBY h s 1"),
        "-ERR hash value is not an integer\r\n"
    );
    assert_eq!(r.call("HSET h c 3 d 4"), ":2\r\n");
    assert_eq!(r.call("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    assert_eq!(r.call("HLEN h"), ":5\r\n");
    assert_eq!(r.call("HDEL h a b c d s"), ":5\r\n");
    assert_eq!(r.call("EXISTS h"), ":0\r\n");
    assert_eq!(
        r.call("HSET h a"),
        "-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(r.call("SET str v"), "+OK\r\n");
    assert_eq!(
        r.call("HGET str f"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

#[test]
fn list_commands_follow_redis() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("RPUSH l a b c d"), ":4\r\n");
    assert_eq!(r.call("LPUSH l z"), ":5\r\n");
    assert_eq!(
        r.call("LRANGE l 0 -1"),
        "*5\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
    );
    assert_eq!(r.call("LINDEX l -1"), "$1\r\nd\r\n");
    assert_eq!(r.call("LINSERT l BEFORE b x"), ":6\r\n");
    assert_eq!(r.call("LPOS l b"), ":3\r\n");
    assert_eq!(r.call("LREM l 0 x"), ":1\r\n");
    assert_eq!(r.call("LTRIM l 1 -2"), "+OK\r\n");
    assert_eq!(
        r.call("LRANGE l 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(r.call("LMOVE l m RIGHT LEFT"), "$1\r\nc\r\n");
    assert_eq!(
        r.call("LMPOP 2 nope l LEFT COUNT 5"),
        "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(r.call("EXISTS l"), ":0\r\n");
    assert_eq!(r.call("LPOP nope 2"), "*-1\r\n");
    assert_eq!(r.call("LSET m 5 x"), "-ERR index out of range\r\n");
    assert_eq!(r.call("OBJECT ENCODING m"), "$9\r\nquicklist\r\n");
}

#[test]
fn set_commands_and_intset_encoding() {
    let node = Shoal::start(&["--set-max-intset-entries", "3"]);
    let mut r = node.raw();
    assert_eq!(r.call("SADD s 3 1 2 2"), ":3\r\n");
    assert_eq!(r.call("OBJECT ENCODING s"), "$6\r\nintset\r\n");
    assert_eq!(
        r.call("SMEMBERS s"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(r.call("SADD s 4"), ":1\r\n");
    assert_eq!(r.call("OBJECT ENCODING s"), "$9\r\nhashtable\r\n");
    assert_eq!(r.call("SADD t 2 3 x"), ":3\r\n");
    assert_eq!(r.call("SINTERCARD 2 s t"), ":2\r\n");
    assert_eq!(r.call("SINTERSTORE d s t"), ":2\r\n");
    assert_eq!(r.call("OBJECT ENCODING d"), "$6\r\nintset\r\n");
    assert_eq!(r.call("SMISMEMBER t x y"), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(r.call("SMOVE t s x"), ":1\r\n");
    assert_eq!(r.call("SCARD s"), ":5\r\n");
    assert_eq!(r.call("SPOP t 10").lines().next(), Some("*2"));
    assert_eq!(r.call("EXISTS t"), ":0\r\n");
    assert_eq!(
        r.call("SPOP s -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(r.call("SRANDMEMBER s -5").lines().next(), Some("*5"));
    assert_eq!(
        r.call("SINTERCARD 0 s"),
        "-ERR numkeys should be greater than 0\r\n"
    );
}
