//! [`Hash`]: field → value maps, with Redis 7.0's two encodings. Small
//! hashes are one [`Packed`] buffer of alternating fields and values
//! ("listpack"); past `hash-max-listpack-entries` fields or a field or value
//! longer than `hash-max-listpack-value` bytes they become a [`Dict`]
//! ("hashtable") for good.

use crate::dict::Dict;
use crate::packed::Packed;

/// The conversion thresholds (Redis's `hash-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            max_listpack_entries: 512,
            max_listpack_value: 64,
        }
    }
}

pub enum Hash {
    Packed(Packed),
    /// Boxed, so a hash is two words and sits inline in a `Value`.
    Table(Box<Dict<Box<[u8]>>>),
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Packed(p) => Hash::Packed(p.clone()),
            Hash::Table(d) => {
                let mut copy = Dict::new();
                for (k, v) in d.iter() {
                    copy.insert(k, v.clone());
                }
                Hash::Table(Box::new(copy))
            }
        }
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Packed(Packed::new())
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Packed(p) => p.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Packed(p) => p.find_pair(field).map(|(_, v)| v.data),
            Hash::Table(d) => d.get(field).map(|v| &v[..]),
        }
    }

    /// Converts to a table first if this write would pass a threshold on
    /// size of field or value (Redis's `hashTypeTryConversion`).
    pub fn prepare_for(&mut self, items: &[&[u8]], limits: HashLimits) {
        if matches!(self, Hash::Packed(_))
            && items.iter().any(|i| i.len() > limits.max_listpack_value)
        {
            self.convert();
        }
    }

    /// Sets a field; returns true if it is new. Converts to a table once the
    /// field count passes the limit.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        self.prepare_for(&[field, value], limits);
        let added = match self {
            Hash::Packed(p) => match p.find_pair(field).map(|(_, v)| v.span) {
                Some(span) => {
                    p.replace(span, value);
                    false
                }
                None => {
                    p.push(field);
                    p.push(value);
                    true
                }
            },
            Hash::Table(d) => d.insert(field, value.into()).is_none(),
        };
        if self.len() > limits.max_listpack_entries {
            self.convert();
        }
        added
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => match p.find_pair(field).map(|(f, v)| (f.span.0, v.span.1)) {
                Some(span) => {
                    p.remove_span(span);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// (field, value) pairs: insertion order for listpacks, table order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Packed(p) => Box::new(p.pairs()),
            Hash::Table(d) => Box::new(d.iter().map(|(k, v)| (k, &v[..]))),
        }
    }

    /// The field at a position of [`Hash::iter`] (for random picks).
    pub fn nth(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.iter().nth(i)
    }

    /// A random pair; `rand` supplies randomness.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Packed(p) if p.is_empty() => None,
            Hash::Packed(_) => self.nth((rand() % self.len() as u64) as usize),
            Hash::Table(d) => d.random(rand).map(|(k, v)| (k, &v[..])),
        }
    }

    /// One step of HSCAN: a listpack is returned whole (cursor 0 next), a
    /// table walks buckets with [`Dict::scan`].
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Packed(p) => {
                p.pairs().for_each(|(k, v)| visit(k, v));
                0
            }
            Hash::Table(d) => {
                let mut cursor = cursor;
                let mut seen = 0;
                for _ in 0..count.saturating_mul(10).max(1) {
                    cursor = d.scan(cursor, |k, v| {
                        seen += 1;
                        visit(k, v)
                    });
                    if cursor == 0 || seen >= count {
                        break;
                    }
                }
                cursor
            }
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Packed(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Hash::Packed(p) => p.heap_bytes(),
            Hash::Table(d) => {
                d.table_bytes()
                    + d.iter()
                        .map(|(k, v)| 48 + crate::key::heap_len(k.len()) + v.len())
                        .sum::<usize>()
            }
        }
    }

    fn convert(&mut self) {
        if let Hash::Packed(p) = self {
            let mut d = Dict::new();
            for (k, v) in p.pairs() {
                d.insert(k, v.into());
            }
            *self = Hash::Table(Box::new(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_at_redis_thresholds() {
        let limits = HashLimits {
            max_listpack_entries: 3,
            max_listpack_value: 8,
        };
        let mut h = Hash::default();
        for i in 0..3 {
            assert!(h.insert(format!("f{i}").as_bytes(), b"v", limits));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.insert(b"f0", b"new", limits));
        assert_eq!(h.get(b"f0"), Some(&b"new"[..]));
        assert!(h.insert(b"f3", b"v", limits));
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"f3"));
        assert_eq!(h.encoding(), "hashtable", "never converts back");

        let mut long = Hash::default();
        long.prepare_for(&[b"f", b"a value longer than eight"], limits);
        assert_eq!(long.encoding(), "hashtable");
    }

    #[test]
    fn listpack_keeps_insertion_order_and_removes_pairs() {
        let mut h = Hash::default();
        let limits = HashLimits::default();
        h.insert(b"b", b"1", limits);
        h.insert(b"a", b"2", limits);
        h.insert(b"c", b"3", limits);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        let pairs: Vec<_> = h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(
            pairs,
            vec![
                (b"b".to_vec(), b"1".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
    }
}
