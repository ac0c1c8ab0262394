//! The shard map: who is in the cluster and which node owns each slot.
//!
//! This is the state the metadata group replicates (DESIGN.md §3, §5): it
//! changes only by [`ShardMap::apply`]ing a [`Change`] taken from the Raft
//! log, in log order, on every node, so every node holds the same map.
//! `apply` is deterministic: owners are recomputed by the ring
//! ([`crate::ring::place`]) over the healthy members, and the config epoch
//! goes up by one with every change that changes anything.

use crate::ring::{self, Member};
use crate::slot::SLOTS;

/// A cluster member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    /// 40 hex characters, as Redis Cluster node ids.
    pub id: String,
    /// Client address, `host:port`.
    pub addr: String,
    /// Cluster bus address, `host:port`.
    pub bus: String,
    pub weight: u32,
    /// False while the node is declared failed: it owns no slots.
    pub healthy: bool,
}

impl Node {
    /// Node `n` of a cluster on one machine: id `n` in 40 hex digits,
    /// client port 7000 + n, bus port 17000 + n, weight 1, healthy.
    pub fn loopback(n: u16) -> Node {
        Node {
            id: format!("{n:040x}"),
            addr: format!("127.0.0.1:{}", 7000 + u32::from(n)),
            bus: format!("127.0.0.1:{}", 17000 + u32::from(n)),
            weight: 1,
            healthy: true,
        }
    }
}

/// One change to the map, as written to the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// A node joins (or rejoins with new addresses or weight).
    Join(Node),
    /// A node is taken out on purpose.
    Leave { id: String },
    /// A node stayed silent past the failure timeout.
    Fail { id: String },
    /// A failed node is heard from again.
    Recover { id: String },
}

/// Members, slot owners and the config epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardMap {
    /// Bumped by every change that changed something.
    pub epoch: u64,
    /// Sorted by id.
    nodes: Vec<Node>,
    /// Owner of each slot: an index into `nodes`.
    owners: Vec<Option<usize>>,
    /// The ring's imbalance cap.
    bound: f64,
}

impl Default for ShardMap {
    fn default() -> Self {
        ShardMap {
            epoch: 0,
            nodes: Vec::new(),
            owners: vec![None; usize::from(SLOTS)],
            bound: ring::DEFAULT_BOUND,
        }
    }
}

