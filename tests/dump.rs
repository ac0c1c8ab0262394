//! DUMP/RESTORE against payloads captured from redis-server 7.0.15, both
//! ways: shoal restores Redis's bytes and dumps the same bytes back.

mod common;

use common::Shoal;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

/// (key, DUMP payload from Redis 7.0.15, command that reads it back, reply).
const FIXTURES: &[(&str, &str, &str, &str)] = &[
    (
        "s",
        "000568656c6c6f0a006372df766534200a",
        "GET s",
        "$5\r\nhello\r\n",
    ),
    (
        "l",
        "12010210100000000300816102816202816302ff0a00c818b90c9533529e",
        "LRANGE l 0 -1",
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    ),
    (
        "i",
        "0b0e02000000030000000100020003000a00a5025ce26d6e4d1b",
        "SMEMBERS i",
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    ),
    (
        "h",
        "1013130000000400816602817602816702817702ff0a00d9dec5c9160fb235",
        "HGETALL h",
        "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n",
    ),
];

#[test]
fn redis_payloads_restore_and_dump_back_identically() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    for (key, payload, read, expected) in FIXTURES {
        let bytes = unhex(payload);
        assert_eq!(
            r.cmd(&[b"RESTORE", key.as_bytes(), b"0", &bytes]),
            "+OK\r\n",
            "{key}"
        );
        assert_eq!(r.call(read), *expected, "{key}");
        let mut dumped = format!("${}\r\n", bytes.len()).into_bytes();
        dumped.extend_from_slice(&bytes);
        dumped.extend_from_slice(b"\r\n");
        r.send(&common::encode(&[b"DUMP", key.as_bytes()]));
        assert_eq!(r.reply_bytes(), dumped, "{key}");
    }
}

#[test]
fn restore_errors_match_redis() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    let payload = unhex(FIXTURES[0].1);
    assert_eq!(r.cmd(&[b"RESTORE", b"k", b"0", &payload]), "+OK\r\n");
    assert_eq!(
        r.cmd(&[b"RESTORE", b"k", b"0", &payload]),
        "-BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(
        r.cmd(&[b"RESTORE", b"k", b"0", &payload, b"REPLACE", b"ABSTTL"]),
        "+OK\r\n"
    );
    assert_eq!(
        r.cmd(&[b"RESTORE", b"n", b"-1", &payload]),
        "-ERR Invalid TTL value, must be >= 0\r\n"
    );
    let mut corrupt = payload.clone();
    corrupt[3] ^= 1;
    assert_eq!(
        r.cmd(&[b"RESTORE", b"n", b"0", &corrupt]),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    assert_eq!(r.cmd(&[b"RESTORE", b"t", b"5000", &payload]), "+OK\r\n");
    let pttl: i64 = r
        .call("PTTL t")
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("int");
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    assert_eq!(r.call("DUMP nosuch"), "$-1\r\n");
    // A relative TTL that overflows the clock wraps negative in Redis: the
    // key is already expired, RESTORE says OK and stores nothing.
    assert_eq!(
        r.cmd(&[b"RESTORE", b"big", b"9223372036854775807", &payload]),
        "+OK\r\n"
    );
    assert_eq!(r.call("EXISTS big"), ":0\r\n");
}
