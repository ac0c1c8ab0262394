//! Generic key commands: existence, deletion, TTLs, iteration, renaming.

use bytes::Bytes;
use shoal_proto::pattern::glob_match;
use shoal_store::Entry;

use super::{arg_int, eq};
use crate::command::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const KW: &[&str] = &["@keyspace", "@write", "@fast"];
const KR: &[&str] = &["@keyspace", "@read", "@fast"];
const KWS: &[&str] = &["@keyspace", "@write", "@slow"];
const KRS: &[&str] = &["@keyspace", "@read", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd("del", -2, &["write"], (1, -1, 1), KWS, "generic", "1.0.0", "Deletes one or more keys.", "key [key ...]", del),
    cmd("unlink", -2, &["write", "fast"], (1, -1, 1), KW, "generic", "4.0.0",
        "Asynchronously deletes one or more keys.", "key [key ...]", del),
    cmd("exists", -2, &["readonly", "fast"], (1, -1, 1), KR, "generic", "1.0.0",
        "Determines whether one or more keys exist.", "key [key ...]", exists),
    cmd("type", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "1.0.0",
        "Determines the type of value stored at a key.", "key", type_),
    cmd("expire", -3, &["write", "fast"], (1, 1, 1), KW, "generic", "1.0.0",
        "Sets the expiration time of a key in seconds.", "key seconds [NX|XX|GT|LT]", expire),
    cmd("pexpire", -3, &["write", "fast"], (1, 1, 1), KW, "generic", "2.6.0",
        "Sets the expiration time of a key in milliseconds.", "key milliseconds [NX|XX|GT|LT]", pexpire),
    cmd("expireat", -3, &["write", "fast"], (1, 1, 1), KW, "generic", "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.", "key unix-time-seconds [NX|XX|GT|LT]", expireat),
    cmd("pexpireat", -3, &["write", "fast"], (1, 1, 1), KW, "generic", "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.", "key unix-time-milliseconds [NX|XX|GT|LT]",
        pexpireat),
    cmd("ttl", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "1.0.0",
        "Returns the expiration time in seconds of a key.", "key", ttl),
    cmd("pttl", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "2.6.0",
        "Returns the expiration time in milliseconds of a key.", "key", pttl),
    cmd("expiretime", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.", "key", expiretime),
    cmd("pexpiretime", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.", "key", pexpiretime),
    cmd("persist", 2, &["write", "fast"], (1, 1, 1), KW, "generic", "2.2.0",
        "Removes the expiration time of a key.", "key", persist),
    cmd("keys", 2, &["readonly"], (0, 0, 0), &["@keyspace", "@read", "@slow", "@dangerous"], "generic", "1.0.0",
        "Returns all key names that match a pattern.", "pattern", keys),
    cmd("scan", -2, &["readonly"], (0, 0, 0), KRS, "generic", "2.8.0",
        "Iterates over the key names in the database.", "cursor [MATCH pattern] [COUNT count] [TYPE type]", scan),
    cmd("randomkey", 1, &["readonly"], (0, 0, 0), KRS, "generic", "1.0.0",
        "Returns a random key name from the database.", "", randomkey),
    cmd("rename", 3, &["write"], (1, 2, 1), KWS, "generic", "1.0.0", "Renames a key and overwrites the destination.",
        "key newkey", rename),
    cmd("renamenx", 3, &["write", "fast"], (1, 2, 1), KW, "generic", "1.0.0",
        "Renames a key only when the target key name doesn't exist.", "key newkey", renamenx),
    cmd("copy", -3, &["write", "denyoom"], (1, 2, 1), KWS, "generic", "6.2.0", "Copies the value of a key to a new key.",
        "source destination [DB destination-db] [REPLACE]", copy),
    cmd("touch", -2, &["readonly", "fast"], (1, -1, 1), KR, "generic", "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        "key [key ...]", touch),
    container("object", "generic", "2.2.3", "A container for object introspection commands.", OBJECT),
];

static OBJECT: &[Command] = &[
    cmd(
        "encoding",
        3,
        &["readonly"],
        (2, 2, 1),
        KRS,
        "generic",
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
        "key",
        object_encoding,
    ),
    cmd(
        "freq",
        3,
        &["readonly"],
        (2, 2, 1),
        KRS,
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
        "key",
        object_freq,
    ),
    cmd(
        "idletime",
        3,
        &["readonly"],
        (2, 2, 1),
        KRS,
        "generic",
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
        "key",
        object_idletime,
    ),
    cmd(
        "refcount",
        3,
        &["readonly"],
        (2, 2, 1),
        KRS,
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
        "key",
        object_refcount,
    ),
    cmd(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        &["@keyspace", "@slow"],
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        "",
        object_help,
    ),
];

/// `DEL key [key ...]` and `UNLINK key [key ...]`
fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut removed = 0;
    for key in &argv[1..] {
        let mut shard = ctx.db().lock(key);
        if shard.lookup(key, ctx.now).is_some() {
            shard.remove(key);
            drop(shard);
            ctx.modified(key);
            removed += 1;
        }
    }
    ctx.out.int(removed);
    Ok(())
}

/// `EXISTS key [key ...]`
fn exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let found = argv[1..]
        .iter()
        .filter(|key| ctx.db().lock(key).lookup(key, ctx.now).is_some())
        .count();
    ctx.out.int(found as i64);
    Ok(())
}

/// `TYPE key`
fn type_(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let name = shard
        .lookup(&argv[1], ctx.now)
        .map_or("none", |e| e.value.type_name());
    ctx.out.simple(name);
    Ok(())
}

/// The NX/XX/GT/LT conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(argv: &[Bytes]) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for a in &argv[3..] {
        if eq(a, "nx") {
            f.nx = true;
        } else if eq(a, "xx") {
            f.xx = true;
        } else if eq(a, "gt") {
            f.gt = true;
        } else if eq(a, "lt") {
            f.lt = true;
        } else {
            return Err(CmdError::quoting("ERR Unsupported option ", a, ""));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::other(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::other(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// The EXPIRE family: `unit_ms` is 1000 for seconds; `relative` adds now.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    unit_ms: i64,
    relative: bool,
    name: &'static str,
) -> CmdResult {
    let flags = parse_expire_flags(argv)?;
    let mut when = arg_int(&argv[2])?;
    if unit_ms == 1000 {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(CmdError::InvalidExpire(name));
        }
        when *= 1000;
    }
    let base = if relative { ctx.now as i64 } else { 0 };
    if when > i64::MAX - base {
        return Err(CmdError::InvalidExpire(name));
    }
    when += base;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(entry) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = if entry.expire_at == 0 {
        -1
    } else {
        entry.expire_at as i64
    };
    let refused = (flags.nx && current != -1)
        || (flags.xx && current == -1)
        || (flags.gt && (current == -1 || when <= current))
        || (flags.lt && current != -1 && when >= current);
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= ctx.now as i64 {
        shard.remove(key);
    } else {
        shard.set_expire(key, when as u64);
    }
    drop(shard);
    ctx.modified(key);
    ctx.out.int(1);
    Ok(())
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`
fn expire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 1000, true, "expire")
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]`
fn pexpire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 1, true, "pexpire")
}

/// `EXPIREAT key unix-time-seconds [NX|XX|GT|LT]`
fn expireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 1000, false, "expireat")
}

