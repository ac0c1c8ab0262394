//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME,
//! SLOWLOG, MEMORY, SHUTDOWN.

use bytes::Bytes;

use super::{arg_int, eq};
use crate::command::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const ADMIN: &[&str] = &["@admin", "@slow", "@dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd(
        "info",
        -1,
        &["loading", "stale", "sentinel"],
        (0, 0, 0),
        &["@slow", "@dangerous"],
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        "[section [section ...]]",
        info,
    ),
    container(
        "config",
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        CONFIG,
    ),
    cmd(
        "dbsize",
        1,
        &["readonly", "fast"],
        (0, 0, 0),
        &["@keyspace", "@read", "@fast"],
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        "",
        dbsize,
    ),
    cmd(
        "flushdb",
        -1,
        &["write"],
        (0, 0, 0),
        &["@keyspace", "@write", "@slow", "@dangerous"],
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        "[ASYNC|SYNC]",
        flushdb,
    ),
    cmd(
        "flushall",
        -1,
        &["write"],
        (0, 0, 0),
        &["@keyspace", "@write", "@slow", "@dangerous"],
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        "[ASYNC|SYNC]",
        flushall,
    ),
    cmd(
        "time",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        &["@fast"],
        "server",
        "2.6.0",
        "Returns the server time.",
        "",
        time,
    ),
    container(
        "slowlog",
        "server",
        "2.2.12",
        "A container for slow log commands.",
        SLOWLOG,
    ),
    container(
        "memory",
        "server",
        "4.0.0",
        "A container for memory diagnostics commands.",
        MEMORY,
    ),
    cmd(
        "shutdown",
        -1,
        &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "sentinel",
            "allow_busy",
        ],
        (0, 0, 0),
        ADMIN,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
        shutdown,
    ),
];

static CONFIG: &[Command] = &[
    cmd(
        "get",
        -3,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        "parameter [parameter ...]",
        config_get,
    ),
    cmd(
        "set",
        -4,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        "parameter value [parameter value ...]",
        config_set,
    ),
    cmd(
        "resetstat",
        2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        "",
        config_resetstat,
    ),
    cmd(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        &["@slow"],
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "",
        config_help,
    ),
];

static SLOWLOG: &[Command] = &[
    cmd(
        "get",
        -2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.2.12",
        "Returns the slow log's entries.",
        "[count]",
        slowlog_get,
    ),
    cmd(
        "len",
        2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.2.12",
        "Returns the number of entries in the slow log.",
        "",
        slowlog_len,
    ),
    cmd(
        "reset",
        2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        ADMIN,
        "server",
        "2.2.12",
        "Clears all entries from the slow log.",
        "",
        slowlog_reset,
    ),
    cmd(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        &["@slow"],
        "server",
        "6.2.0",
        "Show helpful text about the different subcommands",
        "",
        slowlog_help,
    ),
];

static MEMORY: &[Command] = &[
    cmd(
        "malloc-stats",
        2,
        &[],
        (0, 0, 0),
        &["@slow"],
        "server",
        "4.0.0",
        "Returns the allocator statistics.",
        "",
        memory_malloc_stats,
    ),
    cmd(
        "purge",
        2,
        &[],
        (0, 0, 0),
        &["@slow"],
        "server",
        "4.0.0",
        "Asks the allocator to release memory.",
        "",
        memory_purge,
    ),
    cmd(
        "stats",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        &["@slow"],
        "server",
        "4.0.0",
        "Returns details about memory usage.",
        "",
        memory_stats,
    ),
    cmd(
        "usage",
        -3,
        &["readonly"],
        (2, 2, 1),
        &["@read", "@slow"],
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
        "key [SAMPLES count]",
        memory_usage,
    ),
    cmd(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        &["@slow"],
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        "",
        memory_help,
    ),
];

