//! Hash commands.

use bytes::Bytes;
use shoal_proto::longdouble::LongDouble;
use shoal_proto::number::string2ll;
use shoal_store::{Hash, Value};

use super::keys::{reply_scan, scan_args};
use super::typed::{self, drop_if_empty, entry_or_insert};
use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const W: &[&str] = &["write", "denyoom", "fast"];
const R: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const HW: &[&str] = &["@write", "@hash", "@fast"];
const HR: &[&str] = &["@read", "@hash", "@fast"];
const HRS: &[&str] = &["@read", "@hash", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd("hset", -4, W, (1, 1, 1), HW, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.",
        "key field value [field value ...]", hset),
    cmd("hmset", -4, W, (1, 1, 1), HW, "hash", "2.0.0", "Sets the values of multiple fields.",
        "key field value [field value ...]", hmset),
    cmd("hsetnx", 4, W, (1, 1, 1), HW, "hash", "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.", "key field value", hsetnx),
    cmd("hget", 3, R, (1, 1, 1), HR, "hash", "2.0.0", "Returns the value of a field in a hash.", "key field", hget),
    cmd("hmget", -3, R, (1, 1, 1), HR, "hash", "2.0.0", "Returns the values of all fields in a hash.",
        "key field [field ...]", hmget),
    cmd("hgetall", 2, RS, (1, 1, 1), HRS, "hash", "2.0.0", "Returns all fields and values in a hash.", "key", hgetall),
    cmd("hkeys", 2, RS, (1, 1, 1), HRS, "hash", "2.0.0", "Returns all fields in a hash.", "key", hkeys),
    cmd("hvals", 2, RS, (1, 1, 1), HRS, "hash", "2.0.0", "Returns all values in a hash.", "key", hvals),
    cmd("hdel", -3, &["write", "fast"], (1, 1, 1), HW, "hash", "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        "key field [field ...]", hdel),
    cmd("hexists", 3, R, (1, 1, 1), HR, "hash", "2.0.0", "Determines whether a field exists in a hash.", "key field",
        hexists),
    cmd("hlen", 2, R, (1, 1, 1), HR, "hash", "2.0.0", "Returns the number of fields in a hash.", "key", hlen),
    cmd("hstrlen", 3, R, (1, 1, 1), HR, "hash", "3.2.0", "Returns the length of the value of a field.", "key field",
        hstrlen),
    cmd("hincrby", 4, W, (1, 1, 1), HW, "hash", "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        "key field increment", hincrby),
    cmd("hincrbyfloat", 4, W, (1, 1, 1), HW, "hash", "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        "key field increment", hincrbyfloat),
    cmd("hrandfield", -2, RS, (1, 1, 1), HRS, "hash", "6.2.0", "Returns one or more random fields from a hash.",
        "key [count [WITHVALUES]]", hrandfield),
    cmd("hscan", -3, RS, (1, 1, 1), HRS, "hash", "2.8.0", "Iterates over fields and values of a hash.",
        "key cursor [MATCH pattern] [COUNT count]", hscan),
];

/// Reads the hash at `key` (None if absent), WRONGTYPE for other types.
fn with_hash<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Ctx<'_>, Option<&Hash>) -> R,
) -> Result<R, CmdError> {
    let mut shard = ctx.db().lock(key);
    match shard.lookup_read(key, ctx.now) {
        None => Ok(f(ctx, None)),
        Some(e) => {
            ctx.touch(e);
            let h = typed::hash(e)?;
            Ok(f(ctx, Some(h)))
        }
    }
}

fn hset_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], name: &str) -> Result<i64, CmdError> {
    if argv.len() % 2 == 1 {
        return Err(CmdError::WrongArity(name.into()));
    }
    let limits = ctx.node.hot.hash_limits();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let e = entry_or_insert(ctx, &mut shard, key, || Value::Hash(Hash::default()));
    let h = typed::hash(e)?;
    let items: Vec<&[u8]> = argv[2..].iter().map(|a| &a[..]).collect();
    h.prepare_for(&items, limits);
    let mut added = 0;
    for pair in argv[2..].chunks_exact(2) {
        added += i64::from(h.insert(&pair[0], &pair[1], limits));
    }
    drop(shard);
    ctx.modified(key);
    Ok(added)
}

/// `HSET key field value [field value ...]`
fn hset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let added = hset_generic(ctx, argv, "hset")?;
    ctx.out.int(added);
    Ok(())
}

