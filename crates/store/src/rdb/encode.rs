//! [`dump`](super::dump): Redis 7.0's `rdbSaveObject` for each value type,
//! with the encoding a value built by ordinary commands would have.

use super::listpack::ListpackWriter;
use super::{
    crc64::crc64, intset, lzf, parse_canonical_i64, rdb_type, DumpOptions, RdbValue,
    CONTAINER_PACKED, CONTAINER_PLAIN, RDB_VERSION,
};

/// Quicklist elements at least this long get a node of their own, stored
/// as-is rather than in a listpack (`packed_threshold`, 1 GB by default).
pub(super) const PACKED_THRESHOLD: usize = 1 << 30;

/// Listpacks for hashes and sorted sets never grow past this
/// (`LISTPACK_MAX_SAFETY_SIZE`); beyond it Redis converts to a hash table
/// or skiplist. Only reachable with limits raised far above the defaults.
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// Byte limits per quicklist node for fill -1 … -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a count-based fill, a node still stops growing past 8 KB.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's overestimate of what one element adds to a listpack.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Quicklist nodes smaller than this are never compressed…
const MIN_COMPRESS_BYTES: usize = 48;
/// …nor when LZF saves fewer than this many bytes.
const MIN_COMPRESS_IMPROVE: usize = 8;

