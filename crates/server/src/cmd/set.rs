//! Set commands.

use bytes::Bytes;
use shoal_store::{Set, Value};

use super::hash::{pick_args, random_picks};
use super::keys::{reply_scan, scan_args};
use super::typed::{self, drop_if_empty, entry_or_insert};
use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const WF: &[&str] = &["write", "denyoom", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const SW: &[&str] = &["@write", "@set", "@fast"];
const SWS: &[&str] = &["@write", "@set", "@slow"];
const SR: &[&str] = &["@read", "@set", "@fast"];
const SRS: &[&str] = &["@read", "@set", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd("sadd", -3, WF, (1, 1, 1), SW, "set", "1.0.0",
        "Adds one or more members to a set. Creates the key if it doesn't exist.", "key member [member ...]", sadd),
    cmd("srem", -3, &["write", "fast"], (1, 1, 1), SW, "set", "1.0.0",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
        "key member [member ...]", srem),
    cmd("smembers", 2, RS, (1, 1, 1), SRS, "set", "1.0.0", "Returns all members of a set.", "key", smembers),
    cmd("sismember", 3, RF, (1, 1, 1), SR, "set", "1.0.0", "Determines whether a member belongs to a set.",
        "key member", sismember),
    cmd("smismember", -3, RF, (1, 1, 1), SR, "set", "6.2.0", "Determines whether multiple members belong to a set.",
        "key member [member ...]", smismember),
    cmd("scard", 2, RF, (1, 1, 1), SR, "set", "1.0.0", "Returns the number of members in a set.", "key", scard),
    cmd("spop", -2, &["write", "fast"], (1, 1, 1), SW, "set", "1.0.0",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        "key [count]", spop),
    cmd("srandmember", -2, RS, (1, 1, 1), SRS, "set", "1.0.0", "Get one or multiple random members from a set",
        "key [count]", srandmember),
    cmd("smove", 4, &["write", "fast"], (1, 2, 1), SW, "set", "1.0.0", "Moves a member from one set to another.",
        "source destination member", smove),
    cmd("sinter", -2, RS, (1, -1, 1), SRS, "set", "1.0.0", "Returns the intersect of multiple sets.",
        "key [key ...]", sinter),
    cmd("sintercard", -3, &["readonly", "movablekeys"], (0, 0, 0), SRS, "set", "7.0.0",
        "Returns the number of members of the intersect of multiple sets.", "numkeys key [key ...] [LIMIT limit]",
        sintercard).keys_by(crate::command::numkeys_at::<1, false>),
    cmd("sunion", -2, RS, (1, -1, 1), SRS, "set", "1.0.0", "Returns the union of multiple sets.", "key [key ...]",
        sunion),
    cmd("sdiff", -2, RS, (1, -1, 1), SRS, "set", "1.0.0", "Returns the difference of multiple sets.",
        "key [key ...]", sdiff),
    cmd("sinterstore", -3, &["write", "denyoom"], (1, -1, 1), SWS, "set", "1.0.0",
        "Stores the intersect of multiple sets in a key.", "destination key [key ...]", sinterstore),
    cmd("sunionstore", -3, &["write", "denyoom"], (1, -1, 1), SWS, "set", "1.0.0",
        "Stores the union of multiple sets in a key.", "destination key [key ...]", sunionstore),
    cmd("sdiffstore", -3, &["write", "denyoom"], (1, -1, 1), SWS, "set", "1.0.0",
        "Stores the difference of multiple sets in a key.", "destination key [key ...]", sdiffstore),
    cmd("sscan", -3, RS, (1, 1, 1), SRS, "set", "2.8.0", "Iterates over members of a set.",
        "key cursor [MATCH pattern] [COUNT count]", sscan),
];

fn reply_members(ctx: &mut Ctx<'_>, members: &[Vec<u8>]) {
    ctx.out.set(members.len());
    for m in members {
        ctx.out.bulk(m);
    }
}

/// Reads the set at `key` (None if absent), WRONGTYPE for other types.
fn with_set<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Ctx<'_>, Option<&Set>) -> R,
) -> Result<R, CmdError> {
    let mut shard = ctx.db().lock(key);
    match shard.lookup_read(key, ctx.now) {
        None => Ok(f(ctx, None)),
        Some(e) => {
            ctx.touch(e);
            let s = typed::set(e)?;
            Ok(f(ctx, Some(s)))
        }
    }
}

