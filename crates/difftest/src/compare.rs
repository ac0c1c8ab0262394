//! Deciding whether two replies to the same command differ.
//!
//! Replies compare byte for byte on the wire unless the command's reply is
//! legitimately server- or timing-dependent; each such case has its own
//! [`Check`], and this table is the whole list of them:
//!
//! | Check          | Used for                        | Equal when                                   |
//! |----------------|---------------------------------|----------------------------------------------|
//! | `Exact`        | everything else                 | same bytes                                   |
//! | `Tolerance(d)` | TTL, PTTL, (P)EXPIRETIME        | same bytes, or both integers ≥ 0 within `d`  |
//! | `Sorted`       | KEYS, SINTER/SUNION/SDIFF       | same elements in any order                   |
//! | `Pairs`        | CONFIG GET (dict order)         | same name/value pairs in any order           |
//! | `NilOrNot`     | RANDOMKEY                       | both nil (same bytes), or both not nil       |
//! | `Shape`        | INFO, TIME, CLIENT ID/LIST/INFO, HELLO, OBJECT IDLETIME/FREQ | same type byte |
//! | `HashOrder`    | HGETALL, HKEYS, HVALS, SMEMBERS | `Exact`, unless the reference server says the key is `hashtable`-encoded: then `Pairs` (HGETALL) or `Sorted` |
//! | `Pick`         | SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER | see below                         |
//! | `Dump`         | `Step::Dump` (DUMP, RESTORE)    | see below                                    |
//! | `LexRange`     | ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE/ZRANGESTORE … BYLEX | `Exact`, or not run at all (see below) |
//!
//! SCAN-family steps are iterated to the end by the runner and compared as
//! the sets of keys (or field/value pairs) seen, under `Exact`.
//!
//! Why each order-free check is no looser than it must be:
//!
//! - `Sorted` for SINTER/SUNION/SDIFF: Redis replies in the iteration order
//!   of a temporary (or the smallest) set, which for a hashtable depends on
//!   the server's hash seed. Elements must still match as a multiset, and
//!   the reply type (array or RESP3 set) exactly.
//! - `HashOrder`: a listpack hash is in insertion order and an intset in
//!   numeric order, both defined by Redis, so those compare exactly; only a
//!   hashtable's order is free. The runner asks the *reference* server
//!   (`OBJECT ENCODING`) so a server that wrongly reports `hashtable` gets
//!   no slack.
//! - `Pick`: the runner first reads the whole collection on each server
//!   (SMEMBERS, HGETALL or ZRANGE 0 -1 WITHSCORES; these must agree as
//!   sets), then sends the command. The picks may differ, but both replies
//!   must have the same type and the length Redis defines (`min(count,
//!   size)`, or `|count|` for a negative count), be distinct for a count ≥ 0,
//!   and consist of members of that collection with their exact values or
//!   scores. A count ≥ the size thus checks the whole collection. SPOP also
//!   leaves the two sets different: the generator then only counts them
//!   (SCARD) and never reads that key again.
//! - `Dump`: the composite reply `[OBJECT ENCODING, DUMP, RESTORE]` must be
//!   identical, except that the DUMP payload of a key the reference server
//!   encodes as `hashtable` (a set or hash) lists its elements in hash order.
//!   Such payloads must then have the same RDB type, element count and
//!   RDB version, the same multiset of encoded elements (field/value pairs
//!   for a hash) and each a valid CRC-64 (the runner then has both servers
//!   restore the reference's payload, since a small hash restores as a
//!   listpack in payload order). Strings, lists (quicklist),
//!   intsets, listpack hashes and zsets, and skiplist zsets (saved in score
//!   order) are compared byte for byte.
//!
//! - `LexRange`: Redis defines lex ranges only over members of equal score;
//!   over differing scores its skiplist answers depend on the random levels
//!   of its nodes, so two Redis processes disagree. The runner asks the
//!   reference server for the zset's lowest and highest score first; when
//!   they differ the command is sent to neither server (both get the same
//!   placeholder reply, and the keyspaces stay equal, which matters for
//!   ZREMRANGEBYLEX and ZRANGESTORE). Missing keys, other types and
//!   equal-score zsets are compared exactly.
//!
//! In every mode an error reply must match the other side's exactly: error
//! strings are part of the contract.

use crate::resp::{self, Reply, Value};

