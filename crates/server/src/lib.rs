//! # shoal-server: one shoal node
//!
//! The network edge of a node: it accepts connections, parses requests,
//! runs commands against the store and writes replies.
//!
//! | module      | job                                                             |
//! |-------------|-----------------------------------------------------------------|
//! | [`node`]    | [`Node`]: what all connections share (store, config, clients, stats, slow log, shutdown) |
//! | [`cluster`] | this node's identity, its metadata-group member, the shard map it routes by |
//! | [`link`]    | RESP connections to other nodes, for forwarding                   |
//! | [`fanout`]  | PUBLISH and SPUBLISH delivered on every node                      |
//! | [`mux`]     | one shared, pipelined connection per owner for forwarded requests |
//! | [`route`]   | keyed commands by the shard map: here, forwarded, split, or -MOVED / -ASK |
//! | [`migrate`] | a moving slot's keys streamed to its destination (warm migration) |
//! | [`conn`]    | one connection's read → parse → execute → reply loop, and its limits |
//! | [`command`] | the command table: dispatch, arity, `COMMAND`, key positions      |
//! | [`cmd`]     | the handlers, one family per file                                |
//! | [`config`]  | parameters for the config file, flags and `CONFIG GET/SET`       |
//! | [`info`]    | the INFO text                                                    |
//! | [`error`]   | [`error::CmdError`] and Redis's exact error strings               |
//! | [`metrics`] | the opt-in Prometheus endpoint                                   |

pub mod cluster;
pub mod cmd;
pub mod command;
pub mod config;
pub mod conn;
pub mod error;
pub mod evict;
pub mod fanout;
pub mod info;
pub mod link;
pub mod lock;
pub mod metrics;
pub mod migrate;
pub mod mux;
pub mod node;
pub mod route;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

pub use config::Config;
pub use node::Node;

/// The Redis version shoal reports: the release whose behaviour it matches.
pub const REDIS_VERSION: &str = "7.0.15";

/// How long shutdown waits for connections to finish their replies.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds every configured address. Port 0 picks a free port (the one bound
/// is recorded in [`Node::local_addr`]).
pub async fn bind(node: &Node) -> std::io::Result<Vec<TcpListener>> {
    let (addrs, port) = {
        let c = node.config.read();
        (c.bind.clone(), c.port)
    };
    let mut listeners = Vec::new();
    for addr in addrs {
        let addr = addr.trim_start_matches('-');
        let host = if addr == "*" { "0.0.0.0" } else { addr };
        let listener = TcpListener::bind((host, port)).await?;
        let local = listener.local_addr()?;
        node.local_addr.lock().get_or_insert(local);
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves until [`Node::shutdown`] is called, then waits (briefly) for
/// open connections to finish.
pub async fn serve(node: Arc<Node>, listeners: Vec<TcpListener>) {
    let cron = tokio::spawn(cron(node.clone()));
    let cold = tokio::spawn(start_cold(node.clone()));
    let mover = tokio::spawn(migrate::run(node.clone()));
    let metrics_port = node.config.read().metrics_port;
    if metrics_port != 0 {
        metrics::start(node.clone(), metrics_port).await;
    }
    let accepts: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(node.clone(), l)))
        .collect();
    let mut stop = node.shutdown_signal();
    let _ = stop.wait_for(|s| *s).await;
    for a in accepts {
        let _ = a.await;
    }
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while node.clients.count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cron.abort();
    cold.abort();
    mover.abort();
}

async fn accept_loop(node: Arc<Node>, listener: TcpListener) {
    let mut stop = node.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (mut stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        node.stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let maxclients = node.config.read().maxclients;
        if node.clients.count() >= maxclients {
            node.stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        let laddr = stream
            .local_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        let handle = node.clients.register(addr, laddr);
        let node = node.clone();
        tokio::spawn(async move {
            let id = handle.id;
            conn::serve(node.clone(), stream, handle).await;
            node.clients.unregister(id);
        });
    }
}

/// Background work at `hz` times a second: the active expire cycle, which
/// spends at most a quarter of each tick (Redis's slow cycle budget).
async fn cron(node: Arc<Node>) {
    let mut rng = shoal_store::Rng::from_time();
    loop {
        let hz = node.config.read().hz.max(1);
        let tick = Duration::from_millis(1000 / hz);
        tokio::time::sleep(tick).await;
        let store_node = node.clone();
        let mut cycle_rng = rng.clone();
        rng.next_u64();
        // The cycle locks shards one at a time; run it off the reactor threads.
        let _ = tokio::task::spawn_blocking(move || {
            store_node
                .store
                .active_expire_cycle(tick / 4, &mut cycle_rng);
        })
        .await;
    }
}

/// Follows the metadata group's map. This node holds a slot's keys while
/// it owns the slot or the slot is moving to it ([`migrate`]). Keys of a
/// slot it starts holding otherwise than by a move that ends here start
/// cold (DESIGN.md §5): whatever it still holds from an earlier time may
/// be stale, so it goes; keys of a slot it stops holding can no longer be
/// reached, so they go too. Only then does the node route by the new map,
/// so no write to a gained slot can land before the old keys go.
async fn start_cold(node: Arc<Node>) {
    use shoal_cluster::{key_slot, SLOTS};
    let Some(cluster) = node.cluster.get().cloned() else {
        return;
    };
    let mut maps = cluster.meta().watch();
    let mut before = cluster.map();
    loop {
        let now = maps.borrow_and_update().clone();
        if now.nodes().is_empty() {
            // A member that has just started blank (CLUSTER MEET) knows no
            // map yet: keep routing by the last one until it does.
            if maps.changed().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                maps = cluster.meta().watch();
            }
            continue;
        }
        let mine = |m: &shoal_cluster::map::ShardMap, slot: u16| {
            m.owner(slot).is_some_and(|n| n.id == cluster.me.id)
                || m.moving_to(slot).is_some_and(|n| n.id == cluster.me.id)
        };
        let moved: Vec<bool> = (0..SLOTS)
            .map(|s| mine(&now, s) != mine(&before, s))
            .collect();
        if moved.contains(&true) {
            let node = node.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let dropped: usize = (0..node.store.databases())
                    .map(|db| {
                        node.store
                            .db(db)
                            .remove_where(|k| moved[usize::from(key_slot(k))])
                    })
                    .sum();
                if dropped > 0 {
                    tracing::info!("dropped {dropped} keys of slots that changed owner");
                }
            })
            .await;
        }
        cluster.publish(now.clone());
        before = now;
        if maps.changed().await.is_err() {
            // The member was replaced (CLUSTER MEET): follow the new one.
            tokio::time::sleep(Duration::from_millis(50)).await;
            maps = cluster.meta().watch();
        }
    }
}