/// `INFO [section [section ...]]`
fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = argv[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    ctx.conn.publish_stats(ctx.node);
    let text = crate::info::render(ctx.node, &sections);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// `CONFIG GET parameter [parameter ...]`
fn config_get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let patterns: Vec<&[u8]> = argv[2..].iter().map(|a| &a[..]).collect();
    let found = ctx.node.config.read().matching(&patterns);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(&name);
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// `CONFIG SET parameter value [parameter value ...]`
fn config_set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("config|set".into()));
    }
    let words: Vec<String> = argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let pairs: Vec<(&str, &str)> = words
        .chunks_exact(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    ctx.node
        .set_config(&pairs)
        .map_err(|e| CmdError::other(format!("ERR {e}")))?;
    ctx.out.ok();
    Ok(())
}

/// `CONFIG RESETSTAT`
fn config_resetstat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.node.stats.reset();
    ctx.node.store.reset_stats();
    ctx.node.evictor.reset_stats();
    ctx.out.ok();
    Ok(())
}

/// `CONFIG HELP`
fn config_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

/// `DBSIZE`
fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let (keys, _) = ctx.db().sizes();
    ctx.out.int(keys as i64);
    Ok(())
}

fn flush_mode(argv: &[Bytes]) -> CmdResult {
    match argv.get(1) {
        None => Ok(()),
        Some(a) if argv.len() == 2 && (eq(a, "async") || eq(a, "sync")) => Ok(()),
        Some(_) => Err(CmdError::Syntax),
    }
}

/// `FLUSHDB [ASYNC|SYNC]`
fn flushdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    flush_mode(argv)?;
    let store = &ctx.node.store;
    ctx.node.watches.touch_db(Some(ctx.conn.db), |d, k| {
        store.db(d).lock(k).peek_expire(k).is_some()
    });
    ctx.db().flush();
    ctx.out.ok();
    Ok(())
}

/// `FLUSHALL [ASYNC|SYNC]`
fn flushall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    flush_mode(argv)?;
    let store = &ctx.node.store;
    ctx.node
        .watches
        .touch_db(None, |d, k| store.db(d).lock(k).peek_expire(k).is_some());
    for i in 0..store.databases() {
        store.db(i).flush();
    }
    // An empty keyspace starts over: the frequencies were of keys gone.
    ctx.node.evictor.forget_frequencies();
    ctx.out.ok();
    Ok(())
}

/// `TIME`
fn time(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(i64::from(now.subsec_micros()));
    Ok(())
}

/// `SLOWLOG GET [count]`
fn slowlog_get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = match argv.get(2) {
        None => 10,
        Some(a) => {
            let n = arg_int(a)
                .map_err(|_| CmdError::other("ERR count should be greater than or equal to -1"))?;
            if n < -1 {
                return Err(CmdError::other(
                    "ERR count should be greater than or equal to -1",
                ));
            }
            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
    };
    let log = ctx.node.slowlog.lock();
    let shown = log.entries.len().min(count);
    ctx.out.array(shown);
    for e in log.entries.iter().take(shown) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.unix_secs as i64);
        ctx.out.int(e.micros as i64);
        ctx.out.array(e.argv.len());
        for a in &e.argv {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
    Ok(())
}

/// `SLOWLOG LEN`
fn slowlog_len(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let len = ctx.node.slowlog.lock().entries.len();
    ctx.out.int(len as i64);
    Ok(())
}

/// `SLOWLOG RESET`
fn slowlog_reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.node.slowlog.lock().entries.clear();
    ctx.out.ok();
    Ok(())
}

/// `SLOWLOG HELP`
fn slowlog_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

/// `MEMORY USAGE key [SAMPLES count]`
fn memory_usage(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        3 => {}
        5 if eq(&argv[3], "samples") => {
            arg_int(&argv[4])?;
        }
        _ => return Err(CmdError::Syntax),
    }
    let key = &argv[2];
    let mut shard = ctx.db().lock(key);
    match shard.lookup(key, ctx.now) {
        None => ctx.out.null(),
        Some(e) => {
            let bytes = shoal_store::keyspace::entry_bytes(key, e);
            ctx.out.int(bytes as i64);
        }
    }
    Ok(())
}

