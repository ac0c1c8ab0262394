//! [`Key`]: a table node's key bytes, short ones kept in the node itself.
//!
//! Most keys, hash fields and set members are short. A `Box<[u8]>` costs a
//! pointer and a length in the node plus a heap allocation (its bytes and
//! the allocator's per-chunk overhead); a `Key` takes the same 16 bytes in
//! the node and keeps up to [`INLINE`] bytes there, with no allocation.

use std::ops::Deref;
use std::ptr::NonNull;

/// Longest key kept inline.
pub const INLINE: usize = 15;
/// Set in the last byte of an inline key, beside its length.
const INLINE_FLAG: u8 = 0x80;

/// A heap key: the pointer and length of a leaked `Box<[u8]>`, the length
/// stored little-endian, so the last of the 16 bytes is its top byte: 0
/// for any length an allocation can have.
#[derive(Clone, Copy)]
#[repr(C)]
struct Heap {
    ptr: NonNull<u8>,
    len_le: usize,
}

/// Inline: bytes 0..15 hold the key, byte 15 `INLINE_FLAG | len`. Heap:
/// [`Heap`] (on a 32-bit target its 8 bytes, the rest zero).
#[repr(C)]
union Repr {
    inline: [u8; 16],
    heap: Heap,
}

pub struct Key(Repr);

/// Heap bytes a key of `len` bytes takes: none when it fits inline.
pub fn heap_len(len: usize) -> usize {
    if len > INLINE {
        len
    } else {
        0
    }
}

// SAFETY: a Key owns its bytes as a Box<[u8]> would (no sharing, no
// interior mutability), so it may move to and be read from any thread.
unsafe impl Send for Key {}
unsafe impl Sync for Key {}

impl Key {
    pub fn new(bytes: &[u8]) -> Key {
        let mut inline = [0u8; 16];
        if bytes.len() <= INLINE {
            inline[..bytes.len()].copy_from_slice(bytes);
            inline[15] = INLINE_FLAG | bytes.len() as u8;
            return Key(Repr { inline });
        }
        let boxed: Box<[u8]> = bytes.into();
        let len = boxed.len();
        let ptr = NonNull::from(Box::leak(boxed)).cast::<u8>();
        let mut repr = Repr { inline };
        repr.heap = Heap {
            ptr,
            len_le: len.to_le(),
        };
        Key(repr)
    }

    fn is_inline(&self) -> bool {
        // SAFETY: all 16 bytes are initialized in either form (see `new`).
        unsafe { self.0.inline[15] & INLINE_FLAG != 0 }
    }

    /// Bytes allocated on the heap for this key (0 when inline).
    pub fn heap_bytes(&self) -> usize {
        heap_len(self.len())
    }
}

impl Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the flag says which form `new` wrote; a heap key's
        // pointer and length are those of the live Box it leaked, which
        // only `drop` frees.
        unsafe {
            if self.is_inline() {
                &self.0.inline[..usize::from(self.0.inline[15] & !INLINE_FLAG)]
            } else {
                let Heap { ptr, len_le } = self.0.heap;
                std::slice::from_raw_parts(ptr.as_ptr(), usize::from_le(len_le))
            }
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if !self.is_inline() {
            // SAFETY: a heap key's pointer and length come from the Box
            // leaked in `new`, freed here once.
            unsafe {
                let Heap { ptr, len_le } = self.0.heap;
                let slice =
                    std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), usize::from_le(len_le));
                drop(Box::from_raw(slice));
            }
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        Key::new(self)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Key").field(&&**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_length_and_short_ones_inline() {
        assert_eq!(std::mem::size_of::<Key>(), 16);
        for len in [0, 1, 14, 15, 16, 17, 100, 70_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let key = Key::new(&bytes);
            assert_eq!(&*key, &bytes[..], "len {len}");
            assert_eq!(key.heap_bytes(), if len <= INLINE { 0 } else { len });
            let copy = key.clone();
            drop(key);
            assert_eq!(&*copy, &bytes[..], "clone of len {len}");
        }
        // A 15-byte key whose last byte has the flag's bit set stays itself.
        let high = [0xffu8; 15];
        assert_eq!(&*Key::new(&high), &high[..]);
    }
}
