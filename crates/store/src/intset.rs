//! [`IntSet`]: sorted distinct integers packed at the narrowest width that
//! holds them all (2, 4 or 8 bytes each, little endian), as Redis's intset.
//! One exact-size allocation, its first byte the width: a small set of
//! small integers costs 2 bytes a member plus one.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct IntSet {
    /// Empty, or the width (2, 4 or 8) followed by the values.
    data: Box<[u8]>,
}

/// The narrowest width that holds `n`.
fn width_for(n: i64) -> u8 {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

impl IntSet {
    /// Bytes per value.
    fn width(&self) -> u8 {
        self.data.first().copied().unwrap_or(2)
    }

    fn values(&self) -> &[u8] {
        self.data.get(1..).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.values().len() / usize::from(self.width())
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Value `i` (`i < len`).
    pub fn get(&self, i: usize) -> i64 {
        let w = usize::from(self.width());
        let bytes = &self.values()[i * w..(i + 1) * w];
        // Sign-extend from the stored width.
        let mut buf = if bytes[w - 1] & 0x80 != 0 {
            [0xff; 8]
        } else {
            [0; 8]
        };
        buf[..w].copy_from_slice(bytes);
        i64::from_le_bytes(buf)
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// `Ok(index)` if `n` is present, else `Err(index it would go at)`.
    pub fn search(&self, n: i64) -> Result<usize, usize> {
        if width_for(n) > self.width() {
            // Wider than every value: before them all if negative.
            return Err(if n < 0 { 0 } else { self.len() });
        }
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, n: i64) -> bool {
        self.search(n).is_ok()
    }

    /// Adds `n`; false if it was there.
    pub fn insert(&mut self, n: i64) -> bool {
        let Err(at) = self.search(n) else {
            return false;
        };
        let width = width_for(n).max(self.width());
        let w = usize::from(width);
        // Rebuilt in one exact allocation, widened if `n` needs it.
        let mut data = Vec::with_capacity(1 + (self.len() + 1) * w);
        data.push(width);
        let mut put = |v: i64| data.extend_from_slice(&v.to_le_bytes()[..w]);
        (0..at).for_each(|i| put(self.get(i)));
        put(n);
        (at..self.len()).for_each(|i| put(self.get(i)));
        self.data = data.into_boxed_slice();
        true
    }

    /// Removes `n`; false if it was not there.
    pub fn remove(&mut self, n: i64) -> bool {
        let Ok(at) = self.search(n) else {
            return false;
        };
        let w = usize::from(self.width());
        let mut data = std::mem::take(&mut self.data).into_vec();
        data.drain(1 + at * w..1 + (at + 1) * w);
        if data.len() > 1 {
            self.data = data.into_boxed_slice();
        }
        true
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_values_sorted_at_the_narrowest_width() {
        let mut s = IntSet::default();
        for n in [5, -3, 300, 5, 0, -32768, 32767] {
            s.insert(n);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), [-32768, -3, 0, 5, 300, 32767]);
        assert_eq!(s.heap_bytes(), 13, "the width, then six values of 2 bytes");
        assert!(s.insert(70_000));
        assert!(s.insert(-70_000));
        assert_eq!(s.width(), 4);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [-70_000, -32768, -3, 0, 5, 300, 32767, 70_000]
        );
        assert!(s.insert(i64::MIN) && s.insert(i64::MAX));
        assert_eq!(s.width(), 8);
        assert_eq!(s.get(0), i64::MIN);
        assert_eq!(s.get(s.len() - 1), i64::MAX);
        assert!(s.contains(-3) && !s.contains(4) && !s.contains(1 << 40));
        assert!(s.remove(-3) && !s.remove(-3));
        assert_eq!(s.len(), 9);
        assert_eq!(s.heap_bytes(), 1 + 9 * 8);
        assert_eq!(s.search(6), Err(5));
        assert_eq!(s.search(i64::MIN + 1), Err(1));
    }

    #[test]
    fn a_wide_value_sorts_against_narrow_ones() {
        let mut s = IntSet::default();
        s.insert(1);
        assert_eq!(s.search(1 << 20), Err(1));
        assert_eq!(s.search(-(1 << 20)), Err(0));
        s.insert(-(1 << 40));
        assert_eq!(s.iter().collect::<Vec<_>>(), [-(1 << 40), 1]);
        assert!(s.remove(1) && s.remove(-(1 << 40)));
        assert!(s.is_empty() && s.heap_bytes() == 0);
    }
}
