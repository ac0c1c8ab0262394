//! [`Set`]: unordered unique members, following Redis 7.0's encodings as
//! clients can see them: "intset" while every member is an integer and
//! there are at most `set-max-intset-entries`, "hashtable" otherwise, for
//! good. A "hashtable" set is kept in a [`Packed`] buffer while it is small
//! (a memory choice invisible to clients) and in a [`Dict`] past
//! [`SMALL_MAX`] members.

use shoal_proto::number::string2ll;

use crate::dict::Dict;
use crate::intset::IntSet;
use crate::packed::Packed;

/// Members a non-integer set keeps in one buffer before it needs a table.
pub const SMALL_MAX: usize = 128;

pub enum Set {
    /// Sorted and packed, as Redis's intset.
    Intset(IntSet),
    Small(Packed),
    /// Boxed, so a set is two words and sits inline in a `Value`.
    Table(Box<Dict<()>>),
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Intset(v) => Set::Intset(v.clone()),
            Set::Small(p) => Set::Small(p.clone()),
            Set::Table(d) => {
                let mut copy = Dict::new();
                for (k, ()) in d.iter() {
                    copy.insert(k, ());
                }
                Set::Table(Box::new(copy))
            }
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.members()).finish()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.members().iter().all(|m| other.contains(m))
    }
}

impl Set {
    /// An empty set of the encoding Redis would create for its first member.
    pub fn for_first(member: &[u8]) -> Set {
        if string2ll(member).is_some() {
            Set::Intset(IntSet::default())
        } else {
            Set::Small(Packed::new())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Small(p) => p.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => string2ll(member).is_some_and(|n| v.contains(n)),
            Set::Small(p) => p.find(member).is_some(),
            Set::Table(d) => d.get(member).is_some(),
        }
    }

    /// Adds a member; returns true if it was not there. `max_intset` is
    /// `set-max-intset-entries`.
    pub fn insert(&mut self, member: &[u8], max_intset: usize) -> bool {
        if let Set::Intset(v) = self {
            match string2ll(member) {
                Some(n) => {
                    if !v.insert(n) {
                        return false;
                    }
                    if v.len() > max_intset {
                        self.convert_to_hashtable();
                    }
                    return true;
                }
                None => self.convert_to_hashtable(),
            }
        }
        match self {
            Set::Small(p) => {
                if p.find(member).is_some() {
                    return false;
                }
                p.push(member);
                if p.len() > SMALL_MAX {
                    self.convert_to_table();
                }
                true
            }
            Set::Table(d) => d.insert(member, ()).is_none(),
            Set::Intset(_) => unreachable!("converted above"),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => string2ll(member).is_some_and(|n| v.remove(n)),
            Set::Small(p) => match p.find(member).map(|s| s.span) {
                Some(span) => {
                    p.remove_span(span);
                    true
                }
                None => false,
            },
            Set::Table(d) => d.remove(member).is_some(),
        }
    }

    /// Every member (intsets in ascending order).
    pub fn members(&self) -> Vec<Vec<u8>> {
        match self {
            Set::Intset(v) => v.iter().map(|n| n.to_string().into_bytes()).collect(),
            Set::Small(p) => p.iter().map(|s| s.data.to_vec()).collect(),
            Set::Table(d) => d.iter().map(|(k, ())| k.to_vec()).collect(),
        }
    }

    /// A random member.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let i = (rand() % self.len() as u64) as usize;
        match self {
            Set::Intset(v) => Some(v.get(i).to_string().into_bytes()),
            Set::Small(p) => p.iter().nth(i).map(|s| s.data.to_vec()),
            Set::Table(d) => d.random(rand).map(|(k, ())| k.to_vec()),
        }
    }

    /// One step of SSCAN: small encodings come back whole (cursor 0).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Table(d) => {
                let mut cursor = cursor;
                let mut seen = 0;
                for _ in 0..count.saturating_mul(10).max(1) {
                    cursor = d.scan(cursor, |k, ()| {
                        seen += 1;
                        visit(k)
                    });
                    if cursor == 0 || seen >= count {
                        break;
                    }
                }
                cursor
            }
            _ => {
                self.members().iter().for_each(|m| visit(m));
                0
            }
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Small(_) | Set::Table(_) => "hashtable",
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Set::Intset(v) => v.heap_bytes(),
            Set::Small(p) => p.heap_bytes(),
            Set::Table(d) => {
                d.table_bytes()
                    + d.iter()
                        .map(|(k, ())| 40 + crate::key::heap_len(k.len()))
                        .sum::<usize>()
            }
        }
    }

    fn convert_to_hashtable(&mut self) {
        if let Set::Intset(v) = self {
            let mut p = Packed::new();
            for n in v.iter() {
                p.push(n.to_string().as_bytes());
            }
            *self = Set::Small(p);
            if self.len() > SMALL_MAX {
                self.convert_to_table();
            }
        }
    }

    fn convert_to_table(&mut self) {
        if let Set::Small(p) = self {
            let mut d = Dict::new();
            for s in p.iter() {
                d.insert(s.data, ());
            }
            *self = Set::Table(Box::new(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_until_a_string_or_too_many() {
        let mut s = Set::for_first(b"3");
        assert!(s.insert(b"3", 4));
        assert!(s.insert(b"1", 4));
        assert!(!s.insert(b"1", 4));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.members(), vec![b"1".to_vec(), b"3".to_vec()]);
        assert!(s.insert(b"x", 4));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"3") && s.contains(b"x"));
        assert!(s.remove(b"x"));
        assert_eq!(s.encoding(), "hashtable", "never converts back");

        let mut big = Set::for_first(b"0");
        for i in 0..5 {
            big.insert(i.to_string().as_bytes(), 4);
        }
        assert_eq!(big.encoding(), "hashtable");
        assert_eq!(big.len(), 5);
        assert!(!big.contains(b"01"), "01 is not the integer 1");
    }

    #[test]
    fn small_sets_grow_into_tables_without_losing_members() {
        let mut s = Set::for_first(b"m");
        for i in 0..300 {
            assert!(s.insert(format!("m{i}").as_bytes(), 512));
        }
        assert!(matches!(s, Set::Table(_)));
        assert_eq!(s.len(), 300);
        assert!((0..300).all(|i| s.contains(format!("m{i}").as_bytes())));
    }
}
