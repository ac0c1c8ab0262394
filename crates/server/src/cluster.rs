//! [`Cluster`]: this node's place in the cluster — its identity and
//! directory, its member of the metadata group, and the replicated shard
//! map every keyed command is routed by (DESIGN.md §3–§5).
//!
//! A node keeps what must survive a restart in `<dir>/node-<port>/`: its
//! id (file `id`), the Raft log, vote and snapshot. The directory is
//! locked while the node runs, so two processes never share one log.
//! With no `join`, a node that finds the directory empty starts a cluster
//! of one: it bootstraps a one-voter group and joins its own map, owning
//! all 16384 slots. With `join host:port`, it asks that member to admit it
//! (`CLUSTER JOIN`, forwarded to the leader) and serves once it is in the
//! map. A node that finds its directory full is a member already: it
//! takes up its identity and the group brings it up to date.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_cluster::map::{Node, ShardMap};
use shoal_cluster::{key_slot, SLOTS};
use shoal_meta::network::Network;
use shoal_meta::node::{default_config, MetaNode};
use shoal_meta::types::{raft_id, Proposal};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::link::Link;

pub struct Cluster {
    /// This node as the map lists it.
    pub me: Node,
    /// This node's member of the metadata group (replaced when it leaves
    /// its own group for another, [`Cluster::meet`]).
    meta: parking_lot::RwLock<Arc<MetaNode>>,
    /// What starting a member takes again.
    dir: PathBuf,
    settings: Settings,
    /// The map commands are routed by: the metadata group's, once this
    /// node has dropped the keys of slots that changed owner in it
    /// ([`Cluster::publish`]).
    map: watch::Sender<Arc<ShardMap>>,
    /// Bumped by every publish: each thread keeps its own copy of the map
    /// and takes the shared one (a lock) only when this moved.
    version: std::sync::atomic::AtomicU64,
    /// This node owns every slot (a cluster of one): routing is skipped.
    all_mine: Arc<AtomicBool>,
    /// Held while the node runs: the lock on its directory.
    _lock: std::fs::File,
}

/// Which node owns a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Here,
    /// Another node, at this client address.
    At(String),
    /// No live node.
    Nowhere,
}

/// Where a keyed command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every key's slot is this node's.
    Local,
    /// The (single) slot's owner is `addr`.
    Elsewhere { slot: u16, addr: String },
    /// Every key's slot is this node's, and `slot` is moving to the node
    /// at `addr`: served here if the keys are here (-ASK if none is,
    /// -TRYAGAIN if some are).
    Migrating { slot: u16, addr: String },
    /// The keys' slots have more than one owner, or one that is not here.
    CrossSlot,
    /// No live node owns `slot`.
    Down,
}

/// The settings a member of the metadata group starts with.
#[derive(Clone)]
struct Settings {
    secret: String,
    password: String,
    voters: usize,
    node_timeout: Duration,
}

impl Settings {
    /// Starts this node's member on `bus`, with its stores in `dir`.
    async fn start(&self, me: &Node, dir: &Path, bus: TcpListener) -> Result<MetaNode, String> {
        let rid = raft_id(&me.id).ok_or("bad node id")?;
        let network = Network::default().with_secret(Some(self.secret.clone()));
        let meta = MetaNode::start_with(rid, dir, bus, default_config(), network)
            .await
            .map_err(|e| e.to_string())?;
        meta.set_voters(self.voters);
        Ok(meta)
    }
}

fn new_id() -> String {
    let mut rng = shoal_store::Rng::from_time();
    (0..5)
        .map(|_| format!("{:08x}", rng.next_u64() as u32))
        .collect()
}

