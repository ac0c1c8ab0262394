//! [`restore`](super::restore): Redis 7.0's `verifyDumpPayload` followed by
//! `rdbLoadObject` for the types shoal holds, every read bounds-checked.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{
    crc64::crc64, intset, listpack, lzf, rdb_type, ziplist, Entry, RdbError, RdbValue,
    CONTAINER_PACKED, CONTAINER_PLAIN, RDB_VERSION,
};

type Result<T> = std::result::Result<T, RdbError>;

const FOOTER: usize = 10;

fn bad(why: &'static str) -> RdbError {
    RdbError::BadFormat(why)
}

pub(super) fn restore(payload: &[u8]) -> Result<RdbValue> {
    let body_len = payload
        .len()
        .checked_sub(FOOTER)
        .ok_or(RdbError::VersionOrChecksum)?;
    let (body, footer) = payload.split_at(body_len);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(RdbError::VersionOrChecksum);
    }
    let crc = crc64(0, &payload[..body_len + 2]);
    if crc.to_le_bytes()[..] != footer[2..] {
        return Err(RdbError::VersionOrChecksum);
    }

    let mut r = Reader { buf: body, pos: 0 };
    let ty = r.byte()?;
    let value = read_value(ty, &mut r)?;
    if r.remaining() != 0 {
        return Err(bad("bytes left over after the value"));
    }
    Ok(value)
}

/// A cursor over the value bytes; every read checks what remains first.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An RDB length field: a length, or the marker of a special string
/// encoding (`11xxxxxx`).
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(bad("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| bad("length beyond the payload"))?;
        if n > self.remaining() {
            return Err(bad("length beyond the payload"));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    /// `rdbLoadLenByRef`.
    fn raw_len(&mut self) -> Result<Len> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3F)),
            1 => Len::Plain((u64::from(b & 0x3F) << 8) | u64::from(self.byte()?)),
            3 => Len::Encoded(b & 0x3F),
            _ if b == 0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            _ if b == 0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
            _ => return Err(bad("unknown length encoding")),
        })
    }

    fn len(&mut self) -> Result<u64> {
        match self.raw_len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(bad("string encoding where a length belongs")),
        }
    }

    /// An element count. Every element takes at least one byte, so a count
    /// beyond the remaining bytes is refused before anything is allocated.
    fn count(&mut self) -> Result<usize> {
        let n = self.len()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(bad("element count beyond the payload")),
        }
    }

    /// `rdbGenericLoadStringObject`: plain, integer-encoded or LZF.
    fn string(&mut self) -> Result<Cow<'a, [u8]>> {
        let decimal = |v: i64| Ok(Cow::Owned(v.to_string().into_bytes()));
        match self.raw_len()? {
            Len::Plain(n) => Ok(Cow::Borrowed(self.take(n)?)),
            Len::Encoded(0) => decimal(i64::from(i8::from_le_bytes(self.array()?))),
            Len::Encoded(1) => decimal(i64::from(i16::from_le_bytes(self.array()?))),
            Len::Encoded(2) => decimal(i64::from(i32::from_le_bytes(self.array()?))),
            Len::Encoded(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let compressed = self.take(clen)?;
                if ulen > clen.saturating_mul(lzf::MAX_EXPANSION) {
                    return Err(bad("invalid LZF compressed string"));
                }
                let ulen =
                    usize::try_from(ulen).map_err(|_| bad("invalid LZF compressed string"))?;
                lzf::decompress(compressed, ulen)
                    .map(Cow::Owned)
                    .ok_or(bad("invalid LZF compressed string"))
            }
            Len::Encoded(_) => Err(bad("unknown string encoding")),
        }
    }

    fn owned_string(&mut self) -> Result<Vec<u8>> {
        self.string().map(Cow::into_owned)
    }
}

fn read_value(ty: u8, r: &mut Reader<'_>) -> Result<RdbValue> {
    match ty {
        rdb_type::STRING => Ok(RdbValue::String(r.owned_string()?)),
        rdb_type::LIST => {
            let n = r.count()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.owned_string()?);
            }
            list(items)
        }
        rdb_type::SET => {
            let n = r.count()?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.owned_string()?);
            }
            set(members)
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let member = r.owned_string()?;
                let score = if ty == rdb_type::ZSET_2 {
                    f64::from_le_bytes(r.array()?)
                } else {
                    string_double(r)?
                };
                pairs.push((member, score));
            }
            zset(pairs)
        }
        rdb_type::HASH => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let field = r.owned_string()?;
                let value = r.owned_string()?;
                pairs.push((field, value));
            }
            hash(pairs)
        }
        rdb_type::HASH_ZIPMAP => {
            let blob = r.string()?;
            let pairs = ziplist::zipmap_pairs(&blob).map_err(bad)?;
            hash(
                pairs
                    .into_iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
            )
        }
        rdb_type::SET_INTSET => {
            let blob = r.string()?;
            let values = intset::decode(&blob).map_err(bad)?;
            Ok(RdbValue::Set(
                values
                    .into_iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect(),
            ))
        }
        rdb_type::LIST_ZIPLIST => {
            let blob = r.string()?;
            list(
                ziplist::entries(&blob)
                    .map_err(bad)?
                    .into_iter()
                    .map(Entry::to_vec)
                    .collect(),
            )
        }
        rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => quicklist(ty, r),
        rdb_type::ZSET_ZIPLIST => zset_from_entries(ziplist::entries(&r.string()?).map_err(bad)?),
        rdb_type::ZSET_LISTPACK => zset_from_entries(listpack::entries(&r.string()?).map_err(bad)?),
        rdb_type::HASH_ZIPLIST => hash_from_entries(ziplist::entries(&r.string()?).map_err(bad)?),
        rdb_type::HASH_LISTPACK => hash_from_entries(listpack::entries(&r.string()?).map_err(bad)?),
        rdb_type::SET_LISTPACK => {
            let blob = r.string()?;
            set(listpack::entries(&blob)
                .map_err(bad)?
                .into_iter()
                .map(Entry::to_vec)
                .collect())
        }
        _ => Err(bad("unsupported RDB object type")),
    }
}

