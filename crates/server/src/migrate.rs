//! Warm slot migration: a slot the shard map moves from this node to
//! another ([`shoal_cluster::map`]) takes its keys with it.
//!
//! This node's mover finds the slots it owns that are moving, and for each
//! destination streams their keys there in batches
//! (`cluster-migration-batch` keys, at most `cluster-migration-rate` keys
//! a second): a batch's keys are taken out of the keyspace, sent as
//! `ASKING` + `RESTORE … REPLACE ABSTTL` over a forwarding link, and are
//! gone from here once the destination has answered `+OK` for each (put
//! back if it did not). When a scan finds none of the slots' keys left,
//! the mover writes [`Change::Moved`] through the Raft log and the map
//! flips.
//!
//! Meanwhile every key stays reachable ([`crate::route`]): a key still
//! here is served here; one that is not (moved, or new) is served by the
//! destination, reached with `-ASK` (cluster clients) or by forwarding with
//! ASKING (plain clients); a command on a key in a batch on its way waits
//! for the batch's answer ([`Migrations::held`]); a multi-key command
//! whose keys are partly here gets `-TRYAGAIN`, as in Redis Cluster.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use shoal_cluster::map::{Change, ShardMap};
use shoal_cluster::{key_slot, SLOTS};
use shoal_meta::types::Proposal;
use shoal_store::keyspace::{now_ms, Entry};
use tokio::sync::watch;

use crate::link::Link;
use crate::node::Node;

/// How long a batch may take to be answered.
const BATCH_LIMIT: Duration = Duration::from_secs(10);
/// Most key names one scan of the keyspace collects.
const NAMES_PER_SCAN: usize = 100_000;
/// Most slots one pass moves to one destination before the map flips.
const SLOTS_PER_PASS: usize = 1024;

/// What this node's migrations hold and have done.
pub struct Migrations {
    /// Keys taken out of the keyspace on their way to another node, by
    /// database: commands on them wait for the batch's answer.
    held: Mutex<HashMap<usize, HashSet<Vec<u8>>>>,
    /// Bumped whenever held keys are released.
    released: watch::Sender<u64>,
    /// Keys sent to other nodes, and slots handed over.
    pub keys_sent: AtomicU64,
    pub slots_sent: AtomicU64,
}

impl Default for Migrations {
    fn default() -> Self {
        Migrations {
            held: Mutex::new(HashMap::new()),
            released: watch::Sender::new(0),
            keys_sent: AtomicU64::new(0),
            slots_sent: AtomicU64::new(0),
        }
    }
}

impl Migrations {
    /// If one of `keys` (of database `db`) is on its way to another node:
    /// what to wait on for the batch's answer.
    pub fn held(&self, db: usize, keys: &[&[u8]]) -> Option<watch::Receiver<u64>> {
        let held = self.held.lock();
        let of_db = held.get(&db)?;
        // Subscribed under the lock: a release after the check is seen.
        let released = self.released.subscribe();
        keys.iter().any(|k| of_db.contains(*k)).then_some(released)
    }

    fn hold(&self, db: usize, keys: &[Vec<u8>]) {
        self.held
            .lock()
            .entry(db)
            .or_default()
            .extend(keys.iter().cloned());
    }

    fn release(&self, db: usize, keys: &[Vec<u8>]) {
        {
            let mut held = self.held.lock();
            if let Some(of_db) = held.get_mut(&db) {
                for k in keys {
                    of_db.remove(k);
                }
                if of_db.is_empty() {
                    held.remove(&db);
                }
            }
        }
        self.released.send_modify(|n| *n += 1);
    }
}

/// The slots this node owns that are moving, by destination: (client
/// address, node id, slots).
fn outgoing(map: &ShardMap, me: &str) -> Vec<(String, String, Vec<u16>)> {
    let Some(me) = map.position(me) else {
        return Vec::new();
    };
    map.moves_by_destination(Some(me))
        .into_iter()
        .map(|(i, slots)| {
            let n = &map.nodes()[i];
            (n.addr.clone(), n.id.clone(), slots)
        })
        .collect()
}

