//! # shoal-cluster: keys to slots to nodes
//!
//! | module   | job                                                              |
//! |----------|------------------------------------------------------------------|
//! | [`slot`] | `key → slot`: CRC16-XMODEM of the hash tag or key, mod 16384, exactly as Redis Cluster clients compute it |
//!
//! Pure functions and data only: no sockets, no consensus, no cache values.

pub mod slot;

pub use slot::{key_slot, SLOTS};