/// `SADD key member [member ...]`
fn sadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let max_intset = ctx.node.hot.max_intset();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let first = &argv[2];
    let s = typed::set(entry_or_insert(ctx, &mut shard, key, || {
        Value::Set(Set::for_first(first))
    }))?;
    let added = argv[2..].iter().filter(|m| s.insert(m, max_intset)).count();
    drop(shard);
    if added > 0 {
        ctx.modified(key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// `SREM key member [member ...]`
fn srem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let s = typed::set(e)?;
    let removed = argv[2..].iter().filter(|m| s.remove(m)).count();
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if removed > 0 {
        ctx.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `SMEMBERS key`
fn smembers(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let members = with_set(ctx, &argv[1], |_, s| {
        s.map(Set::members).unwrap_or_default()
    })?;
    reply_members(ctx, &members);
    Ok(())
}

/// `SISMEMBER key member`
fn sismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_set(ctx, &argv[1], |ctx, s| {
        ctx.out
            .int(i64::from(s.is_some_and(|s| s.contains(&argv[2]))))
    })
}

/// `SMISMEMBER key member [member ...]`
fn smismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_set(ctx, &argv[1], |ctx, s| {
        ctx.out.array(argv.len() - 2);
        for m in &argv[2..] {
            ctx.out.int(i64::from(s.is_some_and(|s| s.contains(m))));
        }
    })
}

/// `SCARD key`
fn scard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_set(ctx, &argv[1], |ctx, s| {
        ctx.out.int(s.map_or(0, Set::len) as i64)
    })
}

/// A non-negative count argument (`SPOP`, `LPOP`…), with Redis's error.
pub fn positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    let n =
        arg_int(arg).map_err(|_| CmdError::other("ERR value is out of range, must be positive"))?;
    usize::try_from(n).map_err(|_| CmdError::other("ERR value is out of range, must be positive"))
}

/// `SPOP key [count]`
fn spop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = argv.get(2).map(|a| positive_count(a)).transpose()?;
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup_read(key, ctx.now) else {
        match count {
            Some(_) => ctx.out.set(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let s = typed::set(e)?;
    let picks = count.unwrap_or(1).min(s.len());
    let mut popped = Vec::with_capacity(picks);
    for _ in 0..picks {
        let Some(m) = s.random(|| ctx.conn.rng.next_u64()) else {
            break;
        };
        s.remove(&m);
        popped.push(m);
    }
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if !popped.is_empty() {
        ctx.modified(key);
    }
    match count {
        Some(_) => reply_members(ctx, &popped),
        None => match popped.first() {
            Some(m) => ctx.out.bulk(m),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// `SRANDMEMBER key [count]`
fn srandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (count, _) = pick_args(argv, None)?;
    let members = with_set(ctx, &argv[1], |ctx, s| match (s, count) {
        (None, _) => None,
        (Some(s), None) => s.random(|| ctx.conn.rng.next_u64()).map(|m| vec![m]),
        (Some(s), Some(n)) => {
            let all = s.members();
            Some(
                random_picks(all.len(), n, &mut ctx.conn.rng)
                    .into_iter()
                    .map(|i| all[i].clone())
                    .collect(),
            )
        }
    })?;
    match (count, members) {
        (None, Some(m)) => ctx.out.bulk(&m[0]),
        (None, None) => ctx.out.null(),
        (Some(_), m) => {
            let m = m.unwrap_or_default();
            ctx.out.array(m.len());
            for x in &m {
                ctx.out.bulk(x);
            }
        }
    }
    Ok(())
}

/// `SMOVE source destination member`
fn smove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let db = ctx.conn.db;
    let max_intset = ctx.node.hot.max_intset();
    let mut locked = ctx.node.store.lock([(db, &src[..]), (db, &dst[..])]);
    let Some(src_entry) = locked.shard(db, src).lookup(src, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    typed::set(src_entry)?;
    if let Some(e) = locked.shard(db, dst).lookup(dst, ctx.now) {
        typed::set(e)?;
    }
    if src == dst {
        let present = locked
            .shard(db, src)
            .lookup(src, ctx.now)
            .is_some_and(|e| matches!(&e.value, Value::Set(s) if s.contains(member)));
        ctx.out.int(i64::from(present));
        return Ok(());
    }
    let src_shard = locked.shard(db, src);
    let removed = match src_shard.lookup(src, ctx.now) {
        Some(e) => typed::set(e)?.remove(member),
        None => false,
    };
    if !removed {
        ctx.out.int(0);
        return Ok(());
    }
    drop_if_empty(src_shard, src, ctx.now);
    let dst_shard = locked.shard(db, dst);
    let s = typed::set(entry_or_insert(ctx, dst_shard, dst, || {
        Value::Set(Set::for_first(member))
    }))?;
    s.insert(member, max_intset);
    drop(locked);
    ctx.modified(src);
    ctx.modified(dst);
    ctx.out.int(1);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// Reads every set named (all type-checked first, as Redis does); a
/// missing key is `None`.
fn load_sets(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Vec<Option<Vec<Vec<u8>>>>, CmdError> {
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock(keys.iter().map(|k| (db, &k[..])));
    let mut sets = Vec::with_capacity(keys.len());
    for key in keys {
        match locked.shard(db, key).lookup_read(key, ctx.now) {
            None => sets.push(None),
            Some(e) => sets.push(Some(typed::set(e)?.members())),
        }
    }
    Ok(sets)
}

fn compute(op: Algebra, sets: Vec<Option<Vec<Vec<u8>>>>) -> Vec<Vec<u8>> {
    use std::collections::HashSet;
    let mut iter = sets.into_iter();
    let first = iter.next().flatten().unwrap_or_default();
    match op {
        Algebra::Inter => {
            let rest: Vec<Option<Vec<Vec<u8>>>> = iter.collect();
            if rest.iter().any(Option::is_none) {
                return Vec::new();
            }
            let others: Vec<HashSet<Vec<u8>>> = rest
                .into_iter()
                .flatten()
                .map(|s| s.into_iter().collect())
                .collect();
            first
                .into_iter()
                .filter(|m| others.iter().all(|o| o.contains(m)))
                .collect()
        }
        Algebra::Union => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for m in std::iter::once(first).chain(iter.flatten()).flatten() {
                if seen.insert(m.clone()) {
                    out.push(m);
                }
            }
            out
        }
        Algebra::Diff => {
            let others: HashSet<Vec<u8>> = iter.flatten().flatten().collect();
            first.into_iter().filter(|m| !others.contains(m)).collect()
        }
    }
}

fn algebra(ctx: &mut Ctx<'_>, argv: &[Bytes], op: Algebra) -> CmdResult {
    let sets = load_sets(ctx, &argv[1..])?;
    reply_members(ctx, &compute(op, sets));
    Ok(())
}

fn algebra_store(ctx: &mut Ctx<'_>, argv: &[Bytes], op: Algebra) -> CmdResult {
    let sets = load_sets(ctx, &argv[2..])?;
    let result = compute(op, sets);
    let dst = &argv[1];
    let mut shard = ctx.db().lock(dst);
    let existed = if result.is_empty() {
        shard.remove(dst).is_some()
    } else {
        let existed = shard.lookup(dst, ctx.now).is_some();
        let max_intset = ctx.node.hot.max_intset();
        // Redis builds the destination as an intset and converts as it adds.
        let mut set = Set::Intset(shoal_store::IntSet::default());
        for m in &result {
            set.insert(m, max_intset);
        }
        let entry = ctx.entry(Value::Set(set));
        ctx.put(&mut shard, dst, entry);
        existed
    };
    drop(shard);
    if existed || !result.is_empty() {
        ctx.modified(dst);
    }
    ctx.out.int(result.len() as i64);
    Ok(())
}

/// `SINTER key [key ...]`
fn sinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, Algebra::Inter)
}

/// `SUNION key [key ...]`
fn sunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, Algebra::Union)
}

/// `SDIFF key [key ...]`
fn sdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, Algebra::Diff)
}

