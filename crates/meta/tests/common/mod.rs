//! What the chaos run and the simulation share: the writes they make and
//! the history they check.

use std::collections::{HashMap, HashSet};

use shoal_cluster::map::{Change, Node};
use shoal_meta::types::{Entry, LogId, NodeId, Request};
use shoal_store::Rng;

/// A random change to the map among eight possible members.
pub fn random_request(dice: &mut Rng) -> Request {
    let n = 1 + dice.below(8) as u16;
    Request::Map(match dice.below(3) {
        0 => Change::Join(Node::loopback(n)),
        1 => Change::Fail {
            id: Node::loopback(n).id,
        },
        _ => Change::Recover {
            id: Node::loopback(n).id,
        },
    })
}

/// At most one leader per term, and every acknowledged write in
/// `reference` (a healed node's log) at its index, unchanged.
pub fn check_history(
    seed: u64,
    leaders: &HashMap<u64, HashSet<NodeId>>,
    acked: &[(LogId, Request)],
    reference: &[Entry],
) {
    for (term, who) in leaders {
        assert!(
            who.len() <= 1,
            "seed {seed}: term {term} had leaders {who:?}"
        );
    }
    for (log_id, request) in acked {
        let entry = reference
            .iter()
            .find(|e| e.log_id.index == log_id.index)
            .unwrap_or_else(|| panic!("seed {seed}: acknowledged {log_id} missing"));
        assert_eq!(entry.log_id, *log_id, "seed {seed}");
        assert!(
            matches!(&entry.payload, openraft::EntryPayload::Normal(r) if r == request),
            "seed {seed}: {log_id} holds something else"
        );
    }
}
