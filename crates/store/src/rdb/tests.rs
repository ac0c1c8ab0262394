//! Payloads captured from Redis 7.0.15 (`DUMP` after ordinary commands),
//! legacy encodings built by hand, and corruption tests: whatever the bytes,
//! `restore` answers and never panics.

use super::encode::{self, PACKED_THRESHOLD};
use super::ziplist::build;
use super::*;

struct Fixture {
    name: &'static str,
    hex: &'static str,
    opts: DumpOptions,
    packed_threshold: usize,
    value: RdbValue,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("fixture hex"))
        .collect()
}

/// `DUMP` output of Redis 7.0.15 for keys built by the commands named in
/// each fixture, with the settings shown.
fn redis_fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            name: "string_int8", // int
            hex: "00c0f90a005e26d130d7a242ab",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"-7".to_vec()),
        },
        Fixture {
            name: "string_int16", // int
            hex: "00c12c010a00954261f265825c10",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"300".to_vec()),
        },
        Fixture {
            name: "string_int32", // int
            hex: "00c2000000800a00c74f873e33558187",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"-2147483648".to_vec()),
        },
        Fixture {
            name: "string_beyond_int32", // int
            hex: "000b31323334353637383930310a00304e52d727176510",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"12345678901".to_vec()),
        },
        Fixture {
            name: "string_empty", // embstr
            hex: "00000a005d9b5c400f7fa2da",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"".to_vec()),
        },
        Fixture {
            name: "string_leading_zero", // embstr
            hex: "00033030370a007258e27b4c69bad9",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"007".to_vec()),
        },
        Fixture {
            name: "string_lzf", // embstr
            hex: "00c30e230668656c6c6f2068e01105016c6f0a0071ebee95a870eace",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"hello hello hello hello hello hello".to_vec()),
        },
        Fixture {
            name: "string_incompressible_21", // embstr
            hex: "00156162636465666768696a6b6c6d6e6f7071727374750a00ad1c23029a10e306",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::String(b"abcdefghijklmnopqrstu".to_vec()),
        },
        Fixture {
            name: "list_small", // quicklist
            hex: "120102c3234063146300000005008161020c01f178ec03f400f2052a0120130309e04678e03c000148ff0a009b6081c8157a4094",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::List(vec![b"a".to_vec(), b"12".to_vec(), b"-5000".to_vec(), b"5000000000".to_vec(), b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".to_vec()]),
        },
        Fixture {
            name: "list_fill4_depth1", // quicklist
            hex: "120302c3204063076300000004009561e00a00013016e00c160031e00d160032e00d16023316ff02c3204063076300000004009561e00a00013416e00c160035e00d160036e00d16023716ff02c3254065076500000004009561e00a00013816e00c1602391696e00a2c0361313017e00d17023117ff0a006fa86b8a7db41aeb",
            opts: DumpOptions {
                list_max_listpack_size: 4,
                list_compress_depth: 1,
                ..DumpOptions::default()
            },
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::List(vec![b"aaaaaaaaaaaaaaaaaaaa0".to_vec(), b"aaaaaaaaaaaaaaaaaaaa1".to_vec(), b"aaaaaaaaaaaaaaaaaaaa2".to_vec(), b"aaaaaaaaaaaaaaaaaaaa3".to_vec(), b"aaaaaaaaaaaaaaaaaaaa4".to_vec(), b"aaaaaaaaaaaaaaaaaaaa5".to_vec(), b"aaaaaaaaaaaaaaaaaaaa6".to_vec(), b"aaaaaaaaaaaaaaaaaaaa7".to_vec(), b"aaaaaaaaaaaaaaaaaaaa8".to_vec(), b"aaaaaaaaaaaaaaaaaaaa9".to_vec(), b"aaaaaaaaaaaaaaaaaaaa10".to_vec(), b"aaaaaaaaaaaaaaaaaaaa11".to_vec()]),
        },
        Fixture {
            name: "list_plain_threshold16", // quicklist
            hex: "1204020e0e00000001008573686f727406ff01c30928017070e01b00017070011030313233343536373839616263646566020d0d0000000100847461696c05ff0a00eacb7fb1015900f1",
            opts: DumpOptions::default(),
            packed_threshold: 16,
            value: RdbValue::List(vec![b"short".to_vec(), b"pppppppppppppppppppppppppppppppppppppppp".to_vec(), b"0123456789abcdef".to_vec(), b"tail".to_vec()]),
        },
        Fixture {
            name: "set_intset16", // intset
            hex: "0b0e0200000003000000ffff020003000a00c87a922a3d7de78c",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::Set(vec![b"-1".to_vec(), b"2".to_vec(), b"3".to_vec()]),
        },
        Fixture {
            name: "set_intset64", // intset
            hex: "0b180800000002000000010000000000000000f2052a010000000a0054f5a26ae707b5fc",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::Set(vec![b"1".to_vec(), b"5000000000".to_vec()]),
        },
        Fixture {
            name: "set_hashtable", // hashtable
            hex: "0203026263c00101610a002b3d65a0fd6d179c",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::Set(vec![b"bc".to_vec(), b"1".to_vec(), b"a".to_vec()]),
        },
        Fixture {
            name: "hash_listpack", // listpack
            hex: "1019190000000400846e616d65058573686f616c06816e022a01ff0a00bd72761c3e97e386",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::Hash(vec![(b"name".to_vec(), b"shoal".to_vec()), (b"n".to_vec(), b"42".to_vec())]),
        },
        Fixture {
            name: "hash_hashtable", // hashtable
            hex: "0402026632c0020266310276310a008f78bb39a4504727",
            opts: DumpOptions {
                hash_max_listpack_entries: 1,
                ..DumpOptions::default()
            },
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::Hash(vec![(b"f2".to_vec(), b"2".to_vec()), (b"f1".to_vec(), b"v1".to_vec())]),
        },
        Fixture {
            name: "zset_listpack", // listpack
            hex: "11c33d405116510000000a00816202842d696e660581650293302e3130e0050015311481610283312e3504816402070181630297322e39e0060001652b20360118ff0a00fc14eae8ca056f2f",
            opts: DumpOptions::default(),
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::ZSet(vec![(b"b".to_vec(), f64::NEG_INFINITY), (b"e".to_vec(), 0.1), (b"a".to_vec(), 1.5), (b"d".to_vec(), 7.0), (b"c".to_vec(), 3e100)]),
        },
        Fixture {
            name: "zset_skiplist", // skiplist
            hex: "0503016300000000000000400161000000000000f83f0162000000000000f0ff0a001bacf1c21e178d52",
            opts: DumpOptions {
                zset_max_listpack_entries: 1,
                ..DumpOptions::default()
            },
            packed_threshold: PACKED_THRESHOLD,
            value: RdbValue::ZSet(vec![(b"b".to_vec(), f64::NEG_INFINITY), (b"a".to_vec(), 1.5), (b"c".to_vec(), 2.0)]),
        },
    ]
}

