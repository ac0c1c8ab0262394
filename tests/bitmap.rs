//! Bitmap commands end to end, with Redis 7.0's exact replies: SETBIT,
//! GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, their range
//! rules, overflow modes, argument-order quirks and size limits.

mod common;

use std::io::{BufRead, Read};

use common::{Raw, Shoal};

/// The bytes a key holds, read straight off the wire (the reply text of
/// [`Raw::cmd`] is lossy for non-UTF-8 bytes); `None` for nil.
fn value(r: &mut Raw, key: &str) -> Option<Vec<u8>> {
    r.send(&common::encode(&[b"GET", key.as_bytes()]));
    let mut line = String::new();
    r.reader.read_line(&mut line).expect("reply line");
    let len: i64 = line[1..].trim_end().parse().expect("bulk length");
    let len = usize::try_from(len).ok()?;
    let mut body = vec![0u8; len + 2];
    r.reader.read_exact(&mut body).expect("bulk body");
    body.truncate(len);
    Some(body)
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_TYPE: &str = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";

#[test]
fn setbit_grows_the_string_and_returns_the_old_bit() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SETBIT k 7 1"), ":0\r\n");
    assert_eq!(value(&mut r, "k"), Some(b"\x01".to_vec()));
    assert_eq!(r.call("OBJECT ENCODING k"), "$3\r\nraw\r\n");
    assert_eq!(r.call("SETBIT k 7 1"), ":1\r\n");
    assert_eq!(r.call("SETBIT k 7 0"), ":1\r\n");
    assert_eq!(r.call("SETBIT k 20 1"), ":0\r\n");
    assert_eq!(r.call("STRLEN k"), ":3\r\n");
    assert_eq!(value(&mut r, "k"), Some(b"\0\0\x08".to_vec()));
    // An integer-encoded string is edited as its decimal text; TTLs stay.
    assert_eq!(r.call("SET n 7"), "+OK\r\n");
    assert_eq!(r.call("EXPIRE n 100"), ":1\r\n");
    assert_eq!(r.call("SETBIT n 6 0"), ":1\r\n");
    assert_eq!(r.call("GET n"), "$1\r\n5\r\n");
    assert_eq!(r.call("TTL n"), ":100\r\n");
    assert_eq!(r.call("OBJECT ENCODING n"), "$3\r\nraw\r\n");
}

#[test]
fn setbit_and_getbit_reject_bad_offsets_and_bits() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SETBIT k 4294967296 1"), BAD_OFFSET);
    assert_eq!(r.call("SETBIT k -1 1"), BAD_OFFSET);
    assert_eq!(r.call("SETBIT k #1 1"), BAD_OFFSET);
    assert_eq!(r.call("SETBIT k x 1"), BAD_OFFSET);
    let bad_bit = "-ERR bit is not an integer or out of range\r\n";
    assert_eq!(r.call("SETBIT k 0 2"), bad_bit);
    assert_eq!(r.call("SETBIT k 0 -1"), bad_bit);
    assert_eq!(r.call("SETBIT k 0 x"), bad_bit);
    assert_eq!(r.call("EXISTS k"), ":0\r\n");
    assert_eq!(r.call("GETBIT k 4294967295"), ":0\r\n");
    assert_eq!(r.call("GETBIT k 4294967296"), BAD_OFFSET);
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    // The offset is checked before the key's type, the bit value after.
    assert_eq!(r.call("SETBIT l x 1"), BAD_OFFSET);
    assert_eq!(r.call("SETBIT l 0 1"), WRONGTYPE);
    assert_eq!(r.call("GETBIT l 0"), WRONGTYPE);
    assert_eq!(r.call("SET s foobar"), "+OK\r\n");
    assert_eq!(r.call("GETBIT s 1"), ":1\r\n");
    assert_eq!(r.call("GETBIT s 2"), ":1\r\n");
    assert_eq!(r.call("GETBIT s 3"), ":0\r\n");
    assert_eq!(r.call("GETBIT s 48"), ":0\r\n");
}

#[test]
fn bit_offsets_are_bounded_by_proto_max_bulk_len() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("CONFIG SET proto-max-bulk-len 1mb"), "+OK\r\n");
    assert_eq!(r.call("SETBIT k 8388607 1"), ":0\r\n");
    assert_eq!(r.call("STRLEN k"), ":1048576\r\n");
    assert_eq!(r.call("SETBIT k 8388608 1"), BAD_OFFSET);
    assert_eq!(r.call("BITFIELD k GET u8 8388608"), BAD_OFFSET);
    assert_eq!(r.call("BITFIELD k SET u8 #1048576 1"), BAD_OFFSET);
    // A field may start at the last legal offset and run a little past it.
    assert_eq!(
        r.call("BITFIELD k SET i64 8388607 -1"),
        "*1\r\n:-9223372036854775808\r\n"
    );
    assert_eq!(r.call("STRLEN k"), ":1048584\r\n");
    assert_eq!(r.call("BITCOUNT k"), ":64\r\n");
}

