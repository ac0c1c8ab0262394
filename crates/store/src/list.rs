//! [`List`]: a sequence of byte strings. Redis 7.0 always reports lists as
//! "quicklist". While a list's entries fit in [`SMALL_MAX_BYTES`] (Redis's
//! default `list-max-listpack-size -2`, 8 kB) shoal keeps them in one
//! [`Packed`] buffer, in the spirit of a single listpack node, so a short
//! list costs about its payload; a longer one is a ring buffer with one
//! allocation per element (O(1) pushes and pops at both ends and O(1)
//! `LINDEX`), and goes back to one buffer once it is small again.

use std::collections::VecDeque;

use crate::packed::Packed;

/// Bytes a list keeps in one buffer at most.
pub const SMALL_MAX_BYTES: usize = 8192;
/// A large list shrinks back into one buffer at this many elements or fewer
/// (if their bytes fit in half of [`SMALL_MAX_BYTES`]).
const SHRINK_LEN: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum List {
    Small(Packed),
    Large(Box<VecDeque<Box<[u8]>>>),
}

impl Default for List {
    fn default() -> Self {
        List::Small(Packed::new())
    }
}

impl FromIterator<Vec<u8>> for List {
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(items: I) -> List {
        let mut list = List::default();
        for item in items {
            list.push_back(&item);
        }
        list
    }
}

impl List {
    pub fn len(&self) -> usize {
        match self {
            List::Small(p) => p.len(),
            List::Large(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            List::Small(p) => p.is_empty(),
            List::Large(d) => d.is_empty(),
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            List::Small(p) => p.heap_bytes(),
            List::Large(d) => {
                std::mem::size_of::<VecDeque<Box<[u8]>>>()
                    + d.capacity() * std::mem::size_of::<Box<[u8]>>()
                    + d.iter().map(|e| e.len()).sum::<usize>()
            }
        }
    }

    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = &[u8]> + '_> {
        match self {
            List::Small(p) => {
                // Packed entries are read forwards only; collecting them
                // keeps the iterator double-ended.
                let items: Vec<&[u8]> = p.iter().map(|s| s.data).collect();
                Box::new(items.into_iter())
            }
            List::Large(d) => Box::new(d.iter().map(|e| &e[..])),
        }
    }

    /// Elements `a..=b` (`b < len`).
    pub fn range(&self, a: usize, b: usize) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match self {
            List::Small(p) => Box::new(p.iter().skip(a).take(b + 1 - a).map(|s| s.data)),
            List::Large(d) => Box::new(d.range(a..=b).map(|e| &e[..])),
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            List::Small(p) => p.iter().nth(i).map(|s| s.data),
            List::Large(d) => d.get(i).map(|e| &e[..]),
        }
    }

    pub fn push_front(&mut self, item: &[u8]) {
        self.insert(0, item);
    }

    pub fn push_back(&mut self, item: &[u8]) {
        match self {
            List::Small(p) => {
                p.push(item);
                self.grow_if_needed();
            }
            List::Large(d) => d.push_back(item.into()),
        }
    }

    /// Inserts `item` before element `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, item: &[u8]) {
        match self {
            List::Small(p) => {
                let pos = p.iter().nth(i).map_or(p.heap_bytes(), |s| s.span.0);
                p.insert_at(pos, item);
                self.grow_if_needed();
            }
            List::Large(d) => d.insert(i, item.into()),
        }
    }

    /// Replaces element `i` (`i < len`).
    pub fn set(&mut self, i: usize, item: &[u8]) {
        match self {
            List::Small(p) => {
                let span = p.iter().nth(i).map(|s| s.span);
                if let Some(span) = span {
                    p.replace(span, item);
                }
                self.grow_if_needed();
            }
            List::Large(d) => d[i] = item.into(),
        }
    }

    /// Removes and returns element `i`.
    pub fn remove(&mut self, i: usize) -> Option<Box<[u8]>> {
        let item = match self {
            List::Small(p) => {
                let slot = p.iter().nth(i)?;
                let (item, span) = (Box::from(slot.data), slot.span);
                p.remove_span(span);
                Some(item)
            }
            List::Large(d) => d.remove(i),
        };
        self.shrink_if_small();
        item
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        match self {
            List::Large(d) => {
                let item = d.pop_front();
                self.shrink_if_small();
                item
            }
            List::Small(_) => self.remove(0),
        }
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        match self {
            List::Large(d) => {
                let item = d.pop_back();
                self.shrink_if_small();
                item
            }
            List::Small(p) => {
                let last = p.len().checked_sub(1)?;
                self.remove(last)
            }
        }
    }

    /// Keeps only elements `a..=b` (`b < len`).
    pub fn keep_range(&mut self, a: usize, b: usize) {
        match self {
            List::Small(_) => {
                let kept: List = self.range(a, b).map(<[u8]>::to_vec).collect();
                *self = kept;
            }
            List::Large(d) => {
                d.truncate(b + 1);
                d.drain(..a);
                self.shrink_if_small();
            }
        }
    }

    pub fn clear(&mut self) {
        *self = List::default();
    }

    /// `LREM`: removes up to `count.abs()` elements equal to `target`
    /// (all of them for 0), from the head for `count >= 0`, from the tail
    /// otherwise. Returns how many were removed.
    pub fn remove_matching(&mut self, target: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let all: Vec<&[u8]> = self.iter().collect();
        let mut doomed = vec![false; all.len()];
        let mut removed = 0;
        let order: Box<dyn Iterator<Item = usize>> = if count >= 0 {
            Box::new(0..all.len())
        } else {
            Box::new((0..all.len()).rev())
        };
        for i in order {
            if removed == limit {
                break;
            }
            if all[i] == target {
                doomed[i] = true;
                removed += 1;
            }
        }
        if removed > 0 {
            let kept: List = all
                .iter()
                .zip(&doomed)
                .filter(|(_, &d)| !d)
                .map(|(item, _)| item.to_vec())
                .collect();
            *self = kept;
        }
        removed
    }

    fn grow_if_needed(&mut self) {
        if let List::Small(p) = self {
            if p.heap_bytes() > SMALL_MAX_BYTES {
                let items: VecDeque<Box<[u8]>> = p.iter().map(|s| Box::from(s.data)).collect();
                *self = List::Large(Box::new(items));
            }
        }
    }

    fn shrink_if_small(&mut self) {
        if let List::Large(d) = self {
            if d.len() <= SHRINK_LEN
                && d.iter().map(|e| e.len() + 2).sum::<usize>() <= SMALL_MAX_BYTES / 2
            {
                let mut p = Packed::new();
                for e in d.iter() {
                    p.push(e);
                }
                *self = List::Small(p);
            }
        }
    }
}