/// `MEMORY STATS`: Redis's fields, from the allocator count (there are no
/// allocator-internal figures: `allocator.*` repeat used_memory and RSS);
/// client buffers, replication, AOF and script caches are zero here.
fn memory_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let node = ctx.node;
    let total = shoal_store::alloc::allocated() as u64;
    let peak = shoal_store::alloc::peak() as u64;
    let startup = node.startup_allocated as u64;
    let rss = crate::info::rss_bytes();
    let mut dbs = Vec::new();
    let mut keys = 0u64;
    for i in 0..node.store.databases() {
        let db = node.store.db(i);
        let (count, _) = db.sizes();
        if count > 0 {
            keys += count as u64;
            let (main, expires) = db.overhead();
            dbs.push((i, main as u64, expires as u64));
        }
    }
    let overhead = startup + dbs.iter().map(|(_, m, e)| m + e).sum::<u64>();
    let net = total.saturating_sub(startup);
    let dataset = total.saturating_sub(overhead);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    enum Figure {
        Int(u64),
        Float(f64),
    }
    use Figure::{Float, Int};
    let head = [
        ("peak.allocated", Int(peak)),
        ("total.allocated", Int(total)),
        ("startup.allocated", Int(startup)),
        ("replication.backlog", Int(0)),
        ("clients.slaves", Int(0)),
        ("clients.normal", Int(0)),
        ("cluster.links", Int(0)),
        ("aof.buffer", Int(0)),
        ("lua.caches", Int(0)),
        ("functions.caches", Int(0)),
    ];
    let tail = [
        ("overhead.total", Int(overhead)),
        ("keys.count", Int(keys)),
        (
            "keys.bytes-per-key",
            Int(net.checked_div(keys).unwrap_or(0)),
        ),
        ("dataset.bytes", Int(dataset)),
        ("dataset.percentage", Float(ratio(dataset * 100, net))),
        ("peak.percentage", Float(ratio(total * 100, peak))),
        ("allocator.allocated", Int(total)),
        ("allocator.active", Int(total)),
        ("allocator.resident", Int(rss)),
        ("allocator-fragmentation.ratio", Float(1.0)),
        ("allocator-fragmentation.bytes", Int(0)),
        ("allocator-rss.ratio", Float(ratio(rss, total))),
        ("allocator-rss.bytes", Int(rss.saturating_sub(total))),
        ("rss-overhead.ratio", Float(1.0)),
        ("rss-overhead.bytes", Int(0)),
        ("fragmentation", Float(ratio(rss, total))),
        ("fragmentation.bytes", Int(rss.saturating_sub(total))),
    ];
    let out = &mut *ctx.out;
    let put = |out: &mut shoal_proto::Reply, name: &str, v: &Figure| {
        out.bulk(name.as_bytes());
        match v {
            Int(n) => out.int(*n as i64),
            Float(f) => out.double(*f),
        }
    };
    out.map(head.len() + dbs.len() + tail.len());
    for (name, v) in &head {
        put(out, name, v);
    }
    for (i, main, expires) in &dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(3);
        put(out, "overhead.hashtable.main", &Int(*main));
        put(out, "overhead.hashtable.expires", &Int(*expires));
        put(out, "overhead.hashtable.slot-to-keys", &Int(0));
    }
    for (name, v) in &tail {
        put(out, name, v);
    }
    Ok(())
}

/// `MEMORY MALLOC-STATS`: what Redis answers when not built with jemalloc.
fn memory_malloc_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
    Ok(())
}

/// `MEMORY PURGE`: nothing to purge with the system allocator.
fn memory_purge(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

/// `MEMORY HELP`
fn memory_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "MEMORY",
        &[
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`
fn shutdown(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut abort = false;
    for a in &argv[1..] {
        if eq(a, "abort") {
            abort = true;
        } else if !(eq(a, "nosave") || eq(a, "save") || eq(a, "now") || eq(a, "force")) {
            return Err(CmdError::Syntax);
        }
    }
    if abort {
        return Err(CmdError::other("ERR No shutdown in progress."));
    }
    // Nothing to save: shoal is a cache. Like Redis, the client gets no reply.
    tracing::warn!("User requested shutdown...");
    ctx.conn.close_after_reply = true;
    ctx.node.shutdown();
    Ok(())
}
