//! Bélády's offline optimum: knowing the whole stream, on a miss keep the
//! new key only if it is used again before something cached, and make room
//! by dropping what is used again furthest in the future. Exact for equal
//! sizes; with sizes it is the usual size-aware approximation.

use std::collections::{BinaryHeap, HashMap};

const NEVER: usize = usize::MAX;

/// Hits among requests `warmup..` of `requests` with `capacity` units of
/// space, each key costing `cost(key)` units.
pub fn hits(requests: &[u64], warmup: usize, capacity: u64, cost: impl Fn(u64) -> u64) -> u64 {
    // next[i]: where requests[i]'s key is asked for again.
    let mut next = vec![NEVER; requests.len()];
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (i, &k) in requests.iter().enumerate().rev() {
        if let Some(&j) = last.get(&k) {
            next[i] = j;
        }
        last.insert(k, i);
    }
    drop(last);
    // Cached keys with their next use; the heap may hold stale pairs.
    let mut cached: HashMap<u64, usize> = HashMap::new();
    let mut heap: BinaryHeap<(usize, u64)> = BinaryHeap::new();
    let mut used = 0u64;
    let mut hits = 0;
    for (i, &k) in requests.iter().enumerate() {
        if let Some(n) = cached.get_mut(&k) {
            if i >= warmup {
                hits += 1;
            }
            *n = next[i];
            heap.push((next[i], k));
            continue;
        }
        let size = cost(k);
        if next[i] == NEVER || size > capacity {
            continue;
        }
        let mut admit = true;
        while used + size > capacity {
            let Some(&(n, victim)) = heap.peek() else {
                break;
            };
            if cached.get(&victim) != Some(&n) {
                heap.pop();
                continue;
            }
            if n <= next[i] {
                // Everything cached is needed sooner than the new key.
                admit = false;
                break;
            }
            heap.pop();
            cached.remove(&victim);
            used -= cost(victim);
        }
        if admit {
            cached.insert(k, next[i]);
            heap.push((next[i], k));
            used += size;
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_on_a_textbook_stream() {
        // Capacity 3, the classic 20-request example: demand paging's OPT
        // has 9 misses; a cache may also decline to keep a key (4 and the
        // second 7 are never asked for again), which saves the evictions
        // they would force: 8 misses, 12 hits.
        let s = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
        assert_eq!(hits(&s, 0, 3, |_| 1), 12);
        // Enough room for everything: every repeat hits.
        assert_eq!(hits(&s, 0, 100, |_| 1), 20 - 6);
        // Warm-up requests do not count.
        assert_eq!(hits(&[1, 1, 1, 1], 2, 1, |_| 1), 2);
    }
}
