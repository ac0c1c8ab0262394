//! The shard map: who is in the cluster and which node owns each slot.
//!
//! This is the state the metadata group replicates (DESIGN.md §3, §5): it
//! changes only by [`ShardMap::apply`]ing a [`Change`] taken from the Raft
//! log, in log order, on every node, so every node holds the same map.
//! `apply` is deterministic: owners are recomputed by the ring
//! ([`crate::ring::place`]) over the healthy members, and the config epoch
//! goes up by one with every change that changes anything.
//!
//! A change plans where slots should be; a slot whose owner is still a
//! healthy member does not jump there: it *moves*. It keeps its owner,
//! which streams the slot's keys to the planned node, and changes owner
//! only with [`Change::Moved`], once its keys are there (warm migration).
//! A slot whose owner failed or left goes to its planned node at once
//! (its keys are gone with the owner). Planning always starts from the
//! map as it will be once the moves in flight are done, so a change during
//! a move redirects or cancels it (a move towards a node that failed is
//! dropped: the slot stays with its owner).

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
    /// The keys of `slots` are at `to`, where they were moving: `to` owns
    /// them now (a slot no longer moving there is left alone).
    Moved { slots: Vec<u16>, to: String },
    /// Node `id` is to hand all its slots to the others (before it is
    /// removed): it keeps serving them until each has moved.
    Drain { id: String },
    /// Move slots to where the ring places them now (the moves of joins
    /// and recoveries leave some slots off their ring place, within the
    /// cap).
    Rebalance,
}

fn no_moves() -> Vec<Option<usize>> {
    vec![None; usize::from(SLOTS)]
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
    /// The node each slot is moving to (an index into `nodes`), if any.
    #[serde(default = "no_moves")]
    moving: Vec<Option<usize>>,
    /// Nodes handing their slots to the others ([`Change::Drain`]), by id.
    #[serde(default)]
    draining: Vec<String>,
    /// The ring's imbalance cap.
    bound: f64,
}