/// `PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]`
fn pexpireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, 1, false, "pexpireat")
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for no key, -1 for no TTL.
fn ttl_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], millis: bool, absolute: bool) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let reply = match shard.lookup_read(&argv[1], ctx.now) {
        None => -2,
        Some(Entry { expire_at: 0, .. }) => -1,
        Some(e) => {
            let t = if absolute {
                e.expire_at as i64
            } else {
                (e.expire_at as i64 - ctx.now as i64).max(0)
            };
            if millis {
                t
            } else {
                // Redis's arithmetic does not wrap here (PXAT near i64::MAX): widen.
                ((i128::from(t) + 500) / 1000) as i64
            }
        }
    };
    ctx.out.int(reply);
    Ok(())
}

/// `TTL key`
fn ttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, false, false)
}

/// `PTTL key`
fn pttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, true, false)
}

/// `EXPIRETIME key`
fn expiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, false, true)
}

/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, true, true)
}

/// `PERSIST key`
fn persist(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let had_ttl = shard
        .lookup(&argv[1], ctx.now)
        .is_some_and(|e| e.expire_at != 0);
    if had_ttl {
        shard.set_expire(&argv[1], 0);
        drop(shard);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(i64::from(had_ttl));
    Ok(())
}

/// `KEYS pattern`
fn keys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pattern = &argv[1];
    let all = pattern.as_ref() == b"*";
    let mut found: Vec<Vec<u8>> = Vec::new();
    for shard in ctx.db().shards() {
        let shard = shard.lock();
        found.extend(
            shard
                .iter()
                .filter(|(k, e)| !e.is_expired(ctx.now) && (all || glob_match(pattern, k, false)))
                .map(|(k, _)| k.to_vec()),
        );
    }
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// The options of SCAN and its per-type forms (HSCAN, SSCAN, ZSCAN).
pub struct ScanArgs<'a> {
    pub cursor: u64,
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_filter: Option<&'a [u8]>,
}

