//! What the metadata group replicates: the requests written to its log and
//! what applying one answers.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use shoal_cluster::map::{Change, Node};

use crate::locks;

/// A request for the state machine, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A change to the shard map.
    Map(Change),
    /// A change to the lock table, stamped with the leader's time in ms
    /// (the table's time is the largest stamp applied: [`crate::locks`]),
    /// with its sender's ticket (a retried copy answers as the first did).
    Lock {
        op: locks::Op,
        stamp: u64,
        #[serde(default)]
        ticket: Option<locks::Ticket>,
    },
    /// Changes to the lock table batched into one entry (one fsync for
    /// all), applied in order at one stamp; each answers in
    /// [`Response::locks`].
    Locks {
        ops: Vec<(locks::Op, Option<locks::Ticket>)>,
        stamp: u64,
    },
}

/// What applying an entry answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The map's config epoch after the entry.
    pub epoch: u64,
    /// Whether the entry changed the map.
    pub changed: bool,
    /// A lock entry's answer.
    #[serde(default)]
    pub lock: Option<locks::Outcome>,
    /// A batch's answers, in order.
    #[serde(default)]
    pub locks: Vec<locks::Outcome>,
}

/// A change only the leader can make: any member accepts one and forwards
/// it over the bus to the leader (see [`crate::node::MetaNode::propose`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proposal {
    /// Add `node` to the group: as a learner that catches up, promoted to
    /// voter while the group has fewer voters than the leader's target,
    /// then [`Change::Join`] in the map. Also how a member updates its
    /// addresses or weight.
    Admit(Node),
    /// Take node `id` out on purpose: [`Change::Leave`] in the map, then
    /// out of the Raft membership (a learner takes its voter seat).
    Remove { id: String },
    /// A change to the map alone ([`Change::Fail`], [`Change::Recover`]).
    Map(Change),
    /// A change to the lock table; the leader stamps it with the log's
    /// time. The ticket makes a retry after a lost answer safe: a copy of
    /// a change already applied answers what the first copy did.
    Lock(locks::Op, locks::Ticket),
    /// A read of the lock table: the leader confirms it still leads and
    /// has applied everything committed (a read index), then answers from
    /// its table at the log's time; only a read whose answer depends on
    /// time not yet in the log is written to it (see
    /// [`crate::lease::LockLeader::read`]).
    LockRead(locks::Read),
}

/// The Raft node id of cluster node `id` (40 hex digits): its first 16
/// digits. None for an id that is not 40 hex digits.
pub fn raft_id(id: &str) -> Option<NodeId> {
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&id[..16], 16).ok()
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
