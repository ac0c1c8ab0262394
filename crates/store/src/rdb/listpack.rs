//! Listpacks, byte-exact with Redis 7.0's `listpack.c`.
//!
//! `<total bytes u32 LE> <count u16 LE, 65535 = unknown> <entry>… 0xFF`,
//! each entry being an encoding, its data, and a "backlen" holding the
//! length of encoding + data so the list can be walked backwards:
//!
//! | first byte   | entry                                      |
//! |--------------|--------------------------------------------|
//! | `0xxxxxxx`   | 7-bit unsigned integer                     |
//! | `10xxxxxx`   | string of up to 63 bytes                   |
//! | `110xxxxx`   | + 1 byte: 13-bit signed integer            |
//! | `1110xxxx`   | + 1 byte: string of up to 4095 bytes       |
//! | `0xF0`       | + u32 LE length: longer string             |
//! | `0xF1`…`0xF4`| 16/24/32/64-bit signed integer, LE         |
//! | `0xFF`       | end of the listpack                        |

use super::{parse_canonical_i64, Entry};

const HEADER_SIZE: usize = 6;
const EOF: u8 = 0xFF;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Builds a listpack by appending, as `lpAppend` does.
#[derive(Debug, Default)]
pub(super) struct ListpackWriter {
    entries: Vec<u8>,
    count: usize,
}

