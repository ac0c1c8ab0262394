//! What a key holds.
//!
//! Strings keep Redis's three encodings because clients can see them
//! (`OBJECT ENCODING`) and because they decide memory: a canonical integer
//! of at most 20 characters is stored as an `i64`, a string of at most 44
//! bytes is "embstr", anything longer or modified in place is "raw".

use shoal_proto::number::string2ll;

use crate::hash::Hash;
use crate::list::List;
use crate::set::Set;
use crate::zset::ZSet;

/// Longest string Redis stores with the embstr encoding.
pub const EMBSTR_MAX: usize = 44;

/// Collections are boxed so that a plain string key pays nothing for them;
/// a [`ZSet`] is 16 bytes (one pointer and a length) and sits inline for
/// the same price.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    Int(i64),
    Emb(Vec<u8>),
    Raw(Vec<u8>),
}

impl Str {
    /// A string as `SET` stores it (Redis's `tryObjectEncoding`).
    pub fn new(bytes: &[u8]) -> Str {
        if bytes.len() <= 20 {
            if let Some(n) = string2ll(bytes) {
                return Str::Int(n);
            }
        }
        if bytes.len() <= EMBSTR_MAX {
            Str::Emb(bytes.to_vec())
        } else {
            Str::Raw(bytes.to_vec())
        }
    }

    /// A string stored as given, never as an integer (Redis's
    /// `createStringObject`, used for computed results such as INCRBYFLOAT's).
    pub fn plain(bytes: &[u8]) -> Str {
        if bytes.len() <= EMBSTR_MAX {
            Str::Emb(bytes.to_vec())
        } else {
            Str::Raw(bytes.to_vec())
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => {
                let mut buf = [0u8; 20];
                shoal_proto::reply::format_i64(&mut buf, *n).len()
            }
            Str::Emb(b) | Str::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(n) => {
                let mut buf = [0u8; 20];
                f(shoal_proto::reply::format_i64(&mut buf, *n))
            }
            Str::Emb(b) | Str::Raw(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The bytes, made mutable: the string becomes "raw", as Redis's
    /// `dbUnshareStringValue` makes it before `APPEND` or `SETRANGE`.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Raw(_)) {
            *self = Str::Raw(self.to_vec());
        }
        match self {
            Str::Raw(b) => b,
            _ => unreachable!("converted to raw just above"),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Emb(_) => "embstr",
            Str::Raw(_) => "raw",
        }
    }

    /// Heap bytes owned by this string.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Str::Int(_) => 0,
            Str::Emb(b) | Str::Raw(b) => b.capacity(),
        }
    }
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => l.heap_bytes(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_bytes(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_bytes(),
            Value::ZSet(z) => z.heap_bytes(),
        }
    }

    /// A collection with no elements left: Redis deletes such keys.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_do_not_grow_value() {
        // Small hashes, sets and sorted sets live inline in the key's entry:
        // one allocation for their elements, none for the collection.
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        assert_eq!(std::mem::size_of::<Set>(), 24);
        assert_eq!(std::mem::size_of::<List>(), 16);
        assert_eq!(std::mem::size_of::<Value>(), std::mem::size_of::<Str>());
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn set_picks_redis_encodings() {
        assert_eq!(Str::new(b"12345").encoding(), "int");
        assert_eq!(Str::new(b"-9223372036854775808").encoding(), "int");
        assert_eq!(Str::new(b"012").encoding(), "embstr");
        assert_eq!(Str::new(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Str::new(&[b'a'; 45]).encoding(), "raw");
        let mut s = Str::new(b"7");
        s.make_raw().push(b'1');
        assert_eq!(s, Str::Raw(b"71".to_vec()));
        assert_eq!(s.len(), 2);
    }
}
