//! Ziplists and zipmaps, read-only: Redis 7.0 no longer writes them, but its
//! loader still accepts payloads from Redis ≤ 6.2 (ziplists) and ≤ 2.4
//! (zipmaps), converting them on load. Both are validated as Redis's deep
//! `ziplistValidateIntegrity`/`zipmapValidateIntegrity` do.
//!
//! Ziplist: `<zlbytes u32> <zltail u32> <zllen u16> <entry>… 0xFF`, all
//! little endian; an entry is `<prevlen: 1 byte, or 0xFE + u32> <encoding>
//! <data>`:
//!
//! | encoding                   | data                                 |
//! |----------------------------|--------------------------------------|
//! | `00pppppp`                 | string of up to 63 bytes             |
//! | `01pppppp qqqqqqqq`        | string, 14-bit big-endian length     |
//! | `10______` + u32 BE        | string, 32-bit length                |
//! | `0xC0`/`0xD0`/`0xE0`       | int16/int32/int64, LE                |
//! | `0xF0`/`0xFE`              | int24/int8                           |
//! | `0xF1`…`0xFD`              | the integers 0…12, no data           |
//!
//! Zipmap: `<zmlen u8> (<len> key <len> <free u8> value <free bytes>)… 0xFF`
//! where a length is one byte below 254, or 254 + u32 LE.

use super::Entry;

const ZL_HEADER: usize = 10;
const ZL_END: u8 = 0xFF;
const BIG_PREVLEN: u8 = 254;

/// Every entry of a ziplist, or an error if any part of it is malformed.
pub(super) fn entries(zl: &[u8]) -> Result<Vec<Entry<'_>>, &'static str> {
    const BAD: &str = "ziplist integrity check failed";
    if zl.len() < ZL_HEADER + 1 {
        return Err(BAD);
    }
    let u32_at = |i: usize| u32::from_le_bytes([zl[i], zl[i + 1], zl[i + 2], zl[i + 3]]) as usize;
    let bytes = u32_at(0);
    let tail = u32_at(4);
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    if bytes != zl.len() || zl[end] != ZL_END || tail > end {
        return Err(BAD);
    }
    // Every entry takes at least two bytes (prevlen + encoding).
    let mut out = Vec::with_capacity((end - ZL_HEADER) / 2);
    let mut p = ZL_HEADER;
    let mut prev: Option<usize> = None;
    while zl[p] != ZL_END {
        let (entry, size, prevlen) = read_entry(&zl[p..end]).ok_or(BAD)?;
        if prevlen != prev.map_or(0, |q| p - q) {
            return Err(BAD);
        }
        out.push(entry);
        prev = Some(p);
        p += size;
        if p >= end {
            break;
        }
    }
    if p != end || prev.is_some_and(|q| q != tail) {
        return Err(BAD);
    }
    if header_count != u16::MAX && usize::from(header_count) != out.len() {
        return Err(BAD);
    }
    Ok(out)
}

/// One entry: its value, its total size, and its recorded prevlen.
fn read_entry(buf: &[u8]) -> Option<(Entry<'_>, usize, usize)> {
    let (prevlen, mut p) = match *buf.first()? {
        BIG_PREVLEN => {
            let b = buf.get(1..5)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
        }
        b => (usize::from(b), 1),
    };
    let enc = *buf.get(p)?;
    p += 1;
    let take = |from: usize, n: usize| buf.get(from..from.checked_add(n)?);
    let int_le = |from: usize, n: usize| -> Option<i64> {
        let bytes = take(from, n)?;
        let u = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let shift = 64 - 8 * n as u32;
        Some(((u << shift) as i64) >> shift)
    };
    let (entry, data_len) = match enc {
        0x00..=0x3F => {
            let n = usize::from(enc);
            (Entry::Bytes(take(p, n)?), n)
        }
        0x40..=0x7F => {
            let n = (usize::from(enc & 0x3F) << 8) | usize::from(*buf.get(p)?);
            p += 1;
            (Entry::Bytes(take(p, n)?), n)
        }
        0x80..=0xBF => {
            let b = take(p, 4)?;
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            p += 4;
            (Entry::Bytes(take(p, n)?), n)
        }
        0xC0 => (Entry::Int(int_le(p, 2)?), 2),
        0xD0 => (Entry::Int(int_le(p, 4)?), 4),
        0xE0 => (Entry::Int(int_le(p, 8)?), 8),
        0xF0 => (Entry::Int(int_le(p, 3)?), 3),
        0xFE => (Entry::Int(int_le(p, 1)?), 1),
        0xF1..=0xFD => (Entry::Int(i64::from(enc & 0x0F) - 1), 0),
        _ => return None,
    };
    Some((entry, p + data_len, prevlen))
}