#[test]
fn bitcount_counts_byte_and_bit_ranges() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET s foobar"), "+OK\r\n");
    assert_eq!(r.call("BITCOUNT s"), ":26\r\n");
    assert_eq!(r.call("BITCOUNT s 0 0"), ":4\r\n");
    assert_eq!(r.call("BITCOUNT s 1 1"), ":6\r\n");
    assert_eq!(r.call("BITCOUNT s -2 -1"), ":7\r\n");
    assert_eq!(r.call("BITCOUNT s 1 1 BYTE"), ":6\r\n");
    assert_eq!(r.call("BITCOUNT s 5 30 bit"), ":17\r\n");
    assert_eq!(r.call("BITCOUNT s -100 100"), ":26\r\n");
    assert_eq!(r.call("BITCOUNT s 4 2"), ":0\r\n");
    assert_eq!(r.call("BITCOUNT s 3 12 bit"), ":5\r\n");
    assert_eq!(r.call("BITCOUNT nokey 0 -1"), ":0\r\n");
    assert_eq!(r.call("SET i 12345"), "+OK\r\n");
    assert_eq!(r.call("BITCOUNT i"), ":17\r\n");
}

#[test]
fn bitcount_checks_the_key_before_its_arguments() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    // Redis 7.0: a missing key is 0 whatever follows; a wrong type wins over
    // bad arguments; a reversed negative range is 0 before the unit is read.
    assert_eq!(r.call("BITCOUNT nokey a b"), ":0\r\n");
    assert_eq!(r.call("BITCOUNT nokey 0"), ":0\r\n");
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    assert_eq!(r.call("BITCOUNT l x y"), WRONGTYPE);
    assert_eq!(r.call("SET s foobar"), "+OK\r\n");
    assert_eq!(
        r.call("BITCOUNT s x y"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("BITCOUNT s 0"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITCOUNT s 1 2 3 4"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITCOUNT s 0 -1 foo"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITCOUNT s -1 -5 foo"), ":0\r\n");
}

#[test]
fn bitpos_finds_set_and_clear_bits() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.cmd(&[b"SET", b"k", b"\xff\xf0\x00"]), "+OK\r\n");
    assert_eq!(r.call("BITPOS k 0"), ":12\r\n");
    assert_eq!(r.call("BITPOS k 1 2"), ":-1\r\n");
    assert_eq!(r.call("BITPOS k 1 1"), ":8\r\n");
    assert_eq!(r.call("BITPOS k 1 -1"), ":-1\r\n");
    assert_eq!(r.call("BITPOS k 1 7 15 BIT"), ":7\r\n");
    assert_eq!(r.call("BITPOS k 0 7 15 BIT"), ":12\r\n");
    assert_eq!(r.call("BITPOS k 1 13 23 bit"), ":-1\r\n");
    assert_eq!(r.call("BITPOS k 0 4 2"), ":-1\r\n");
    assert_eq!(r.call("BITPOS nokey 0"), ":0\r\n");
    assert_eq!(r.call("BITPOS nokey 1"), ":-1\r\n");
    assert_eq!(r.cmd(&[b"SET", b"e", b""]), "+OK\r\n");
    assert_eq!(r.call("BITPOS e 0"), ":-1\r\n");
}

#[test]
fn bitpos_on_all_ones_depends_on_whether_an_end_was_given() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.cmd(&[b"SET", b"ones", b"\xff\xff\xff"]), "+OK\r\n");
    // Without an end the string counts as padded with zeros...
    assert_eq!(r.call("BITPOS ones 0"), ":24\r\n");
    assert_eq!(r.call("BITPOS ones 0 1"), ":24\r\n");
    // ...with one, a clear bit past the range is not found.
    assert_eq!(r.call("BITPOS ones 0 0 -1"), ":-1\r\n");
    assert_eq!(r.call("BITPOS ones 0 1 -1"), ":-1\r\n");
    assert_eq!(r.call("BITPOS ones 0 0 -1 BIT"), ":-1\r\n");
    assert_eq!(r.call("BITPOS ones 0 3 5 bit"), ":-1\r\n");
    assert_eq!(r.call("BITPOS ones 1 3 5 bit"), ":3\r\n");
    assert_eq!(r.call("BITPOS ones 1"), ":0\r\n");
}