impl ScanArgs<'_> {
    /// Whether an item name passes MATCH (a lone `*` matches everything,
    /// even the empty name, as in Redis).
    pub fn matches(&self, name: &[u8]) -> bool {
        match self.pattern {
            None => true,
            Some(p) if p == b"*" => true,
            Some(p) => glob_match(p, name, false),
        }
    }
}

/// Parses `cursor [MATCH pattern] [COUNT count]` (and `[TYPE type]` when
/// `with_type`), starting at the cursor's position in `argv`.
pub fn scan_args(
    argv: &[Bytes],
    cursor_at: usize,
    with_type: bool,
) -> Result<ScanArgs<'_>, CmdError> {
    let mut args = ScanArgs {
        cursor: parse_cursor(&argv[cursor_at])?,
        pattern: None,
        count: 10,
        type_filter: None,
    };
    let mut i = cursor_at + 1;
    while i < argv.len() {
        let Some(value) = argv.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if eq(&argv[i], "count") {
            let n = arg_int(value)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            args.count = n.min(i64::from(u32::MAX)) as usize;
        } else if eq(&argv[i], "match") {
            args.pattern = Some(value);
        } else if with_type && eq(&argv[i], "type") {
            args.type_filter = Some(value);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(args)
}

/// Writes a SCAN-family reply: the next cursor and the items.
pub fn reply_scan(ctx: &mut Ctx<'_>, next: u64, items: &[Vec<u8>]) {
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len());
    for item in items {
        ctx.out.bulk(item);
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
fn scan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let args = scan_args(argv, 1, true)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = ctx.db().scan(args.cursor, args.count, ctx.now, |k, e| {
        let type_ok = args
            .type_filter
            .is_none_or(|t| t.eq_ignore_ascii_case(e.value.type_name().as_bytes()));
        if type_ok && args.matches(k) {
            found.push(k.to_vec());
        }
    });
    reply_scan(ctx, next, &found);
    Ok(())
}

/// A SCAN cursor as Redis reads it (`strtoul`: digits, an optional sign).
fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let text = std::str::from_utf8(arg).map_err(|_| CmdError::InvalidCursor)?;
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if text.is_empty() {
        // strtoul reads nothing and leaves nothing unread: cursor 0.
        return Ok(0);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CmdError::InvalidCursor);
    }
    let n: u64 = digits.parse().map_err(|_| CmdError::InvalidCursor)?;
    Ok(if negative { n.wrapping_neg() } else { n })
}

