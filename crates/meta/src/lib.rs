//! # shoal-meta: the metadata group
//!
//! | module       | job                                                             |
//! |--------------|-----------------------------------------------------------------|
//! | [`log_file`] | the Raft log on disk: fsynced appends, torn tails cut on open, truncate and purge |
//!
//! Owns what must survive a crash (DESIGN.md §5); never holds cache values.

pub mod log_file;

/// Everything that can go wrong in the metadata group.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("log record of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("log index {got} appended where {expected} was due")]
    Gap { expected: u64, got: u64 },
}