/// `LIST_QUICKLIST` (ziplist nodes) and `LIST_QUICKLIST_2` (listpack or
/// plain nodes). Empty nodes are skipped, as Redis skips them.
fn quicklist(ty: u8, r: &mut Reader<'_>) -> Result<RdbValue> {
    let nodes = r.count()?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = if ty == rdb_type::LIST_QUICKLIST_2 {
            match r.len()? {
                c if c == u64::from(CONTAINER_PLAIN) => CONTAINER_PLAIN,
                c if c == u64::from(CONTAINER_PACKED) => CONTAINER_PACKED,
                _ => return Err(bad("quicklist integrity check failed")),
            }
        } else {
            CONTAINER_PACKED
        };
        let data = r.string()?;
        if data.is_empty() {
            return Err(bad("empty quicklist node"));
        }
        if container == CONTAINER_PLAIN {
            items.push(data.into_owned());
            continue;
        }
        let entries = if ty == rdb_type::LIST_QUICKLIST_2 {
            listpack::entries(&data)
        } else {
            ziplist::entries(&data)
        }
        .map_err(bad)?;
        items.extend(entries.into_iter().map(Entry::to_vec));
    }
    list(items)
}

/// `rdbLoadDoubleValue`: a length byte (253 NaN, 254 +inf, 255 -inf) and
/// that many bytes of decimal text.
fn string_double(r: &mut Reader<'_>) -> Result<f64> {
    match r.byte()? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => parse_score(r.take(u64::from(n))?),
    }
}

fn parse_score(text: &[u8]) -> Result<f64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or(bad("invalid score"))
}

fn list(items: Vec<Vec<u8>>) -> Result<RdbValue> {
    if items.is_empty() {
        return Err(bad("empty list"));
    }
    Ok(RdbValue::List(items))
}

fn set(members: Vec<Vec<u8>>) -> Result<RdbValue> {
    if members.is_empty() {
        return Err(bad("empty set"));
    }
    if has_duplicates(members.iter().map(Vec::as_slice)) {
        return Err(bad("duplicate set members"));
    }
    Ok(RdbValue::Set(members))
}

fn hash(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<RdbValue> {
    if pairs.is_empty() {
        return Err(bad("empty hash"));
    }
    if has_duplicates(pairs.iter().map(|(f, _)| f.as_slice())) {
        return Err(bad("duplicate hash fields"));
    }
    Ok(RdbValue::Hash(pairs))
}

/// Checks, then sorts into Redis's order: score, then member bytes.
fn zset(mut pairs: Vec<(Vec<u8>, f64)>) -> Result<RdbValue> {
    if pairs.is_empty() {
        return Err(bad("empty sorted set"));
    }
    if pairs.iter().any(|(_, s)| s.is_nan()) {
        return Err(bad("sorted set with a NaN score"));
    }
    if has_duplicates(pairs.iter().map(|(m, _)| m.as_slice())) {
        return Err(bad("duplicate sorted set members"));
    }
    pairs.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(RdbValue::ZSet(pairs))
}

fn hash_from_entries(entries: Vec<Entry<'_>>) -> Result<RdbValue> {
    if !entries.len().is_multiple_of(2) {
        return Err(bad("odd number of hash entries"));
    }
    let pairs = entries
        .chunks_exact(2)
        .map(|p| (p[0].to_vec(), p[1].to_vec()))
        .collect();
    hash(pairs)
}

fn zset_from_entries(entries: Vec<Entry<'_>>) -> Result<RdbValue> {
    if !entries.len().is_multiple_of(2) {
        return Err(bad("odd number of sorted set entries"));
    }
    let mut pairs = Vec::with_capacity(entries.len() / 2);
    for p in entries.chunks_exact(2) {
        let score = match p[1] {
            Entry::Int(v) => v as f64,
            Entry::Bytes(text) => parse_score(text)?,
        };
        pairs.push((p[0].to_vec(), score));
    }
    zset(pairs)
}

fn has_duplicates<'b>(keys: impl Iterator<Item = &'b [u8]>) -> bool {
    let mut keys: Vec<&[u8]> = keys.collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}