/// How a command's two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Exact,
    /// Integer replies that carry a time; non-negative values may differ by
    /// up to the given amount (negative values are -1/-2 sentinels).
    Tolerance(i64),
    Sorted,
    Pairs,
    NilOrNot,
    Shape,
    /// Exact unless argument `key` is hashtable-encoded on the reference
    /// server; then `Pairs` (when `pairs`) or `Sorted`. The runner resolves
    /// it before comparing.
    HashOrder {
        key: usize,
        pairs: bool,
    },
    /// Random members of a collection; the replies are composites
    /// `[collection before, reply]` (see the module docs).
    Pick(Pick),
    /// `Step::Dump`'s composite `[encoding, payload, restore reply]`.
    Dump,
    /// A lex range over the zset at argument `key`: not run when its scores
    /// differ, else exact. The runner resolves it before comparing.
    LexRange {
        key: usize,
    },
}

/// The kind of collection a random pick reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Set,
    Hash,
    Zset,
}

/// A random-pick command as sent: what it picks from and its arguments that
/// decide the reply's shape (filled in from the arguments actually sent, as
/// a mutation may have dropped or added some).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    pub of: Collection,
    /// The count argument, when there is one and it is an integer.
    pub count: Option<i64>,
    /// WITHVALUES / WITHSCORES.
    pub with_values: bool,
}

impl Pick {
    pub fn new(of: Collection) -> Pick {
        Pick {
            of,
            count: None,
            with_values: false,
        }
    }

    /// The pick as `args` (`NAME key [count [WITHVALUES|WITHSCORES]]`) ask.
    pub fn for_args(self, args: &[Vec<u8>]) -> Pick {
        let count = args
            .get(2)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<i64>().ok());
        let with_values = args.get(3).is_some_and(|a| {
            a.eq_ignore_ascii_case(b"WITHVALUES") || a.eq_ignore_ascii_case(b"WITHSCORES")
        });
        Pick {
            of: self.of,
            count,
            with_values,
        }
    }

    /// The command that reads the whole collection at `key`.
    pub fn collection_command(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let words: &[&[u8]] = match self.of {
            Collection::Set => &[b"SMEMBERS", key],
            Collection::Hash => &[b"HGETALL", key],
            Collection::Zset => &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
        };
        words.iter().map(|w| w.to_vec()).collect()
    }
}

/// True when the two replies agree under `check`.
pub fn agree(check: Check, a: &Reply, b: &Reply) -> bool {
    if a.raw == b.raw {
        return true;
    }
    let (a_reply, b_reply) = (a, b);
    let (a, b) = (&a.value, &b.value);
    if a.is_error() || b.is_error() {
        return false;
    }
    match check {
        Check::Exact => false,
        Check::Tolerance(d) => match (a, b) {
            (Value::Integer(x), Value::Integer(y)) if *x >= 0 && *y >= 0 => {
                x.abs_diff(*y) <= d.unsigned_abs()
            }
            _ => false,
        },
        Check::Sorted => match (sorted_items(a), sorted_items(b)) {
            (Some(x), Some(y)) => a.type_byte() == b.type_byte() && x == y,
            _ => false,
        },
        Check::Pairs => match (sorted_pairs(a), sorted_pairs(b)) {
            (Some(x), Some(y)) => a.type_byte() == b.type_byte() && x == y,
            _ => false,
        },
        Check::NilOrNot => !a.is_nil() && !b.is_nil() && a.type_byte() == b.type_byte(),
        Check::Shape => a.type_byte() == b.type_byte(),
        // Resolved by the runner before comparing; unresolved means exact.
        Check::HashOrder { .. } | Check::LexRange { .. } => false,
        Check::Pick(pick) => picks_agree(pick, a_reply, b_reply),
        Check::Dump => dumps_agree(a_reply, b_reply),
    }
}

/// Builds one reply out of several (the runner's compound steps), keeping
/// each part's exact bytes.
pub fn composite(parts: Vec<Reply>) -> Reply {
    let mut raw = format!("*{}\r\n", parts.len()).into_bytes();
    let mut values = Vec::with_capacity(parts.len());
    for part in parts {
        raw.extend_from_slice(&part.raw);
        values.push(part.value);
    }
    Reply {
        raw,
        value: Value::Array(values),
    }
}