/// `RANDOMKEY`
fn randomkey(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    match ctx.db().random_key(ctx.now, &mut ctx.conn.rng) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

fn rename_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock([(db, &src[..]), (db, &dst[..])]);
    if locked.shard(db, src).lookup(src, ctx.now).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && locked.shard(db, dst).lookup(dst, ctx.now).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let Some(entry) = locked.shard(db, src).remove(src) else {
        return Err(CmdError::NoSuchKey);
    };
    locked.shard(db, dst).insert(dst, entry);
    drop(locked);
    ctx.modified(src);
    ctx.modified(dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// `RENAME key newkey`
fn rename(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, false)
}

/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let src_db = ctx.conn.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if eq(&argv[i], "replace") {
            replace = true;
        } else if eq(&argv[i], "db") && i + 1 < argv.len() {
            let n = super::arg_i32(&argv[i + 1])?;
            if n < 0 || n as usize >= ctx.node.store.databases() {
                return Err(CmdError::DbOutOfRange);
            }
            dst_db = n as usize;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (src, dst) = (&argv[1], &argv[2]);
    if src_db == dst_db && src == dst {
        return Err(CmdError::other(
            "ERR source and destination objects are the same",
        ));
    }
    let mut locked = ctx
        .node
        .store
        .lock([(src_db, &src[..]), (dst_db, &dst[..])]);
    let Some(mut entry) = locked.shard(src_db, src).lookup(src, ctx.now).cloned() else {
        ctx.out.int(0);
        return Ok(());
    };
    entry.unshared = true;
    let dst_shard = locked.shard(dst_db, dst);
    if dst_shard.lookup(dst, ctx.now).is_some() && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    dst_shard.insert(dst, entry);
    drop(locked);
    ctx.modified_in(dst_db, dst);
    ctx.out.int(1);
    Ok(())
}

/// `TOUCH key [key ...]`
fn touch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut found = 0;
    for key in &argv[1..] {
        let mut shard = ctx.db().lock(key);
        if let Some(e) = shard.lookup(key, ctx.now) {
            ctx.touch(e);
            found += 1;
        }
    }
    ctx.out.int(found);
    Ok(())
}

/// Runs `f` on the entry of OBJECT's key argument, or replies nil.
fn with_object(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Ctx<'_>, &Entry) -> CmdResult,
) -> CmdResult {
    let entry = ctx.db().lock(key).lookup(key, ctx.now).cloned();
    match entry {
        None => {
            ctx.out.null();
            Ok(())
        }
        Some(e) => f(ctx, &e),
    }
}

/// `OBJECT ENCODING key`
fn object_encoding(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_object(ctx, &argv[2], |ctx, e| {
        ctx.out.bulk(e.value.encoding().as_bytes());
        Ok(())
    })
}

/// `OBJECT FREQ key`
fn object_freq(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_object(ctx, &argv[2], |ctx, e| {
        let policy = ctx.node.hot.policy();
        if policy == shoal_store::evict::Policy::AllKeysTinyLfu {
            let count = shoal_store::sketch::resident_count(e.access, ctx.node.evictor.epoch());
            ctx.out.int(i64::from(count));
            return Ok(());
        }
        if !policy.lfu() {
            return Err(CmdError::other("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let decay = ctx
            .node
            .hot
            .lfu_decay_time
            .load(std::sync::atomic::Ordering::Relaxed);
        ctx.out.int(i64::from(shoal_store::lfu::decayed(
            e.access, ctx.now, decay,
        )));
        Ok(())
    })
}

/// `OBJECT IDLETIME key`
fn object_idletime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_object(ctx, &argv[2], |ctx, e| {
        if ctx.node.hot.policy().counts_frequency() {
            return Err(CmdError::other("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let now = shoal_store::keyspace::lru_clock(ctx.now);
        ctx.out.int(i64::from(now.saturating_sub(e.access)));
        Ok(())
    })
}

/// `OBJECT REFCOUNT key`
fn object_refcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_object(ctx, &argv[2], |ctx, e| {
        // Redis shares the integers 0..10000 unless an LRU/LFU policy with
        // maxmemory needs per-key access data; a shared object reports INT_MAX.
        let (maxmemory, policy) = {
            let c = ctx.node.config.read();
            (c.maxmemory, c.maxmemory_policy.clone())
        };
        let sharing = maxmemory == 0 || !(policy.ends_with("-lru") || policy.ends_with("-lfu"));
        let shared = sharing
            && !e.unshared
            && matches!(e.value, shoal_store::Value::Str(shoal_store::Str::Int(n)) if (0..10000).contains(&n));
        ctx.out.int(if shared { i64::from(i32::MAX) } else { 1 });
        Ok(())
    })
}

/// `OBJECT HELP`
fn object_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}
