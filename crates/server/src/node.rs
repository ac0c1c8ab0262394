//! [`Node`]: everything a node's connections share — the keyspace, the
//! configuration, the client registry, counters, the slow log — and the
//! shutdown signal.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use shoal_store::evict::Policy;
use shoal_store::Store;
use tokio::sync::{watch, Notify};

use crate::config::Config;

/// State shared by all connections of one node.
pub struct Node {
    pub store: Store,
    pub config: RwLock<Config>,
    pub clients: Clients,
    pub stats: Stats,
    pub slowlog: Mutex<SlowLog>,
    pub started: Instant,
    /// used_memory once the node was set up (MEMORY STATS' startup.allocated).
    pub startup_allocated: usize,
    /// 40 hex characters, new each start, as Redis's `run_id`.
    pub run_id: String,
    /// The address the listener actually bound (port 0 picks a free one).
    pub local_addr: Mutex<Option<SocketAddr>>,
    /// Settings read on every command, copied out of `config` so the hot
    /// path takes no lock; [`Node::set_config`] keeps them in step.
    pub hot: HotConfig,
    /// Shared by every running command, exclusive for EXEC.
    pub exec_gate: RwLock<()>,
    pub watches: Arc<crate::cmd::transaction::Watches>,
    pub pubsub: Arc<crate::cmd::pubsub::PubSub>,
    pub blocking: Arc<crate::cmd::blocking::Blocking>,
    pub evictor: crate::evict::Evictor,
    /// Set once at start, before clients are served.
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
    pub fanout: crate::fanout::Fanout,
    pub migrations: crate::migrate::Migrations,
    pub mux: crate::mux::Mux,
    shutdown: watch::Sender<bool>,
}

/// Lock-free copies of the settings commands read on every call.
#[derive(Default)]
pub struct HotConfig {
    pub maxmemory: AtomicU64,
    /// Index of the `maxmemory-policy` in [`shoal_store::evict::Policy::ALL`].
    pub maxmemory_policy: AtomicU8,
    pub maxmemory_samples: AtomicU64,
    pub maxmemory_eviction_tenacity: AtomicU64,
    pub lfu_log_factor: AtomicU64,
    pub lfu_decay_time: AtomicU64,
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    pub slowlog_max_len: AtomicU64,
    pub hash_max_listpack_entries: AtomicU64,
    pub hash_max_listpack_value: AtomicU64,
    pub set_max_intset_entries: AtomicU64,
    pub zset_max_listpack_entries: AtomicU64,
    pub zset_max_listpack_value: AtomicU64,
    /// `cluster-redirect moved`: answer -MOVED instead of forwarding.
    pub cluster_moved: AtomicBool,
    /// `lock-prefix`: the lock namespace's key prefixes, read through
    /// [`HotConfig::with_lock_prefixes`].
    lock_prefixes: parking_lot::RwLock<Prefixes>,
    /// Which setting of the prefixes is current: unique in the process, so
    /// a thread's copy is never taken for another node's.
    lock_prefixes_version: AtomicU64,
}

/// A `lock-prefix` setting: its prefixes.
type Prefixes = Arc<[Vec<u8>]>;

/// Versions of `lock-prefix` settings, unique in the process.
static LOCK_PREFIX_VERSIONS: AtomicU64 = AtomicU64::new(1);