impl Default for ShardMap {
    fn default() -> Self {
        ShardMap {
            epoch: 0,
            nodes: Vec::new(),
            owners: vec![None; usize::from(SLOTS)],
            moving: no_moves(),
            draining: Vec::new(),
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

    /// Node `id`'s position in [`ShardMap::nodes`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index(id)
    }

    /// The position in [`ShardMap::nodes`] of `slot`'s owner.
    pub fn owner_index(&self, slot: u16) -> Option<usize> {
        self.owners.get(usize::from(slot)).copied().flatten()
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

    /// The node `slot` is moving to, if it is moving.
    pub fn moving_to(&self, slot: u16) -> Option<&Node> {
        self.moving
            .get(usize::from(slot))
            .copied()
            .flatten()
            .map(|i| &self.nodes[i])
    }

    /// The position in [`ShardMap::nodes`] of the node `slot` is moving to.
    pub fn moving_index(&self, slot: u16) -> Option<usize> {
        self.moving.get(usize::from(slot)).copied().flatten()
    }

    /// Every slot moving now: `(slot, owner, destination)`, as positions
    /// in [`ShardMap::nodes`], ascending by slot.
    pub fn moving_slots(&self) -> impl Iterator<Item = (u16, usize, usize)> + '_ {
        self.moving
            .iter()
            .zip(&self.owners)
            .enumerate()
            .filter_map(|(slot, (to, owner))| Some((slot as u16, (*owner)?, (*to)?)))
    }

    /// Slots moving now.
    pub fn moves(&self) -> usize {
        self.moving.iter().filter(|m| m.is_some()).count()
    }

    /// The slots moving from node `from` (all senders if None), by
    /// destination (position in [`ShardMap::nodes`]), ascending.
    pub fn moves_by_destination(&self, from: Option<usize>) -> Vec<(usize, Vec<u16>)> {
        let mut by_node: Vec<Vec<u16>> = vec![Vec::new(); self.nodes.len()];
        for (slot, owner, to) in self.moving_slots() {
            if from.is_none_or(|f| f == owner) {
                by_node[to].push(slot);
            }
        }
        by_node
            .into_iter()
            .enumerate()
            .filter(|(_, slots)| !slots.is_empty())
            .collect()
    }

    /// The [`Change::Moved`] entries that would end every move in flight,
    /// one per destination (what nodes propose as their streams finish;
    /// tests apply them directly).
    pub fn finishing_moves(&self) -> Vec<Change> {
        self.moves_by_destination(None)
            .into_iter()
            .map(|(i, slots)| Change::Moved {
                slots,
                to: self.nodes[i].id.clone(),
            })
            .collect()
    }

    /// Node `id` is handing its slots to the others.
    pub fn is_draining(&self, id: &str) -> bool {
        self.draining.iter().any(|d| d == id)
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

    /// Applies one change; true if anything changed. Only the slots that
    /// must move do: a joining or recovering node takes the slots the
    /// ring gives it over the healthy members, a leaving or failed node's
    /// slots go to the ring's next healthy member with room; every other
    /// slot keeps its owner (and its warm keys).
    pub fn apply(&mut self, change: &Change) -> bool {
        if let Change::Moved { slots, to } = change {
            return self.moved(slots, to);
        }
        // Plan from the map as it will be once the moves in flight are
        // done; `actual` keeps who holds each slot's keys now.
        let actual: Vec<Option<String>> = self
            .owners
            .iter()
            .map(|o| o.map(|i| self.nodes[i].id.clone()))
            .collect();
        for (owner, to) in self.owners.iter_mut().zip(&self.moving) {
            if to.is_some() {
                *owner = *to;
            }
        }
        let changed = match change {
            Change::Moved { .. } => false,
            Change::Drain { id } => match self.index(id) {
                Some(i) if !self.is_draining(id) => {
                    self.draining.push(id.clone());
                    for o in self.owners.iter_mut() {
                        if *o == Some(i) {
                            *o = None;
                        }
                    }
                    ring::fill(&self.members(), self.bound, &mut self.owners);
                    true
                }
                _ => false,
            },
            Change::Rebalance => {
                let placed = ring::place(&self.members(), self.bound);
                let changed = placed != self.owners;
                self.owners = placed;
                changed
            }
            Change::Join(node) => match self.index(&node.id) {
                // A member joining again updates its addresses and weight;
                // only Fail and Recover change its health.
                Some(i) => {
                    let node = Node {
                        healthy: self.nodes[i].healthy,
                        ..node.clone()
                    };
                    if self.nodes[i] == node {
                        false
                    } else {
                        let reweighed = self.nodes[i].weight != node.weight;
                        self.nodes[i] = node;
                        if reweighed {
                            self.owners = ring::place(&self.members(), self.bound);
                        }
                        true
                    }
                }
                None => {
                    let at = self.nodes.partition_point(|n| n.id < node.id);
                    self.nodes.insert(at, node.clone());
                    for o in self.owners.iter_mut().flatten() {
                        if *o >= at {
                            *o += 1;
                        }
                    }
                    self.take_share(at);
                    true
                }
            },
            Change::Leave { id } => match self.index(id) {
                Some(i) => {
                    self.draining.retain(|d| d != id);
                    self.nodes.remove(i);
                    for o in self.owners.iter_mut() {
                        *o = match *o {
                            Some(x) if x == i => None,
                            Some(x) if x > i => Some(x - 1),
                            other => other,
                        };
                    }
                    ring::fill(&self.members(), self.bound, &mut self.owners);
                    true
                }
                None => false,
            },
            Change::Fail { id } => match self.set_health(id, false) {
                Some(i) => {
                    for o in self.owners.iter_mut() {
                        if *o == Some(i) {
                            *o = None;
                        }
                    }
                    ring::fill(&self.members(), self.bound, &mut self.owners);
                    true
                }
                None => false,
            },
            Change::Recover { id } => match self.set_health(id, true) {
                Some(i) => {
                    self.take_share(i);
                    true
                }
                None => false,
            },
        };
        self.settle_moves(&actual);
        if changed {
            self.epoch += 1;
        }
        changed
    }

    /// With `owners` as planned: a slot whose keys are held by a healthy
    /// member (`actual`, by id) other than its planned node keeps that
    /// owner and moves; any other slot takes its planned owner now.
    fn settle_moves(&mut self, actual: &[Option<String>]) {
        for (slot, held) in actual.iter().enumerate() {
            let planned = self.owners[slot];
            let holder = held
                .as_deref()
                .and_then(|id| self.index(id))
                .filter(|&i| self.nodes[i].healthy);
            self.moving[slot] = None;
            match (holder, planned) {
                (Some(h), Some(p)) if h != p => {
                    self.owners[slot] = Some(h);
                    self.moving[slot] = Some(p);
                }
                // No member has room for it: it stays.
                (Some(h), None) => self.owners[slot] = Some(h),
                _ => {}
            }
        }
    }

    /// [`Change::Moved`]: `to` owns those of `slots` that were moving to it.
    fn moved(&mut self, slots: &[u16], to: &str) -> bool {
        let Some(t) = self.index(to) else {
            return false;
        };
        let mut changed = false;
        for &slot in slots {
            let s = usize::from(slot);
            if s < self.moving.len() && self.moving[s] == Some(t) {
                self.owners[s] = Some(t);
                self.moving[s] = None;
                changed = true;
            }
        }
        if changed {
            self.epoch += 1;
        }
        changed
    }

    /// Node `i` takes the slots the ring gives it over the healthy members
    /// (and any slot without an owner is filled). A member left over the
    /// cap (it kept slots the ring now gives to another) lets such slots go
    /// until it is under the cap again.
    fn take_share(&mut self, i: usize) {
        let members = self.members();
        let target = ring::place(&members, self.bound);
        for (owner, t) in self.owners.iter_mut().zip(&target) {
            if *t == Some(i) {
                *owner = Some(i);
            }
        }
        let cap = ring::capacities(&members, self.bound);
        let mut load = ring::loads(&self.owners, members.len());
        for (owner, t) in self.owners.iter_mut().zip(&target) {
            if let Some(o) = *owner {
                if *t != Some(o) && load[o] as u64 > cap[o] {
                    *owner = None;
                    load[o] -= 1;
                }
            }
        }
        // The slots let go (and any without an owner) go round the ring to
        // members with room.
        ring::fill(&members, self.bound, &mut self.owners);
    }

    /// The node's index if its health changed.
    fn set_health(&mut self, id: &str, healthy: bool) -> Option<usize> {
        match self.index(id) {
            Some(i) if self.nodes[i].healthy != healthy => {
                self.nodes[i].healthy = healthy;
                Some(i)
            }
            _ => None,
        }
    }

    /// Slots whose owner (by id) differs between this map and `other`.
    #[cfg(test)]
    fn owners_of_others(&self, other: &ShardMap) -> usize {
        (0..SLOTS)
            .filter(|&s| self.owner(s).map(|n| &n.id) != other.owner(s).map(|n| &n.id))
            .count()
    }

    /// The ring's members: every node, weighted, with no weight while
    /// failed or draining.
    fn members(&self) -> Vec<Member> {
        self.nodes
            .iter()
            .map(|n| {
                let serving = n.healthy && !self.is_draining(&n.id);
                Member::new(n.id.clone(), if serving { n.weight } else { 0 })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: usize) -> Node {
        Node::loopback(i as u16)
    }

    /// Applies `change` and then ends the moves it started, as the nodes
    /// would once the keys are streamed.
    fn apply_moved(m: &mut ShardMap, change: &Change) -> bool {
        let changed = m.apply(change);
        for done in m.finishing_moves() {
            assert!(m.apply(&done));
        }
        assert_eq!(m.moves(), 0);
        changed
    }

    fn map(n: usize) -> ShardMap {
        let mut m = ShardMap::default();
        for i in 0..n {
            assert!(apply_moved(&mut m, &Change::Join(node(i))));
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
    fn a_failure_moves_only_the_failed_nodes_slots_and_recovery_only_its_share_back() {
        let mut m = map(3);
        let before = m.clone();
        let failed = node(0).id;
        assert!(m.apply(&Change::Fail { id: failed.clone() }));
        assert!(m.covered());
        assert_eq!(m.slots_of(&failed), 0);
        // Every other node's slots stay where they were.
        for s in 0..16384u16 {
            if before.owner(s).is_some_and(|n| n.id != failed) {
                assert_eq!(m.owner(s), before.owner(s), "slot {s}");
            }
        }
        assert_eq!(m.nodes().len(), 3);
        let ranges_total: usize = m
            .ranges()
            .iter()
            .map(|(a, b, _)| usize::from(b - a) + 1)
            .sum();
        assert_eq!(ranges_total, 16384);
        // Failing twice is no change, and neither is the failed node
        // announcing itself again (only Recover makes it healthy).
        assert!(!m.apply(&Change::Fail { id: failed.clone() }));
        assert!(!m.apply(&Change::Join(node(0))));
        assert!(!m.node(&failed).is_some_and(|n| n.healthy));
        let failed_map = m.clone();
        assert!(apply_moved(&mut m, &Change::Recover { id: failed.clone() }));
        // The recovered node takes its share back; no slot moves between
        // the others.
        let mut back = 0;
        for s in 0..16384u16 {
            if m.owner(s) != failed_map.owner(s) {
                assert_eq!(m.owner(s).map(|n| n.id.as_str()), Some(failed.as_str()));
                back += 1;
            }
        }
        assert_eq!(back, m.slots_of(&failed));
        assert!(back > 16384 / 3 - 16384 / 10, "{back}");
        // Fail, Recover, and the Moved that ended the moves back.
        assert_eq!(m.epoch, before.epoch + 3);
    }

    #[test]
    fn a_join_moves_about_the_optimal_share_of_slots_and_keeps_the_cap() {
        for n in [1usize, 2, 4, 9] {
            let before = map(n);
            let mut m = before.clone();
            let new = node(n);
            assert!(apply_moved(&mut m, &Change::Join(new.clone())));
            let moved = (0..16384u16)
                .filter(|&s| m.owner(s) != before.owner(s))
                .count();
            // Slots go to the new node, and between old ones only as far
            // as the cap needs.
            let between_old = moved - m.slots_of(&new.id);
            println!(
                "{n} nodes + 1: moved {moved} ({:.3}; optimum {:.3}), {between_old} between old nodes",
                moved as f64 / 16384.0,
                1.0 / (n + 1) as f64
            );
            assert!(
                between_old <= 16384 / 20,
                "{n} nodes + 1: {between_old} moved between old nodes"
            );
            // Nobody is over the cap.
            let cap = (16384.0 / (n + 1) as f64 * ring::DEFAULT_BOUND).ceil() as usize;
            for node in m.nodes() {
                assert!(m.slots_of(&node.id) <= cap, "{n} nodes + 1: over {cap}");
            }
            // The optimum is 1/(n+1) of the slots; the cap allows 10% over.
            let optimum = 16384.0 / (n + 1) as f64;
            assert!(
                (moved as f64) <= optimum * 1.25 && (moved as f64) >= optimum * 0.8,
                "{n} nodes + 1: moved {moved}, optimum {optimum:.0}"
            );
        }
    }

    /// What the map (not the bare ring) moves: the README's table.
    #[test]
    fn map_figures() {
        println!("| nodes | max/mean slots | moved on join | optimum 1/(n+1) | moved on leave or failure | optimum (its share) |");
        println!("|---:|---:|---:|---:|---:|---:|");
        let diff = |a: &ShardMap, b: &ShardMap| {
            (0..16384u16).filter(|&s| a.owner(s) != b.owner(s)).count() as f64 / 16384.0
        };
        for n in [3usize, 5, 10, 50] {
            let m = map(n);
            let max = m
                .nodes()
                .iter()
                .map(|x| m.slots_of(&x.id))
                .max()
                .unwrap_or(0);
            let balance = max as f64 / (16384.0 / n as f64);
            // The cap is rounded up to whole slots.
            let cap = (ring::DEFAULT_BOUND * 16384.0 / n as f64).ceil() as usize;
            assert!(max <= cap, "{n}: {balance}");
            let mut joined = m.clone();
            apply_moved(&mut joined, &Change::Join(node(n)));
            let join = diff(&m, &joined);
            let mut failed = m.clone();
            failed.apply(&Change::Fail { id: node(0).id });
            let fail = diff(&m, &failed);
            let share = m.slots_of(&node(0).id) as f64 / 16384.0;
            // A failure moves exactly the failed node's slots.
            assert!((fail - share).abs() < 1e-9, "{n}: {fail} vs {share}");
            let mut left = m.clone();
            left.apply(&Change::Leave { id: node(0).id });
            assert_eq!(
                left.owners_of_others(&failed),
                0,
                "{n}: leave and failure place alike"
            );
            let join_opt = 1.0 / (n + 1) as f64;
            println!("| {n} | {balance:.3} | {join:.3} | {join_opt:.3} | {fail:.3} | {share:.3} |");
            assert!(join <= 1.5 * join_opt, "{n}: join moved {join}");
        }
    }

    fn owner_id(m: &ShardMap, slot: u16) -> Option<String> {
        m.owner(slot).map(|n| n.id.clone())
    }

    #[test]
    fn a_join_moves_slots_warm_and_a_failed_destination_drops_its_moves() {
        let mut m = map(2);
        let before = m.clone();
        let new = node(2);
        assert!(m.apply(&Change::Join(new.clone())));
        // No slot changes owner yet: about a third start moving there.
        for s in 0..SLOTS {
            assert_eq!(owner_id(&m, s), owner_id(&before, s), "slot {s}");
            assert!(m.moving_to(s).is_none_or(|n| n.id == new.id));
        }
        assert_eq!(m.slots_of(&new.id), 0);
        assert!(
            m.moves() > 16384 / 4 && m.moves() < 16384 / 2,
            "{}",
            m.moves()
        );
        let done = m.finishing_moves();
        assert_eq!(done.len(), 1);
        let Change::Moved { slots, to } = &done[0] else {
            panic!("{done:?}")
        };
        assert_eq!(slots.len(), m.moves());
        // Half the slots are done: the new node owns those.
        let half = slots[..slots.len() / 2].to_vec();
        let moved = Change::Moved {
            slots: half.clone(),
            to: to.clone(),
        };
        assert!(m.apply(&moved));
        assert_eq!(m.slots_of(&new.id), half.len());
        assert!(!m.apply(&moved), "a slot moves once");
        // The new node fails: what it owns goes elsewhere at once, the
        // moves towards it are dropped and their slots stay put.
        assert!(m.apply(&Change::Fail { id: new.id.clone() }));
        assert_eq!(m.moves(), 0);
        assert!(m.covered());
        assert_eq!(m.slots_of(&new.id), 0);
        for s in slots.iter().skip(half.len()) {
            assert_eq!(owner_id(&m, *s), owner_id(&before, *s), "slot {s}");
        }
    }

    #[test]
    fn a_weight_change_moves_slots_warm_towards_the_heavier_node() {
        let mut m = map(3);
        let before = m.clone();
        let heavy = Node {
            weight: 3,
            ..node(1)
        };
        assert!(m.apply(&Change::Join(heavy.clone())));
        // Owners stay until the keys are there; most moves go to it (the
        // ring's capacities change for everyone, so a few go elsewhere).
        let mut to_heavy = 0;
        for s in 0..SLOTS {
            assert_eq!(owner_id(&m, s), owner_id(&before, s), "slot {s}");
            to_heavy += usize::from(m.moving_to(s).is_some_and(|n| n.id == heavy.id));
        }
        assert!(
            to_heavy * 100 >= m.moves() * 95,
            "{to_heavy} of {}",
            m.moves()
        );
        let had = m.slots_of(&heavy.id);
        for done in m.finishing_moves() {
            assert!(m.apply(&done));
        }
        // Three fifths of the slots, within the cap.
        let share = m.slots_of(&heavy.id);
        assert!(
            share > had && share >= 16384 * 3 / 5 * 9 / 10,
            "{had} -> {share}"
        );
        assert!(m.covered());
    }

    #[test]
    fn a_drained_node_hands_over_every_slot_before_it_leaves() {
        let mut m = map(3);
        let drained = node(1).id;
        let had = m.slots_of(&drained);
        assert!(m.apply(&Change::Drain {
            id: drained.clone()
        }));
        assert!(!m.apply(&Change::Drain {
            id: drained.clone()
        }));
        // It serves its slots until each has moved.
        assert_eq!(m.slots_of(&drained), had);
        assert_eq!(m.moves(), had);
        for done in m.finishing_moves() {
            assert!(m.apply(&done));
        }
        assert_eq!(m.slots_of(&drained), 0);
        assert!(m.covered());
        // Its departure then moves nothing.
        let drained_map = m.clone();
        assert!(m.apply(&Change::Leave {
            id: drained.clone()
        }));
        assert!(!m.is_draining(&drained));
        for s in 0..SLOTS {
            assert_eq!(owner_id(&m, s), owner_id(&drained_map, s), "slot {s}");
        }
        // Rebalancing moves slots to their ring place, once.
        apply_moved(&mut m, &Change::Rebalance);
        assert!(!m.apply(&Change::Rebalance));
        let place = ring::place(&m.members(), m.bound);
        assert_eq!(m.owners, place);
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
