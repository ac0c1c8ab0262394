//! # shoal-cluster: keys to slots to nodes
//!
//! | module   | job                                                              |
//! |----------|------------------------------------------------------------------|
//! | [`map`]  | the shard map the metadata group replicates: members, slot owners, config epoch |
//! | [`ring`] | `slot → target node`: weighted consistent hashing (crc32 points) with bounded loads |
//! | [`slot`] | `key → slot`: CRC16-XMODEM of the hash tag or key, mod 16384, exactly as Redis Cluster clients compute it |
//!
//! Pure functions and data only: no sockets, no consensus, no cache values.

pub mod map;
pub mod ring;
pub mod slot;

pub use slot::{key_slot, SLOTS};
