//! LZF as Redis 7.0 uses it: the `lzf_compress` bundled with Redis (`HLOG`
//! 16, `VERY_FAST`, the shift-and-subtract `IDX` hash, matches allowed up to
//! the end of the input), reproduced step for step so that compressed
//! strings and quicklist nodes come out byte-identical to Redis 7.0.15's;
//! and a bounds-checked `lzf_decompress`.
//!
//! Stream format: `000LLLLL` + L+1 literal bytes; `LLLooooo oooooooo` a
//! back-reference of L+2 bytes at distance o+1; `111ooooo LLLLLLLL oooooooo`
//! the same with length L+9.
//!
//! One deliberate difference: Redis leaves the hash table uninitialised on
//! the stack, so a stale slot could in principle point at a match a fresh
//! table would not find. We start from an empty table; the output always
//! decompresses to the same bytes either way.

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The longest output one input byte can produce: a 3-byte back-reference
/// expands to `MAX_REF` bytes.
pub(super) const MAX_EXPANSION: u64 = (MAX_REF as u64).div_ceil(3);

/// `IDX` for `VERY_FAST`: depends on the three bytes in the low 24 bits.
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// liblzf's hash table of input offsets, kept per thread and invalidated by
/// bumping an epoch, so each call starts empty without clearing 64 Ki slots.
struct HashTable {
    /// `epoch << 32 | offset`; a slot from an older epoch reads as empty.
    slots: Vec<u64>,
    epoch: u32,
}

impl HashTable {
    fn reset(&mut self) {
        if self.slots.is_empty() || self.epoch == u32::MAX {
            self.slots.clear();
            self.slots.resize(HSIZE, 0);
            self.epoch = 0;
        }
        self.epoch += 1;
    }

    /// The offset stored in `slot` (0, which liblzf never matches, when
    /// empty), replaced by `ip`.
    fn swap(&mut self, slot: usize, ip: usize) -> usize {
        let old = self.slots[slot];
        self.set(slot, ip);
        if (old >> 32) as u32 == self.epoch {
            old as u32 as usize
        } else {
            0
        }
    }

    fn set(&mut self, slot: usize, ip: usize) {
        self.slots[slot] = (u64::from(self.epoch) << 32) | ip as u64;
    }
}

thread_local! {
    static TABLE: RefCell<HashTable> = const {
        RefCell::new(HashTable { slots: Vec::new(), epoch: 0 })
    };
}

/// `lzf_compress(input, in_len, out, out_len)`: the compressed bytes, or
/// `None` where liblzf returns 0 (the result would not fit in `out_len`).
pub(super) fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // Offsets are 32-bit, as in liblzf; Redis never compresses more.
    if input.is_empty() || out_len == 0 || u32::try_from(input.len()).is_err() {
        return None;
    }
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        table.reset();
        compress_with(&mut table, input, out_len)
    })
}

fn compress_with(htab: &mut HashTable, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    let mut out = vec![0u8; out_len];
    let mut ip = 0usize;
    let mut op = 1usize; // the first literal run's length byte
    let mut lit = 0usize;

    let frst = |p: usize| (u32::from(input[p]) << 8) | u32::from(input[p + 1]);
    let mut hval = if in_len >= 2 { frst(0) } else { 0 };

    while ip + 2 < in_len {
        hval = (hval << 8) | u32::from(input[ip + 2]);
        let r = htab.swap(idx(hval), ip);

        if r > 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1]
        {
            let off = ip - r - 1;
            let maxlen = (in_len - ip - 2).min(MAX_REF);

            // The back-reference and a new run must fit once the current
            // run is closed (or its unused length byte taken back).
            if op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                op -= 1;
            }

            // The match length, found as liblzf finds it: an unrolled run of
            // 16 unbounded compares when more than 16 bytes remain (which can
            // carry it up to two bytes past `maxlen`), then a bounded loop.
            let mut len = 2usize;
            let mut mismatched = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        mismatched = true;
                        break;
                    }
                }
            }
            if !mismatched {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }

            len -= 2; // now the encoded length
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start a new literal run

            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            // VERY_FAST: hash the last two positions of the match.
            ip -= 2;
            hval = frst(ip);
            hval = (hval << 8) | u32::from(input[ip + 2]);
            htab.set(idx(hval), ip);
            ip += 1;
            hval = (hval << 8) | u32::from(input[ip + 2]);
            htab.set(idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }

    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        op -= 1;
    }
    out.truncate(op);
    Some(out)
}

/// `lzf_decompress` into exactly `expected` bytes: `None` if the stream is
/// malformed, overruns `expected`, or ends short of it. The output grows
/// only as the stream produces bytes, so a lying `expected` costs nothing.
pub(super) fn decompress(input: &[u8], expected: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expected.min(1 << 16));
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < MAX_LIT {
            let n = ctrl + 1;
            let lits = input.get(ip..ip.checked_add(n)?)?;
            if out.len() + n > expected {
                return None;
            }
            out.extend_from_slice(lits);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip)?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let len = len + 2;
            if out.len() + len > expected || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping copy: each byte may be one this copy wrote.
                for i in start..start + len {
                    let b = out[i];
                    out.push(b);
                }
            }
        }
    }
    (out.len() == expected).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn compress_then_decompress_round_trips_random_and_repetitive_inputs() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..2000 {
            let len = (rng.next() % 3000) as usize;
            let alphabet = 1 + (rng.next() % if round % 2 == 0 { 4 } else { 256 });
            let data: Vec<u8> = (0..len).map(|_| (rng.next() % alphabet) as u8).collect();
            // Generous room: compression must succeed and round-trip.
            if let Some(c) = compress(&data, len + len / 16 + 64) {
                assert_eq!(decompress(&c, len).as_deref(), Some(&data[..]));
            } else {
                assert!(len == 0);
            }
            // Tight room: either it fits or liblzf gives up; never overflows.
            let tight = len.saturating_sub(4);
            if let Some(c) = compress(&data, tight) {
                assert!(c.len() <= tight);
                assert_eq!(decompress(&c, len).as_deref(), Some(&data[..]));
            }
        }
    }

    #[test]
    fn repeated_bytes_compress_as_redis_does() {
        // Redis 7.0's DUMP of `SET k <30 × a>` is `00 c3 09 1e` + these.
        let data = [b'a'; 30];
        let c = compress(&data, 26).expect("30 equal bytes compress");
        assert_eq!(c, [0x01, 0x61, 0x61, 0xe0, 0x11, 0x00, 0x01, 0x61, 0x61]);
        assert_eq!(decompress(&c, 30).as_deref(), Some(&data[..]));
    }

    #[test]
    fn decompress_rejects_bad_streams() {
        // Back-reference before the start of the output.
        assert_eq!(decompress(&[0x20, 0x00], 3), None);
        // Literal run longer than the input.
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        // Output longer than promised, and shorter.
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), None);
        assert_eq!(decompress(&[0x01, b'a', b'b'], 3), None);
        // Truncated back-reference.
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 20), None);
        assert_eq!(decompress(&[], 0).as_deref(), Some(&[][..]));
    }
}