#[test]
fn redis_payloads_restore_to_their_values() {
    for f in redis_fixtures() {
        assert_eq!(restore(&unhex(f.hex)), Ok(f.value), "{}", f.name);
    }
}

#[test]
fn dump_reproduces_redis_payloads_byte_for_byte() {
    for f in redis_fixtures() {
        let ours = encode::dump(&f.value, &f.opts, f.packed_threshold);
        assert_eq!(ours, unhex(f.hex), "{}", f.name);
        if f.packed_threshold == PACKED_THRESHOLD {
            assert_eq!(dump(&f.value, &f.opts), ours, "{}", f.name);
        }
    }
}

/// Appends the version and CRC footer to a type byte + value.
fn frame(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// A raw RDB string: length + bytes (lengths below 64 only).
fn rdb_str(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 64);
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s);
    v
}

fn bytes_vec(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|i| i.to_vec()).collect()
}

#[test]
fn footer_errors_are_version_or_checksum() {
    let good = dump(&RdbValue::String(b"hi".to_vec()), &DumpOptions::default());
    assert!(restore(&good).is_ok());
    assert_eq!(restore(&good[..9]), Err(RdbError::VersionOrChecksum));
    assert_eq!(restore(&[]), Err(RdbError::VersionOrChecksum));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert_eq!(restore(&bad_crc), Err(RdbError::VersionOrChecksum));
    let body = &good[..good.len() - 10];
    assert_eq!(restore(&frame(body, 11)), Err(RdbError::VersionOrChecksum));
    for version in [1, 6, 9, 10] {
        assert_eq!(
            restore(&frame(body, version)),
            Ok(RdbValue::String(b"hi".to_vec()))
        );
    }
    assert_eq!(
        RdbError::VersionOrChecksum.reply(),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(RdbError::BadFormat("x").reply(), "ERR Bad data format");
}

#[test]
fn redis_corrupt_ziplist_with_valid_crc_is_bad_format() {
    // From Redis's tests/integration/corrupt-dump.tcl (issue #7445): a
    // quicklist whose last ziplist entry claims 63 bytes it does not have.
    let payload =
        b"\x0E\x01\x1D\x1D\x00\x00\x00\x16\x00\x00\x00\x03\x00\x00\x04\x43\x43\x43\x43\x06\x04\
\x42\x42\x42\x42\x06\x3F\x41\x41\x41\x41\xFF\x09\x00\x88\xA5\xCA\xA8\xC5\x41\xF4\x35";
    assert!(matches!(restore(payload), Err(RdbError::BadFormat(_))));
}

#[test]
fn legacy_list_encodings_restore() {
    let items: &[&[u8]] = &[b"a", b"12", b"-70000", b"hello"];
    let want = RdbValue::List(bytes_vec(items));
    let zl = build::ziplist(items);

    let mut ziplist = vec![rdb_type::LIST_ZIPLIST, zl.len() as u8];
    ziplist.extend_from_slice(&zl);
    assert_eq!(restore(&frame(&ziplist, 9)), Ok(want.clone()));

    // Two ziplist nodes plus an empty one, which Redis skips.
    let (head, tail) = items.split_at(1);
    let mut quicklist = vec![rdb_type::LIST_QUICKLIST, 3];
    for part in [head, &[][..], tail] {
        let zl = build::ziplist(part);
        quicklist.push(zl.len() as u8);
        quicklist.extend_from_slice(&zl);
    }
    assert_eq!(restore(&frame(&quicklist, 9)), Ok(want.clone()));

    let mut plain = vec![rdb_type::LIST, 4];
    for i in items {
        plain.extend_from_slice(&rdb_str(i));
    }
    assert_eq!(restore(&frame(&plain, 6)), Ok(want));
}

#[test]
fn legacy_hash_and_zset_encodings_restore() {
    let zl = build::ziplist(&[b"f", b"1", b"g", b"two"]);
    let mut hash = vec![rdb_type::HASH_ZIPLIST, zl.len() as u8];
    hash.extend_from_slice(&zl);
    let want = RdbValue::Hash(vec![
        (b"f".to_vec(), b"1".to_vec()),
        (b"g".to_vec(), b"two".to_vec()),
    ]);
    assert_eq!(restore(&frame(&hash, 9)), Ok(want.clone()));

    let zm = build::zipmap(&[(b"f", b"1"), (b"g", b"two")], 2);
    let mut zipmap = vec![rdb_type::HASH_ZIPMAP, zm.len() as u8];
    zipmap.extend_from_slice(&zm);
    assert_eq!(restore(&frame(&zipmap, 4)), Ok(want));

    let zl = build::ziplist(&[b"b", b"2.5", b"a", b"3", b"c", b"-inf"]);
    let mut zset = vec![rdb_type::ZSET_ZIPLIST, zl.len() as u8];
    zset.extend_from_slice(&zl);
    let want = RdbValue::ZSet(vec![
        (b"c".to_vec(), f64::NEG_INFINITY),
        (b"b".to_vec(), 2.5),
        (b"a".to_vec(), 3.0),
    ]);
    assert_eq!(restore(&frame(&zset, 9)), Ok(want.clone()));

    // RDB_TYPE_ZSET: string scores, 254/255 for ±inf.
    let mut old = vec![rdb_type::ZSET, 3];
    old.extend_from_slice(&rdb_str(b"a"));
    old.extend_from_slice(&[1, b'3']);
    old.extend_from_slice(&rdb_str(b"c"));
    old.push(255);
    old.extend_from_slice(&rdb_str(b"b"));
    old.extend_from_slice(&[3, b'2', b'.', b'5']);
    assert_eq!(restore(&frame(&old, 6)), Ok(want));
}

#[test]
fn set_listpack_from_redis_7_2_restores() {
    let mut lp = listpack::ListpackWriter::new();
    for m in [&b"x"[..], b"7", b"yz"] {
        lp.push(m);
    }
    let lp = lp.finish();
    let mut body = vec![rdb_type::SET_LISTPACK, lp.len() as u8];
    body.extend_from_slice(&lp);
    assert_eq!(
        restore(&frame(&body, 10)),
        Ok(RdbValue::Set(bytes_vec(&[b"x", b"7", b"yz"])))
    );
}

#[test]
fn values_redis_would_refuse_are_bad_format() {
    let bad = |body: &[u8]| match restore(&frame(body, 10)) {
        Err(RdbError::BadFormat(_)) => {}
        other => panic!("{body:?} gave {other:?}"),
    };
    bad(&[]); // no type byte
    bad(&[rdb_type::STRING]); // no string
    bad(&[rdb_type::STRING, 1, b'a', 0]); // trailing byte
    bad(&[rdb_type::STRING, 0xC4]); // unknown string encoding
    bad(&[rdb_type::STRING, 0x82, 0, 0, 0, 1]); // unknown length encoding
    bad(&[rdb_type::STRING, 0x80, 0xFF, 0xFF, 0xFF, 0xFF]); // 4 GB string, 0 bytes present
    bad(&[
        rdb_type::STRING,
        0x81,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        b'a',
    ]);
    bad(&[
        rdb_type::STRING,
        0xC3,
        2,
        0x80,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0x00,
        b'a',
    ]); // LZF claims 4 GB
    bad(&[
        rdb_type::LIST,
        0x81,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        1,
        b'a',
    ]);
    bad(&[rdb_type::LIST, 0]); // empty list
    bad(&[rdb_type::SET, 2, 1, b'a', 1, b'a']); // duplicate member
    bad(&[rdb_type::HASH, 2, 1, b'f', 1, b'1', 1, b'f', 1, b'2']); // duplicate field
    let mut nan = vec![rdb_type::ZSET_2, 1, 1, b'm'];
    nan.extend_from_slice(&f64::NAN.to_le_bytes());
    bad(&nan);
    bad(&[rdb_type::ZSET, 1, 1, b'm', 253]); // NaN as a string score
    bad(&[rdb_type::ZSET, 1, 1, b'm', 1, b'x']); // not a number
    bad(&[rdb_type::LIST_QUICKLIST_2, 1, 3, 1, b'a']); // unknown container
    bad(&[rdb_type::LIST_QUICKLIST_2, 1, 1, 0]); // empty plain node
    bad(&[rdb_type::LIST_QUICKLIST_2, 1, 2, 7, 7, 0, 0, 0, 0, 0, 0xFF]); // only an empty listpack
    bad(&[15, 0]); // a stream
    bad(&[7, 0]); // a module value
    bad(&[8]); // not a type at all
    let intset_dup = [rdb_type::SET_INTSET, 12, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0];
    bad(&intset_dup);
    let odd = build::ziplist(&[b"f", b"1", b"g"]);
    let mut odd_hash = vec![rdb_type::HASH_ZIPLIST, odd.len() as u8];
    odd_hash.extend_from_slice(&odd);
    bad(&odd_hash);
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.below(10) {
            0..=5 => self.below(12),
            6..=8 => self.below(100),
            _ => self.below(3000),
        };
        let alphabet = [2, 10, 256][self.below(3)];
        let digits = self.below(3) == 0;
        (0..len)
            .map(|_| {
                if digits {
                    b'0' + self.below(10) as u8
                } else {
                    self.below(alphabet) as u8
                }
            })
            .collect()
    }
}

