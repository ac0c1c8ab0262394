//! [`List`]: a deque of byte strings. Redis 7.0 always reports lists as
//! "quicklist"; shoal keeps one allocation per element in a ring buffer,
//! which gives O(1) pushes and pops at both ends and O(1) `LINDEX`.

use std::collections::VecDeque;

pub type List = VecDeque<Box<[u8]>>;

/// Heap bytes of a list.
pub fn heap_bytes(list: &List) -> usize {
    list.capacity() * std::mem::size_of::<Box<[u8]>>() + list.iter().map(|e| e.len()).sum::<usize>()
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
}
