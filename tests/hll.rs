//! PFADD/PFCOUNT/PFMERGE end to end. Byte-level compatibility with Redis
//! is pinned by the fixtures in crates/store/src/hll.rs.

mod common;

use common::Shoal;

#[test]
fn hyperloglog_commands_count_and_merge() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("PFADD a x y z"), ":1\r\n");
    assert_eq!(r.call("PFADD a x"), ":0\r\n");
    assert_eq!(r.call("PFCOUNT a"), ":3\r\n");
    assert_eq!(r.call("PFADD b z w"), ":1\r\n");
    assert_eq!(r.call("PFCOUNT a b nosuch"), ":4\r\n");
    assert_eq!(r.call("PFMERGE c a b"), "+OK\r\n");
    assert_eq!(r.call("PFCOUNT c"), ":4\r\n");
    assert_eq!(r.call("OBJECT ENCODING c"), "$3\r\nraw\r\n");
    assert!(r.call("GET c").contains("HYLL"));
    assert_eq!(r.call("SET s notanhll"), "+OK\r\n");
    assert_eq!(
        r.call("PFADD s x"),
        "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
    );
    assert_eq!(r.call("RPUSH l x"), ":1\r\n");
    assert_eq!(
        r.call("PFCOUNT l"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

/// Several keys are checked one by one in argument order (PFMERGE's
/// destination first): the first bad key decides the error.
#[test]
fn multi_key_hll_errors_follow_argument_order() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET s notanhll"), "+OK\r\n");
    assert_eq!(r.call("HSET h f v"), ":1\r\n");
    assert_eq!(r.call("PFADD p a"), ":1\r\n");
    let not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    let wrong_type = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(r.call("PFCOUNT p s h"), not_hll);
    assert_eq!(r.call("PFCOUNT p h s"), wrong_type);
    assert_eq!(r.call("PFMERGE s p h"), not_hll);
    assert_eq!(r.call("PFMERGE p h s"), wrong_type);
    assert_eq!(r.call("PFMERGE h s"), wrong_type);
}
