//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs,
//! PUBLISH, SPUBLISH and PUBSUB.
//!
//! [`PubSub`] maps channels and patterns to subscribed connections; a
//! publisher sends each subscriber a [`Push`] over its own unbounded queue
//! and the subscriber's connection task writes it out. What a subscriber
//! has queued but not yet written is counted in bytes; past the `pubsub`
//! class of `client-output-buffer-limit` (hard, or soft for longer than
//! its seconds) the subscriber is disconnected instead of the node growing.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use shoal_proto::pattern::glob_match;
use shoal_proto::Reply;
use tokio::sync::mpsc;

use crate::command::{cmd, container, Command, Ctx};
use crate::config::BufferLimit;
use crate::error::{CmdError, CmdResult};
use crate::node::ClientHandle;

const PS: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const ACL: &[&str] = &["@pubsub", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd(
        "subscribe",
        -2,
        PS,
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        "channel [channel ...]",
        subscribe,
    ),
    cmd(
        "unsubscribe",
        -1,
        PS,
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        "[channel [channel ...]]",
        unsubscribe,
    ),
    cmd(
        "psubscribe",
        -2,
        PS,
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        "pattern [pattern ...]",
        psubscribe,
    ),
    cmd(
        "punsubscribe",
        -1,
        PS,
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        "[pattern [pattern ...]]",
        punsubscribe,
    ),
    cmd(
        "ssubscribe",
        -2,
        PS,
        (1, -1, 1),
        ACL,
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        "shardchannel [shardchannel ...]",
        ssubscribe,
    ),
    cmd(
        "sunsubscribe",
        -1,
        PS,
        (1, -1, 1),
        ACL,
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        "[shardchannel [shardchannel ...]]",
        sunsubscribe,
    ),
    cmd(
        "publish",
        3,
        &[
            "pubsub",
            "loading",
            "stale",
            "fast",
            "may_replicate",
            "sentinel",
        ],
        (0, 0, 0),
        &["@pubsub", "@fast"],
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        "channel message",
        publish,
    ),
    cmd(
        "spublish",
        3,
        &["pubsub", "loading", "stale", "fast", "may_replicate"],
        (1, 1, 1),
        &["@pubsub", "@fast"],
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        "shardchannel message",
        spublish,
    ),
    container(
        "pubsub",
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        PUBSUB,
    ),
];

static PUBSUB: &[Command] = &[
    cmd(
        "channels",
        -2,
        &["pubsub", "loading", "stale"],
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        "[pattern]",
        pubsub_channels,
    ),
    cmd(
        "numsub",
        -2,
        &["pubsub", "loading", "stale"],
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        "[channel [channel ...]]",
        pubsub_numsub,
    ),
    cmd(
        "numpat",
        2,
        &["pubsub", "loading", "stale"],
        (0, 0, 0),
        ACL,
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        "",
        pubsub_numpat,
    ),
    cmd(
        "shardchannels",
        -2,
        &["pubsub", "loading", "stale"],
        (0, 0, 0),
        ACL,
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        "[pattern]",
        pubsub_shardchannels,
    ),
    cmd(
        "shardnumsub",
        -2,
        &["pubsub", "loading", "stale"],
        (0, 0, 0),
        ACL,
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        "[shardchannel [shardchannel ...]]",
        pubsub_shardnumsub,
    ),
];

/// A message on its way to a subscriber.
#[derive(Debug, Clone)]
pub enum Push {
    Message {
        channel: Bytes,
        payload: Bytes,
    },
    PMessage {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
    SMessage {
        channel: Bytes,
        payload: Bytes,
    },
}

impl Push {
    /// Bytes this push counts against its subscriber's output limit.
    pub fn queued_size(&self) -> usize {
        self.size() + 32
    }

    fn size(&self) -> usize {
        match self {
            Push::Message { channel, payload } | Push::SMessage { channel, payload } => {
                channel.len() + payload.len()
            }
            Push::PMessage {
                pattern,
                channel,
                payload,
            } => pattern.len() + channel.len() + payload.len(),
        }
    }

