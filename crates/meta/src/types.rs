//! What the metadata group replicates: the requests written to its log and
//! what applying one answers.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use shoal_cluster::map::Change;

/// A request for the state machine, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A change to the shard map.
    Map(Change),
}

/// What applying an entry answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The map's config epoch after the entry.
    pub epoch: u64,
    /// Whether the entry changed anything.
    pub changed: bool,
}

openraft::declare_raft_types!(
    /// openraft's types for the metadata group: node ids are u64, a node's
    /// openraft address is its cluster bus address.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

pub type NodeId = u64;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StorageError = openraft::StorageError<NodeId>;