fn random_value(rng: &mut XorShift) -> RdbValue {
    let max = if rng.below(4) == 0 { 300 } else { 12 };
    let n = 1 + rng.below(max);
    let unique = |rng: &mut XorShift| {
        let mut seen = std::collections::HashSet::new();
        (0..n)
            .map(|_| rng.bytes())
            .filter(|m| seen.insert(m.clone()))
            .collect::<Vec<_>>()
    };
    match rng.below(5) {
        0 => RdbValue::String(rng.bytes()),
        1 => RdbValue::List((0..n).map(|_| rng.bytes()).collect()),
        2 => RdbValue::Set(unique(rng)),
        3 => RdbValue::Hash(unique(rng).into_iter().map(|f| (f, rng.bytes())).collect()),
        _ => {
            let specials = [f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 1.5, 3e100, 0.1];
            let mut pairs: Vec<(Vec<u8>, f64)> = unique(rng)
                .into_iter()
                .map(|m| {
                    let score = match rng.below(3) {
                        0 => specials[rng.below(specials.len())],
                        1 => (rng.below(2000) as f64) - 1000.0,
                        _ => f64::from_bits(rng.next()),
                    };
                    (m, if score.is_nan() { 1.0 } else { score })
                })
                .collect();
            pairs.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
            RdbValue::ZSet(pairs)
        }
    }
}