    /// Writes the push as Redis does (`>` in RESP3, an array in RESP2).
    pub fn write(&self, out: &mut Reply) {
        match self {
            Push::Message { channel, payload } => {
                out.push(3);
                out.bulk(b"message");
                out.bulk(channel);
                out.bulk(payload);
            }
            Push::SMessage { channel, payload } => {
                out.push(3);
                out.bulk(b"smessage");
                out.bulk(channel);
                out.bulk(payload);
            }
            Push::PMessage {
                pattern,
                channel,
                payload,
            } => {
                out.push(4);
                out.bulk(b"pmessage");
                out.bulk(pattern);
                out.bulk(channel);
                out.bulk(payload);
            }
        }
    }
}

/// How a publisher reaches one subscribed connection.
#[derive(Clone)]
struct Subscriber {
    tx: mpsc::UnboundedSender<Push>,
    /// Bytes queued and not yet written by the subscriber.
    pending: Arc<AtomicUsize>,
    /// Unix ms since when `pending` has been over the soft limit (0: not over).
    soft_since: Arc<AtomicU64>,
    handle: Arc<ClientHandle>,
}

type Registry = Mutex<HashMap<Bytes, HashMap<u64, Subscriber>>>;

/// Every subscription on the node.
#[derive(Default)]
pub struct PubSub {
    channels: Registry,
    patterns: Registry,
    shard_channels: Registry,
}

/// Which of the three subscription kinds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    fn registry(&self, kind: Kind) -> &Registry {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    /// Delivers to every subscriber of `channel` (and matching patterns);
    /// returns how many received it.
    fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        payload: &[u8],
        limit: BufferLimit,
        now: u64,
    ) -> usize {
        let channel = Bytes::copy_from_slice(channel);
        let payload = Bytes::copy_from_slice(payload);
        let mut delivered = 0;
        let direct = if kind == Kind::Shard {
            Kind::Shard
        } else {
            Kind::Channel
        };
        if let Some(subs) = self.registry(direct).lock().get(&channel) {
            for s in subs.values() {
                let push = if kind == Kind::Shard {
                    Push::SMessage {
                        channel: channel.clone(),
                        payload: payload.clone(),
                    }
                } else {
                    Push::Message {
                        channel: channel.clone(),
                        payload: payload.clone(),
                    }
                };
                delivered += usize::from(deliver(s, push, limit, now));
            }
        }
        if kind == Kind::Channel {
            for (pattern, subs) in self.patterns.lock().iter() {
                if glob_match(pattern, &channel, false) {
                    for s in subs.values() {
                        let push = Push::PMessage {
                            pattern: pattern.clone(),
                            channel: channel.clone(),
                            payload: payload.clone(),
                        };
                        delivered += usize::from(deliver(s, push, limit, now));
                    }
                }
            }
        }
        delivered
    }
}

/// Queues one push, or disconnects a subscriber that is over its limit.
fn deliver(s: &Subscriber, push: Push, limit: BufferLimit, now: u64) -> bool {
    let size = push.queued_size();
    let pending = s.pending.fetch_add(size, Ordering::AcqRel) + size;
    let over_hard = limit.hard > 0 && pending as u64 > limit.hard;
    let over_soft = limit.soft > 0 && pending as u64 > limit.soft;
    let since = s.soft_since.load(Ordering::Acquire);
    if over_soft && since == 0 {
        s.soft_since.store(now.max(1), Ordering::Release);
    } else if !over_soft && since != 0 {
        s.soft_since.store(0, Ordering::Release);
    }
    let soft_expired =
        over_soft && since != 0 && now.saturating_sub(since) > limit.soft_seconds * 1000;
    if over_hard || soft_expired {
        tracing::warn!(
            client = s.handle.id,
            pending,
            "closing subscriber over the pubsub output buffer limit"
        );
        s.handle.kill();
        return false;
    }
    s.tx.send(push).is_ok()
}

/// One connection's subscriptions and its message queue.
pub struct Subscriptions {
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
    shard: BTreeSet<Bytes>,
    pub rx: mpsc::UnboundedReceiver<Push>,
    tx: mpsc::UnboundedSender<Push>,
    pub pending: Arc<AtomicUsize>,
    soft_since: Arc<AtomicU64>,
    registry: Option<Arc<PubSub>>,
    id: u64,
}

impl Subscriptions {
    pub fn new(id: u64) -> Subscriptions {
        let (tx, rx) = mpsc::unbounded_channel();
        Subscriptions {
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            shard: BTreeSet::new(),
            rx,
            tx,
            pending: Arc::default(),
            soft_since: Arc::default(),
            registry: None,
            id,
        }
    }

    /// Channel and pattern subscriptions (what SUBSCRIBE replies count).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Whether the connection is in subscribed mode.
    pub fn active(&self) -> bool {
        self.count() + self.shard.len() > 0
    }

    fn set(&mut self, kind: Kind) -> &mut BTreeSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    fn add(&mut self, pubsub: &Arc<PubSub>, kind: Kind, name: &[u8], handle: &Arc<ClientHandle>) {
        let name = Bytes::copy_from_slice(name);
        if !self.set(kind).insert(name.clone()) {
            return;
        }
        self.registry.get_or_insert_with(|| pubsub.clone());
        let sub = Subscriber {
            tx: self.tx.clone(),
            pending: self.pending.clone(),
            soft_since: self.soft_since.clone(),
            handle: handle.clone(),
        };
        pubsub
            .registry(kind)
            .lock()
            .entry(name)
            .or_default()
            .insert(self.id, sub);
    }

    fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        if !self.set(kind).remove(name) {
            return false;
        }
        if let Some(pubsub) = &self.registry {
            let mut reg = pubsub.registry(kind).lock();
            if let Some(subs) = reg.get_mut(name) {
                subs.remove(&self.id);
                if subs.is_empty() {
                    reg.remove(name);
                }
            }
        }
        true
    }

    /// Leaves every subscription (RESET, disconnect).
    pub fn clear(&mut self) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names: Vec<Bytes> = self.set(kind).iter().cloned().collect();
            for n in names {
                self.remove(kind, &n);
            }
        }
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        self.clear();
    }
}

fn reply_subscription(out: &mut Reply, what: &str, name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(what.as_bytes());
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind, what: &str) -> CmdResult {
    let pubsub = ctx.node.pubsub.clone();
    let handle = ctx.conn.handle.clone();
    for name in &argv[1..] {
        ctx.conn.subs.add(&pubsub, kind, name, &handle);
        let count = if kind == Kind::Shard {
            ctx.conn.subs.shard.len()
        } else {
            ctx.conn.subs.count()
        };
        reply_subscription(ctx.out, what, Some(name), count);
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind, what: &str) -> CmdResult {
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else {
        ctx.conn.subs.set(kind).iter().cloned().collect()
    };
    if names.is_empty() {
        let count = if kind == Kind::Shard {
            ctx.conn.subs.shard.len()
        } else {
            ctx.conn.subs.count()
        };
        reply_subscription(ctx.out, what, None, count);
        return Ok(());
    }
    for name in &names {
        ctx.conn.subs.remove(kind, name);
        let count = if kind == Kind::Shard {
            ctx.conn.subs.shard.len()
        } else {
            ctx.conn.subs.count()
        };
        reply_subscription(ctx.out, what, Some(name), count);
    }
    Ok(())
}

/// `SUBSCRIBE channel [channel ...]`
fn subscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Channel, "subscribe")
}

/// `UNSUBSCRIBE [channel [channel ...]]`
fn unsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Channel, "unsubscribe")
}

/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Pattern, "psubscribe")
}

/// `PUNSUBSCRIBE [pattern [pattern ...]]`
fn punsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Pattern, "punsubscribe")
}

/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, argv, Kind::Shard, "ssubscribe")
}

/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, argv, Kind::Shard, "sunsubscribe")
}

fn publish_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind) -> CmdResult {
    let limit = ctx.node.config.read().output_limit_pubsub;
    let n = ctx
        .node
        .pubsub
        .publish(kind, &argv[1], &argv[2], limit, ctx.now);
    if !ctx.conn.proxylink {
        // Subscribers on the other nodes get it too (their count is not
        // waited for: the reply counts this node's, as Redis Cluster's).
        ctx.node.fanout.send(ctx.node, argv);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// `PUBLISH channel message`
fn publish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    publish_generic(ctx, argv, Kind::Channel)
}

/// `SPUBLISH shardchannel message`
fn spublish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    publish_generic(ctx, argv, Kind::Shard)
}

fn list_channels(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind) -> CmdResult {
    let pattern = argv.get(2);
    if argv.len() > 3 {
        return Err(CmdError::WrongArity(format!(
            "pubsub|{}",
            if kind == Kind::Shard {
                "shardchannels"
            } else {
                "channels"
            }
        )));
    }
    let names: Vec<Bytes> = ctx
        .node
        .pubsub
        .registry(kind)
        .lock()
        .keys()
        .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
        .cloned()
        .collect();
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn count_subscribers(ctx: &mut Ctx<'_>, argv: &[Bytes], kind: Kind) -> CmdResult {
    let counts: Vec<(Bytes, usize)> = {
        let reg = ctx.node.pubsub.registry(kind).lock();
        argv[2..]
            .iter()
            .map(|c| (c.clone(), reg.get(c).map_or(0, HashMap::len)))
            .collect()
    };
    ctx.out.map(counts.len());
    for (c, n) in &counts {
        ctx.out.bulk(c);
        ctx.out.int(*n as i64);
    }
    Ok(())
}

/// `PUBSUB CHANNELS [pattern]`
fn pubsub_channels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_channels(ctx, argv, Kind::Channel)
}

/// `PUBSUB SHARDCHANNELS [pattern]`
fn pubsub_shardchannels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_channels(ctx, argv, Kind::Shard)
}

/// `PUBSUB NUMSUB [channel ...]`
fn pubsub_numsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, argv, Kind::Channel)
}

/// `PUBSUB SHARDNUMSUB [shardchannel ...]`
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, argv, Kind::Shard)
}

/// `PUBSUB NUMPAT`
fn pubsub_numpat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.patterns.lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// Commands a RESP2 client may send while subscribed.
pub fn allowed_while_subscribed(c: &Command, container: Option<&Command>) -> bool {
    container.is_none()
        && matches!(
            c.name,
            "subscribe"
                | "unsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "ssubscribe"
                | "sunsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
}