impl HotConfig {
    fn load_from(&self, c: &Config) {
        self.maxmemory.store(c.maxmemory, Ordering::Relaxed);
        let policy = Policy::ALL
            .iter()
            .position(|p| p.name() == c.maxmemory_policy)
            .unwrap_or(Policy::ALL.len() - 1);
        self.maxmemory_policy.store(policy as u8, Ordering::Relaxed);
        self.maxmemory_samples
            .store(c.maxmemory_samples, Ordering::Relaxed);
        self.maxmemory_eviction_tenacity
            .store(c.maxmemory_eviction_tenacity, Ordering::Relaxed);
        self.lfu_log_factor
            .store(c.lfu_log_factor, Ordering::Relaxed);
        self.lfu_decay_time
            .store(c.lfu_decay_time, Ordering::Relaxed);
        self.slowlog_slower_than
            .store(c.slowlog_log_slower_than, Ordering::Relaxed);
        self.slowlog_max_len
            .store(c.slowlog_max_len, Ordering::Relaxed);
        self.hash_max_listpack_entries
            .store(c.hash_max_listpack_entries, Ordering::Relaxed);
        self.hash_max_listpack_value
            .store(c.hash_max_listpack_value, Ordering::Relaxed);
        self.set_max_intset_entries
            .store(c.set_max_intset_entries, Ordering::Relaxed);
        self.zset_max_listpack_entries
            .store(c.zset_max_listpack_entries, Ordering::Relaxed);
        self.zset_max_listpack_value
            .store(c.zset_max_listpack_value, Ordering::Relaxed);
        self.cluster_moved
            .store(c.cluster_redirect == "moved", Ordering::Relaxed);
        let prefixes: Vec<Vec<u8>> = c
            .lock_prefix
            .split_whitespace()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        // Only a change makes the threads take a new copy.
        let mut current = self.lock_prefixes.write();
        if **current != prefixes[..] || self.lock_prefixes_version.load(Ordering::Relaxed) == 0 {
            *current = prefixes.into();
            self.lock_prefixes_version.store(
                LOCK_PREFIX_VERSIONS.fetch_add(1, Ordering::Relaxed),
                Ordering::Release,
            );
        }
    }

    /// Runs `f` on the lock prefixes from this thread's copy: every keyed
    /// command asks, so the shared setting is only read (one atomic load)
    /// unless it changed.
    pub fn with_lock_prefixes<R>(&self, f: impl FnOnce(&[Vec<u8>]) -> R) -> R {
        thread_local! {
            static COPY: std::cell::RefCell<(u64, Option<Prefixes>)> =
                const { std::cell::RefCell::new((0, None)) };
        }
        let version = self.lock_prefixes_version.load(Ordering::Acquire);
        COPY.with(|copy| {
            let mut copy = copy.borrow_mut();
            if copy.0 != version || copy.1.is_none() {
                *copy = (version, Some(self.lock_prefixes.read().clone()));
            }
            f(copy.1.as_deref().unwrap_or_default())
        })
    }

    pub fn policy(&self) -> Policy {
        Policy::ALL[usize::from(self.maxmemory_policy.load(Ordering::Relaxed)) % Policy::ALL.len()]
    }

    pub fn hash_limits(&self) -> shoal_store::HashLimits {
        shoal_store::HashLimits {
            max_listpack_entries: self.hash_max_listpack_entries.load(Ordering::Relaxed) as usize,
            max_listpack_value: self.hash_max_listpack_value.load(Ordering::Relaxed) as usize,
        }
    }

    pub fn zset_limits(&self) -> shoal_store::zset::ZSetLimits {
        shoal_store::zset::ZSetLimits {
            max_listpack_entries: self.zset_max_listpack_entries.load(Ordering::Relaxed) as usize,
            max_listpack_value: self.zset_max_listpack_value.load(Ordering::Relaxed) as usize,
        }
    }

    pub fn max_intset(&self) -> usize {
        self.set_max_intset_entries.load(Ordering::Relaxed) as usize
    }
}

/// Counters for INFO `stats`.
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
}

impl Stats {
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

impl Node {
    pub fn new(config: Config) -> Arc<Node> {
        let (shutdown, _) = watch::channel(false);
        let mut seed = shoal_store::Rng::from_time();
        let run_id = (0..5)
            .map(|_| format!("{:08x}", seed.next_u64() as u32))
            .collect();
        let hot = HotConfig::default();
        hot.load_from(&config);
        let node = Arc::new(Node {
            store: Store::new(config.databases),
            config: RwLock::new(config),
            clients: Clients::default(),
            stats: Stats::default(),
            slowlog: Mutex::new(SlowLog::default()),
            started: Instant::now(),
            startup_allocated: shoal_store::alloc::allocated(),
            run_id,
            local_addr: Mutex::new(None),
            hot,
            exec_gate: RwLock::new(()),
            watches: Arc::default(),
            pubsub: Arc::default(),
            blocking: Arc::default(),
            evictor: Default::default(),
            cluster: std::sync::OnceLock::new(),
            fanout: Default::default(),
            migrations: Default::default(),
            mux: Default::default(),
            shutdown,
        });
        let _ = node.evictor.node.set(Arc::downgrade(&node));
        node
    }