fn random_options(rng: &mut XorShift) -> DumpOptions {
    DumpOptions {
        hash_max_listpack_entries: [0, 1, 4, 128][rng.below(4)],
        hash_max_listpack_value: [0, 8, 64, 100_000][rng.below(4)],
        set_max_intset_entries: [0, 3, 512][rng.below(3)],
        zset_max_listpack_entries: [0, 1, 4, 128][rng.below(4)],
        zset_max_listpack_value: [0, 8, 64, 100_000][rng.below(4)],
        list_max_listpack_size: [-5, -2, -1, 0, 1, 3, 100, 40000][rng.below(8)],
        list_compress_depth: [0, 0, 1, 2][rng.below(4)],
    }
}

/// Equal values, with zset scores compared by bits except that a listpack
/// stores `-0` as `0` (as Redis does).
fn same(a: &RdbValue, b: &RdbValue) -> bool {
    match (a, b) {
        (RdbValue::ZSet(x), RdbValue::ZSet(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.0 == q.0 && (p.1.to_bits() == q.1.to_bits() || p.1 == q.1))
        }
        (RdbValue::Set(x), RdbValue::Set(y)) => {
            let (mut x, mut y) = (x.clone(), y.clone());
            x.sort();
            y.sort();
            x == y
        }
        _ => a == b,
    }
}

