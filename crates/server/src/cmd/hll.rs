//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE. The registers live in
//! ordinary string values, byte-compatible with Redis 7.0
//! (`shoal_store::hll`), so GET, DUMP and RESTORE carry them unchanged.

use bytes::Bytes;
use shoal_store::hll::{self, HllError};
use shoal_store::{Str, Value};

use super::string::as_str;
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const ACL: &[&str] = &["@write", "@hyperloglog", "@fast"];

pub static COMMANDS: &[Command] = &[
    cmd(
        "pfadd",
        -2,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        ACL,
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        "key [element [element ...]]",
        pfadd,
    ),
    cmd(
        "pfcount",
        -2,
        &["readonly", "may_replicate"],
        (1, -1, 1),
        &["@read", "@hyperloglog", "@slow"],
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        "key [key ...]",
        pfcount,
    ),
    cmd(
        "pfmerge",
        -2,
        &["write", "denyoom"],
        (1, -1, 1),
        &["@write", "@hyperloglog", "@slow"],
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        "destkey [sourcekey [sourcekey ...]]",
        pfmerge,
    ),
];

fn hll_error(e: HllError) -> CmdError {
    CmdError::other(e.reply())
}

/// A key's HyperLogLog for update, checked as Redis's `isHLLObjectOrReply`
/// before its string is unshared (so a refused value keeps its encoding).
fn hll_value(e: &mut shoal_store::Entry) -> Result<&mut Vec<u8>, CmdError> {
    let s = as_str(e)?;
    if !s.with_bytes(hll::is_valid) {
        return Err(hll_error(HllError::NotHll));
    }
    Ok(s.make_raw())
}

/// A copy of a key's HyperLogLog for reading several keys, checked as
/// Redis checks each key in turn (type, header, then its registers while
/// merging), so the first bad key in argument order decides the error.
fn hll_copy(e: &mut shoal_store::Entry) -> Result<Vec<u8>, CmdError> {
    let bytes = as_str(e)?.to_vec();
    hll::count_union(&[&bytes]).map_err(hll_error)?;
    Ok(bytes)
}

fn sparse_max(ctx: &Ctx<'_>) -> usize {
    ctx.node.config.read().hll_sparse_max_bytes as usize
}

/// `PFADD key [element [element ...]]`
fn pfadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sparse_max = sparse_max(ctx);
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let changed = match shard.lookup(key, ctx.now) {
        None => {
            let value = hll::create(&argv[2..], sparse_max);
            shard.insert(key, ctx.entry(Value::Str(Str::Raw(value))));
            true
        }
        Some(e) => {
            let bytes = hll_value(e)?;
            hll::add(bytes, &argv[2..], sparse_max).map_err(hll_error)?
        }
    };
    drop(shard);
    if changed {
        ctx.modified(key);
    }
    ctx.out.int(i64::from(changed));
    Ok(())
}

/// `PFCOUNT key [key ...]`
fn pfcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        let key = &argv[1];
        let mut shard = ctx.db().lock(key);
        let count = match shard.lookup_read(key, ctx.now) {
            None => None,
            Some(e) => Some(hll::count(hll_value(e)?).map_err(hll_error)?),
        };
        drop(shard);
        if count.is_some_and(|c| c.cache_written) {
            // Rewriting the cached cardinality changes the string (Redis
            // signals it although PFCOUNT is read-only).
            ctx.modified(key);
        }
        ctx.out.int(count.map_or(0, |c| c.cardinality as i64));
        return Ok(());
    }
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock(argv[1..].iter().map(|k| (db, &k[..])));
    let mut values = Vec::new();
    for key in &argv[1..] {
        if let Some(e) = locked.shard(db, key).lookup_read(key, ctx.now) {
            values.push(hll_copy(e)?);
        }
    }
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    let n = hll::count_union(&refs).map_err(hll_error)?;
    ctx.out.int(n as i64);
    Ok(())
}

/// `PFMERGE destkey [sourcekey [sourcekey ...]]`
fn pfmerge(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sparse_max = sparse_max(ctx);
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock(argv[1..].iter().map(|k| (db, &k[..])));
    // Redis checks the destination first, then each source in order.
    let dest_key = &argv[1];
    let mut dest = match locked.shard(db, dest_key).lookup(dest_key, ctx.now) {
        Some(e) => hll_copy(e)?,
        None => hll::new_sparse(),
    };
    let mut sources = Vec::new();
    for key in &argv[2..] {
        if let Some(e) = locked.shard(db, key).lookup(key, ctx.now) {
            sources.push(hll_copy(e)?);
        }
    }
    let refs: Vec<&[u8]> = sources.iter().map(Vec::as_slice).collect();
    hll::merge_into(&mut dest, &refs, sparse_max).map_err(hll_error)?;
    let shard = locked.shard(db, dest_key);
    let expire_at = shard.lookup(dest_key, ctx.now).map_or(0, |e| e.expire_at);
    let mut entry = ctx.entry(Value::Str(Str::Raw(dest)));
    entry.expire_at = expire_at;
    ctx.put(shard, dest_key, entry);
    drop(locked);
    ctx.modified(dest_key);
    ctx.out.ok();
    Ok(())
}
