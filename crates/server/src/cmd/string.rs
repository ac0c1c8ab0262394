//! String commands: GET, SET and its variants, counters, ranges, LCS.

use bytes::Bytes;
use shoal_proto::longdouble::LongDouble;
use shoal_store::{Entry, Str, Value};

use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "denyoom", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const STR_W: &[&str] = &["@write", "@string", "@slow"];
const STR_WF: &[&str] = &["@write", "@string", "@fast"];
const STR_RF: &[&str] = &["@read", "@string", "@fast"];

pub static COMMANDS: &[Command] = &[
    cmd("get", 2, RF, (1, 1, 1), STR_RF, "string", "1.0.0", "Returns the string value of a key.", "key", get),
    cmd("set", -3, W, (1, 1, 1), STR_W, "string", "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", set),
    cmd("setnx", 3, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Set the string value of a key only when the key doesn't exist.", "key value", setnx),
    cmd("setex", 4, W, (1, 1, 1), STR_W, "string", "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "key seconds value", setex),
    cmd("psetex", 4, W, (1, 1, 1), STR_W, "string", "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        "key milliseconds value", psetex),
    cmd("getset", 3, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.", "key value", getset),
    cmd("getdel", 2, &["write", "fast"], (1, 1, 1), STR_WF, "string", "6.2.0",
        "Returns the string value of a key after deleting the key.", "key", getdel),
    cmd("getex", -2, &["write", "fast"], (1, 1, 1), STR_WF, "string", "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]", getex),
    cmd("mget", -2, RF, (1, -1, 1), STR_RF, "string", "1.0.0", "Atomically returns the string values of one or more keys.",
        "key [key ...]", mget),
    cmd("mset", -3, W, (1, -1, 2), STR_W, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.",
        "key value [key value ...]", mset),
    cmd("msetnx", -3, W, (1, -1, 2), STR_W, "string", "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.", "key value [key value ...]", msetnx),
    cmd("incr", 2, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key", incr),
    cmd("decr", 2, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key", decr),
    cmd("incrby", 3, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment", incrby),
    cmd("decrby", 3, WF, (1, 1, 1), STR_WF, "string", "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "key decrement", decrby),
    cmd("incrbyfloat", 3, WF, (1, 1, 1), STR_WF, "string", "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        "key increment", incrbyfloat),
    cmd("append", 3, WF, (1, 1, 1), STR_WF, "string", "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value", append),
    cmd("strlen", 2, RF, (1, 1, 1), STR_RF, "string", "2.2.0", "Returns the length of a string value.", "key", strlen),
    cmd("getrange", 4, &["readonly"], (1, 1, 1), &["@read", "@string", "@slow"], "string", "2.4.0",
        "Returns a substring of the string stored at a key.", "key start end", getrange),
    cmd("setrange", 4, W, (1, 1, 1), STR_W, "string", "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        "key offset value", setrange),
    cmd("lcs", -3, &["readonly"], (1, 2, 1), &["@read", "@string", "@slow"], "string", "7.0.0",
        "Finds the longest common substring.", "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]", lcs),
];

/// The string a key holds, or WRONGTYPE.
pub fn as_str(entry: &mut Entry) -> Result<&mut Str, CmdError> {
    match &mut entry.value {
        Value::Str(s) => Ok(s),
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

/// Replies with a key's string value (nil if absent) and returns it.
fn reply_value(ctx: &mut Ctx<'_>, entry: Option<&mut Entry>) -> CmdResult {
    match entry {
        None => ctx.out.null(),
        Some(e) => {
            ctx.touch(e);
            let out = &mut *ctx.out;
            as_str(e)?.with_bytes(|b| out.bulk(b));
        }
    }
    Ok(())
}

/// `GET key`
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let entry = shard.lookup_read(&argv[1], ctx.now);
    reply_value(ctx, entry)
}

/// Expiry options shared by SET and GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    None,
    Keep,
    Persist,
    /// (unit in ms: 1000 for seconds, 1; absolute?)
    At {
        amount_arg: usize,
        unit_ms: i64,
        absolute: bool,
    },
}

struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    expiry: Expiry,
}

/// Parses SET's or GETEX's options as Redis's
/// `parseExtendedStringArgumentsOrReply`: any order, a repeated option is
/// allowed, conflicting ones are a syntax error.
fn parse_set_options(argv: &[Bytes], start: usize, for_set: bool) -> Result<SetOptions, CmdError> {
    let mut o = SetOptions {
        nx: false,
        xx: false,
        get: false,
        expiry: Expiry::None,
    };
    let mut i = start;
    while i < argv.len() {
        let a = &argv[i];
        let has_next = i + 1 < argv.len();
        let timed = |unit: &Expiry| matches!(unit, Expiry::At { .. });
        let same_timed = |unit_ms: i64, absolute: bool| {
            matches!(o.expiry, Expiry::None)
                || matches!(o.expiry, Expiry::At { unit_ms: u, absolute: abs, .. } if u == unit_ms && abs == absolute)
        };
        if for_set && eq(a, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && eq(a, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && eq(a, "get") {
            o.get = true;
        } else if for_set && eq(a, "keepttl") && !timed(&o.expiry) {
            o.expiry = Expiry::Keep;
        } else if !for_set && eq(a, "persist") && !timed(&o.expiry) {
            o.expiry = Expiry::Persist;
        } else if let Some((unit_ms, absolute)) = [
            ("ex", 1000, false),
            ("px", 1, false),
            ("exat", 1000, true),
            ("pxat", 1, true),
        ]
        .iter()
        .find(|(name, _, _)| eq(a, name))
        .map(|&(_, u, abs)| (u, abs))
        .filter(|&(u, abs)| has_next && same_timed(u, abs))
        {
            o.expiry = Expiry::At {
                amount_arg: i + 1,
                unit_ms,
                absolute,
            };
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// Turns an expiry argument into an absolute time in ms, with Redis's checks.
fn expire_at(
    ctx: &Ctx<'_>,
    argv: &[Bytes],
    expiry: Expiry,
    name: &'static str,
) -> Result<Option<u64>, CmdError> {
    let Expiry::At {
        amount_arg,
        unit_ms,
        absolute,
    } = expiry
    else {
        return Ok(None);
    };
    let n = arg_int(&argv[amount_arg])?;
    if n <= 0 || (unit_ms == 1000 && n > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(name));
    }
    let mut ms = n * unit_ms;
    if !absolute {
        ms = ms
            .checked_add(ctx.now as i64)
            .ok_or(CmdError::InvalidExpire(name))?;
    }
    Ok(Some(ms as u64))
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts-ms|KEEPTTL]`
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let o = parse_set_options(argv, 3, true)?;
    let at = expire_at(ctx, argv, o.expiry, "set")?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let existing = shard.lookup(key, ctx.now);
    if o.get {
        match existing {
            None => ctx.out.null(),
            Some(e) => {
                let out = &mut *ctx.out;
                as_str(e)?.with_bytes(|b| out.bulk(b));
            }
        }
    }
    let found = shard.lookup(key, ctx.now).map(|e| e.expire_at);
    if (o.nx && found.is_some()) || (o.xx && found.is_none()) {
        if !o.get {
            ctx.out.null();
        }
        return Ok(());
    }
    let mut entry = ctx.entry(Value::Str(Str::new(&argv[2])));
    entry.expire_at = match (o.expiry, at) {
        (Expiry::Keep, _) => found.unwrap_or(0),
        (_, Some(at)) => at,
        _ => 0,
    };
    ctx.put(&mut shard, key, entry);
    ctx.modified(key);
    if !o.get {
        ctx.out.ok();
    }
    Ok(())
}

/// Stores a plain string value with an optional absolute expiry.
fn store(ctx: &mut Ctx<'_>, key: &Bytes, value: &[u8], expire_at: u64) {
    let mut entry = ctx.entry(Value::Str(Str::new(value)));
    entry.expire_at = expire_at;
    let mut shard = ctx.db().lock(key);
    ctx.put(&mut shard, key, entry);
    drop(shard);
    ctx.modified(key);
}

/// `SETNX key value`
fn setnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    if shard.lookup(&argv[1], ctx.now).is_some() {
        ctx.out.int(0);
    } else {
        shard.insert(&argv[1], ctx.entry(Value::Str(Str::new(&argv[2]))));
        ctx.modified(&argv[1]);
        ctx.out.int(1);
    }
    Ok(())
}

fn setex_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], unit_ms: i64, name: &'static str) -> CmdResult {
    let at = expire_at(
        ctx,
        argv,
        Expiry::At {
            amount_arg: 2,
            unit_ms,
            absolute: false,
        },
        name,
    )?
    .unwrap_or(0);
    store(ctx, &argv[1], &argv[3], at);
    ctx.out.ok();
    Ok(())
}

/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, 1000, "setex")
}

/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, 1, "psetex")
}

/// `GETSET key value`
fn getset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let old = shard.lookup(&argv[1], ctx.now);
    reply_value(ctx, old)?;
    let entry = ctx.entry(Value::Str(Str::new(&argv[2])));
    ctx.put(&mut shard, &argv[1], entry);
    ctx.modified(&argv[1]);
    Ok(())
}

/// `GETDEL key`
fn getdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let entry = shard.lookup_read(&argv[1], ctx.now);
    let found = entry.is_some();
    reply_value(ctx, entry)?;
    if found {
        shard.remove(&argv[1]);
        ctx.modified(&argv[1]);
    }
    Ok(())
}

/// `GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]`
fn getex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let o = parse_set_options(argv, 2, false)?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(entry) = shard.lookup_read(key, ctx.now) else {
        ctx.out.null();
        return Ok(());
    };
    as_str(entry)?;
    let at = expire_at(ctx, argv, o.expiry, "getex")?;
    let had_ttl = entry.expire_at != 0;
    reply_value(ctx, Some(entry))?;
    let changed = match (o.expiry, at) {
        (Expiry::At { absolute: true, .. }, Some(at)) if at <= ctx.now => {
            shard.remove(key);
            true
        }
        (_, Some(at)) => shard.set_expire(key, at),
        (Expiry::Persist, _) => had_ttl && shard.set_expire(key, 0),
        _ => false,
    };
    if changed {
        ctx.modified(key);
    }
    Ok(())
}

/// `MGET key [key ...]`
fn mget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let keys = &argv[1..];
    ctx.out.array(keys.len());
    for key in keys {
        let mut shard = ctx.db().lock(key);
        match shard.lookup_read(key, ctx.now) {
            Some(e) => {
                ctx.touch(e);
                let out = &mut *ctx.out;
                match &e.value {
                    Value::Str(s) => s.with_bytes(|b| out.bulk(b)),
                    #[allow(unreachable_patterns)]
                    _ => out.null(),
                }
            }
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(
            if nx { "msetnx" } else { "mset" }.into(),
        ));
    }
    let db = ctx.conn.db;
    let pairs = argv[1..].chunks_exact(2);
    let mut locked = ctx.node.store.lock(pairs.clone().map(|p| (db, &p[0][..])));
    if nx
        && pairs
            .clone()
            .any(|p| locked.shard(db, &p[0]).lookup(&p[0], ctx.now).is_some())
    {
        ctx.out.int(0);
        return Ok(());
    }
    for p in pairs.clone() {
        let entry = ctx.entry(Value::Str(Str::new(&p[1])));
        ctx.put(locked.shard(db, &p[0]), &p[0], entry);
    }
    drop(locked);
    for p in pairs {
        ctx.modified(&p[0]);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// `MSET key value [key value ...]`
fn mset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    mset_generic(ctx, argv, false)
}

/// `MSETNX key value [key value ...]`
fn msetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    mset_generic(ctx, argv, true)
}

/// Adds `by` to the integer at `key` (0 if absent), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &Bytes, by: i64) -> CmdResult {
    let mut shard = ctx.db().lock(key);
    let (current, expire_at) = match shard.lookup(key, ctx.now) {
        None => (0, 0),
        Some(e) => {
            let n = match as_str(e)? {
                Str::Int(n) => *n,
                s => s
                    .with_bytes(shoal_proto::number::string2ll)
                    .ok_or(CmdError::NotInteger)?,
            };
            (n, e.expire_at)
        }
    };
    let next = current.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut entry = ctx.entry(Value::Str(Str::Int(next)));
    entry.expire_at = expire_at;
    ctx.put(&mut shard, key, entry);
    ctx.modified(key);
    ctx.out.int(next);
    Ok(())
}

/// `INCR key`
fn incr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], 1)
}

/// `DECR key`
fn decr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], -1)
}

/// `INCRBY key increment`
fn incrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_int(&argv[2])?;
    incr_by(ctx, &argv[1], by)
}

/// `DECRBY key decrement`
fn decrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_int(&argv[2])?;
    if by == i64::MIN {
        return Err(CmdError::other("ERR decrement would overflow"));
    }
    incr_by(ctx, &argv[1], -by)
}

/// A `long double` argument or stored value, as Redis's `string2ld` reads it.
pub fn long_double(bytes: &[u8]) -> Result<LongDouble, CmdError> {
    LongDouble::parse(bytes).ok_or(CmdError::NotFloat)
}

/// `INCRBYFLOAT key increment` — computed in x87 extended precision and
/// printed with `%.17Lf`, exactly as Redis does.
fn incrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let (current, expire_at) = match shard.lookup(key, ctx.now) {
        None => (LongDouble::from_i64(0), 0),
        Some(e) => {
            let v = as_str(e)?.with_bytes(long_double)?;
            (v, e.expire_at)
        }
    };
    let next = current + long_double(&argv[2])?;
    if !next.is_finite() {
        return Err(CmdError::NanOrInfinity);
    }
    let text = next.to_human();
    let mut entry = ctx.entry(Value::Str(Str::plain(text.as_bytes())));
    entry.expire_at = expire_at;
    ctx.put(&mut shard, key, entry);
    ctx.modified(key);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

fn check_size(ctx: &Ctx<'_>, size: u64) -> CmdResult {
    if size > ctx.node.config.read().proto_max_bulk_len {
        return Err(CmdError::StringTooLong);
    }
    Ok(())
}

/// `APPEND key value`
fn append(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    match shard.lookup(key, ctx.now) {
        None => {
            let len = argv[2].len();
            shard.insert(key, ctx.entry(Value::Str(Str::new(&argv[2]))));
            ctx.out.int(len as i64);
        }
        Some(e) => {
            let s = as_str(e)?;
            check_size(ctx, (s.len() + argv[2].len()) as u64)?;
            let bytes = s.make_raw();
            bytes.extend_from_slice(&argv[2]);
            ctx.out.int(bytes.len() as i64);
        }
    }
    ctx.modified(key);
    Ok(())
}

/// `STRLEN key`
fn strlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let len = match shard.lookup_read(&argv[1], ctx.now) {
        None => 0,
        Some(e) => as_str(e)?.len(),
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// `GETRANGE key start end`
fn getrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_int(&argv[2])?;
    let end = arg_int(&argv[3])?;
    let mut shard = ctx.db().lock(&argv[1]);
    let Some(e) = shard.lookup_read(&argv[1], ctx.now) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let out = &mut *ctx.out;
    as_str(e)?.with_bytes(|s| {
        let len = s.len() as i64;
        if start < 0 && end < 0 && start > end {
            return out.bulk(b"");
        }
        let mut start = if start < 0 { len + start } else { start };
        let mut end = if end < 0 { len + end } else { end };
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            out.bulk(b"");
        } else {
            out.bulk(&s[start as usize..=end as usize]);
        }
    });
    Ok(())
}

/// `SETRANGE key offset value`
fn setrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = arg_int(&argv[2])?;
    if offset < 0 {
        return Err(CmdError::other("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let value = &argv[3];
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    match shard.lookup(key, ctx.now) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_size(ctx, (offset + value.len()) as u64)?;
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(value);
            let len = bytes.len();
            shard.insert(key, ctx.entry(Value::Str(Str::Raw(bytes))));
            ctx.out.int(len as i64);
        }
        Some(e) => {
            let s = as_str(e)?;
            if value.is_empty() {
                ctx.out.int(s.len() as i64);
                return Ok(());
            }
            check_size(ctx, (offset + value.len()) as u64)?;
            let bytes = s.make_raw();
            if bytes.len() < offset + value.len() {
                bytes.resize(offset + value.len(), 0);
            }
            bytes[offset..offset + value.len()].copy_from_slice(value);
            ctx.out.int(bytes.len() as i64);
        }
    }
    ctx.modified(key);
    Ok(())
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
fn lcs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis checks the key types before it reads the options.
    let db = ctx.conn.db;
    let mut locked = ctx
        .node
        .store
        .lock([(db, &argv[1][..]), (db, &argv[2][..])]);
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match locked.shard(db, key).lookup_read(key, ctx.now) {
            None => Ok(Vec::new()),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(s.to_vec()),
            #[allow(unreachable_patterns)]
            Some(_) => Err(CmdError::other(
                "ERR The specified keys must contain string values",
            )),
        }
    };
    let a = fetch(&argv[1])?;
    let b = fetch(&argv[2])?;
    drop(locked);
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let a = &argv[i];
        if eq(a, "idx") {
            want_idx = true;
        } else if eq(a, "len") {
            want_len = true;
        } else if eq(a, "withmatchlen") {
            with_match_len = true;
        } else if eq(a, "minmatchlen") && i + 1 < argv.len() {
            min_match_len = arg_int(&argv[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if want_idx && want_len {
        return Err(CmdError::other(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    // The table is (|a|+1)·(|b|+1) cells; refuse rather than allocate without bound.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > ctx.node.config.read().proto_max_bulk_len {
        return Err(CmdError::other(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let width = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[a.len() * width + b.len()];
    if want_len {
        ctx.out.int(i64::from(total));
        return Ok(());
    }
    // Walk back from the end as Redis does, collecting the string and the
    // matching ranges (newest range first).
    let mut result = vec![0u8; total as usize];
    let mut ranges: Vec<[i64; 5]> = Vec::new();
    let (mut i, mut j, mut idx) = (a.len(), b.len(), total as usize);
    let none = a.len();
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0usize, 0usize, 0usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == none {
                a_start = i - 1;
                a_end = i - 1;
                b_start = j - 1;
                b_end = j - 1;
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != none {
                emit = true;
            }
        }
        if emit {
            let len = (a_end - a_start + 1) as i64;
            if min_match_len == 0 || len >= min_match_len {
                ranges.push([
                    a_start as i64,
                    a_end as i64,
                    b_start as i64,
                    b_end as i64,
                    len,
                ]);
            }
            a_start = none;
        }
    }
    if !want_idx {
        ctx.out.bulk(&result);
        return Ok(());
    }
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"matches");
    out.array(ranges.len());
    for r in &ranges {
        out.array(if with_match_len { 3 } else { 2 });
        out.array(2);
        out.int(r[0]);
        out.int(r[1]);
        out.array(2);
        out.int(r[2]);
        out.int(r[3]);
        if with_match_len {
            out.int(r[4]);
        }
    }
    out.bulk(b"len");
    out.int(i64::from(total));
    Ok(())
}