#[test]
fn bitpos_argument_errors_follow_redis_order() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    let bad_bit = "-ERR The bit argument must be 1 or 0.\r\n";
    assert_eq!(r.call("BITPOS nokey 2"), bad_bit);
    assert_eq!(r.call("BITPOS nokey 1 a"), ":-1\r\n");
    assert_eq!(r.call("BITPOS nokey 0 1 2 3 4 5"), ":0\r\n");
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    assert_eq!(r.call("BITPOS l 3"), bad_bit);
    assert_eq!(r.call("BITPOS l 1 a"), WRONGTYPE);
    assert_eq!(r.call("SET s foobar"), "+OK\r\n");
    assert_eq!(
        r.call("BITPOS s 1 a"),
        "-ERR value is not an integer or out of range\r\n"
    );
    // The unit is read before the end.
    assert_eq!(r.call("BITPOS s 1 0 a foo"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITPOS s 1 0 1 2 3"), "-ERR syntax error\r\n");
}

#[test]
fn bitop_combines_sources_padded_with_zeros() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET a foo"), "+OK\r\n");
    assert_eq!(r.call("SET b bar"), "+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"c", b"\x00\xff\x10abc"]), "+OK\r\n");
    assert_eq!(r.call("BITOP AND d a b"), ":3\r\n");
    assert_eq!(r.call("GET d"), "$3\r\nbab\r\n");
    assert_eq!(r.call("OBJECT ENCODING d"), "$3\r\nraw\r\n");
    assert_eq!(r.call("BITOP OR d a b c"), ":6\r\n");
    assert_eq!(value(&mut r, "d"), Some(b"f\xff\x7fabc".to_vec()));
    assert_eq!(r.call("BITOP XOR d a b"), ":3\r\n");
    assert_eq!(value(&mut r, "d"), Some(b"\x04\x0e\x1d".to_vec()));
    assert_eq!(r.call("BITOP AND d a c"), ":6\r\n");
    assert_eq!(value(&mut r, "d"), Some(b"\0o\0\0\0\0".to_vec()));
    assert_eq!(r.call("BITOP not d a"), ":3\r\n");
    assert_eq!(value(&mut r, "d"), Some(b"\x99\x90\x90".to_vec()));
    // The destination loses its TTL and may be a source itself.
    assert_eq!(r.call("EXPIRE d 100"), ":1\r\n");
    assert_eq!(r.call("BITOP XOR d d d"), ":3\r\n");
    assert_eq!(r.call("TTL d"), ":-1\r\n");
    assert_eq!(value(&mut r, "d"), Some(b"\0\0\0".to_vec()));
}

#[test]
fn bitop_deletes_the_destination_when_every_source_is_empty() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("RPUSH d x"), ":1\r\n");
    assert_eq!(r.call("BITOP OR d nokey other"), ":0\r\n");
    assert_eq!(r.call("EXISTS d"), ":0\r\n");
    assert_eq!(r.call("RPUSH d x"), ":1\r\n");
    assert_eq!(r.call("SET a foo"), "+OK\r\n");
    assert_eq!(r.call("BITOP OR d a"), ":3\r\n");
    assert_eq!(r.call("TYPE d"), "+string\r\n");
}

#[test]
fn bitop_errors() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("BITOP NAND d a"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("BITOP NOT d a b"),
        "-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(
        r.call("BITOP AND d"),
        "-ERR wrong number of arguments for 'bitop' command\r\n"
    );
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    assert_eq!(r.call("SET s x"), "+OK\r\n");
    assert_eq!(r.call("BITOP AND d s l"), WRONGTYPE);
    assert_eq!(r.call("EXISTS d"), ":0\r\n");
}

#[test]
fn bitfield_get_set_incrby_with_hash_offsets() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("BITFIELD k SET u8 #1 200 GET u8 8 INCRBY u8 #1 10 GET i8 8"),
        "*4\r\n:0\r\n:200\r\n:210\r\n:-46\r\n"
    );
    assert_eq!(value(&mut r, "k"), Some(b"\0\xd2".to_vec()));
    assert_eq!(
        r.call("BITFIELD k SET i5 3 -7 GET i5 3 GET u5 3 GET u4 0"),
        "*4\r\n:0\r\n:-7\r\n:25\r\n:1\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k GET i64 0 GET u63 1"),
        "*2\r\n:1860549596057436160\r\n:1860549596057436160\r\n"
    );
    assert_eq!(
        r.call("BITFIELD nokey GET u8 100 GET i4 0"),
        "*2\r\n:0\r\n:0\r\n"
    );
    assert_eq!(r.call("EXISTS nokey"), ":0\r\n");
    assert_eq!(r.call("BITFIELD k"), "*0\r\n");
    assert_eq!(r.call("BITFIELD k OVERFLOW SAT"), "*0\r\n");
}