/// Redis's index rule: negative counts from the end; `None` if outside.
pub fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// Redis's range rule (`LRANGE`, `LTRIM`): the inclusive span
/// `start..=end` after clamping, or `None` if empty.
pub fn resolve_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_redis() {
        assert_eq!(resolve_range(5, 0, -1), Some((0, 4)));
        assert_eq!(resolve_range(5, -100, 100), Some((0, 4)));
        assert_eq!(resolve_range(5, 3, 1), None);
        assert_eq!(resolve_range(5, 5, 10), None);
        assert_eq!(resolve_range(0, 0, -1), None);
        assert_eq!(resolve_index(3, -1), Some(2));
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(3, -4), None);
    }

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(<[u8]>::to_vec).collect()
    }

    /// The same operations on a List and a VecDeque model, across the
    /// small/large boundary both ways.
    #[test]
    fn behaves_as_a_deque_in_both_forms() {
        let mut l = List::default();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut saw_large = false;
        let mut saw_small_after_large = false;
        for step in 0..20_000 {
            let grow = (step / 2000) % 2 == 0;
            let item = vec![b'a' + next(26) as u8; next(300) as usize];
            match next(10) {
                0..=3 if grow => {
                    if next(2) == 0 {
                        l.push_back(&item);
                        model.push_back(item);
                    } else {
                        l.push_front(&item);
                        model.push_front(item);
                    }
                }
                0..=3 => {
                    assert_eq!(l.pop_front().map(|b| b.to_vec()), model.pop_front());
                }
                4 if !model.is_empty() => {
                    let i = next(model.len() as u64) as usize;
                    l.set(i, &item);
                    model[i] = item;
                }
                5 => {
                    let i = next(model.len() as u64 + 1) as usize;
                    l.insert(i, &item);
                    model.insert(i, item);
                }
                6 if !model.is_empty() => {
                    let i = next(model.len() as u64) as usize;
                    assert_eq!(l.remove(i).map(|b| b.to_vec()), model.remove(i));
                }
                7 => assert_eq!(l.pop_back().map(|b| b.to_vec()), model.pop_back()),
                8 if model.len() > 2 => {
                    let (a, b) = (1, model.len() - 2);
                    l.keep_range(a, b);
                    model.truncate(b + 1);
                    model.drain(..a);
                }
                _ => {
                    let target = vec![b'a' + next(26) as u8; next(300) as usize];
                    let count = next(5) as i64 - 2;
                    let removed = l.remove_matching(&target, count);
                    let mut left = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let before = model.len();
                    if count >= 0 {
                        model.retain(|x| {
                            !(x == &target && left > 0 && {
                                left -= 1;
                                true
                            })
                        });
                    } else {
                        let mut v: Vec<Vec<u8>> = model.drain(..).rev().collect();
                        v.retain(|x| {
                            !(x == &target && left > 0 && {
                                left -= 1;
                                true
                            })
                        });
                        model = v.into_iter().rev().collect();
                    }
                    assert_eq!(removed, before - model.len());
                }
            }
            saw_large |= matches!(l, List::Large(_));
            saw_small_after_large |= saw_large && matches!(l, List::Small(_)) && !l.is_empty();
            assert_eq!(l.len(), model.len());
            if step % 97 == 0 {
                assert_eq!(items(&l), model.iter().cloned().collect::<Vec<_>>());
                if !model.is_empty() {
                    let i = next(model.len() as u64) as usize;
                    assert_eq!(l.get(i), Some(&model[i][..]));
                    let got: Vec<&[u8]> = l.range(i, model.len() - 1).collect();
                    let want: Vec<&[u8]> = model.range(i..).map(|v| &v[..]).collect();
                    assert_eq!(got, want);
                }
            }
        }
        assert!(
            saw_large && saw_small_after_large,
            "both forms were exercised"
        );
    }
}