/// This node's id, made (and saved, fsynced) the first time.
fn identity(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("id");
    match std::fs::read_to_string(&path) {
        Ok(id) if raft_id(id.trim()).is_some() => return Ok(id.trim().to_string()),
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is not a node id",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = new_id();
    let tmp = dir.join("id.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(id.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(id)
}

/// The host this node tells others to reach it at.
fn announce_host(config: &Config, seen_by_seed: Option<String>) -> String {
    if !config.cluster_announce_ip.is_empty() {
        return config.cluster_announce_ip.clone();
    }
    let bound = config
        .bind
        .iter()
        .map(|b| b.trim_start_matches('-'))
        .find(|b| !matches!(*b, "*" | "0.0.0.0" | "::" | "::*"));
    match (bound, seen_by_seed) {
        (Some(b), _) => b.to_string(),
        (None, Some(seen)) => seen,
        (None, None) => "127.0.0.1".into(),
    }
}

/// The bus listener: `cluster-port`; else the port this node used since
/// its first start (saved in `dir`: peers know it by that address); the
/// first time, client port + 10000 as Redis, or any free port if that one
/// is out of range or taken.
async fn bind_bus(config: &Config, port: u16, dir: &Path) -> Result<TcpListener, String> {
    let host = config
        .bind
        .first()
        .map(|b| b.trim_start_matches('-'))
        .map(|b| if b == "*" { "0.0.0.0" } else { b })
        .unwrap_or("127.0.0.1")
        .to_string();
    if config.cluster_port != 0 {
        return TcpListener::bind((host.as_str(), config.cluster_port))
            .await
            .map_err(|e| format!("cluster bus port {}: {e}", config.cluster_port));
    }
    let saved = dir.join("bus-port");
    let last: Option<u16> = std::fs::read_to_string(&saved)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    if let Some(p) = last {
        return TcpListener::bind((host.as_str(), p))
            .await
            .map_err(|e| format!("cluster bus port {p} (this node's since its first start): {e}"));
    }
    let default = match u16::try_from(u32::from(port) + 10000) {
        Ok(p) => TcpListener::bind((host.as_str(), p)).await.ok(),
        Err(_) => None,
    };
    let l = match default {
        Some(l) => l,
        None => {
            let l = TcpListener::bind((host.as_str(), 0))
                .await
                .map_err(|e| format!("cluster bus: {e}"))?;
            tracing::warn!("cluster bus on a free port: client port + 10000 is not available");
            l
        }
    };
    let p = l.local_addr().map_err(|e| e.to_string())?.port();
    std::fs::write(&saved, p.to_string()).map_err(|e| format!("{}: {e}", saved.display()))?;
    Ok(l)
}

/// Asks the member at `seed` to admit `me` (proving `secret` if the
/// cluster has one, and giving `password` if nodes have one); retried
/// until it does.
async fn join(seed: &str, me: &Node, secret: &str, password: &str) {
    let weight = me.weight.to_string();
    let mut argv: Vec<&[u8]> = vec![
        b"CLUSTER",
        b"JOIN",
        me.id.as_bytes(),
        me.addr.as_bytes(),
        me.bus.as_bytes(),
        weight.as_bytes(),
    ];
    if !secret.is_empty() {
        argv.push(secret.as_bytes());
    }
    let limit = Duration::from_secs(30);
    loop {
        let answer = match Link::forwarding(seed, password, limit).await {
            Ok(mut link) => link
                .call(&argv, Some(limit))
                .await
                .map(|r| String::from_utf8_lossy(&r).trim_end().to_string()),
            Err(e) => Err(e),
        };
        match answer {
            Ok(r) if r == "+OK" => return,
            Ok(r) => tracing::warn!("joining through {seed}: {r}"),
            Err(e) => tracing::warn!("joining through {seed}: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long a joining node waits for its own map to show it.
const JOIN_LIMIT: Duration = Duration::from_secs(30);

fn owns_all(map: &ShardMap, me: &str) -> bool {
    map.covered() && map.slots_of(me) == usize::from(SLOTS)
}

/// The address this node reaches `seed` from (for a wildcard bind).
async fn address_towards(seed: &str) -> Option<String> {
    let s = tokio::net::TcpStream::connect(seed).await.ok()?;
    Some(s.local_addr().ok()?.ip().to_string())
}

impl Cluster {
    /// Takes up this node's identity under `config.dir`, starts its member
    /// of the metadata group and, the first time, bootstraps or joins.
    /// Returns once this node is in the map (or, on a restart, at once).
    pub async fn start(config: &Config, port: u16) -> Result<Arc<Cluster>, String> {
        let dir: PathBuf = Path::new(&config.dir).join(format!("node-{port}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let lock = std::fs::File::create(dir.join("lock"))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        lock.try_lock().map_err(|_| {
            format!(
                "{} is in use by another shoal process (one directory per node)",
                dir.display()
            )
        })?;
        let id = identity(&dir).map_err(|e| format!("node id in {}: {e}", dir.display()))?;
        let seed = (!config.join.is_empty()).then(|| config.join.clone());
        let seen = match &seed {
            Some(s) if config.cluster_announce_ip.is_empty() => address_towards(s).await,
            _ => None,
        };
        let host = announce_host(config, seen);
        let bus = bind_bus(config, port, &dir).await?;
        let bus_port = bus.local_addr().map_err(|e| e.to_string())?.port();
        let me = Node {
            id: id.clone(),
            addr: format!("{host}:{port}"),
            bus: format!("{host}:{bus_port}"),
            weight: config.cluster_weight as u32,
            healthy: true,
        };
        let rid = raft_id(&id).ok_or("bad node id")?;
        let settings = Settings {
            secret: config.cluster_secret.clone(),
            password: config.requirepass.clone(),
            voters: config.cluster_voters as usize,
            node_timeout: Duration::from_millis(config.cluster_node_timeout),
        };
        let mut meta = settings.start(&me, &dir, bus).await?;
        let restarted = !meta.is_blank().await.map_err(|e| e.to_string())?;
        if !restarted {
            match &seed {
                None => {
                    let voters = BTreeMap::from([(
                        rid,
                        openraft::BasicNode {
                            addr: me.bus.clone(),
                        },
                    )]);
                    meta.bootstrap(voters).await.map_err(|e| e.to_string())?;
                    meta.propose(Proposal::Admit(me.clone()))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Some(seed) => {
                    join(seed, &me, &settings.secret, &settings.password).await;
                    // Serve once this member's own map has the join (it
                    // would answer CLUSTERDOWN before).
                    let start = std::time::Instant::now();
                    while meta.map().node(&me.id).is_none() && start.elapsed() < JOIN_LIMIT {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
        if restarted && !meta.catch_up(Duration::from_secs(5)).await {
            tracing::warn!("serving by this node's last map: no leader to catch up with yet");
        }
        meta.detect_failures(id, settings.node_timeout);
        let map = watch::Sender::new(meta.map());
        let all_mine = Arc::new(AtomicBool::new(owns_all(&meta.map(), &me.id)));
        let cluster = Arc::new(Cluster {
            me,
            meta: parking_lot::RwLock::new(Arc::new(meta)),
            dir,
            settings,
            map,
            version: std::sync::atomic::AtomicU64::new(1),
            all_mine,
            _lock: lock,
        });
        if restarted {
            // A member again: say where it is now (a no-op when unchanged).
            let c = cluster.clone();
            tokio::spawn(async move {
                if let Err(e) = c.meta().propose(Proposal::Admit(c.me.clone())).await {
                    tracing::warn!("could not re-announce this node: {e}");
                }
            });
        }
        Ok(cluster)
    }

    /// This node's member of the metadata group.
    pub fn meta(&self) -> Arc<MetaNode> {
        self.meta.read().clone()
    }

    /// Leaves this node's own cluster of one for the cluster of the node
    /// at `seed` (`CLUSTER MEET`, `shoal cluster add`): its member stops,
    /// its log is deleted, a blank member starts on the same bus port and
    /// asks `seed` to admit it. Refused when other nodes share its cluster.
    pub async fn meet(&self, seed: &str) -> Result<(), String> {
        if self.map().nodes().len() > 1 {
            return Err("this node is already in a cluster with other nodes".into());
        }
        let old = self.meta();
        old.stop().await;
        MetaNode::forget(&self.dir).map_err(|e| e.to_string())?;
        let port = self
            .me
            .bus
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .ok_or("bad bus address")?;
        let host = self.me.bus.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
        let bus = TcpListener::bind((host, port))
            .await
            .map_err(|e| format!("cluster bus port {port}: {e}"))?;
        let mut meta = self.settings.start(&self.me, &self.dir, bus).await?;
        meta.detect_failures(self.me.id.clone(), self.settings.node_timeout);
        *self.meta.write() = Arc::new(meta);
        tokio::time::timeout(
            Duration::from_secs(30),
            join(
                seed,
                &self.me,
                &self.settings.secret,
                &self.settings.password,
            ),
        )
        .await
        .map_err(|_| format!("{seed} did not admit this node within 30 s"))
    }

    /// This node owns every slot: no command needs routing.
    pub fn is_alone(&self) -> bool {
        self.all_mine.load(Ordering::Relaxed)
    }

    /// The map this node routes by.
    pub fn map(&self) -> Arc<ShardMap> {
        self.map.borrow().clone()
    }

    /// Sees every map this node routes by as it is published.
    pub fn watch_map(&self) -> watch::Receiver<Arc<ShardMap>> {
        self.map.subscribe()
    }

    /// Routes by `map` from now on.
    pub fn publish(&self, map: Arc<ShardMap>) {
        self.all_mine
            .store(owns_all(&map, &self.me.id), Ordering::Relaxed);
        self.map.send_replace(map);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Runs `f` on the map this node routes by, from this thread's copy.
    fn with_map<R>(&self, f: impl FnOnce(&ShardMap) -> R) -> R {
        thread_local! {
            static COPY: std::cell::RefCell<(u64, Option<Arc<ShardMap>>)> =
                const { std::cell::RefCell::new((0, None)) };
        }
        let version = self.version.load(Ordering::Acquire);
        COPY.with(|copy| {
            let mut copy = copy.borrow_mut();
            if copy.0 != version || copy.1.is_none() {
                *copy = (version, Some(self.map.borrow().clone()));
            }
            match &copy.1 {
                Some(map) => f(map),
                None => f(&self.map.borrow()),
            }
        })
    }

    /// Which node owns `key`.
    pub fn place(&self, key: &[u8]) -> Place {
        if self.is_alone() {
            return Place::Here;
        }
        self.with_map(|map| match map.owner(key_slot(key)) {
            Some(n) if n.id == self.me.id => Place::Here,
            Some(n) => Place::At(n.addr.clone()),
            None => Place::Nowhere,
        })
    }

    /// Where a command with these keys runs. `asking`: the client sent
    /// ASKING just before, so a slot moving to this node is served here.
    pub fn route<'a>(&self, keys: impl IntoIterator<Item = &'a [u8]>, asking: bool) -> Route {
        if self.all_mine.load(Ordering::Relaxed) {
            return Route::Local;
        }
        self.with_map(|map| {
            let me = map.position(&self.me.id);
            let mut first: Option<u16> = None;
            let mut all_here = true;
            let mut one_slot = true;
            let mut migrating: Option<u16> = None;
            for key in keys {
                let slot = key_slot(key);
                match first {
                    None => first = Some(slot),
                    Some(f) if f != slot => one_slot = false,
                    Some(_) => {}
                }
                match map.owner_index(slot) {
                    Some(i) if Some(i) == me => {
                        if map.moving_index(slot).is_some() {
                            migrating = Some(slot);
                        }
                    }
                    Some(_) if asking && map.moving_index(slot) == me => {}
                    Some(_) => all_here = false,
                    None => return Route::Down,
                }
            }
            match first {
                _ if all_here => match migrating.and_then(|s| Some((s, map.moving_to(s)?))) {
                    Some((slot, to)) => Route::Migrating {
                        slot,
                        addr: to.addr.clone(),
                    },
                    None => Route::Local,
                },
                Some(slot) if one_slot => match map.owner(slot) {
                    Some(n) => Route::Elsewhere {
                        slot,
                        addr: n.addr.clone(),
                    },
                    None => Route::Down,
                },
                _ => Route::CrossSlot,
            }
        })
    }
}
