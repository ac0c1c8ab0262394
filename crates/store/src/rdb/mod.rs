//! `DUMP`/`RESTORE` payloads, byte for byte as Redis 7.0 writes and reads
//! them, so a value can move between real Redis and shoal in either
//! direction.
//!
//! The module owns the serialized form only: values come and go as
//! [`RdbValue`], a neutral type the caller converts to and from its own
//! representation. [`restore`] treats every payload as hostile: it must never
//! panic, and whatever a length field claims, memory stays proportional to
//! the payload (lengths and counts are checked against the bytes that remain;
//! LZF output grows only as real input produces it, at most 88-fold as in
//! liblzf).
//!
//! A payload is laid out as:
//!
//! | bytes        | meaning                                                        |
//! |--------------|----------------------------------------------------------------|
//! | 1            | RDB object type (`RDB_TYPE_*`)                                 |
//! | …            | the value, in that type's encoding                             |
//! | 2            | RDB version, little endian (Redis 7.0 writes 10)               |
//! | 8            | CRC-64/Jones (reflected, poly `0xad93d23594c935a9`, init 0) of all the bytes before it, little endian |
//!
//! What [`dump`] writes, decided by [`DumpOptions`] the way Redis 7.0 decides
//! the encoding of a value built by `SET`/`RPUSH`/`SADD`/`HSET`/`ZADD`:
//!
//! | value  | type written                                                              |
//! |--------|---------------------------------------------------------------------------|
//! | string | `STRING` (0): `INT8/16/32` for canonical integers, LZF above 20 bytes when it saves ≥ 4 bytes |
//! | list   | `LIST_QUICKLIST_2` (18): listpack nodes split as `RPUSH` splits them, `PLAIN` nodes for elements ≥ 1 GB, middle nodes LZF-compressed per `list-compress-depth` |
//! | set    | `SET_INTSET` (11) if every member is an integer and count ≤ `set-max-intset-entries`, else `SET` (2) |
//! | hash   | `HASH_LISTPACK` (16) within the `hash-max-listpack-*` limits, else `HASH` (4) |
//! | zset   | `ZSET_LISTPACK` (17, scores as `d2string` text) within the `zset-max-listpack-*` limits, else `ZSET_2` (5, binary doubles, highest score first) |
//!
//! [`restore`] reads all of those plus the older encodings Redis 7.0 still
//! loads: `LIST` (1), `ZSET` (3, string scores), `HASH_ZIPMAP` (9),
//! `LIST_ZIPLIST` (10), `ZSET_ZIPLIST` (12), `HASH_ZIPLIST` (13),
//! `LIST_QUICKLIST` (14), and Redis 7.2's `SET_LISTPACK` (20). Streams and
//! module values are refused as [`RdbError::BadFormat`].
//!
//! `restore` is stricter than Redis, whose default `sanitize-dump-payload no`
//! checks little beyond headers and which parses from a buffer that still
//! holds the footer: it validates every listpack/ziplist/intset entry, and
//! refuses duplicate members, empty collections, NaN or unparsable scores, a
//! value that runs into the footer or stops short of it, and non-canonical
//! length fields. Payloads that `DUMP` produces are never refused.
//!
//! | file            | job                                                    |
//! |-----------------|--------------------------------------------------------|
//! | `encode.rs`     | [`dump`]: encodings, quicklist node layout, `%.17g`    |
//! | `decode.rs`     | [`restore`]: the loader for every accepted type        |
//! | `listpack.rs`   | listpacks, written and read                            |
//! | `ziplist.rs`    | ziplists and zipmaps (read only: Redis ≤ 6.2 wrote them) |
//! | `intset.rs`     | intsets, written and read                              |
//! | `lzf.rs`        | LZF exactly as Redis compresses it, and a checked decompressor |
//! | `crc64.rs`      | Redis's CRC-64                                         |

mod crc64;
mod decode;
mod encode;
mod intset;
mod listpack;
mod lzf;
mod ziplist;

#[cfg(test)]
mod tests;

use std::fmt;