/// Moves this node's outgoing slots, for as long as the node runs.
pub async fn run(node: Arc<Node>) {
    let Some(cluster) = node.cluster.get().cloned() else {
        return;
    };
    let mut maps = cluster.watch_map();
    loop {
        let plan = outgoing(&cluster.map(), &cluster.me.id);
        if plan.is_empty() {
            let _ = tokio::time::timeout(Duration::from_secs(1), maps.changed()).await;
            continue;
        }
        for (addr, id, mut slots) in plan {
            slots.truncate(SLOTS_PER_PASS);
            let cold = node.config.read().cluster_migration == "cold";
            let sent = if cold {
                // The keys stay behind and are dropped with the slot.
                Ok(())
            } else {
                send_slots(&node, &addr, &slots).await
            };
            match sent {
                Ok(()) => {
                    let done = Change::Moved {
                        slots: slots.clone(),
                        to: id,
                    };
                    match cluster.meta().propose(Proposal::Map(done)).await {
                        Ok(_) => {
                            node.migrations
                                .slots_sent
                                .fetch_add(slots.len() as u64, Ordering::Relaxed);
                            // Wait for the flip to be published here, so the
                            // next pass does not move these slots again.
                            let _ =
                                tokio::time::timeout(Duration::from_secs(2), maps.changed()).await;
                        }
                        Err(e) => {
                            tracing::warn!("slots moved to {addr}, map not updated yet: {e}");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("moving slots to {addr}: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Sends every key of `slots` to the node at `addr`; Ok once a scan finds
/// none left here.
async fn send_slots(node: &Arc<Node>, addr: &str, slots: &[u16]) -> std::io::Result<()> {
    let mut wanted = vec![false; usize::from(SLOTS)];
    for &s in slots {
        wanted[usize::from(s)] = true;
    }
    let wanted = Arc::new(wanted);
    let password = node.config.read().requirepass.clone();
    let mut link = Link::forwarding(addr, &password, BATCH_LIMIT).await?;
    let mut pace = Pace::new();
    loop {
        let names = {
            let (node, wanted) = (node.clone(), wanted.clone());
            tokio::task::spawn_blocking(move || names_in(&node, &wanted))
                .await
                .map_err(std::io::Error::other)?
        };
        if names.is_empty() {
            return Ok(());
        }
        for (db, keys) in names {
            let mut at = 0;
            while at < keys.len() {
                // Read each batch: CONFIG SET takes effect mid-move.
                let (batch, rate) = {
                    let c = node.config.read();
                    (
                        c.cluster_migration_batch.max(1) as usize,
                        c.cluster_migration_rate,
                    )
                };
                let chunk = &keys[at..(at + batch).min(keys.len())];
                send_batch(node, &mut link, db, chunk).await?;
                pace.sent(chunk.len(), rate).await;
                at += chunk.len();
            }
        }
    }
}

/// Names of keys in the `wanted` slots, by database (at most
/// [`NAMES_PER_SCAN`]).
fn names_in(node: &Node, wanted: &[bool]) -> Vec<(usize, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut total = 0;
    for db in 0..node.store.databases() {
        let mut keys = Vec::new();
        for shard in node.store.db(db).shards() {
            let shard = shard.lock();
            for (k, _) in shard.iter() {
                if wanted[usize::from(key_slot(k))] {
                    keys.push(k.to_vec());
                    total += 1;
                    if total >= NAMES_PER_SCAN {
                        break;
                    }
                }
            }
        }
        if !keys.is_empty() {
            out.push((db, keys));
        }
        if total >= NAMES_PER_SCAN {
            break;
        }
    }
    out
}

/// Takes `keys` out of database `db`, sends them, and puts back any the
/// destination did not take.
async fn send_batch(
    node: &Node,
    link: &mut Link,
    db: usize,
    keys: &[Vec<u8>],
) -> std::io::Result<()> {
    node.migrations.hold(db, keys);
    let now = now_ms();
    let mut taken: Vec<(Vec<u8>, Entry)> = Vec::with_capacity(keys.len());
    for k in keys {
        let mut shard = node.store.db(db).lock(k);
        if let Some(e) = shard.remove(k) {
            if !e.is_expired(now) {
                taken.push((k.clone(), e));
            }
        }
    }
    let mut requests: Vec<Vec<Bytes>> = Vec::with_capacity(taken.len() * 2);
    for (k, e) in &taken {
        let payload = crate::cmd::dump::serialize(node, &e.value);
        requests.push(vec![Bytes::from_static(b"ASKING")]);
        requests.push(vec![
            Bytes::from_static(b"RESTORE"),
            Bytes::copy_from_slice(k),
            Bytes::from(e.expire_at.to_string()),
            Bytes::from(payload),
            Bytes::from_static(b"REPLACE"),
            Bytes::from_static(b"ABSTTL"),
        ]);
    }
    let answers = if requests.is_empty() {
        Ok(Vec::new())
    } else {
        match link.align(db, false, BATCH_LIMIT).await {
            Ok(()) => link.call_many(&requests, Some(BATCH_LIMIT)).await,
            Err(e) => Err(e),
        }
    };
    let mut refused = None;
    let mut sent = 0u64;
    for (i, (k, e)) in taken.into_iter().enumerate() {
        let ok = match &answers {
            Ok(a) => a.get(2 * i + 1).is_some_and(|r| r.starts_with(b"+OK")),
            Err(_) => false,
        };
        if ok {
            sent += 1;
            continue;
        }
        if let Ok(a) = &answers {
            if refused.is_none() {
                refused = a
                    .get(2 * i + 1)
                    .map(|r| String::from_utf8_lossy(r).trim_end().to_string());
            }
        }
        // Back where it was (unless a command wrote the name meanwhile:
        // that value is newer).
        let mut shard = node.store.db(db).lock(&k);
        if shard.lookup(&k, now).is_none() {
            shard.insert(&k, e);
        }
    }
    node.migrations.release(db, keys);
    node.migrations.keys_sent.fetch_add(sent, Ordering::Relaxed);
    match (answers, refused) {
        (Err(e), _) => Err(e),
        (Ok(_), Some(r)) => Err(std::io::Error::other(format!(
            "the destination refused: {r}"
        ))),
        (Ok(_), None) => Ok(()),
    }
}

/// Keeps the keys sent under `cluster-migration-rate` a second.
struct Pace {
    since: Instant,
    sent: u64,
    rate: u64,
}

impl Pace {
    fn new() -> Pace {
        Pace {
            since: Instant::now(),
            sent: 0,
            rate: 0,
        }
    }

    async fn sent(&mut self, keys: usize, rate: u64) {
        if rate != self.rate {
            // A new rate counts from now.
            *self = Pace::new();
            self.rate = rate;
        }
        self.sent += keys as u64;
        if rate == 0 {
            return;
        }
        let due = Duration::from_secs_f64(self.sent as f64 / rate as f64);
        let elapsed = self.since.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}