    /// Applies `CONFIG SET` pairs (all or nothing); the error is Redis's text after `ERR `.
    pub fn set_config(&self, pairs: &[(&str, &str)]) -> Result<(), String> {
        let mut config = self.config.write();
        config.apply(pairs, false)?;
        self.hot.load_from(&config);
        drop(config);
        if self.hot.policy() != shoal_store::evict::Policy::AllKeysTinyLfu {
            // Only allkeys-tinylfu reads the sketch: free its memory.
            self.evictor.forget_frequencies();
        }
        // As Redis: a lower limit starts shedding at once (and goes on in
        // the background), not at the next command.
        crate::evict::perform(self);
        Ok(())
    }

    /// Asks the node to stop: the listener stops accepting, connections
    /// finish the replies they are writing and close.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// What other connections may read or do to a client (`CLIENT LIST`,
/// `CLIENT KILL`); the owning connection keeps the rest to itself.
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    /// Milliseconds since `created` of the last command.
    pub last_active_ms: AtomicU64,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    pub name: Mutex<Option<Bytes>>,
    pub lib: Mutex<(String, String)>,
    /// Last command run: name and subcommand name.
    pub last_command: Mutex<(&'static str, Option<&'static str>)>,
    pub flags: Mutex<String>,
    pub killed: AtomicBool,
    pub kill: Notify,
}

impl ClientHandle {
    /// Closes the connection after the command it may be running.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_one();
    }

    /// The line `CLIENT LIST` and `CLIENT INFO` show, field for field as Redis 7.
    pub fn info_line(&self) -> String {
        let now = self.created.elapsed();
        let idle = now.as_millis() as u64
            - self
                .last_active_ms
                .load(Ordering::Relaxed)
                .min(now.as_millis() as u64);
        let name = self
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let (lib_name, lib_ver) = self.lib.lock().clone();
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            name,
            now.as_secs(),
            idle / 1000,
            self.flags.lock(),
            self.db.load(Ordering::Relaxed),
            match *self.last_command.lock() {
                (name, Some(sub)) => format!("{name}|{sub}"),
                (name, None) => name.to_string(),
            },
            self.resp.load(Ordering::Relaxed),
            lib_name,
            lib_ver,
        )
    }
}

/// The registry of connected clients.
#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Clients {
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            name: Mutex::new(None),
            lib: Mutex::new((String::new(), String::new())),
            last_command: Mutex::new(("NULL", None)),
            flags: Mutex::new("N".into()),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        self.map.lock().insert(id, handle.clone());
        handle
    }

    pub fn unregister(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.map.lock().len()
    }

    /// Every client, oldest first.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map.lock().values().cloned().collect()
    }
}

/// One slow-log record.
pub struct SlowEntry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub argv: Vec<Bytes>,
    pub addr: String,
    pub name: String,
}

/// The slow log: newest first, at most `slowlog-max-len` entries.
#[derive(Default)]
pub struct SlowLog {
    pub next_id: u64,
    pub entries: VecDeque<SlowEntry>,
}

impl SlowLog {
    /// Records a command as Redis does: at most 32 arguments (the last says
    /// how many more there were), each at most 128 bytes.
    pub fn record(
        &mut self,
        argv: &[Bytes],
        micros: u64,
        addr: String,
        name: String,
        max_len: usize,
    ) {
        const MAX_ARGS: usize = 32;
        const MAX_ARG_LEN: usize = 128;
        let shown = argv.len().min(MAX_ARGS);
        let mut args: Vec<Bytes> = Vec::with_capacity(shown);
        for (i, a) in argv.iter().take(shown).enumerate() {
            if i == MAX_ARGS - 1 && argv.len() > MAX_ARGS {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    argv.len() - MAX_ARGS + 1
                )));
            } else if a.len() > MAX_ARG_LEN {
                let mut s = a[..MAX_ARG_LEN].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes(),
                );
                args.push(Bytes::from(s));
            } else {
                // A copy, not a slice: a slice would keep the whole read buffer alive.
                args.push(Bytes::copy_from_slice(a));
            }
        }
        let unix_secs = shoal_store::now_ms() / 1000;
        self.entries.push_front(SlowEntry {
            id: self.next_id,
            unix_secs,
            micros,
            argv: args,
            addr,
            name,
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }
}