#[test]
fn random_values_round_trip_through_every_encoding() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for round in 0..400 {
        let value = random_value(&mut rng);
        let opts = random_options(&mut rng);
        let threshold = if rng.below(4) == 0 {
            1 + rng.below(200)
        } else {
            PACKED_THRESHOLD
        };
        let payload = encode::dump(&value, &opts, threshold);
        match restore(&payload) {
            Ok(back) => assert!(
                same(&back, &value),
                "round {round}: {value:?} came back as {back:?}"
            ),
            Err(e) => panic!("round {round}: {e} for {value:?}"),
        }
    }
}

/// Every payload the corruption tests start from: Redis's, and a few larger
/// ones of ours exercising LZF, multi-node lists and hash tables.
fn corpus() -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = redis_fixtures().iter().map(|f| unhex(f.hex)).collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    while payloads.len() < 40 {
        let value = random_value(&mut rng);
        let opts = random_options(&mut rng);
        let p = dump(&value, &opts);
        if p.len() < 4_000 {
            payloads.push(p);
        }
    }
    let legacy = build::ziplist(&[b"f", b"1", b"g", b"two"]);
    let mut body = vec![rdb_type::HASH_ZIPLIST, legacy.len() as u8];
    body.extend_from_slice(&legacy);
    payloads.push(frame(&body, 9));
    payloads
}

/// Recomputes the footer so corruption reaches the parser.
fn refoot(p: &mut [u8]) {
    if p.len() >= 10 {
        let n = p.len() - 8;
        let crc = crc64::crc64(0, &p[..n]);
        p[n..].copy_from_slice(&crc.to_le_bytes());
    }
}

#[test]
fn corrupted_payloads_fail_cleanly() {
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    for (i, original) in corpus().iter().enumerate() {
        // Any truncation breaks the footer.
        let step = original.len() / 100 + 1;
        for cut in (0..original.len()).step_by(step) {
            assert!(
                restore(&original[..cut]).is_err(),
                "payload {i} cut at {cut}"
            );
        }
        for _ in 0..100 {
            let mut p = original.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = rng.below(p.len());
                p[at] ^= 1 + rng.below(255) as u8;
            }
            // Without a fixed-up CRC the checksum catches it…
            assert_eq!(restore(&p), Err(RdbError::VersionOrChecksum), "payload {i}");
            // …and with one, the parser must answer without panicking.
            refoot(&mut p);
            let _ = restore(&p);
        }
        for _ in 0..40 {
            // A huge length or count spliced in somewhere.
            let mut p = original[..original.len() - 10].to_vec();
            let at = rng.below(p.len());
            let huge: &[u8] = match rng.below(4) {
                0 => &[0x80, 0xFF, 0xFF, 0xFF, 0xFF],
                1 => &[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                2 => &[0xC3, 0x01, 0x80, 0xFF, 0xFF, 0xFF, 0xFF],
                _ => &[0xFF, 0xFF, 0xFF, 0x7F],
            };
            p.splice(
                at..at + rng.below(3).min(p.len() - at),
                huge.iter().copied(),
            );
            p.extend_from_slice(&[0; 10]);
            p[original.len() - 10..].fill(0);
            let n = p.len() - 10;
            p[n..n + 2].copy_from_slice(&RDB_VERSION.to_le_bytes());
            refoot(&mut p);
            let _ = restore(&p);
        }
    }
}