/// `SINTERSTORE destination key [key ...]`
fn sinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Inter)
}

/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Union)
}

/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Diff)
}

/// Parses `numkeys key [key ...]` starting at `at`; returns the keys and
/// the index after them. Errors are Redis's.
pub fn numkeys(argv: &[Bytes], at: usize) -> Result<(&[Bytes], usize), CmdError> {
    let n = arg_int(&argv[at])
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::other("ERR numkeys should be greater than 0"))?;
    if n > argv.len() - at - 1 {
        return Err(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok((&argv[at + 1..at + 1 + n], at + 1 + n))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, mut i) = numkeys(argv, 1)?;
    let mut limit = 0usize;
    while i < argv.len() {
        if eq(&argv[i], "limit") && i + 1 < argv.len() {
            // Redis gives this one error for a non-integer LIMIT too.
            let n = arg_int(&argv[i + 1]).unwrap_or(-1);
            if n < 0 {
                return Err(CmdError::other("ERR LIMIT can't be negative"));
            }
            limit = n as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let sets = load_sets(ctx, keys)?;
    let mut n = compute(Algebra::Inter, sets).len();
    if limit > 0 {
        n = n.min(limit);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
fn sscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis reads the cursor, then the key, then the options.
    scan_args(&argv[..3], 2, false)?;
    let mut items = Vec::new();
    let next = with_set(ctx, &argv[1], |_, s| {
        let Some(s) = s else { return Ok(0) };
        let args = scan_args(argv, 2, false)?;
        Ok::<_, CmdError>(s.scan(args.cursor, args.count, |m| {
            if args.matches(m) {
                items.push(m.to_vec());
            }
        }))
    })??;
    reply_scan(ctx, next, &items);
    Ok(())
}
