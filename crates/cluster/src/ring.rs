//! The hash ring: where slots *should* live (DESIGN.md §3).
//!
//! Each member puts `weight × POINTS_PER_WEIGHT` virtual points on a 32-bit
//! ring, at `crc32(id, point index)`. Slot `s` sits at `s × 2^32 / 16384`
//! (evenly spaced) and belongs to the first point clockwise of it, except
//! that no member takes more than its capacity, `ceil(bound × 16384 ×
//! weight / total weight)`: a slot whose first point belongs to a full
//! member walks on to the next point (consistent hashing with bounded
//! loads). Slots are placed in ascending order, so the placement is a pure
//! function of the members and the bound: every node computes the same.
//!
//! The ring gives a *target*; the shard map in the Raft state machine is
//! the truth and changes only through the log.

use crate::slot::SLOTS;

/// Virtual points per unit of weight.
pub const POINTS_PER_WEIGHT: u32 = 128;

/// Default cap on a member's slots over its weighted mean share.
pub const DEFAULT_BOUND: f64 = 1.1;

/// A member as the ring sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// Relative share of slots; 0 takes none.
    pub weight: u32,
}

impl Member {
    pub fn new(id: impl Into<String>, weight: u32) -> Member {
        Member {
            id: id.into(),
            weight,
        }
    }
}

/// A point's position: crc32 of the member id, then the point index
/// (little-endian u32).
fn point(id: &str, index: u32) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(id.as_bytes());
    h.update(&index.to_le_bytes());
    h.finalize()
}

/// Slot `slot`'s position on the ring.
fn slot_position(slot: u16) -> u32 {
    u32::from(slot) << (32 - SLOTS.trailing_zeros())
}

/// The target owner of every slot, as an index into `members` (`None`
/// for every slot when no member has weight). `bound` (≥ 1) caps each
/// member's slots at `bound` times its weighted share, rounded up.
pub fn place(members: &[Member], bound: f64) -> Vec<Option<usize>> {
    let mut owners = vec![None; usize::from(SLOTS)];
    fill(members, bound, &mut owners);
    owners
}

/// Gives each slot without an owner the first member clockwise of it
/// whose slots (counting those it owns already) are under the cap, as
/// [`place`] does; owned slots stay where they are.
pub fn fill(members: &[Member], bound: f64, owners: &mut [Option<usize>]) {
    let total: u64 = members.iter().map(|m| u64::from(m.weight)).sum();
    if total == 0 {
        return;
    }
    let mut points: Vec<(u32, usize)> = members
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            (0..m.weight.saturating_mul(POINTS_PER_WEIGHT)).map(move |p| (point(&m.id, p), i))
        })
        .collect();
    // Ties (two points at one position) go to the smaller id, so the
    // order does not depend on the order members are listed in.
    points.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| members[a.1].id.cmp(&members[b.1].id))
    });
    let capacity = capacities(members, bound);
    let mut load: Vec<u64> = loads(owners, members.len())
        .into_iter()
        .map(|n| n as u64)
        .collect();
    for (slot, owner) in owners.iter_mut().enumerate() {
        if owner.is_some() {
            continue;
        }
        let start = points.partition_point(|p| p.0 < slot_position(slot as u16));
        let walk = || (0..points.len()).map(|step| points[(start + step) % points.len()].1);
        // From empty, capacities sum to at least SLOTS, so some member
        // has room; members already over the cap (after a change of
        // weights) can leave none, and then the slot's successor takes it.
        let m = walk()
            .find(|&m| load[m] < capacity[m])
            .unwrap_or(points[start % points.len()].1);
        load[m] += 1;
        *owner = Some(m);
    }
}

/// The most slots each member may own: `bound` (≥ 1) times its weighted
/// share, rounded up.
pub fn capacities(members: &[Member], bound: f64) -> Vec<u64> {
    let total: u64 = members.iter().map(|m| u64::from(m.weight)).sum();
    let bound = bound.max(1.0);
    members
        .iter()
        .map(|m| match total {
            0 => 0,
            _ => (bound * f64::from(SLOTS) * m.weight as f64 / total as f64).ceil() as u64,
        })
        .collect()
}

/// Slots owned per member under `owners` (as [`place`] returns).
pub fn loads(owners: &[Option<usize>], members: usize) -> Vec<usize> {
    let mut n = vec![0; members];
    for &m in owners.iter().flatten() {
        n[m] += 1;
    }
    n
}