/// `HMSET key field value [field value ...]`
fn hmset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    hset_generic(ctx, argv, "hmset")?;
    ctx.out.ok();
    Ok(())
}

/// `HSETNX key field value`
fn hsetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let limits = ctx.node.hot.hash_limits();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if let Some(e) = shard.lookup(key, ctx.now) {
        if typed::hash(e)?.get(&argv[2]).is_some() {
            ctx.out.int(0);
            return Ok(());
        }
    }
    let h = typed::hash(entry_or_insert(ctx, &mut shard, key, || {
        Value::Hash(Hash::default())
    }))?;
    h.prepare_for(&[&argv[2], &argv[3]], limits);
    h.insert(&argv[2], &argv[3], limits);
    drop(shard);
    ctx.modified(key);
    ctx.out.int(1);
    Ok(())
}

/// `HGET key field`
fn hget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        match h.and_then(|h| h.get(&argv[2])) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    })
}

/// `HMGET key field [field ...]`
fn hmget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out.array(argv.len() - 2);
        for field in &argv[2..] {
            match h.and_then(|h| h.get(field)) {
                Some(v) => ctx.out.bulk(v),
                None => ctx.out.null(),
            }
        }
    })
}

/// `HGETALL key`
fn hgetall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out.map(h.map_or(0, Hash::len));
        for (f, v) in h.into_iter().flat_map(|h| h.iter()) {
            ctx.out.bulk(f);
            ctx.out.bulk(v);
        }
    })
}

/// `HKEYS key`
fn hkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out.array(h.map_or(0, Hash::len));
        for (f, _) in h.into_iter().flat_map(|h| h.iter()) {
            ctx.out.bulk(f);
        }
    })
}

/// `HVALS key`
fn hvals(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out.array(h.map_or(0, Hash::len));
        for (_, v) in h.into_iter().flat_map(|h| h.iter()) {
            ctx.out.bulk(v);
        }
    })
}

/// `HDEL key field [field ...]`
fn hdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let h = typed::hash(e)?;
    let removed = argv[2..].iter().filter(|f| h.remove(f)).count();
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if removed > 0 {
        ctx.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `HEXISTS key field`
fn hexists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out
            .int(i64::from(h.is_some_and(|h| h.get(&argv[2]).is_some())))
    })
}

/// `HLEN key`
fn hlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out.int(h.map_or(0, Hash::len) as i64)
    })
}

/// `HSTRLEN key field`
fn hstrlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_hash(ctx, &argv[1], |ctx, h| {
        ctx.out
            .int(h.and_then(|h| h.get(&argv[2])).map_or(0, <[u8]>::len) as i64)
    })
}

/// `HINCRBY key field increment`
fn hincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_int(&argv[3])?;
    let limits = ctx.node.hot.hash_limits();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if let Some(e) = shard.lookup(key, ctx.now) {
        typed::hash(e)?;
    }
    let h = typed::hash(entry_or_insert(ctx, &mut shard, key, || {
        Value::Hash(Hash::default())
    }))?;
    let current = match h.get(&argv[2]) {
        None => 0,
        Some(v) => {
            string2ll(v).ok_or_else(|| CmdError::other("ERR hash value is not an integer"))?
        }
    };
    let next = current.checked_add(by).ok_or(CmdError::Overflow)?;
    let text = next.to_string();
    h.insert(&argv[2], text.as_bytes(), limits);
    drop(shard);
    ctx.modified(key);
    ctx.out.int(next);
    Ok(())
}