impl ListpackWriter {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// `lpAppend`: a canonical integer string is stored as an integer.
    pub(super) fn push(&mut self, item: &[u8]) {
        let start = self.entries.len();
        match parse_canonical_i64(item) {
            Some(v) => encode_int(&mut self.entries, v),
            None => encode_str(&mut self.entries, item),
        }
        let entry_len = (self.entries.len() - start) as u64;
        encode_backlen(&mut self.entries, entry_len);
        self.count += 1;
    }

    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// What `lpBytes` would report: header + entries + terminator.
    pub(super) fn total_bytes(&self) -> usize {
        HEADER_SIZE + self.entries.len() + 1
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let total = self.total_bytes();
        let mut lp = Vec::with_capacity(total);
        lp.extend_from_slice(&(total as u32).to_le_bytes());
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c < COUNT_UNKNOWN)
            .unwrap_or(COUNT_UNKNOWN);
        lp.extend_from_slice(&count.to_le_bytes());
        lp.extend_from_slice(&self.entries);
        lp.push(EOF);
        lp
    }
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1fff;
        out.push(0xC0 | (u >> 8) as u8);
        out.push(u as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v) {
        out.push(0xF3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.push(0xE0 | (len >> 8) as u8);
        out.push(len as u8);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// `lpEncodeBacklen`: big-endian 7-bit groups; every byte after the first
/// has its high bit set, so reading backwards knows when to stop.
fn encode_backlen(out: &mut Vec<u8>, l: u64) {
    let groups = backlen_size(l);
    for i in (0..groups).rev() {
        let bits = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == groups - 1 { bits } else { bits | 128 });
    }
}

fn backlen_size(l: u64) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Every entry of a listpack, validated as Redis's deep
/// `lpValidateIntegrity` does: the header's byte count and (unless 65535)
/// element count match, every entry and its backlen lie inside, and the
/// terminator is the last byte.
pub(super) fn entries(lp: &[u8]) -> Result<Vec<Entry<'_>>, &'static str> {
    const BAD: &str = "listpack integrity check failed";
    if lp.len() < HEADER_SIZE + 1 {
        return Err(BAD);
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    if total != lp.len() || lp[lp.len() - 1] != EOF {
        return Err(BAD);
    }
    let end = lp.len() - 1;
    // Every entry takes at least two bytes (encoding + backlen).
    let mut out = Vec::with_capacity((end - HEADER_SIZE) / 2);
    let mut p = HEADER_SIZE;
    while p < end {
        let (entry, enc_len) = read_entry(&lp[p..end]).ok_or(BAD)?;
        let backlen = backlen_size(enc_len as u64);
        let next = p.checked_add(enc_len + backlen).ok_or(BAD)?;
        if next > end || decode_backlen(&lp[p + enc_len..next]) != Some(enc_len as u64) {
            return Err(BAD);
        }
        out.push(entry);
        p = next;
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err(BAD);
    }
    Ok(out)
}

/// One entry's value and the length of its encoding + data, or `None` if
/// the encoding is unknown or runs past `buf`.
fn read_entry(buf: &[u8]) -> Option<(Entry<'_>, usize)> {
    let b0 = *buf.first()?;
    let byte = |i: usize| buf.get(i).copied();
    let le = |n: usize| -> Option<u64> {
        let bytes = buf.get(1..1 + n)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    };
    let string = |hdr: usize, len: usize| -> Option<(Entry<'_>, usize)> {
        let data = buf.get(hdr..hdr.checked_add(len)?)?;
        Some((Entry::Bytes(data), hdr + len))
    };
    // Sign-extend an n-bit two's complement value.
    let signed = |u: u64, bits: u32| -> i64 { ((u << (64 - bits)) as i64) >> (64 - bits) };
    match b0 {
        0x00..=0x7F => Some((Entry::Int(i64::from(b0)), 1)),
        0x80..=0xBF => string(1, usize::from(b0 & 0x3F)),
        0xC0..=0xDF => {
            let u = (u64::from(b0 & 0x1F) << 8) | u64::from(byte(1)?);
            Some((Entry::Int(signed(u, 13)), 2))
        }
        0xE0..=0xEF => {
            let len = (usize::from(b0 & 0x0F) << 8) | usize::from(byte(1)?);
            string(2, len)
        }
        0xF0 => string(5, usize::try_from(le(4)?).ok()?),
        0xF1 => Some((Entry::Int(signed(le(2)?, 16)), 3)),
        0xF2 => Some((Entry::Int(signed(le(3)?, 24)), 4)),
        0xF3 => Some((Entry::Int(signed(le(4)?, 32)), 5)),
        0xF4 => Some((Entry::Int(le(8)? as i64), 9)),
        _ => None,
    }
}

/// `lpDecodeBacklen` over exactly the bytes `lpEncodeBacklen` would use.
fn decode_backlen(bytes: &[u8]) -> Option<u64> {
    let (last, rest) = bytes.split_last()?;
    let mut val = u64::from(last & 127);
    let mut more = last & 128 != 0;
    let mut shift = 7;
    for &b in rest.iter().rev() {
        if !more {
            return None;
        }
        val |= u64::from(b & 127) << shift;
        more = b & 128 != 0;
        shift += 7;
    }
    (!more).then_some(val)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp(items: &[&[u8]]) -> Vec<u8> {
        let mut w = ListpackWriter::new();
        for i in items {
            w.push(i);
        }
        w.finish()
    }

    #[test]
    fn integers_take_the_smallest_encoding() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"0", &[0x00, 0x01]),
            (b"127", &[0x7F, 0x01]),
            (b"128", &[0xC0, 0x80, 0x02]),
            (b"-1", &[0xDF, 0xFF, 0x02]),
            (b"4095", &[0xCF, 0xFF, 0x02]),
            (b"-4096", &[0xD0, 0x00, 0x02]),
            (b"4096", &[0xF1, 0x00, 0x10, 0x03]),
            (b"-32768", &[0xF1, 0x00, 0x80, 0x03]),
            (b"32768", &[0xF2, 0x00, 0x80, 0x00, 0x04]),
            (b"-8388608", &[0xF2, 0x00, 0x00, 0x80, 0x04]),
            (b"8388608", &[0xF3, 0x00, 0x00, 0x80, 0x00, 0x05]),
            (b"2147483648", &[0xF4, 0, 0, 0, 0x80, 0, 0, 0, 0, 0x09]),
        ];
        for (item, entry) in cases {
            let bytes = lp(&[item]);
            assert_eq!(&bytes[6..bytes.len() - 1], *entry, "{:?}", item);
            assert_eq!(
                entries(&bytes).unwrap(),
                vec![Entry::Int(parse_canonical_i64(item).unwrap())]
            );
        }
    }

    #[test]
    fn non_canonical_numbers_stay_strings() {
        for s in [
            &b"-0"[..],
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"",
        ] {
            let bytes = lp(&[s]);
            assert_eq!(entries(&bytes).unwrap(), vec![Entry::Bytes(s)]);
        }
        let min = lp(&[b"-9223372036854775808"]);
        assert_eq!(entries(&min).unwrap(), vec![Entry::Int(i64::MIN)]);
    }

    #[test]
    fn string_lengths_pick_6_12_and_32_bit_headers_and_long_backlens() {
        for len in [
            0usize, 63, 64, 125, 126, 127, 4095, 4096, 16380, 16381, 20000,
        ] {
            let s = vec![b'x'; len];
            let bytes = lp(&[&s, b"tail"]);
            let e = entries(&bytes).unwrap();
            assert_eq!(e, vec![Entry::Bytes(&s), Entry::Bytes(b"tail")]);
            let hdr = if len < 64 {
                1
            } else if len < 4096 {
                2
            } else {
                5
            };
            assert_eq!(
                bytes.len(),
                6 + hdr + len + backlen_size((hdr + len) as u64) + 5 + 1 + 1
            );
        }
    }

    #[test]
    fn header_counts_saturate_at_65535() {
        let mut w = ListpackWriter::new();
        for _ in 0..70000 {
            w.push(b"1");
        }
        let bytes = w.finish();
        assert_eq!(&bytes[4..6], &[0xFF, 0xFF]);
        assert_eq!(entries(&bytes).unwrap().len(), 70000);
    }

    #[test]
    fn corrupt_listpacks_are_rejected() {
        let good = lp(&[b"abc", b"12345"]);
        assert!(entries(&good).is_ok());
        let mut wrong_total = good.clone();
        wrong_total[0] += 1;
        assert!(entries(&wrong_total).is_err());
        let mut wrong_count = good.clone();
        wrong_count[4] = 3;
        assert!(entries(&wrong_count).is_err());
        let mut wrong_backlen = good.clone();
        wrong_backlen[6 + 4] = 5;
        assert!(entries(&wrong_backlen).is_err());
        let mut long_string = good.clone();
        long_string[6] = 0x80 | 40;
        assert!(entries(&long_string).is_err());
        let mut bad_encoding = good;
        bad_encoding[6] = 0xF5;
        assert!(entries(&bad_encoding).is_err());
        assert!(entries(&[7, 0, 0, 0, 0, 0, 0xFF]).is_ok());
        assert!(entries(&[6, 0, 0, 0, 0, 0]).is_err());
    }
}
