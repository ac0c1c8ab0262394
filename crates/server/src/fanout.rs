//! [`Fanout`]: PUBLISH and SPUBLISH reach subscribers on every node. A
//! message published on one node is delivered to its own subscribers and
//! queued for every other healthy node, where a background task per peer
//! sends the queue as pipelined PUBLISH/SPUBLISH on a forwarding link (so
//! the far node delivers it locally and sends it no further). Pub/sub is
//! at-most-once: a full queue or a broken link drops messages, never
//! blocks the publisher. The publisher's reply counts the subscribers of
//! the node it published on, as in Redis Cluster.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::link::Link;
use crate::node::Node;

/// Messages queued per peer before new ones are dropped.
const QUEUE: usize = 4096;
/// Most messages sent in one pipeline.
const PIPELINE: usize = 256;
const LIMIT: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Fanout {
    peers: Mutex<HashMap<String, mpsc::Sender<Vec<Bytes>>>>,
}

impl Fanout {
    /// Queues `argv` (a PUBLISH or SPUBLISH) for every other healthy node.
    pub fn send(&self, node: &Node, argv: &[Bytes]) {
        let Some(cluster) = node.cluster.get() else {
            return;
        };
        let map = cluster.map();
        if map.nodes().len() < 2 {
            return;
        }
        let mut peers = self.peers.lock();
        for n in map.nodes() {
            if n.id == cluster.me.id || !n.healthy {
                continue;
            }
            let tx = peers.entry(n.addr.clone()).or_insert_with(|| {
                let password = node.config.read().requirepass.clone();
                spawn_peer(n.addr.clone(), password)
            });
            // Full: dropped, as a slow subscriber's messages would be.
            let _ = tx.try_send(argv.to_vec());
        }
    }
}

/// The task that sends one peer its queue.
fn spawn_peer(addr: String, password: String) -> mpsc::Sender<Vec<Bytes>> {
    let (tx, mut rx) = mpsc::channel::<Vec<Bytes>>(QUEUE);
    tokio::spawn(async move {
        let mut link: Option<Link> = None;
        while let Some(first) = rx.recv().await {
            let mut messages = vec![first];
            while messages.len() < PIPELINE {
                match rx.try_recv() {
                    Ok(m) => messages.push(m),
                    Err(_) => break,
                }
            }
            if link.is_none() {
                link = Link::forwarding(&addr, &password, LIMIT).await.ok();
            }
            let sent = match link.as_mut() {
                Some(l) => l.call_many(&messages, Some(LIMIT)).await.is_ok(),
                None => false,
            };
            if !sent {
                link = None;
            }
        }
    });
    tx
}
