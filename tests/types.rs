//! Hashes, lists and sets end to end: replies, encodings as Redis reports
//! them, and key deletion when a collection empties.

mod common;

use common::Shoal;

#[test]
fn compact_encoding_defaults_are_redis_7_0s() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("CONFIG GET hash-max-listpack-entries"),
        "*2\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n"
    );
    assert_eq!(
        r.call("CONFIG GET zset-max-ziplist-entries"),
        "*2\r\n$24\r\nzset-max-ziplist-entries\r\n$3\r\n128\r\n"
    );
    let mut hset = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..512 {
        hset.push(format!("f{i}"));
        hset.push("v".to_string());
    }
    assert_eq!(r.call(&hset.join(" ")), ":512\r\n");
    assert_eq!(r.call("OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
    assert_eq!(r.call("HSET h f512 v"), ":1\r\n");
    assert_eq!(r.call("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
}

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
    assert_eq!(r.call("LPOP nope 0"), "*-1\r\n");
    assert_eq!(r.call("LPOP m 0"), "*0\r\n");
    assert_eq!(
        r.call("LPOP m 1 2"),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    // The *MPOP family checks numkeys, then the side, then COUNT.
    assert_eq!(
        r.call("LMPOP 0 m LEFT"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        r.call("LMPOP x m LEFT"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(r.call("LMPOP 1 m UP"), "-ERR syntax error\r\n");
    assert_eq!(r.call("LMPOP 5 m LEFT"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("LMPOP 1 m LEFT COUNT 0"),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        r.call("BLMPOP x 1 m LEFT COUNT 0"),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        r.call("BLMPOP x 1 m LEFT"),
        "-ERR timeout is not a float or out of range\r\n"
    );
    // LINDEX looks the key up before it reads the index.
    assert_eq!(r.call("LINDEX nope x"), "$-1\r\n");
    assert_eq!(
        r.call("LINDEX m -0"),
        "-ERR value is not an integer or out of range\r\n"
    );
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

#[test]
fn argument_checks_follow_redis_order() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("RPUSH l a b a c a"), ":5\r\n");
    // RANK of i64::MIN wraps in Redis and acts as RANK -1.
    assert_eq!(
        r.call("LPOS l a RANK -9223372036854775808 COUNT 0"),
        "*3\r\n:4\r\n:2\r\n:0\r\n"
    );
    assert_eq!(
        r.call("HRANDFIELD nokey -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        r.call("HRANDFIELD nokey 9223372036854775807 WITHVALUES"),
        "-ERR value is out of range\r\n"
    );
    assert_eq!(r.call("SRANDMEMBER nokey x 2"), "-ERR syntax error\r\n");
    // A missing key answers an empty scan before the options are read.
    assert_eq!(r.call("HSCAN nokey 0 TYPE x"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.call("SADD s a"), ":1\r\n");
    assert_eq!(r.call("SSCAN s 0 TYPE x"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("SINTERCARD x s"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        r.call("SINTERCARD 1 s LIMIT x"),
        "-ERR LIMIT can't be negative\r\n"
    );
    // A refused PFADD leaves the string's encoding alone.
    assert_eq!(r.call("SET str hello"), "+OK\r\n");
    assert_eq!(
        r.call("PFADD str a"),
        "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
    );
    assert_eq!(r.call("OBJECT ENCODING str"), "$6\r\nembstr\r\n");
}