/// The RDB version Redis 7.0 writes, and the newest [`restore`] accepts.
pub const RDB_VERSION: u16 = 10;

/// A value as it crosses the `DUMP`/`RESTORE` boundary, independent of how
/// shoal stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    String(Vec<u8>),
    /// Elements from head to tail.
    List(Vec<Vec<u8>>),
    /// Members without duplicates, in the order they are written (Redis's
    /// dict order for hash-table sets; intsets are always written sorted).
    Set(Vec<Vec<u8>>),
    /// Field/value pairs without duplicate fields, in the order written.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// Member/score pairs without duplicate members or NaN scores, sorted as
    /// Redis sorts them: ascending score, then member bytes. [`restore`]
    /// always returns this order; [`dump`] expects it.
    ZSet(Vec<(Vec<u8>, f64)>),
}

/// The settings that decide which encoding [`dump`] writes, named after
/// Redis's configuration and defaulting to its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpOptions {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size`: negative is a byte limit per node (-1 = 4 KB
    /// … -5 = 64 KB), positive an element count (clamped to -5..=32767 as
    /// Redis clamps it).
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`: nodes this far from either end stay plain.
    pub list_compress_depth: usize,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
        }
    }
}

/// Why a payload was refused; [`RdbError::reply`] is Redis's error line
/// (without the leading `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbError {
    /// Shorter than the footer, an RDB version newer than 10, or a CRC that
    /// does not match (Redis's `verifyDumpPayload`).
    VersionOrChecksum,
    /// The checksum is right but the value does not parse. The text says
    /// what was wrong, for logs; clients only ever see [`RdbError::reply`].
    BadFormat(&'static str),
}

impl RdbError {
    pub fn reply(self) -> &'static str {
        match self {
            RdbError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            RdbError::BadFormat(_) => "ERR Bad data format",
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::VersionOrChecksum => f.write_str(self.reply()),
            RdbError::BadFormat(why) => write!(f, "{} ({why})", self.reply()),
        }
    }
}

impl std::error::Error for RdbError {}

/// Serializes `value` exactly as Redis 7.0's `DUMP` would for the same value
/// built into a new key with the same settings (`RPUSH` in order, `SADD`,
/// `HSET` in order, `ZADD`). A key Redis built otherwise can have another
/// layout for the same value (an `LPUSH`-built list splits into different
/// nodes, an intset keeps its width after removals); both load the same.
///
/// Expects what Redis holds: collections non-empty and without duplicates,
/// sorted sets in [`RdbValue::ZSet`]'s order and without NaN. Anything else
/// still serializes without panicking, but [`restore`] (like Redis) refuses
/// empty, duplicate or NaN values, and hands an unsorted set back sorted.
pub fn dump(value: &RdbValue, opts: &DumpOptions) -> Vec<u8> {
    encode::dump(value, opts, encode::PACKED_THRESHOLD)
}

/// Parses a `DUMP` payload (from Redis or from [`dump`]), checking version
/// and checksum first.
pub fn restore(payload: &[u8]) -> Result<RdbValue, RdbError> {
    decode::restore(payload)
}

/// RDB object type bytes (`RDB_TYPE_*` in Redis's `rdb.h`).
mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const SET_LISTPACK: u8 = 20;
}

/// Quicklist node containers as `LIST_QUICKLIST_2` records them.
const CONTAINER_PLAIN: u8 = 1;
const CONTAINER_PACKED: u8 = 2;

/// One element of a listpack or ziplist: both store canonical integers as
/// integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Entry<'_> {
    fn to_vec(self) -> Vec<u8> {
        match self {
            Entry::Bytes(b) => b.to_vec(),
            Entry::Int(v) => v.to_string().into_bytes(),
        }
    }
}

/// Redis's `string2ll` (and listpack's `lpStringToInt64`): a decimal
/// integer with no sign other than a leading `-`, no leading zeros, no
/// spaces, within `i64`. Exactly the strings Redis stores as integers.
fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    // Accumulate negatively so i64::MIN fits.
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}
