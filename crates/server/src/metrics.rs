//! Prometheus metrics on an opt-in port (`metrics-port`): the INFO counters
//! as gauges and counters, rendered by `metrics-exporter-prometheus` and
//! served over a minimal HTTP responder (no HTTP stack in the dependency tree).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::node::Node;

/// Installs the recorder and serves `GET /metrics` on `port` (loopback and
/// whatever `bind` allows is the operator's choice; we bind all interfaces
/// of the first `bind` address).
pub async fn start(node: Arc<Node>, port: u16) {
    let handle = match PrometheusBuilder::new().install_recorder() {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!("metrics recorder not installed: {e}");
            return;
        }
    };
    let host = node
        .config
        .read()
        .bind
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1".into());
    let listener = match TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("metrics port {port} not bound: {e}");
            return;
        }
    };
    tracing::info!("metrics on http://{host}:{port}/metrics");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let node = node.clone();
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                // Any request gets the metrics; read one buffer of it first.
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buf))
                        .await;
                let body = render(&node, &handle);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
}

/// Updates the metrics from the node's counters and renders them.
pub fn render(node: &Node, handle: &PrometheusHandle) -> String {
    let s = &node.stats;
    let keyspace = node.store.stats();
    metrics::counter!("shoal_connections_received_total")
        .absolute(s.connections_received.load(Ordering::Relaxed));
    metrics::counter!("shoal_commands_processed_total")
        .absolute(s.commands_processed.load(Ordering::Relaxed));
    metrics::counter!("shoal_keyspace_hits_total").absolute(keyspace.keyspace_hits);
    metrics::counter!("shoal_keyspace_misses_total").absolute(keyspace.keyspace_misses);
    metrics::counter!("shoal_expired_keys_total").absolute(keyspace.expired_keys);
    metrics::gauge!("shoal_connected_clients").set(node.clients.count() as f64);
    metrics::gauge!("shoal_used_memory_bytes").set(shoal_store::alloc::allocated() as f64);
    let keys: usize = (0..node.store.databases())
        .map(|i| node.store.db(i).sizes().0)
        .sum();
    metrics::gauge!("shoal_keys").set(keys as f64);
    handle.render()
}
