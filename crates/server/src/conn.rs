//! One client connection: read, parse, run, reply, repeat.
//!
//! Every complete request in the read buffer runs before the replies are
//! written, so a pipeline of any depth costs one write per read. Replies go
//! straight into one output buffer. Memory per connection is bounded on
//! both sides: the query buffer by `client-query-buffer-limit`, the output
//! by flushing every [`FLUSH_AT`] bytes (a client that does not read stalls
//! only itself) and by `client-output-buffer-limit`, which closes a client
//! whose pending replies pass the hard limit, or the soft limit for longer
//! than its seconds.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use shoal_proto::{Reply, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

use crate::command::{self, Command, Ctx};
use crate::error::CmdError;
use crate::node::{ClientHandle, Node};

/// Pending output that triggers a write in the middle of a pipeline.
pub const FLUSH_AT: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// `CLIENT REPLY` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Set by `CLIENT REPLY SKIP`: the next command's reply is dropped.
    SkipNext,
    Skip,
}

/// Per-connection state that commands read and change.
pub struct ConnState {
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Close once the replies so far are written (`QUIT`, protocol errors).
    pub close_after_reply: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    pub rng: shoal_store::Rng,
    /// The transaction being queued, between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::cmd::transaction::Queued>,
    /// Keys under WATCH, and the flag writers set when one changes.
    pub watching: crate::cmd::transaction::Watching,
    /// Pub/sub subscriptions and the queue publishers deliver into.
    pub subs: crate::cmd::pubsub::Subscriptions,
    /// A blocking command waiting for an element.
    pub blocked: Option<crate::cmd::blocking::Blocked>,
    /// Keys written by the current command, whose blocked clients to serve.
    pub ready_keys: Vec<(usize, Bytes)>,
    /// Running the queue of an EXEC (blocking commands do not block there).
    pub in_exec: bool,
    /// Commands run since the last [`ConnState::publish_stats`]: counted
    /// locally so cores do not fight over one shared counter per command.
    pub commands_run: u64,
    /// Work the command left for the connection loop, which can wait.
    pub deferred: Option<crate::route::Deferred>,
    /// This connection's links to other nodes, by client address.
    pub links: std::collections::HashMap<String, crate::link::Link>,
    /// The far end is a node forwarding to this one (`CLUSTER PROXYLINK`):
    /// what is not served here gets -MOVED, never forwarded again.
    pub proxylink: bool,
    /// The last command was ASKING: the next may be served here for a
    /// slot moving to this node.
    pub asking: bool,
}

impl ConnState {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> ConnState {
        let handle_id = handle.id;
        ConnState {
            handle,
            db: 0,
            authenticated,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            no_evict: false,
            no_touch: false,
            rng: shoal_store::Rng::from_time(),
            commands_run: 0,
            multi: None,
            watching: Default::default(),
            subs: crate::cmd::pubsub::Subscriptions::new(handle_id),
            blocked: None,
            ready_keys: Vec::new(),
            in_exec: false,
            deferred: None,
            links: Default::default(),
            proxylink: false,
            asking: false,
        }
    }

    /// Adds this connection's local counters to the node's.
    pub fn publish_stats(&mut self, node: &Node) {
        if self.commands_run > 0 {
            node.stats
                .commands_processed
                .fetch_add(std::mem::take(&mut self.commands_run), Ordering::Relaxed);
        }
    }

    pub fn set_db(&mut self, db: usize) {
        self.db = db;
        self.handle.db.store(db, Ordering::Relaxed);
    }
}