/// The parts of a [`composite`] reply, with their exact bytes.
fn parts(reply: &Reply) -> Option<Vec<Reply>> {
    let Value::Array(values) = &reply.value else {
        return None;
    };
    let mut at = reply.raw.iter().position(|&b| b == b'\n')? + 1;
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        let (_, used) = resp::parse(reply.raw.get(at..)?).ok()??;
        out.push(Reply {
            raw: reply.raw[at..at + used].to_vec(),
            value: value.clone(),
        });
        at += used;
    }
    Some(out)
}

/// `Check::Pick` on composites `[collection, reply]`.
fn picks_agree(pick: Pick, a: &Reply, b: &Reply) -> bool {
    let (Some(a), Some(b)) = (parts(a), parts(b)) else {
        return false;
    };
    let ([content_a, reply_a], [content_b, reply_b]) = (a.as_slice(), b.as_slice()) else {
        return false;
    };
    // The collections must agree first: a zset's range is ordered, a set's
    // or hash's is not.
    let content_check = match pick.of {
        Collection::Set => Check::Sorted,
        Collection::Hash => Check::Pairs,
        Collection::Zset => Check::Exact,
    };
    if !agree(content_check, content_a, content_b) {
        return false;
    }
    if reply_a.raw == reply_b.raw {
        return true;
    }
    let (ra, rb) = (&reply_a.value, &reply_b.value);
    if ra.is_error() || rb.is_error() || ra.type_byte() != rb.type_byte() {
        return false;
    }
    let Some(entries) = entries(pick.of, &content_b.value) else {
        return false;
    };
    valid_picks(pick, &entries, ra) && valid_picks(pick, &entries, rb)
}

/// A collection read as `(member, value or score)` entries.
fn entries(of: Collection, v: &Value) -> Option<Vec<(&Value, Option<&Value>)>> {
    match (of, v) {
        (Collection::Set, Value::Array(items) | Value::Set(items)) => {
            Some(items.iter().map(|m| (m, None)).collect())
        }
        (Collection::Hash, Value::Map(pairs)) => {
            Some(pairs.iter().map(|(k, v)| (k, Some(v))).collect())
        }
        (Collection::Hash | Collection::Zset, Value::Array(items)) => pairs_of(items),
        _ => None,
    }
}

/// A flat `[m, v, m, v…]` array or a RESP3 array of `[m, v]` arrays.
fn pairs_of(items: &[Value]) -> Option<Vec<(&Value, Option<&Value>)>> {
    if items
        .iter()
        .all(|i| matches!(i, Value::Array(p) if p.len() == 2))
    {
        return items
            .iter()
            .map(|i| match i {
                Value::Array(p) => Some((&p[0], Some(&p[1]))),
                _ => None,
            })
            .collect();
    }
    if !items.len().is_multiple_of(2) {
        return None;
    }
    Some(items.chunks(2).map(|c| (&c[0], Some(&c[1]))).collect())
}