impl ShardMap {
    /// An empty map (no members, no owners) with the ring's cap `bound`.
    pub fn with_bound(bound: f64) -> ShardMap {
        ShardMap {
            bound,
            ..ShardMap::default()
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index(id).map(|i| &self.nodes[i])
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.nodes.binary_search_by(|n| n.id.as_str().cmp(id)).ok()
    }

    /// The node owning `slot`, if any.
    pub fn owner(&self, slot: u16) -> Option<&Node> {
        self.owners
            .get(usize::from(slot))
            .copied()
            .flatten()
            .map(|i| &self.nodes[i])
    }

    /// Every slot has a healthy owner (`cluster_state:ok`).
    pub fn covered(&self) -> bool {
        self.owners.iter().all(Option::is_some)
    }

    /// Slots owned by node `id`.
    pub fn slots_of(&self, id: &str) -> usize {
        let Some(i) = self.index(id) else { return 0 };
        self.owners.iter().filter(|&&o| o == Some(i)).count()
    }

    /// Runs of consecutive slots with one owner: `(first, last, node)`,
    /// ascending (what CLUSTER SLOTS lists).
    pub fn ranges(&self) -> Vec<(u16, u16, &Node)> {
        let mut out: Vec<(u16, u16, &Node)> = Vec::new();
        for (slot, owner) in self.owners.iter().enumerate() {
            let Some(i) = *owner else { continue };
            let slot = slot as u16;
            match out.last_mut() {
                Some((_, last, n)) if *last + 1 == slot && n.id == self.nodes[i].id => {
                    *last = slot;
                }
                _ => out.push((slot, slot, &self.nodes[i])),
            }
        }
        out
    }

    /// Applies one change; true if anything changed.
    pub fn apply(&mut self, change: &Change) -> bool {
        let changed = match change {
            Change::Join(node) => match self.index(&node.id) {
                Some(i) if self.nodes[i] == *node => false,
                Some(i) => {
                    self.nodes[i] = node.clone();
                    true
                }
                None => {
                    let at = self.nodes.partition_point(|n| n.id < node.id);
                    self.nodes.insert(at, node.clone());
                    true
                }
            },
            Change::Leave { id } => match self.index(id) {
                Some(i) => {
                    self.nodes.remove(i);
                    true
                }
                None => false,
            },
            Change::Fail { id } => self.set_health(id, false),
            Change::Recover { id } => self.set_health(id, true),
        };
        if changed {
            self.rebalance();
            self.epoch += 1;
        }
        changed
    }

    fn set_health(&mut self, id: &str, healthy: bool) -> bool {
        match self.index(id) {
            Some(i) if self.nodes[i].healthy != healthy => {
                self.nodes[i].healthy = healthy;
                true
            }
            _ => false,
        }
    }

    /// Owners from the ring over the healthy members.
    fn rebalance(&mut self) {
        let members: Vec<Member> = self
            .nodes
            .iter()
            .map(|n| Member::new(n.id.clone(), if n.healthy { n.weight } else { 0 }))
            .collect();
        self.owners = ring::place(&members, self.bound);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: usize) -> Node {
        Node::loopback(i as u16)
    }

    fn map(n: usize) -> ShardMap {
        let mut m = ShardMap::default();
        for i in 0..n {
            assert!(m.apply(&Change::Join(node(i))));
        }
        m
    }

    #[test]
    fn one_node_owns_every_slot_in_one_range() {
        let mut m = ShardMap::default();
        assert!(!m.covered());
        assert!(m.ranges().is_empty());
        m.apply(&Change::Join(node(1)));
        assert!(m.covered());
        assert_eq!(m.epoch, 1);
        let r = m.ranges();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].0, r[0].1, r[0].2.id.as_str()),
            (0, 16383, node(1).id.as_str())
        );
        assert_eq!(m.slots_of(&node(1).id), 16384);
        // The same join again changes nothing, epoch included.
        assert!(!m.apply(&Change::Join(node(1))));
        assert_eq!(m.epoch, 1);
    }

    #[test]
    fn failure_moves_only_the_failed_nodes_slots_away_and_recovery_restores() {
        let mut m = map(3);
        let before = m.clone();
        let failed = node(0).id;
        assert!(m.apply(&Change::Fail { id: failed.clone() }));
        assert!(m.covered());
        assert_eq!(m.slots_of(&failed), 0);
        assert_eq!(m.nodes().len(), 3);
        let ranges_total: usize = m
            .ranges()
            .iter()
            .map(|(a, b, _)| usize::from(b - a) + 1)
            .sum();
        assert_eq!(ranges_total, 16384);
        // Failing twice is no change.
        assert!(!m.apply(&Change::Fail { id: failed.clone() }));
        assert!(m.apply(&Change::Recover { id: failed.clone() }));
        // Placement is a function of the healthy members: back as before.
        assert_eq!(
            (0..16384u16)
                .filter(|&s| m.owner(s) != before.owner(s))
                .count(),
            0
        );
        assert_eq!(m.epoch, before.epoch + 2);
    }

    #[test]
    fn every_node_applying_the_same_log_holds_the_same_map() {
        let log = vec![
            Change::Join(node(2)),
            Change::Join(node(0)),
            Change::Join(node(1)),
            Change::Fail { id: node(2).id },
            Change::Join(node(3)),
            Change::Leave { id: node(0).id },
            Change::Recover { id: node(2).id },
            Change::Leave {
                id: "missing".into(),
            },
        ];
        let mut a = ShardMap::default();
        let mut b = ShardMap::default();
        for c in &log {
            a.apply(c);
        }
        for c in &log {
            b.apply(c);
        }
        assert_eq!(a, b);
        assert_eq!(a.epoch, 7);
        let ids: Vec<&str> = a.nodes().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, [node(1).id, node(2).id, node(3).id]);
        assert!(a.covered());
        // Everyone left: nothing is owned.
        for n in 1..4 {
            a.apply(&Change::Leave { id: node(n).id });
        }
        assert!(!a.covered() && a.owner(0).is_none());
    }
}