pub(super) fn dump(value: &RdbValue, opts: &DumpOptions, packed_threshold: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        RdbValue::String(s) => {
            out.push(rdb_type::STRING);
            put_string(&mut out, s);
        }
        RdbValue::List(items) => {
            out.push(rdb_type::LIST_QUICKLIST_2);
            put_quicklist(&mut out, items, opts, packed_threshold);
        }
        RdbValue::Set(members) => put_set(&mut out, members, opts),
        RdbValue::Hash(pairs) => put_hash(&mut out, pairs, opts),
        RdbValue::ZSet(pairs) => put_zset(&mut out, pairs, opts),
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `rdbSaveLen`.
fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString` with `rdbcompression yes`: an integer encoding for
/// canonical integers that fit 32 bits, else LZF when the string is over 20
/// bytes and compresses by at least 4, else length + bytes.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_canonical_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.push(0xC0);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(compressed) = lzf::compress(s, s.len() - 4) {
            put_lzf_blob(out, &compressed, s.len());
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `rdbSaveLzfBlob`.
fn put_lzf_blob(out: &mut Vec<u8>, compressed: &[u8], original_len: usize) {
    out.push(0xC3);
    put_len(out, compressed.len() as u64);
    put_len(out, original_len as u64);
    out.extend_from_slice(compressed);
}

/// A quicklist node while the list is being built.
enum Node {
    Packed(ListpackWriter),
    Plain(Vec<u8>),
}

/// The nodes `RPUSH` of `items` into a new list produces, written with
/// `list-compress-depth` applied to the middle nodes.
fn put_quicklist(
    out: &mut Vec<u8>,
    items: &[Vec<u8>],
    opts: &DumpOptions,
    packed_threshold: usize,
) {
    let fill = opts.list_max_listpack_size.clamp(-5, 32767);
    let mut nodes: Vec<Node> = Vec::new();
    for item in items {
        if item.len() >= packed_threshold {
            nodes.push(Node::Plain(item.clone()));
            continue;
        }
        match nodes.last_mut() {
            Some(Node::Packed(lp)) if allow_insert(lp, fill, item.len()) => lp.push(item),
            _ => {
                let mut lp = ListpackWriter::new();
                lp.push(item);
                nodes.push(Node::Packed(lp));
            }
        }
    }

    let depth = opts.list_compress_depth.min(65535);
    let n = nodes.len();
    put_len(out, n as u64);
    for (i, node) in nodes.into_iter().enumerate() {
        let (container, bytes) = match node {
            Node::Packed(lp) => (CONTAINER_PACKED, lp.finish()),
            Node::Plain(item) => (CONTAINER_PLAIN, item),
        };
        put_len(out, u64::from(container));
        let compressed = if depth > 0 && i >= depth && i + depth < n {
            compress_node(&bytes)
        } else {
            None
        };
        match compressed {
            Some(c) => put_lzf_blob(out, &c, bytes.len()),
            None => put_string(out, &bytes),
        }
    }
}

/// `_quicklistNodeAllowInsert` for a listpack node and an element of
/// `sz` bytes.
fn allow_insert(lp: &ListpackWriter, fill: i64, sz: usize) -> bool {
    let new_sz = lp.total_bytes() + sz + SIZE_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = usize::try_from(-fill - 1)
            .ok()
            .and_then(|i| OPTIMIZATION_LEVEL.get(i));
        if level.is_some_and(|&limit| new_sz <= limit) {
            return true;
        }
    }
    if new_sz > SIZE_SAFETY_LIMIT {
        return false;
    }
    i64::try_from(lp.count()).is_ok_and(|count| count < fill)
}

/// `__quicklistCompressNode`: the node's LZF form, when it is worth it.
fn compress_node(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < MIN_COMPRESS_BYTES {
        return None;
    }
    lzf::compress(bytes, bytes.len()).filter(|c| c.len() + MIN_COMPRESS_IMPROVE < bytes.len())
}

fn put_set(out: &mut Vec<u8>, members: &[Vec<u8>], opts: &DumpOptions) {
    if members.len() <= opts.set_max_intset_entries {
        let ints: Option<Vec<i64>> = members.iter().map(|m| parse_canonical_i64(m)).collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            ints.dedup();
            out.push(rdb_type::SET_INTSET);
            put_string(out, &intset::encode(&ints));
            return;
        }
    }
    out.push(rdb_type::SET);
    put_len(out, members.len() as u64);
    for m in members {
        put_string(out, m);
    }
}

fn put_hash(out: &mut Vec<u8>, pairs: &[(Vec<u8>, Vec<u8>)], opts: &DumpOptions) {
    let fits = pairs.len() <= opts.hash_max_listpack_entries
        && pairs.iter().all(|(f, v)| {
            f.len() <= opts.hash_max_listpack_value && v.len() <= opts.hash_max_listpack_value
        })
        && pairs.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>() <= LISTPACK_MAX_SAFETY_SIZE;
    if fits {
        let mut lp = ListpackWriter::new();
        for (f, v) in pairs {
            lp.push(f);
            lp.push(v);
        }
        if lp.total_bytes() <= LISTPACK_MAX_SAFETY_SIZE {
            out.push(rdb_type::HASH_LISTPACK);
            put_string(out, &lp.finish());
            return;
        }
    }
    out.push(rdb_type::HASH);
    put_len(out, pairs.len() as u64);
    for (f, v) in pairs {
        put_string(out, f);
        put_string(out, v);
    }
}

fn put_zset(out: &mut Vec<u8>, pairs: &[(Vec<u8>, f64)], opts: &DumpOptions) {
    let fits = pairs.len() <= opts.zset_max_listpack_entries
        && pairs
            .iter()
            .all(|(m, _)| m.len() <= opts.zset_max_listpack_value)
        && pairs.iter().map(|(m, _)| m.len()).sum::<usize>() <= LISTPACK_MAX_SAFETY_SIZE;
    if fits {
        let mut lp = ListpackWriter::new();
        for (m, score) in pairs {
            lp.push(m);
            lp.push(score_string(*score).as_bytes());
        }
        if lp.total_bytes() <= LISTPACK_MAX_SAFETY_SIZE {
            out.push(rdb_type::ZSET_LISTPACK);
            put_string(out, &lp.finish());
            return;
        }
    }
    // The skiplist is written from the highest score down, so that loading
    // always inserts at the head.
    out.push(rdb_type::ZSET_2);
    put_len(out, pairs.len() as u64);
    for (m, score) in pairs.iter().rev() {
        put_string(out, m);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// Redis 7.0's `d2string`, as listpack sorted sets store scores: integral
/// values within ±2^62 (its `double2ll` window) as integers, so `-0` becomes
/// `0`; everything else as `%.17g`.
fn score_string(x: f64) -> String {
    /// `(double)(LLONG_MAX / 2)`, which rounds to 2^62.
    const LIMIT: f64 = 4_611_686_018_427_387_904.0;
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x < 0.0 { "-inf" } else { "inf" }.into()
    } else if (-LIMIT..=LIMIT).contains(&x) && x.fract() == 0.0 {
        (x as i64).to_string()
    } else {
        format_g17(x)
    }
}

/// C's `printf("%.17g", x)` for a finite non-zero `x`: 17 significant
/// digits (rounded to nearest, ties to even, as glibc does), trailing zeros
/// dropped, exponent form when the exponent is below -4 or at least 17.
fn format_g17(x: f64) -> String {
    // Rust's `{:e}` with a precision rounds exactly, ties to even.
    let sci = format!("{:.16e}", x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    let push_digits = |s: &mut String, d: &[u8]| s.extend(d.iter().map(|&b| char::from(b)));
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        push_digits(&mut s, first);
        let rest = trim_zeros(rest);
        if !rest.is_empty() {
            s.push('.');
            push_digits(&mut s, rest);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let (int, frac) = digits.split_at(exp as usize + 1);
        push_digits(&mut s, int);
        let frac = trim_zeros(frac);
        if !frac.is_empty() {
            s.push('.');
            push_digits(&mut s, frac);
        }
    } else {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        push_digits(&mut s, trim_zeros(&digits));
    }
    s
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let end = d.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    &d[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_format_like_redis_d2string() {
        // Each checked against what Redis 7.0.15 stores for `ZADD k <x> m`.
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (-0.1, "-0.10000000000000001"),
            (3e100, "2.9999999999999999e+100"),
            (1e-300, "1e-300"),
            (1e-7, "9.9999999999999995e-08"),
            (1e17, "100000000000000000"),
            (1e18, "1000000000000000000"),
            (123456789012345678.0, "123456789012345680"),
            (4611686018427387904.0, "4611686018427387904"),
            (-4611686018427387904.0, "-4611686018427387904"),
            (4611686018427388928.0, "4.6116860184273889e+18"),
            (5e18, "5e+18"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (1234567890123456.2, "1234567890123456.2"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.5, "-2.5"),
            (7.0, "7"),
            (-7.0, "-7"),
            (0.0, "0"),
            (-0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(score_string(x), want, "{x:e}");
        }
    }

    #[test]
    fn rdb_lengths_use_6_14_32_and_64_bit_forms() {
        let enc = |n: u64| {
            let mut v = Vec::new();
            put_len(&mut v, n);
            v
        };
        assert_eq!(enc(63), [63]);
        assert_eq!(enc(64), [0x40, 64]);
        assert_eq!(enc(16383), [0x7F, 0xFF]);
        assert_eq!(enc(16384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(enc(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn strings_use_integer_encodings_only_for_canonical_32_bit_integers() {
        let enc = |s: &[u8]| {
            let mut v = Vec::new();
            put_string(&mut v, s);
            v
        };
        assert_eq!(enc(b"-128"), [0xC0, 0x80]);
        assert_eq!(enc(b"128"), [0xC1, 0x80, 0x00]);
        assert_eq!(enc(b"-2147483648"), [0xC2, 0, 0, 0, 0x80]);
        assert_eq!(
            enc(b"2147483648"),
            [10, b'2', b'1', b'4', b'7', b'4', b'8', b'3', b'6', b'4', b'8']
        );
        assert_eq!(enc(b"007"), [3, b'0', b'0', b'7']);
        assert_eq!(enc(b""), [0]);
    }
}
