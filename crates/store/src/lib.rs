//! # shoal-store: the keyspace of one node
//!
//! Values, TTLs, expiry and memory accounting. It knows nothing of sockets,
//! the wire protocol's framing, or the cluster: the server crate parses a
//! command and calls in here with keys and values.
//!
//! | module       | job                                                        |
//! |--------------|------------------------------------------------------------|
//! | [`dict`]     | [`Dict`], the chained hash table with SCAN cursors and random sampling |
//! | [`value`]    | [`Value`]: what a key holds, with Redis's encodings          |
//! | [`keyspace`] | [`Store`] → [`Db`] → [`Shard`]: locking, lazy and active expiry, stats |
//! | [`lfu`]      | Redis's logarithmic LFU counter                             |
//! | [`evict`]    | `maxmemory-policy` values, victim scores and the eviction pool |
//! | [`sketch`]   | TinyLFU's frequency sketch (count-min, 8-bit counters, aging) |
//! | [`hll`]      | HyperLogLog strings, byte-compatible with Redis 7.0 (PFADD/PFCOUNT/PFMERGE) |
//! | [`packed`]   | [`Packed`]: short strings in one buffer (small collections)  |
//! | [`intset`]   | [`IntSet`]: sorted integers at 2, 4 or 8 bytes each (Redis's intset) |
//! | [`rdb`]      | `DUMP`/`RESTORE` payloads, byte-exact with Redis 7.0         |
//! | [`hash`], [`set`], [`list`] | the collection values and their encodings      |
//! | [`alloc`]    | the counting allocator behind `used_memory`                 |
//! | [`zset`]     | [`zset::ZSet`]: sorted sets, listpack and skiplist encodings, range parsing |

pub mod alloc;
pub mod dict;
pub mod evict;
pub mod hash;
pub mod hll;
pub mod intset;
pub mod key;
pub mod keyspace;
pub mod lfu;
pub mod list;
pub mod packed;
pub mod rdb;
pub mod set;
pub mod sketch;
pub mod value;
pub mod zset;

pub use dict::Dict;
pub use hash::{Hash, HashLimits};
pub use intset::IntSet;
pub use keyspace::{now_ms, Db, Entry, Locked, Rng, Shard, Store};
pub use list::List;
pub use packed::Packed;
pub use set::Set;
pub use value::{Str, Value};