#[test]
fn bitfield_overflow_modes_apply_to_later_operations() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("BITFIELD k SET u8 0 255 INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 300 OVERFLOW FAIL INCRBY u8 0 1 GET u8 0"),
        "*5\r\n:0\r\n:9\r\n:255\r\n$-1\r\n:255\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k OVERFLOW SAT INCRBY i8 0 -1000 OVERFLOW WRAP INCRBY i8 0 -1"),
        "*2\r\n:-128\r\n:127\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k OVERFLOW WRAP SET i8 0 200 OVERFLOW SAT SET i8 0 200 SET u8 0 -1"),
        "*3\r\n:127\r\n:-56\r\n:127\r\n"
    );
    assert_eq!(
        r.call(
            "BITFIELD k SET i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 -1"
        ),
        "*3\r\n:-72057594037927936\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k OVERFLOW SAT SET u63 0 -1 INCRBY u63 0 1 OVERFLOW WRAP INCRBY u63 0 1"),
        "*3\r\n:4611686018427387904\r\n:9223372036854775807\r\n:0\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k OVERFLOW FAIL SET u1 0 2 SET i1 0 -1 INCRBY i1 0 -1"),
        "*3\r\n$-1\r\n:0\r\n$-1\r\n"
    );
}

#[test]
fn bitfield_fail_overflow_still_creates_the_key() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("BITFIELD k OVERFLOW FAIL SET u2 0 7"),
        "*1\r\n$-1\r\n"
    );
    assert_eq!(value(&mut r, "k"), Some(b"\0".to_vec()));
}

#[test]
fn bitfield_errors_come_from_parsing_before_the_key() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("BITFIELD k GET u64 0"), BAD_TYPE);
    assert_eq!(r.call("BITFIELD k GET i65 0"), BAD_TYPE);
    assert_eq!(r.call("BITFIELD k GET u0 0"), BAD_TYPE);
    assert_eq!(r.call("BITFIELD k GET I8 0"), BAD_TYPE);
    assert_eq!(r.call("BITFIELD k GET u8 #-1"), BAD_OFFSET);
    assert_eq!(r.call("BITFIELD k GET i64 #67108864"), BAD_OFFSET);
    assert_eq!(r.call("BITFIELD k GET u8 4294967296"), BAD_OFFSET);
    assert_eq!(r.call("BITFIELD k GET u8"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITFIELD k OVERFLOW"), "-ERR syntax error\r\n");
    assert_eq!(r.call("BITFIELD k FOO"), "-ERR syntax error\r\n");
    assert_eq!(
        r.call("BITFIELD k OVERFLOW BAR GET u8 0"),
        "-ERR Invalid OVERFLOW type specified\r\n"
    );
    assert_eq!(
        r.call("BITFIELD k SET u8 0 x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    assert_eq!(r.call("BITFIELD l GET u8 0"), WRONGTYPE);
    assert_eq!(r.call("BITFIELD l SET u8 0 1"), WRONGTYPE);
    assert_eq!(
        r.call("BITFIELD l GET u8 0 SET u8 0 x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.call("EXISTS k"), ":0\r\n");
}

#[test]
fn bitfield_ro_only_reads() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("SET s foobar"), "+OK\r\n");
    assert_eq!(
        r.call("BITFIELD_RO s GET u8 0 GET i4 3 GET u8 #5 GET u8 #6"),
        "*4\r\n:102\r\n:3\r\n:114\r\n:0\r\n"
    );
    let ro_error = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
    assert_eq!(r.call("BITFIELD_RO s SET u8 0 1"), ro_error);
    assert_eq!(r.call("BITFIELD_RO s GET u8 0 INCRBY u8 0 1"), ro_error);
    assert_eq!(r.call("RPUSH l a"), ":1\r\n");
    assert_eq!(r.call("BITFIELD_RO l SET u8 0 1"), ro_error);
    assert_eq!(r.call("BITFIELD_RO l GET u8 0"), WRONGTYPE);
    assert_eq!(r.call("GET s"), "$6\r\nfoobar\r\n");
}

#[test]
fn command_table_describes_bitmap_commands_like_redis() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(
        r.call("COMMAND GETKEYS BITOP AND dest a b"),
        "*3\r\n$4\r\ndest\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    let head = |reply: String| reply.split("*0\r\n").next().unwrap_or("").to_string();
    assert_eq!(
        head(r.call("COMMAND INFO bitop")),
        "*1\r\n*10\r\n$5\r\nbitop\r\n:-4\r\n*2\r\n+write\r\n+denyoom\r\n:2\r\n:-1\r\n:1\r\n*3\r\n+@write\r\n+@bitmap\r\n+@slow\r\n"
    );
    assert_eq!(
        head(r.call("COMMAND INFO bitfield_ro")),
        "*1\r\n*10\r\n$11\r\nbitfield_ro\r\n:-2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@bitmap\r\n+@fast\r\n"
    );
    assert_eq!(
        head(r.call("COMMAND INFO bitcount")),
        "*1\r\n*10\r\n$8\r\nbitcount\r\n:-2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@bitmap\r\n+@slow\r\n"
    );
}