/// A zipmap field and its value.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// The field/value pairs of a zipmap.
pub(super) fn zipmap_pairs(zm: &[u8]) -> Result<Vec<Pair<'_>>, &'static str> {
    const BAD: &str = "zipmap integrity check failed";
    const BIGLEN: u8 = 254;
    const END: u8 = 0xFF;
    let (&zmlen, body) = zm.split_first().ok_or(BAD)?;
    let mut p = 0usize;
    let mut pairs = Vec::new();
    let len_at = |p: usize| -> Option<(usize, usize)> {
        match *body.get(p)? {
            BIGLEN => {
                let b = body.get(p + 1..p + 5)?;
                Some((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5))
            }
            l => Some((usize::from(l), 1)),
        }
    };
    let take = |from: usize, n: usize| body.get(from..from.checked_add(n)?);
    loop {
        match body.get(p) {
            None => return Err(BAD),
            Some(&END) => break,
            Some(_) => {}
        }
        let (klen, s) = len_at(p).ok_or(BAD)?;
        p += s;
        let key = take(p, klen).ok_or(BAD)?;
        p += klen;
        let (vlen, s) = len_at(p).ok_or(BAD)?;
        p += s;
        let free = usize::from(*body.get(p).ok_or(BAD)?);
        p += 1;
        let value = take(p, vlen).ok_or(BAD)?;
        p = p.checked_add(vlen + free).ok_or(BAD)?;
        pairs.push((key, value));
    }
    if p + 1 != body.len() || pairs.is_empty() {
        return Err(BAD);
    }
    if zmlen != BIGLEN && usize::from(zmlen) != pairs.len() {
        return Err(BAD);
    }
    Ok(pairs)
}

/// Ziplists and zipmaps for tests, built by the rules above.
#[cfg(test)]
pub(super) mod build {
    use super::super::parse_canonical_i64;

    fn entry(item: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        match parse_canonical_i64(item) {
            Some(v @ 0..=12) => e.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => {
                e.push(0xFE);
                e.push(v as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                e.push(0xC0);
                e.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..1 << 23).contains(&v) => {
                e.push(0xF0);
                e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                e.push(0xD0);
                e.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                e.push(0xE0);
                e.extend_from_slice(&v.to_le_bytes());
            }
            None if item.len() < 64 => e.push(item.len() as u8),
            None if item.len() < 16384 => {
                e.push(0x40 | (item.len() >> 8) as u8);
                e.push(item.len() as u8);
            }
            None => {
                e.push(0x80);
                e.extend_from_slice(&(item.len() as u32).to_be_bytes());
            }
        }
        if parse_canonical_i64(item).is_none() {
            e.extend_from_slice(item);
        }
        e
    }

    pub(in super::super) fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev_size = 0usize;
        let mut tail = 10usize;
        for item in items {
            let mut raw = Vec::new();
            if prev_size < 254 {
                raw.push(prev_size as u8);
            } else {
                raw.push(254);
                raw.extend_from_slice(&(prev_size as u32).to_le_bytes());
            }
            raw.extend_from_slice(&entry(item));
            tail = 10 + body.len();
            prev_size = raw.len();
            body.extend_from_slice(&raw);
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    pub(in super::super) fn zipmap(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
        let len = |out: &mut Vec<u8>, n: usize| {
            if n < 254 {
                out.push(n as u8);
            } else {
                out.push(254);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        let mut zm = vec![pairs.len().min(254) as u8];
        for (k, v) in pairs {
            len(&mut zm, k.len());
            zm.extend_from_slice(k);
            len(&mut zm, v.len());
            zm.push(free);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(0u8, usize::from(free)));
        }
        zm.push(0xFF);
        zm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_ziplist_encoding() {
        let long = vec![b'y'; 300];
        let huge = vec![b'z'; 17000];
        let items: Vec<&[u8]> = vec![
            b"a",
            b"0",
            b"12",
            b"13",
            b"-1",
            b"-128",
            b"300",
            b"-40000",
            b"8000000",
            b"-9000000",
            b"3000000000",
            &long,
            &huge,
            b"",
            b"hello",
        ];
        let zl = build::ziplist(&items);
        let got: Vec<Vec<u8>> = entries(&zl)
            .unwrap()
            .into_iter()
            .map(Entry::to_vec)
            .collect();
        let want: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn empty_ziplist_is_valid_and_empty() {
        assert_eq!(entries(&build::ziplist(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corrupt_ziplists_are_rejected() {
        let good = build::ziplist(&[b"abc", b"7", b"xyz"]);
        assert!(entries(&good).is_ok());
        for (i, v) in [(0, 0u8), (4, 0), (8, 9), (10, 1), (11, 9), (15, 1)] {
            let mut bad = good.clone();
            bad[i] = v;
            assert!(entries(&bad).is_err(), "byte {i} = {v}");
        }
        let mut bad_encoding = good;
        bad_encoding[11] = 0xC1;
        assert!(entries(&bad_encoding).is_err());
    }

    #[test]
    fn zipmaps_skip_free_bytes_and_check_the_count() {
        let zm = build::zipmap(&[(b"f1", b"v1"), (b"field", &[b'x'; 300])], 3);
        let pairs = zipmap_pairs(&zm).unwrap();
        assert_eq!(
            pairs,
            vec![(&b"f1"[..], &b"v1"[..]), (&b"field"[..], &[b'x'; 300][..])]
        );
        let mut bad_count = zm.clone();
        bad_count[0] = 5;
        assert!(zipmap_pairs(&bad_count).is_err());
        let mut truncated = zm;
        truncated.truncate(truncated.len() - 2);
        assert!(zipmap_pairs(&truncated).is_err());
        assert!(zipmap_pairs(&[0, 0xFF]).is_err());
    }
}
