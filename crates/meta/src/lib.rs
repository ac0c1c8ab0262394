//! # shoal-meta: the metadata group
//!
//! | module       | job                                                             |
//! |--------------|-----------------------------------------------------------------|
//! | [`history`]  | client histories of lock operations and their linearizability check (for fault tests) |
//! | [`lease`]    | the leader's side of the lock table: log time stamps, read index |
//! | [`locks`]    | the lock table: leases in log time, fencing tokens (DESIGN.md §6) |
//! | [`log_file`] | the Raft log on disk: fsynced appends, torn tails cut on open, truncate and purge |
//! | [`log_store`] | openraft's `RaftLogStorage` over it, with the vote and purge/commit marks |
//! | [`network`]  | the cluster bus: openraft's RPCs as length-prefixed JSON frames over TCP |
//! | [`node`]     | one member of the group: Raft node, stores, bus listener |
//! | [`state_machine`] | the applied shard map, with snapshots on disk |
//! | [`types`]    | what the log carries ([`types::Request`]) and openraft's type configuration |
//!
//! Owns what must survive a crash (DESIGN.md §5); never holds cache values.

pub mod history;
pub mod lease;
pub mod locks;
pub mod log_file;
pub mod log_store;
pub mod network;
pub mod node;
pub mod state_machine;
pub mod types;

/// Everything that can go wrong in the metadata group.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("log record of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("log index {got} appended where {expected} was due")]
    Gap { expected: u64, got: u64 },
    #[error("encoding: {0}")]
    Encode(serde_json::Error),
    #[error("decoding what is on disk: {0}")]
    Decode(serde_json::Error),
    #[error("raft: {0}")]
    Raft(String),
}