/// How many slots change owner between two placements, comparing owners
/// by id (members may be listed differently in each).
pub fn moved(
    before: &[Option<usize>],
    before_members: &[Member],
    after: &[Option<usize>],
    after_members: &[Member],
) -> usize {
    let id = |m: Option<usize>, ms: &[Member]| m.map(|i| ms[i].id.clone());
    before
        .iter()
        .zip(after)
        .filter(|(&b, &a)| id(b, before_members) != id(a, after_members))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<Member> {
        (0..n)
            .map(|i| Member::new(format!("node-{i}"), 1))
            .collect()
    }

    /// (max, min) slots per member over the mean.
    fn spread(owners: &[Option<usize>], members: usize) -> (f64, f64) {
        let l = loads(owners, members);
        let mean = f64::from(SLOTS) / members as f64;
        let max = l.iter().max().copied().unwrap_or(0);
        let min = l.iter().min().copied().unwrap_or(0);
        (max as f64 / mean, min as f64 / mean)
    }

    #[test]
    fn every_slot_has_one_owner_and_the_placement_is_deterministic() {
        let m = nodes(5);
        let owners = place(&m, DEFAULT_BOUND);
        assert_eq!(owners.len(), usize::from(SLOTS));
        assert!(owners.iter().all(Option::is_some));
        assert_eq!(loads(&owners, 5).iter().sum::<usize>(), usize::from(SLOTS));
        // Listing the members in another order changes nothing.
        let mut reversed = m.clone();
        reversed.reverse();
        assert_eq!(
            moved(&owners, &m, &place(&reversed, DEFAULT_BOUND), &reversed),
            0
        );
        // One member alone owns everything; no weight, nobody owns anything.
        assert!(place(&nodes(1), DEFAULT_BOUND)
            .iter()
            .all(|&o| o == Some(0)));
        assert!(place(&[Member::new("a", 0)], DEFAULT_BOUND)
            .iter()
            .all(Option::is_none));
        assert!(place(&[], DEFAULT_BOUND).iter().all(Option::is_none));
    }

    #[test]
    fn weights_are_proportional_and_capped() {
        let m = vec![
            Member::new("small", 1),
            Member::new("big", 3),
            Member::new("idle", 0),
        ];
        let l = loads(&place(&m, DEFAULT_BOUND), 3);
        assert_eq!(l[2], 0);
        let share = |i: usize| l[i] as f64 / f64::from(SLOTS);
        assert!((share(1) - 0.75).abs() < 0.08, "{l:?}");
        // No member over bound × its share.
        assert!(l[0] as f64 <= (1.25 * 16384.0 / 4.0f64).ceil(), "{l:?}");
        assert!(
            l[1] as f64 <= (1.25 * 16384.0 * 3.0 / 4.0f64).ceil(),
            "{l:?}"
        );
    }

    /// The balance and movement figures the README reports: run with
    /// `cargo test -p shoal-cluster ring_figures -- --nocapture`.
    #[test]
    fn ring_figures() {
        println!("| nodes | max/mean slots | min/mean | moved on join | optimum 1/(n+1) | moved on leave | optimum (its share) |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for n in [3usize, 5, 10, 50] {
            let m = nodes(n);
            let owners = place(&m, DEFAULT_BOUND);
            let (balance, low) = spread(&owners, n);
            // The cap is rounded up to whole slots.
            let cap = (DEFAULT_BOUND * f64::from(SLOTS) / n as f64).ceil();
            assert!(
                balance <= cap / (f64::from(SLOTS) / n as f64),
                "{n}: {balance}"
            );
            let joined = nodes(n + 1);
            let after_join = place(&joined, DEFAULT_BOUND);
            let join = moved(&owners, &m, &after_join, &joined) as f64 / f64::from(SLOTS);
            // node-0 leaves: its own slots must move, at least.
            let left: Vec<Member> = m[1..].to_vec();
            let after_leave = place(&left, DEFAULT_BOUND);
            let leave = moved(&owners, &m, &after_leave, &left) as f64 / f64::from(SLOTS);
            let join_opt = 1.0 / (n + 1) as f64;
            let leave_opt = loads(&owners, n)[0] as f64 / f64::from(SLOTS);
            println!(
                "| {n} | {balance:.3} | {low:.3} | {join:.3} | {join_opt:.3} | {leave:.3} | {leave_opt:.3} |"
            );
            // Consistent hashing moves a small multiple of the optimum,
            // not most of the keyspace as `slot mod n` would.
            assert!(join <= 2.0 * join_opt, "{n}: join moved {join}");
            assert!(
                leave >= leave_opt && leave <= 2.0 / n as f64,
                "{n}: leave moved {leave}"
            );
        }
    }
}
