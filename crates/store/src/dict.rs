//! [`Dict`]: the hash table under each keyspace shard.
//!
//! A chained table with a power-of-two bucket count, like Redis's `dict`,
//! because the cache needs three things a general map does not give:
//!
//! * **SCAN's guarantee.** [`Dict::scan`] walks buckets in reverse-binary
//!   order, so every element present for a whole scan is returned at least
//!   once even if the table grows or shrinks between calls.
//! * **Random sampling** in O(1) expected time ([`Dict::random`]) for
//!   `RANDOMKEY`, the active expire cycle and eviction.
//! * **Bounded stalls.** A resize rehashes the whole table at once; the
//!   keyspace is split into many shards, so one table is a small fraction
//!   of the keys and a rehash is short.

use std::hash::{BuildHasher, RandomState};

use crate::key::Key;

struct Node<V> {
    next: Option<Box<Node<V>>>,
    key: Key,
    value: V,
}

/// A hash table from byte-string keys to `V`.
pub struct Dict<V> {
    buckets: Vec<Option<Box<Node<V>>>>,
    len: usize,
    hasher: RandomState,
}

const MIN_BUCKETS: usize = 4;

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Dict {
            buckets: Vec::new(),
            len: 0,
            hasher: RandomState::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of the bucket array (the nodes are counted by their owners).
    pub fn table_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Option<Box<Node<V>>>>()
    }

    fn bucket_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) & (self.buckets.len() - 1)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        let mut node = self.buckets[self.bucket_of(key)].as_deref();
        while let Some(n) = node {
            if &*n.key == key {
                return Some(&n.value);
            }
            node = n.next.as_deref();
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let b = self.bucket_of(key);
        let mut node = self.buckets[b].as_deref_mut();
        while let Some(n) = node {
            if &*n.key == key {
                return Some(&mut n.value);
            }
            node = n.next.as_deref_mut();
        }
        None
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if let Some(slot) = self.get_mut(key) {
            return Some(std::mem::replace(slot, value));
        }
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
        let b = self.bucket_of(key);
        let next = self.buckets[b].take();
        self.buckets[b] = Some(Box::new(Node {
            next,
            key: Key::new(key),
            value,
        }));
        self.len += 1;
        None
    }

    /// Removes a key; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        if self.len == 0 {
            return None;
        }
        let b = self.bucket_of(key);
        let mut link = &mut self.buckets[b];
        loop {
            match link {
                None => return None,
                Some(node) if &*node.key == key => {
                    let mut node = link.take()?;
                    *link = node.next.take();
                    self.len -= 1;
                    let value = node.value;
                    self.maybe_shrink();
                    return Some(value);
                }
                Some(node) => link = &mut node.next,
            }
        }
    }

    /// Drops every entry and the table.
    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long chain recursively could
        // overflow the stack.
        for bucket in self.buckets.iter_mut() {
            let mut node = bucket.take();
            while let Some(mut n) = node {
                node = n.next.take();
            }
        }
        self.buckets = Vec::new();
        self.len = 0;
    }

    fn maybe_shrink(&mut self) {
        // Shrink below 1/8 fill, as Redis resizes below 10%.
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn resize(&mut self, buckets: usize) {
        let old = std::mem::take(&mut self.buckets);
        self.buckets.resize_with(buckets, || None);
        for mut bucket in old {
            while let Some(mut node) = bucket {
                bucket = node.next.take();
                let b = self.bucket_of(&node.key);
                node.next = self.buckets[b].take();
                self.buckets[b] = Some(node);
            }
        }
    }

    /// Visits the entries of one or more buckets starting at `cursor` and
    /// returns the next cursor (0 when the scan is complete). The cursor is
    /// Redis's reverse-binary increment, so a full scan returns every entry
    /// that was present throughout, even across resizes.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut node = self.buckets[(cursor & mask) as usize].as_deref();
        while let Some(n) = node {
            visit(&n.key, &n.value);
            node = n.next.as_deref();
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A random entry, or `None` when empty. `rand` supplies randomness.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        // Load factor is at least 1/8, so an occupied bucket turns up quickly.
        loop {
            let b = (rand() as usize) & mask;
            if let Some(head) = self.buckets[b].as_deref() {
                let mut chain = 0;
                let mut n = Some(head);
                while let Some(node) = n {
                    chain += 1;
                    n = node.next.as_deref();
                }
                let mut pick = (rand() % chain) as usize;
                let mut n = head;
                while pick > 0 {
                    // `pick < chain`, so the chain has this many more nodes.
                    n = n.next.as_deref().expect("index within chain length");
                    pick -= 1;
                }
                return Some((&n.key, &n.value));
            }
        }
    }

    /// Every entry, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.buckets.iter().flat_map(|bucket| {
            let mut node = bucket.as_deref();
            std::iter::from_fn(move || {
                let n = node?;
                node = n.next.as_deref();
                Some((&*n.key, &n.value))
            })
        })
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn insert_get_remove_round_trip() {
        let mut d = Dict::new();
        for i in 0..1000u32 {
            assert_eq!(d.insert(&i.to_be_bytes(), i), None);
        }
        assert_eq!(d.insert(&7u32.to_be_bytes(), 70), Some(7));
        assert_eq!(d.len(), 1000);
        assert_eq!(d.get(&7u32.to_be_bytes()), Some(&70));
        for i in 0..1000u32 {
            assert!(d.remove(&i.to_be_bytes()).is_some());
        }
        assert!(d.is_empty());
        assert_eq!(d.get(b"x"), None);
    }

    #[test]
    fn scan_returns_every_stable_key_across_growth_and_shrink() {
        let mut d = Dict::new();
        for i in 0..500u32 {
            d.insert(format!("stable{i}").as_bytes(), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            step += 1;
            // Grow then shrink the table while the scan is running.
            if step == 50 {
                for i in 0..5000u32 {
                    d.insert(format!("temp{i}").as_bytes(), ());
                }
            }
            if step == 300 {
                for i in 0..5000u32 {
                    d.remove(format!("temp{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500u32 {
            assert!(
                seen.contains(format!("stable{i}").as_bytes()),
                "missed stable{i}"
            );
        }
    }

    #[test]
    fn random_visits_every_key_eventually() {
        let mut d = Dict::new();
        for i in 0..20u8 {
            d.insert(&[i], ());
        }
        let mut state = 88172645463325252u64;
        let mut rand = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let (k, _) = d.random(&mut rand).expect("non-empty");
            seen.insert(k.to_vec());
        }
        assert_eq!(seen.len(), 20);
    }
}