/// Serves one accepted connection until it closes.
pub async fn serve(node: Arc<Node>, stream: TcpStream, handle: Arc<ClientHandle>) {
    let _ = stream.set_nodelay(true);
    let (max_bulk, needs_auth) = {
        let c = node.config.read();
        (c.proto_max_bulk_len, !c.requirepass.is_empty())
    };
    let (mut rd, mut wr) = stream.into_split();
    let mut state = ConnState::new(handle.clone(), !needs_auth);
    let mut parser = RequestParser::new(max_bulk);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut argv: Vec<Bytes> = Vec::new();
    let mut out = Reply::new();
    let mut shutdown = node.shutdown_signal();
    let mut batch = crate::route::Batch::default();

    loop {
        loop {
            parser.auth_required = !state.authenticated;
            match parser.parse(&mut buf, &mut argv) {
                Ok(true) => {
                    let mark = out.len();
                    execute(&node, &mut state, &mut out, &argv);
                    match state.deferred.take() {
                        Some(work) => {
                            crate::route::defer(
                                &node, &mut state, &mut out, &argv, work, &mut batch,
                            )
                            .await;
                        }
                        None if !batch.is_empty() => {
                            // Held back: the forwards before it answer first.
                            batch.hold(out.buf.split_off(mark).freeze());
                        }
                        None => {}
                    }
                    argv.clear();
                    if state.close_after_reply || state.blocked.is_some() {
                        break;
                    }
                    if out.len() >= FLUSH_AT && !flush(&node, &handle, &mut wr, &mut out).await {
                        return;
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    out.error(format!("ERR {e}").as_bytes());
                    state.close_after_reply = true;
                    break;
                }
            }
        }
        crate::route::flush(&node, &mut state, &mut out, &mut batch).await;
        state.publish_stats(&node);
        if !out.is_empty() && !flush(&node, &handle, &mut wr, &mut out).await {
            return;
        }
        if state.close_after_reply
            || handle.killed.load(Ordering::Acquire)
            || node.is_shutting_down()
        {
            return;
        }
        if state.blocked.is_some() {
            if !wait_unblocked(&mut state, &mut out, &handle, &mut shutdown).await {
                return;
            }
            if !flush(&node, &handle, &mut wr, &mut out).await {
                return;
            }
            // Requests pipelined behind the blocking one run now.
            continue;
        }
        let (limit, max_bulk, idle) = {
            let c = node.config.read();
            (c.client_query_buffer_limit, c.proto_max_bulk_len, c.timeout)
        };
        parser.max_bulk_len = max_bulk;
        if buf.len() as u64 > limit {
            tracing::warn!(
                client = handle.id,
                "closing client that reached max query buffer length"
            );
            return;
        }
        buf.reserve(READ_CHUNK.max(parser.bytes_wanted(buf.len())));
        let read = rd.read_buf(&mut buf);
        let subscribed = state.subs.active();
        // A subscriber waits for messages too; it is not idle while it listens.
        let idle = if subscribed { 0 } else { idle };
        let event = tokio::select! {
            r = read_with_idle(read, idle) => Event::Read(r),
            push = state.subs.rx.recv(), if subscribed => Event::Push(push),
            _ = handle.kill.notified() => Event::Close,
            _ = shutdown.wait_for(|stop| *stop) => Event::Close,
        };
        match event {
            Event::Read(Some(n)) if n > 0 => {
                node.stats
                    .net_input_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
            Event::Push(Some(push)) => {
                write_pushes(&mut state, &mut out, push);
                if !flush(&node, &handle, &mut wr, &mut out).await {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Waits for a blocked command's reply, its timeout, or the end of the
/// connection; false if the connection must close.
async fn wait_unblocked(
    state: &mut ConnState,
    out: &mut Reply,
    handle: &ClientHandle,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    use crate::cmd::blocking::Wake;
    let Some(blocked) = state.blocked.as_mut() else {
        return true;
    };
    let deadline = blocked.deadline;
    let timeout = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    let woken = tokio::select! {
        w = blocked.rx.recv() => Some(w),
        _ = timeout => None,
        _ = handle.kill.notified() => Some(None),
        _ = shutdown.wait_for(|stop| *stop) => Some(None),
    };
    let wake = match woken {
        Some(w) => w,
        None => match blocked.give_up() {
            Some(null) => Some(Wake::Served(null)),
            // A writer claimed this wait first: its reply is on the way.
            None => blocked.rx.recv().await,
        },
    };
    state.blocked = None;
    match wake {
        Some(Wake::Served(reply)) => out.raw(&reply),
        Some(Wake::Unblocked) => out.error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        None => return false,
    }
    true
}

/// What woke a connection waiting for input.
enum Event {
    Read(Option<usize>),
    Push(Option<crate::cmd::pubsub::Push>),
    Close,
}

/// Writes a received push and any others already queued behind it.
fn write_pushes(state: &mut ConnState, out: &mut Reply, first: crate::cmd::pubsub::Push) {
    let mut next = Some(first);
    while let Some(push) = next {
        push.write(out);
        state
            .subs
            .pending
            .fetch_sub(push_size(&push), Ordering::AcqRel);
        if out.len() >= FLUSH_AT {
            break;
        }
        next = state.subs.rx.try_recv().ok();
    }
}

fn push_size(push: &crate::cmd::pubsub::Push) -> usize {
    push.queued_size()
}

async fn read_with_idle(
    read: impl std::future::Future<Output = std::io::Result<usize>>,
    idle_secs: u64,
) -> Option<usize> {
    if idle_secs == 0 {
        return read.await.ok();
    }
    match tokio::time::timeout(Duration::from_secs(idle_secs), read).await {
        Ok(r) => r.ok(),
        Err(_) => None,
    }
}

/// Writes the pending replies. False when the connection must close: a
/// write failed, the client was killed, or it broke its output limit.
async fn flush(
    node: &Node,
    handle: &ClientHandle,
    wr: &mut OwnedWriteHalf,
    out: &mut Reply,
) -> bool {
    let limit = node.config.read().output_limit_normal;
    let pending = out.len() as u64;
    if limit.hard > 0 && pending > limit.hard {
        tracing::warn!(
            client = handle.id,
            pending,
            "closing client over the output buffer hard limit"
        );
        return false;
    }
    let deadline = if limit.soft > 0 && pending > limit.soft {
        Some(Duration::from_secs(limit.soft_seconds))
    } else {
        None
    };
    let write = wr.write_all(&out.buf);
    let written = tokio::select! {
        r = async {
            match deadline {
                Some(d) => tokio::time::timeout(d, write).await.unwrap_or(Err(std::io::ErrorKind::TimedOut.into())),
                None => write.await,
            }
        } => r.is_ok(),
        _ = handle.kill.notified() => false,
    };
    if written {
        node.stats
            .net_output_bytes
            .fetch_add(pending, Ordering::Relaxed);
    }
    out.buf.clear();
    written
}

/// Runs one request and writes its reply (or error) into `out`.
pub fn execute(node: &Node, state: &mut ConnState, out: &mut Reply, argv: &[Bytes]) {
    let reply_start = out.len();
    let (command, container) = match command::resolve(argv) {
        Ok(found) => found,
        Err(e) => {
            // Inside MULTI an unknown command or wrong arity aborts the
            // transaction at EXEC (EXECABORT), as in Redis; a refused EXEC
            // itself discards any transaction at once and answers EXECABORT
            // even outside MULTI (Redis's `execCommandAbort`).
            let e = match state.multi.as_mut() {
                _ if argv[0].eq_ignore_ascii_case(b"exec") => {
                    state.multi = None;
                    state.watching.clear();
                    let msg = e.to_string();
                    CmdError::other(format!(
                        "EXECABORT Transaction discarded because of: {}",
                        msg.strip_prefix("ERR ").unwrap_or(&msg)
                    ))
                }
                Some(tx) => {
                    tx.failed = true;
                    e
                }
                None => e,
            };
            reply_error(node, out, &e);
            finish_reply(state, out, reply_start);
            return;
        }
    };
    if !state.authenticated
        && !command.has_flag("no_auth")
        && !container.is_some_and(|c| c.has_flag("no_auth"))
    {
        reply_error(node, out, &CmdError::NoAuth);
        finish_reply(state, out, reply_start);
        return;
    }
    // ASKING counts for the one command after it, as in Redis.
    let asking = command.name != "asking" && std::mem::take(&mut state.asking);
    match crate::route::route(node, state, command, argv, asking) {
        Ok(None) => {}
        Ok(Some(work)) => {
            state.deferred = Some(work);
            return;
        }
        Err(e) => {
            if let Some(tx) = state.multi.as_mut() {
                tx.failed = true;
            }
            reply_error(node, out, &e);
            finish_reply(state, out, reply_start);
            return;
        }
    }
    if let Some(e) = refused_for_memory(node, state, command, container) {
        reply_error(node, out, &e);
        finish_reply(state, out, reply_start);
        return;
    }
    if !out.resp3
        && state.subs.active()
        && !crate::cmd::pubsub::allowed_while_subscribed(command, container)
    {
        let e = CmdError::other(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            command.full_name(container)
        ));
        reply_error(node, out, &e);
        finish_reply(state, out, reply_start);
        return;
    }
    if let Some(tx) = state.multi.as_mut() {
        if !crate::cmd::transaction::runs_inside_multi(command, container) {
            tx.queued
                .push(argv.iter().map(|a| Bytes::copy_from_slice(a)).collect());
            tx.denyoom |= command.has_flag("denyoom");
            out.simple("QUEUED");
            finish_reply(state, out, reply_start);
            return;
        }
    }
    {
        let handle = &state.handle;
        handle.last_active_ms.store(
            handle.created.elapsed().as_millis() as u64,
            Ordering::Relaxed,
        );
        *handle.last_command.lock() = match container {
            Some(c) => (c.name, Some(command.name)),
            None => (command.name, None),
        };
    }
    let started = Instant::now();
    // Every command runs under the shared side of the EXEC gate, so a
    // transaction (which takes the exclusive side) sees no other client.
    let gate = (!crate::cmd::transaction::is_exec(command)).then(|| node.exec_gate.read());
    run(node, state, out, command, argv);
    drop(gate);
    let micros = started.elapsed().as_micros() as u64;
    record_slow(node, state, argv, micros);
    finish_reply(state, out, reply_start);
    if !state.ready_keys.is_empty() {
        crate::cmd::blocking::serve_ready(node, &mut state.ready_keys);
    }
}

/// With `maxmemory` set: evicts as needed (see [`crate::evict`]) and, if
/// memory stays over the limit, the OOM error for a command Redis refuses
/// then: one flagged `denyoom`, EXEC of a transaction holding one, or
/// anything but EXEC, DISCARD, QUIT and RESET inside MULTI (queueing must
/// not grow memory either). A refused queued command fails the
/// transaction; a refused EXEC discards it.
fn refused_for_memory(
    node: &Node,
    state: &mut ConnState,
    command: &Command,
    container: Option<&Command>,
) -> Option<CmdError> {
    if node.hot.maxmemory.load(Ordering::Relaxed) == 0
        || crate::evict::perform(node) != crate::evict::Outcome::Fail
    {
        return None;
    }
    let name = container.unwrap_or(command).name;
    let exec = crate::cmd::transaction::is_exec(command);
    let refused = match state.multi.as_ref() {
        Some(tx) if exec => tx.denyoom,
        Some(_) => !matches!(name, "discard" | "quit" | "reset"),
        None => command.has_flag("denyoom") || container.is_some_and(|c| c.has_flag("denyoom")),
    };
    if !refused {
        return None;
    }
    if exec {
        state.multi = None;
        state.watching.clear();
        return Some(CmdError::other(format!(
            "EXECABORT Transaction discarded because of: {}",
            CmdError::Oom
        )));
    }
    if let Some(tx) = state.multi.as_mut() {
        tx.failed = true;
    }
    Some(CmdError::Oom)
}

/// Runs a resolved command's handler (which itself reports the keys it
/// changed, see [`Ctx::modified`]).
pub fn run(node: &Node, state: &mut ConnState, out: &mut Reply, command: &Command, argv: &[Bytes]) {
    let handler = command
        .handler
        .expect("resolve returns only commands with a handler");
    let mut ctx = Ctx {
        node,
        conn: state,
        out,
        now: shoal_store::now_ms(),
    };
    if let Err(e) = handler(&mut ctx, argv) {
        reply_error(node, out, &e);
    }
    crate::evict::record(node, command, argv, state.db);
    state.commands_run += 1;
}

pub(crate) fn reply_error(node: &Node, out: &mut Reply, e: &CmdError) {
    node.stats.error_replies.fetch_add(1, Ordering::Relaxed);
    out.error(&e.wire());
}

/// Applies `CLIENT REPLY OFF|SKIP` to the reply just written.
pub(crate) fn finish_reply(state: &mut ConnState, out: &mut Reply, reply_start: usize) {
    match state.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => out.buf.truncate(reply_start),
        ReplyMode::SkipNext => state.reply_mode = ReplyMode::Skip,
        ReplyMode::Skip => {
            out.buf.truncate(reply_start);
            state.reply_mode = ReplyMode::On;
        }
    }
}

fn record_slow(node: &Node, state: &ConnState, argv: &[Bytes], micros: u64) {
    let threshold = node.hot.slowlog_slower_than.load(Ordering::Relaxed);
    if threshold < 0 || micros < threshold as u64 {
        return;
    }
    let name = state
        .handle
        .name
        .lock()
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    node.slowlog.lock().record(
        argv,
        micros,
        state.handle.addr.to_string(),
        name,
        node.hot.slowlog_max_len.load(Ordering::Relaxed) as usize,
    );
}
