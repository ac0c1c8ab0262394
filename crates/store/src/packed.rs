//! [`Packed`]: many short byte strings in one buffer, in the spirit of
//! Redis's listpack.
//!
//! Each entry is its length as a LEB128 varint followed by its bytes, so a
//! ten-field hash of short strings is one allocation of a little over its
//! payload instead of twenty. Lookups scan linearly, which is why only small
//! collections use it (the callers convert to hash tables past thresholds
//! named after Redis's `*-max-listpack-*` settings).

use std::ops::Range;

/// Only a pointer and a length (no capacity, no count: counting is a scan
/// like every lookup here), so it fits beside an enum tag inside a
/// [`crate::Value`] without a box of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packed {
    buf: Box<[u8]>,
}

/// One entry: its bytes and the span it occupies in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    pub data: &'a [u8],
    pub span: (usize, usize),
}

fn varint_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `pos`; returns (value, bytes read). The buffer is only
/// ever written by this module, so a well-formed varint is an invariant.
fn get_varint(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        n |= usize::from(b & 0x7f) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (n, i - pos);
        }
        shift += 7;
    }
}

fn encode(item: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(varint_len(item.len()) + item.len());
    put_varint(&mut e, item.len());
    e.extend_from_slice(item);
    e
}

impl Packed {
    pub fn new() -> Packed {
        Packed::default()
    }

    /// Entries (a scan, as every lookup here).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Runs `f` on the buffer as a `Vec`, then keeps exactly its length
    /// (the edits reserve exactly what they add, so no reallocation is
    /// needed to drop spare capacity except after a removal).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        let r = f(&mut v);
        self.buf = v.into_boxed_slice();
        r
    }

    pub fn iter(&self) -> impl Iterator<Item = Slot<'_>> + '_ {
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= self.buf.len() {
                return None;
            }
            let (n, head) = get_varint(&self.buf, pos);
            let start = pos;
            let data = &self.buf[pos + head..pos + head + n];
            pos += head + n;
            Some(Slot {
                data,
                span: (start, pos),
            })
        })
    }

    /// Appends `item`. Growth is exact, as a listpack's realloc: a small
    /// collection keeps no slack (a doubling Vec would leave up to half
    /// its buffer unused).
    pub fn push(&mut self, item: &[u8]) {
        self.edit(|buf| {
            buf.reserve_exact(varint_len(item.len()) + item.len());
            put_varint(buf, item.len());
            buf.extend_from_slice(item);
        });
    }

    pub fn push_front(&mut self, item: &[u8]) {
        let entry = encode(item);
        self.edit(|buf| {
            buf.reserve_exact(entry.len());
            buf.splice(0..0, entry);
        });
    }

    /// Removes the entries covering `span` (one or more whole entries).
    pub fn remove_span(&mut self, span: (usize, usize)) {
        self.edit(|buf| {
            buf.drain(span.0..span.1);
        });
    }

    /// Replaces the entry at `span` with `item`.
    pub fn replace(&mut self, span: (usize, usize), item: &[u8]) {
        let entry = encode(item);
        self.edit(|buf| {
            buf.reserve_exact(entry.len().saturating_sub(span.1 - span.0));
            buf.splice(
                Range {
                    start: span.0,
                    end: span.1,
                },
                entry,
            );
        });
    }

    /// Inserts `item` as an entry starting at byte `pos` (an entry's span
    /// start, or the end).
    pub fn insert_at(&mut self, pos: usize, item: &[u8]) {
        let entry = encode(item);
        self.edit(|buf| {
            buf.reserve_exact(entry.len());
            buf.splice(pos..pos, entry);
        });
    }

    /// The entry equal to `item`, if any.
    pub fn find(&self, item: &[u8]) -> Option<Slot<'_>> {
        self.iter().find(|s| s.data == item)
    }

    /// Treating entries as (field, value) pairs: the pair whose field is `field`.
    pub fn find_pair(&self, field: &[u8]) -> Option<(Slot<'_>, Slot<'_>)> {
        let mut it = self.iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            if f.data == field {
                return Some((f, v));
            }
        }
        None
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let mut it = self.iter();
        std::iter::from_fn(move || Some((it.next()?.data, it.next()?.data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_long_and_empty_items() {
        let mut p = Packed::new();
        let long = vec![7u8; 300];
        p.push(b"a");
        p.push(b"");
        p.push(&long);
        p.push_front(b"first");
        let items: Vec<Vec<u8>> = p.iter().map(|s| s.data.to_vec()).collect();
        assert_eq!(
            items,
            vec![b"first".to_vec(), b"a".to_vec(), vec![], long.clone()]
        );
        assert_eq!(p.len(), 4);
        let slot = p.find(b"a").expect("present");
        let span = slot.span;
        p.replace(span, b"replaced");
        assert!(p.find(b"replaced").is_some());
        let span = p.find(b"").expect("present").span;
        p.remove_span(span);
        assert_eq!(p.len(), 3);
        assert_eq!(
            p.iter().map(|s| s.data.len()).collect::<Vec<_>>(),
            vec![5, 8, 300]
        );
    }

    #[test]
    fn pairs_find_by_field_only() {
        let mut p = Packed::new();
        for (f, v) in [("f1", "v1"), ("v1", "f2"), ("f2", "v2")] {
            p.push(f.as_bytes());
            p.push(v.as_bytes());
        }
        let (f, v) = p.find_pair(b"f2").expect("field f2");
        assert_eq!((f.data, v.data), (&b"f2"[..], &b"v2"[..]));
        let (_, v) = p.find_pair(b"v1").expect("field v1");
        assert_eq!(v.data, b"f2");
        assert!(p.find_pair(b"v2").is_none());
        assert_eq!(p.pairs().count(), 3);
    }
}