/// `HINCRBYFLOAT key field increment` — x87 extended precision, as Redis.
fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = super::string::long_double(&argv[3])?;
    if !by.is_finite() {
        return Err(CmdError::other("ERR value is NaN or Infinity"));
    }
    let limits = ctx.node.hot.hash_limits();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if let Some(e) = shard.lookup(key, ctx.now) {
        typed::hash(e)?;
    }
    let h = typed::hash(entry_or_insert(ctx, &mut shard, key, || {
        Value::Hash(Hash::default())
    }))?;
    let current = match h.get(&argv[2]) {
        None => Ok(LongDouble::from_i64(0)),
        Some(v) => {
            LongDouble::parse(v).ok_or_else(|| CmdError::other("ERR hash value is not a float"))
        }
    };
    let next = current.and_then(|c| {
        let next = c + by;
        if next.is_finite() {
            Ok(next)
        } else {
            Err(CmdError::NanOrInfinity)
        }
    });
    let next = match next {
        Ok(n) => n,
        Err(e) => {
            drop_if_empty(&mut shard, key, ctx.now);
            return Err(e);
        }
    };
    let text = next.to_human();
    h.insert(&argv[2], text.as_bytes(), limits);
    drop(shard);
    ctx.modified(key);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (count, with_values) = pick_args(argv, Some("withvalues"))?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let h = match shard.lookup_read(key, ctx.now) {
        None => None,
        Some(e) => Some(typed::hash(e)?),
    };
    let Some(n) = count else {
        match h.and_then(|h| h.random(|| ctx.conn.rng.next_u64())) {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let Some(h) = h else {
        ctx.out.array(0);
        return Ok(());
    };
    let picks: Vec<(Vec<u8>, Vec<u8>)> = random_picks(h.len(), n, &mut ctx.conn.rng)
        .into_iter()
        .filter_map(|i| h.nth(i).map(|(f, v)| (f.to_vec(), v.to_vec())))
        .collect();
    let out = &mut *ctx.out;
    if with_values && out.resp3 {
        out.array(picks.len());
        for (f, v) in &picks {
            out.array(2);
            out.bulk(f);
            out.bulk(v);
        }
    } else {
        out.array(picks.len() * if with_values { 2 } else { 1 });
        for (f, v) in &picks {
            out.bulk(f);
            if with_values {
                out.bulk(v);
            }
        }
    }
    Ok(())
}

/// Most random picks one call may ask for with a negative count. Redis
/// streams any number (and grows its output buffer without bound); shoal
/// refuses more than this with Redis's range error (README: compatibility).
pub const MAX_RANDOM_PICKS: u64 = 1 << 20;

/// The `[count [WITH…]]` arguments of HRANDFIELD, ZRANDMEMBER (`flag` is
/// WITHVALUES / WITHSCORES) and SRANDMEMBER (no flag), checked in Redis's
/// order before the key is read: the count's range, the flag, the halved
/// range a flag imposes, then shoal's cap on negative counts.
pub fn pick_args(argv: &[Bytes], flag: Option<&str>) -> Result<(Option<i64>, bool), CmdError> {
    let Some(count) = argv.get(2) else {
        return Ok((None, false));
    };
    if flag.is_none() && argv.len() > 3 {
        return Err(CmdError::Syntax); // SRANDMEMBER checks this first
    }
    let n = arg_int(count)?;
    if n == i64::MIN {
        return Err(CmdError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with = match (&argv[3..], flag) {
        ([], _) => false,
        ([a], Some(flag)) if eq(a, flag) => true,
        _ => return Err(CmdError::Syntax),
    };
    let out_of_range = || CmdError::other("ERR value is out of range");
    if with && n.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(out_of_range());
    }
    if n < 0 && n.unsigned_abs() > MAX_RANDOM_PICKS {
        return Err(out_of_range());
    }
    Ok((Some(n), with))
}

/// Indexes for a random pick of `count` out of `len` as Redis's
/// SRANDMEMBER/HRANDFIELD/ZRANDMEMBER define it: a positive count gives
/// distinct elements (all of them if count ≥ len), a negative count gives
/// |count| picks that may repeat.
pub fn random_picks(len: usize, count: i64, rng: &mut shoal_store::Rng) -> Vec<usize> {
    if len == 0 || count == 0 {
        return Vec::new();
    }
    if count < 0 {
        return (0..count.unsigned_abs()).map(|_| rng.below(len)).collect();
    }
    let count = count as usize;
    let mut all: Vec<usize> = (0..len).collect();
    if count >= len {
        return all;
    }
    // Partial Fisher-Yates: the first `count` slots end up a uniform sample.
    for i in 0..count {
        let j = i + rng.below(len - i);
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
fn hscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis reads the cursor, then the key, then the options.
    scan_args(&argv[..3], 2, false)?;
    let mut items = Vec::new();
    let next = with_hash(ctx, &argv[1], |_, h| {
        let Some(h) = h else { return Ok(0) };
        let args = scan_args(argv, 2, false)?;
        Ok::<_, CmdError>(h.scan(args.cursor, args.count, |f, v| {
            if args.matches(f) {
                items.push(f.to_vec());
                items.push(v.to_vec());
            }
        }))
    })??;
    reply_scan(ctx, next, &items);
    Ok(())
}