/// Whether `reply` is a valid answer of `pick` on a collection of `entries`.
fn valid_picks(pick: Pick, entries: &[(&Value, Option<&Value>)], reply: &Value) -> bool {
    let value_of = |m: &Value| entries.iter().find(|(e, _)| *e == m).map(|(_, v)| *v);
    let Some(count) = pick.count else {
        // A single member, or nil when there is none.
        return match reply {
            Value::Bulk(_) => value_of(reply).is_some(),
            r => r.is_nil() && entries.is_empty(),
        };
    };
    let (Value::Array(items) | Value::Set(items)) = reply else {
        return false;
    };
    let picks: Vec<(&Value, Option<&Value>)> = if pick.with_values {
        match pairs_of(items) {
            Some(p) => p,
            None => return false,
        }
    } else {
        items.iter().map(|m| (m, None)).collect()
    };
    let expected = if entries.is_empty() {
        0
    } else if count >= 0 {
        entries
            .len()
            .min(usize::try_from(count).unwrap_or(usize::MAX))
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    if picks.len() != expected {
        return false;
    }
    if count >= 0 {
        let mut members: Vec<&Value> = picks.iter().map(|(m, _)| *m).collect();
        members.sort();
        members.dedup();
        if members.len() != picks.len() {
            return false;
        }
    }
    picks.iter().all(|(m, v)| match value_of(m) {
        None => false,
        Some(known) => !pick.with_values || *v == known,
    })
}

/// `Check::Dump` on composites `[encoding, payload, restore reply]`; the
/// second reply is the reference server's.
fn dumps_agree(a: &Reply, b: &Reply) -> bool {
    let (Some(a), Some(b)) = (parts(a), parts(b)) else {
        return false;
    };
    let ([enc_a, dump_a, restore_a], [enc_b, dump_b, restore_b]) = (a.as_slice(), b.as_slice())
    else {
        return false;
    };
    if enc_a.raw != enc_b.raw || restore_a.raw != restore_b.raw {
        return false;
    }
    if dump_a.raw == dump_b.raw {
        return true;
    }
    if enc_b.value != Value::Bulk(b"hashtable".to_vec()) {
        return false;
    }
    match (&dump_a.value, &dump_b.value) {
        (Value::Bulk(x), Value::Bulk(y)) => rdb::same_elements(x, y),
        _ => false,
    }
}

/// Just enough of the RDB format to compare two DUMP payloads of a
/// hashtable set or hash element by element.
mod rdb {
    /// `RDB_TYPE_SET` and `RDB_TYPE_HASH`: a length, then that many strings
    /// (pairs of strings for a hash).
    const TYPE_SET: u8 = 2;
    const TYPE_HASH: u8 = 4;
    /// A payload ends with a 2-byte RDB version and an 8-byte CRC-64.
    const TRAILER: usize = 10;

    /// True when both payloads are well formed, carry valid checksums, the
    /// same type, version and element count, and the same multiset of
    /// encoded elements.
    pub fn same_elements(a: &[u8], b: &[u8]) -> bool {
        match (elements(a), elements(b)) {
            (Some(mut x), Some(mut y)) => {
                x.1.sort();
                y.1.sort();
                x == y
            }
            _ => false,
        }
    }

    /// `(type, version, elements)`; each element the raw bytes of one
    /// encoded string, or of a field and its value for a hash.
    #[allow(clippy::type_complexity)]
    fn elements(payload: &[u8]) -> Option<((u8, [u8; 2]), Vec<&[u8]>)> {
        let body_len = payload.len().checked_sub(TRAILER)?;
        let (body, trailer) = payload.split_at(body_len);
        let crc = u64::from_le_bytes(trailer[2..].try_into().ok()?);
        if crc64(&payload[..body_len + 2]) != crc {
            return None;
        }
        let kind = *body.first()?;
        let per_element = match kind {
            TYPE_SET => 1,
            TYPE_HASH => 2,
            _ => return None,
        };
        let (count, mut at) = length(body, 1)?;
        let mut out = Vec::new();
        for _ in 0..count {
            let start = at;
            for _ in 0..per_element {
                at = string_end(body, at)?;
            }
            out.push(&body[start..at]);
        }
        if at != body.len() {
            return None;
        }
        Some(((kind, [trailer[0], trailer[1]]), out))
    }

    /// An RDB length at `at`: `(value, next)`; `None` for the special
    /// (string) encodings and for truncated input.
    fn length(buf: &[u8], at: usize) -> Option<(u64, usize)> {
        match encoded_length(buf, at)? {
            (Length::Plain(n), next) => Some((n, next)),
            (Length::Special(_), _) => None,
        }
    }

    enum Length {
        Plain(u64),
        Special(u8),
    }

    fn encoded_length(buf: &[u8], at: usize) -> Option<(Length, usize)> {
        let first = *buf.get(at)?;
        let low = u64::from(first & 0x3f);
        match first >> 6 {
            0 => Some((Length::Plain(low), at + 1)),
            1 => Some((
                Length::Plain(low << 8 | u64::from(*buf.get(at + 1)?)),
                at + 2,
            )),
            2 => {
                let width = match first {
                    0x80 => 4,
                    0x81 => 8,
                    _ => return None,
                };
                let bytes = buf.get(at + 1..at + 1 + width)?;
                let n = bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
                Some((Length::Plain(n), at + 1 + width))
            }
            _ => Some((Length::Special(first & 0x3f), at + 1)),
        }
    }

    /// Where the encoded string starting at `at` ends.
    fn string_end(buf: &[u8], at: usize) -> Option<usize> {
        let end = match encoded_length(buf, at)? {
            (Length::Plain(n), next) => next.checked_add(usize::try_from(n).ok()?)?,
            (Length::Special(0), next) => next + 1,
            (Length::Special(1), next) => next + 2,
            (Length::Special(2), next) => next + 4,
            (Length::Special(3), next) => {
                // LZF: compressed length, uncompressed length, data.
                let (compressed, next) = length(buf, next)?;
                let (_, next) = length(buf, next)?;
                next.checked_add(usize::try_from(compressed).ok()?)?
            }
            _ => return None,
        };
        (end <= buf.len()).then_some(end)
    }

    /// Redis's CRC-64 (Jones polynomial, reflected, initial value 0).
    pub fn crc64(data: &[u8]) -> u64 {
        const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
        let mut crc = 0u64;
        for &byte in data {
            crc ^= u64::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Builds a payload of `kind` with the given encoded body and a
        /// valid trailer (RDB version 10).
        fn payload(kind: u8, body: &[u8]) -> Vec<u8> {
            let mut p = vec![kind];
            p.extend_from_slice(body);
            p.extend_from_slice(&[10, 0]);
            let crc = crc64(&p);
            p.extend_from_slice(&crc.to_le_bytes());
            p
        }

        #[test]
        fn crc64_matches_redis() {
            assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
            // DUMP of the string "hello" from Redis 7.0.
            let dump = b"\x00\x05hello\n\x00cr\xdfve4 \n";
            let crc = u64::from_le_bytes(dump[9..].try_into().expect("8 bytes"));
            assert_eq!(crc64(&dump[..9]), crc);
        }

        #[test]
        fn set_payloads_compare_as_multisets() {
            let a = payload(TYPE_SET, b"\x03\x01a\x01b\xc0\x07");
            let b = payload(TYPE_SET, b"\x03\xc0\x07\x01a\x01b");
            let c = payload(TYPE_SET, b"\x03\xc0\x07\x01a\x01c");
            assert!(same_elements(&a, &b));
            assert!(!same_elements(&a, &c));
        }

        #[test]
        fn hash_payloads_keep_field_value_pairing() {
            let a = payload(TYPE_HASH, b"\x02\x01f\x011\x01g\x012");
            let b = payload(TYPE_HASH, b"\x02\x01g\x012\x01f\x011");
            let c = payload(TYPE_HASH, b"\x02\x01g\x011\x01f\x012");
            assert!(same_elements(&a, &b));
            assert!(!same_elements(&a, &c));
        }

        #[test]
        fn bad_checksums_truncation_and_other_types_fail() {
            let good = payload(TYPE_SET, b"\x01\x01a");
            let mut bad_crc = good.clone();
            *bad_crc.last_mut().expect("non-empty") ^= 1;
            assert!(!same_elements(&good, &bad_crc));
            let short = payload(TYPE_SET, b"\x02\x01a");
            assert!(!same_elements(&short, &short));
            let string = payload(0, b"\x01a");
            assert!(!same_elements(&string, &string));
            // LZF-compressed strings are skipped by their compressed length.
            let lzf = payload(TYPE_SET, b"\x01\xc3\x02\x05ab");
            assert!(same_elements(&lzf, &lzf));
        }
    }
}

fn sorted_items(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => {
            let mut items: Vec<&Value> = items.iter().collect();
            items.sort();
            Some(items)
        }
        _ => None,
    }
}

fn sorted_pairs(v: &Value) -> Option<Vec<(&Value, &Value)>> {
    let mut pairs: Vec<(&Value, &Value)> = match v {
        Value::Map(p) => p.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(items) if items.len() % 2 == 0 => {
            items.chunks(2).map(|c| (&c[0], &c[1])).collect()
        }
        _ => return None,
    };
    pairs.sort();
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(check: Check, a: &Value, b: &Value) -> bool {
        let reply = |v: &Value| Reply {
            raw: v.to_wire(),
            value: v.clone(),
        };
        super::agree(check, &reply(a), &reply(b))
    }

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn exact_needs_identical_values() {
        assert!(agree(Check::Exact, &bulk("a"), &bulk("a")));
        assert!(!agree(Check::Exact, &bulk("a"), &bulk("b")));
        assert!(!agree(Check::Exact, &Value::NilBulk, &Value::Null));
        // Same decoded integer, different bytes on the wire.
        let plus = Reply {
            raw: b":+5\r\n".to_vec(),
            value: Value::Integer(5),
        };
        let plain = Reply {
            raw: b":5\r\n".to_vec(),
            value: Value::Integer(5),
        };
        assert!(!super::agree(Check::Exact, &plus, &plain));
    }

    #[test]
    fn tolerance_allows_small_gaps_but_not_sentinels() {
        let t = Check::Tolerance(100);
        assert!(agree(t, &Value::Integer(5000), &Value::Integer(4950)));
        assert!(!agree(t, &Value::Integer(5000), &Value::Integer(4800)));
        assert!(!agree(t, &Value::Integer(-1), &Value::Integer(0)));
        assert!(!agree(t, &Value::Integer(-2), &Value::Integer(-1)));
        assert!(!agree(t, &bulk("5000"), &Value::Integer(5000)));
    }

    #[test]
    fn sorted_ignores_order_only() {
        let a = Value::Array(vec![bulk("x"), bulk("y")]);
        let b = Value::Array(vec![bulk("y"), bulk("x")]);
        let c = Value::Set(vec![bulk("y"), bulk("x")]);
        assert!(agree(Check::Sorted, &a, &b));
        assert!(!agree(Check::Sorted, &a, &c));
        assert!(!agree(Check::Sorted, &a, &Value::Array(vec![bulk("x")])));
    }

    #[test]
    fn pairs_ignore_pair_order_but_keep_pairing() {
        let a = Value::Array(vec![bulk("k1"), bulk("1"), bulk("k2"), bulk("2")]);
        let b = Value::Array(vec![bulk("k2"), bulk("2"), bulk("k1"), bulk("1")]);
        let c = Value::Array(vec![bulk("k2"), bulk("1"), bulk("k1"), bulk("2")]);
        assert!(agree(Check::Pairs, &a, &b));
        assert!(!agree(Check::Pairs, &a, &c));
    }

    #[test]
    fn nil_or_not_and_shape() {
        assert!(agree(Check::NilOrNot, &bulk("a"), &bulk("b")));
        assert!(!agree(Check::NilOrNot, &bulk("a"), &Value::NilBulk));
        assert!(agree(Check::Shape, &Value::Integer(1), &Value::Integer(9)));
        assert!(!agree(Check::Shape, &Value::Integer(1), &bulk("1")));
    }

    fn arr(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| bulk(s)).collect())
    }

    fn composite_of(parts: &[Value]) -> Reply {
        super::composite(
            parts
                .iter()
                .map(|v| Reply {
                    raw: v.to_wire(),
                    value: v.clone(),
                })
                .collect(),
        )
    }

    fn picks(pick: Pick, a: &[Value], b: &[Value]) -> bool {
        super::agree(Check::Pick(pick), &composite_of(a), &composite_of(b))
    }

    fn pick(of: Collection, args: &str) -> Pick {
        let args: Vec<Vec<u8>> = args.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        Pick::new(of).for_args(&args)
    }

    #[test]
    fn composites_keep_each_part_exact() {
        let plus = Reply {
            raw: b":+1\r\n".to_vec(),
            value: Value::Integer(1),
        };
        let plain = Reply {
            raw: b":1\r\n".to_vec(),
            value: Value::Integer(1),
        };
        let a = super::composite(vec![plus.clone(), plain.clone()]);
        let parts = super::parts(&a).expect("composite");
        assert_eq!(parts, vec![plus, plain]);
    }

    #[test]
    fn picks_may_differ_but_must_be_members_of_the_right_shape() {
        let set = arr(&["a", "b", "c"]);
        let p = pick(Collection::Set, "SRANDMEMBER k 2");
        assert!(picks(
            p,
            &[set.clone(), arr(&["a", "b"])],
            &[set.clone(), arr(&["c", "a"])]
        ));
        // Too few, repeated, or not a member.
        assert!(!picks(
            p,
            &[set.clone(), arr(&["a"])],
            &[set.clone(), arr(&["c", "a"])]
        ));
        assert!(!picks(
            p,
            &[set.clone(), arr(&["a", "a"])],
            &[set.clone(), arr(&["c", "a"])]
        ));
        assert!(!picks(
            p,
            &[set.clone(), arr(&["a", "x"])],
            &[set.clone(), arr(&["c", "a"])]
        ));
        // A negative count repeats, |count| long.
        let p = pick(Collection::Set, "SRANDMEMBER k -4");
        let four = arr(&["a", "a", "b", "a"]);
        assert!(picks(
            p,
            &[set.clone(), four],
            &[set.clone(), arr(&["c", "c", "c", "c"])]
        ));
        // A count above the size gives the whole set, in any order.
        let p = pick(Collection::Set, "SPOP k 100000");
        let all = arr(&["c", "b", "a"]);
        assert!(picks(p, &[set.clone(), all], &[set.clone(), set.clone()]));
        assert!(!picks(
            p,
            &[set.clone(), arr(&["c", "b"])],
            &[set.clone(), set.clone()]
        ));
        // No count: one member, or nil only when the set is empty.
        let p = pick(Collection::Set, "SPOP k");
        assert!(picks(
            p,
            &[set.clone(), bulk("a")],
            &[set.clone(), bulk("b")]
        ));
        assert!(!picks(
            p,
            &[set.clone(), Value::NilBulk],
            &[set.clone(), bulk("b")]
        ));
        // The collections themselves must agree.
        let other = arr(&["a", "b", "d"]);
        assert!(!picks(p, &[other, bulk("a")], &[set, bulk("a")]));
    }

    #[test]
    fn picks_with_values_must_carry_the_right_values() {
        let hash = arr(&["f", "1", "g", "2"]);
        let p = pick(Collection::Hash, "HRANDFIELD k -2 WITHVALUES");
        let good = arr(&["g", "2", "g", "2"]);
        let bad = arr(&["g", "1", "f", "1"]);
        assert!(picks(
            p,
            &[hash.clone(), good.clone()],
            &[hash.clone(), arr(&["f", "1", "g", "2"])]
        ));
        assert!(!picks(p, &[hash.clone(), bad], &[hash.clone(), good]));
        // RESP3: nested pairs, scores as doubles, same as the range read.
        let pair = |m: &str, s: &str| Value::Array(vec![bulk(m), Value::Double(s.into())]);
        let zset = Value::Array(vec![pair("a", "1"), pair("b", "2.5")]);
        let p = pick(Collection::Zset, "ZRANDMEMBER k 1 WITHSCORES");
        let a = Value::Array(vec![pair("a", "1")]);
        let b = Value::Array(vec![pair("b", "2.5")]);
        let wrong = Value::Array(vec![pair("b", "1")]);
        assert!(picks(p, &[zset.clone(), a.clone()], &[zset.clone(), b]));
        assert!(!picks(p, &[zset.clone(), a], &[zset, wrong]));
    }

    #[test]
    fn dumps_differ_only_for_hashtables_and_only_in_order() {
        // DUMPs of the same hashtable set from two Redis 7.0 processes.
        let x = b"\x02\x05\x01c\xc0\x07\x01b\x01a&long-member-over-twenty-bytes-xxxxxxxx\n\x00\xde2\xda\xc2lAH\x13";
        let y = b"\x02\x05\xc0\x07\x01c\x01a\x01b&long-member-over-twenty-bytes-xxxxxxxx\n\x009\x1b\xc7\xcbiI\x10\xca";
        let dump = |enc: &str, payload: &[u8]| {
            composite_of(&[
                bulk(enc),
                Value::Bulk(payload.to_vec()),
                Value::Simple(b"OK".to_vec()),
            ])
        };
        assert!(super::agree(
            Check::Dump,
            &dump("hashtable", x),
            &dump("hashtable", y)
        ));
        // Only the reference server's encoding decides.
        assert!(!super::agree(
            Check::Dump,
            &dump("hashtable", x),
            &dump("intset", y)
        ));
        assert!(!super::agree(
            Check::Dump,
            &dump("listpack", x),
            &dump("hashtable", y)
        ));
        let mut corrupt = y.to_vec();
        corrupt[3] ^= 1;
        assert!(!super::agree(
            Check::Dump,
            &dump("hashtable", x),
            &dump("hashtable", &corrupt)
        ));
    }

    #[test]
    fn errors_always_compare_exactly() {
        let e1 = Value::Error(b"ERR a".to_vec());
        let e2 = Value::Error(b"ERR b".to_vec());
        for check in [Check::Shape, Check::NilOrNot, Check::Tolerance(1_000_000)] {
            assert!(!agree(check, &e1, &e2));
            assert!(agree(check, &e1, &e1));
        }
    }
}
