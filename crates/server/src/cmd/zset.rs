//! Sorted-set commands (Redis 7.0 semantics, replies and errors). The value
//! itself, its encodings and the parsing of score and lex ranges live in
//! [`shoal_store::zset`]; this module parses arguments, picks the reply shape
//! for RESP2 or RESP3 and never reaches into the structure's internals.
//!
//! Reply shapes follow Redis 7.0: `WITHSCORES` is a flat member/score array
//! in RESP2 and an array of `[member, score]` pairs in RESP3 (scores are
//! RESP3 doubles); `ZPOPMIN`/`ZPOPMAX` nest pairs only in RESP3 and only with
//! a count; `ZMPOP`/`BZMPOP` always nest. The blocking pops register their
//! waits through [`super::blocking`], which serves them when a writer makes
//! a sorted set ready.
//!
//! **ZSCAN.** A listpack is returned whole with cursor 0, as Redis does. A
//! skiplist has no bucket cursor to borrow, and a rank or score cursor would
//! skip members when others are removed or rescored between calls, so the
//! cursor is a position in a fixed hash order of the members themselves:
//! each call returns every member whose hash lies in `[cursor, t]` and
//! answers `t + 1` (0 when none is left). A member present for the whole
//! scan keeps its hash, so it is returned exactly once whatever else
//! changes. Each call walks the whole set, so a call returns at least
//! `len / 32` members (COUNT is a hint, as in Redis), which bounds a full
//! scan to about 32 walks.

use std::collections::{BinaryHeap, HashMap};
use std::hash::Hasher;

use bytes::Bytes;
use shoal_proto::number::format_double;
use shoal_proto::Reply;
use shoal_store::zset::{
    parse_score_bound, AddFlags, AddResult, LexRange, Limit, ScoreRange, ZSet, ZSetError,
};
use shoal_store::{Locked, Set, Value};

use super::hash::pick_args;
use super::keys::{reply_scan, scan_args};
use super::set::positive_count;
use super::typed::{self, drop_if_empty, entry_or_insert};
use super::{arg_int, eq};
use crate::command::{cmd, numkeys_at, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const WF: &[&str] = &["write", "denyoom", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const ZW: &[&str] = &["@write", "@sortedset", "@fast"];
const ZWS: &[&str] = &["@write", "@sortedset", "@slow"];
const ZR: &[&str] = &["@read", "@sortedset", "@fast"];
const ZRS: &[&str] = &["@read", "@sortedset", "@slow"];
const STORE: &[&str] = &["write", "denyoom", "movablekeys"];
const ALGEBRA: &[&str] = &["readonly", "movablekeys"];
const G: &str = "sorted-set";

pub static COMMANDS: &[Command] = &[
    cmd("zadd", -4, WF, (1, 1, 1), ZW, G, "1.2.0",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]", zadd),
    cmd("zincrby", 4, WF, (1, 1, 1), ZW, G, "1.2.0",
        "Increments the score of a member in a sorted set.", "key increment member", zincrby),
    cmd("zscore", 3, RF, (1, 1, 1), ZR, G, "1.2.0", "Returns the score of a member in a sorted set.",
        "key member", zscore),
    cmd("zmscore", -3, RF, (1, 1, 1), ZR, G, "6.2.0", "Returns the score of one or more members in a sorted set.",
        "key member [member ...]", zmscore),
    cmd("zcard", 2, RF, (1, 1, 1), ZR, G, "1.2.0", "Returns the number of members in a sorted set.", "key", zcard),
    cmd("zcount", 4, RF, (1, 1, 1), ZR, G, "2.0.0",
        "Returns the count of members in a sorted set that have scores within a range.", "key min max", zcount),
    cmd("zlexcount", 4, RF, (1, 1, 1), ZR, G, "2.8.9",
        "Returns the number of members in a sorted set within a lexicographical range.", "key min max", zlexcount),
    cmd("zrange", -4, RS, (1, 1, 1), ZRS, G, "1.2.0", "Returns members in a sorted set within a range of indexes.",
        "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", zrange),
    cmd("zrangestore", -5, &["write", "denyoom"], (1, 2, 1), ZWS, G, "6.2.0",
        "Stores a range of members from sorted set in a key.",
        "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]", zrangestore),
    cmd("zrangebyscore", -4, RS, (1, 1, 1), ZRS, G, "1.0.5",
        "Returns members in a sorted set within a range of scores.",
        "key min max [WITHSCORES] [LIMIT offset count]", zrangebyscore),
    cmd("zrevrangebyscore", -4, RS, (1, 1, 1), ZRS, G, "2.2.0",
        "Returns members in a sorted set within a range of scores in reverse order.",
        "key max min [WITHSCORES] [LIMIT offset count]", zrevrangebyscore),
    cmd("zrangebylex", -4, RS, (1, 1, 1), ZRS, G, "2.8.9",
        "Returns members in a sorted set within a lexicographical range.", "key min max [LIMIT offset count]",
        zrangebylex),
    cmd("zrevrangebylex", -4, RS, (1, 1, 1), ZRS, G, "2.8.9",
        "Returns members in a sorted set within a lexicographical range in reverse order.",
        "key max min [LIMIT offset count]", zrevrangebylex),
    cmd("zrevrange", -4, RS, (1, 1, 1), ZRS, G, "1.2.0",
        "Returns members in a sorted set within a range of indexes in reverse order.",
        "key start stop [WITHSCORES]", zrevrange),
    cmd("zrank", 3, RF, (1, 1, 1), ZR, G, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.",
        "key member", zrank),
    cmd("zrevrank", 3, RF, (1, 1, 1), ZR, G, "2.0.0",
        "Returns the index of a member in a sorted set ordered by descending scores.", "key member", zrevrank),
    cmd("zrem", -3, &["write", "fast"], (1, 1, 1), ZW, G, "1.2.0",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        "key member [member ...]", zrem),
    cmd("zremrangebyrank", 4, &["write"], (1, 1, 1), ZWS, G, "2.0.0",
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        "key start stop", zremrangebyrank),
    cmd("zremrangebyscore", 4, &["write"], (1, 1, 1), ZWS, G, "1.2.0",
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        "key min max", zremrangebyscore),
    cmd("zremrangebylex", 4, &["write"], (1, 1, 1), ZWS, G, "2.8.9",
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        "key min max", zremrangebylex),
    cmd("zpopmin", -2, &["write", "fast"], (1, 1, 1), ZW, G, "5.0.0",
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        "key [count]", zpopmin),
    cmd("zpopmax", -2, &["write", "fast"], (1, 1, 1), ZW, G, "5.0.0",
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        "key [count]", zpopmax),
    cmd("bzpopmin", -3, &["write", "noscript", "blocking", "fast"], (1, -2, 1),
        &["@write", "@sortedset", "@fast", "@blocking"], G, "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        "key [key ...] timeout", bzpopmin),
    cmd("bzpopmax", -3, &["write", "noscript", "blocking", "fast"], (1, -2, 1),
        &["@write", "@sortedset", "@fast", "@blocking"], G, "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
        "key [key ...] timeout", bzpopmax),
    cmd("zmpop", -4, &["write", "movablekeys"], (0, 0, 0), ZWS, G, "7.0.0",
        "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
        "numkeys key [key ...] MIN|MAX [COUNT count]", zmpop).keys_by(numkeys_at::<1, false>),
    cmd("bzmpop", -5, &["write", "blocking", "movablekeys"], (0, 0, 0),
        &["@write", "@sortedset", "@slow", "@blocking"], G, "7.0.0",
        "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        "timeout numkeys key [key ...] MIN|MAX [COUNT count]", bzmpop).keys_by(numkeys_at::<2, false>),
    cmd("zrandmember", -2, RS, (1, 1, 1), ZRS, G, "6.2.0", "Returns one or more random members from a sorted set.",
        "key [count [WITHSCORES]]", zrandmember),
    cmd("zunion", -3, ALGEBRA, (0, 0, 0), ZRS, G, "6.2.0", "Returns the union of multiple sorted sets.",
        "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", zunion)
        .keys_by(numkeys_at::<1, false>),
    cmd("zinter", -3, ALGEBRA, (0, 0, 0), ZRS, G, "6.2.0", "Returns the intersect of multiple sorted sets.",
        "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", zinter)
        .keys_by(numkeys_at::<1, false>),
    cmd("zdiff", -3, ALGEBRA, (0, 0, 0), ZRS, G, "6.2.0", "Returns the difference between multiple sorted sets.",
        "numkeys key [key ...] [WITHSCORES]", zdiff).keys_by(numkeys_at::<1, false>),
    cmd("zintercard", -3, ALGEBRA, (0, 0, 0), ZRS, G, "7.0.0",
        "Returns the number of members of the intersect of multiple sorted sets.",
        "numkeys key [key ...] [LIMIT limit]", zintercard).keys_by(numkeys_at::<1, false>),
    cmd("zunionstore", -4, STORE, (1, 1, 1), ZWS, G, "2.0.0",
        "Stores the union of multiple sorted sets in a key.",
        "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", zunionstore)
        .keys_by(numkeys_at::<2, true>),
    cmd("zinterstore", -4, STORE, (1, 1, 1), ZWS, G, "2.0.0",
        "Stores the intersect of multiple sorted sets in a key.",
        "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", zinterstore)
        .keys_by(numkeys_at::<2, true>),
    cmd("zdiffstore", -4, STORE, (1, 1, 1), ZWS, G, "6.2.0",
        "Stores the difference of multiple sorted sets in a key.", "destination numkeys key [key ...]", zdiffstore)
        .keys_by(numkeys_at::<2, true>),
    cmd("zscan", -3, RS, (1, 1, 1), ZRS, G, "2.8.0", "Iterates over members and scores of a sorted set.",
        "key cursor [MATCH pattern] [COUNT count]", zscan),
];

// -- shared helpers -----------------------------------------------------------

/// A store-level error as Redis's reply.
fn zerr(e: ZSetError) -> CmdError {
    CmdError::other(e.reply())
}

/// A double argument as Redis's `string2d` reads it (`getDoubleFromObject`):
/// all of it must be what `strtod` accepts, with no leading space, no NUL,
/// not NaN, and not out of range (a finite literal that overflows to ±inf
/// or a non-zero one that underflows to 0 is refused, as `ERANGE` is).
fn parse_double(arg: &[u8]) -> Option<f64> {
    let plain = match arg.first() {
        None => false,
        Some(&b) => !matches!(b, b'(' | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
    };
    if !plain || arg.contains(&0) {
        return None;
    }
    let value = parse_score_bound(arg).ok()?.value;
    let lower = arg.to_ascii_lowercase();
    if value.is_infinite() && !lower.windows(3).any(|w| w == b"inf") {
        return None;
    }
    if value == 0.0 && nonzero_mantissa(&lower) {
        return None;
    }
    Some(value)
}

/// Whether a (lower-cased, valid) strtod literal has a non-zero digit
/// before its exponent: such a literal that reads as 0 underflowed.
fn nonzero_mantissa(lower: &[u8]) -> bool {
    let body = lower
        .strip_prefix(b"-")
        .or_else(|| lower.strip_prefix(b"+"))
        .unwrap_or(lower);
    match body.strip_prefix(b"0x") {
        Some(hex) => hex
            .iter()
            .take_while(|&&b| b != b'p')
            .any(|&b| b.is_ascii_hexdigit() && b != b'0'),
        None => body
            .iter()
            .take_while(|&&b| b != b'e')
            .any(|&b| matches!(b, b'1'..=b'9')),
    }
}

/// A score argument (ZADD, ZINCRBY), or Redis's "not a valid float".
fn score_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_double(arg).ok_or(CmdError::NotFloat)
}

/// Reads the sorted set at `key` (None if absent), WRONGTYPE for other types.
fn with_zset<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Ctx<'_>, Option<&ZSet>) -> R,
) -> Result<R, CmdError> {
    let mut shard = ctx.db().lock(key);
    match shard.lookup_read(key, ctx.now) {
        None => Ok(f(ctx, None)),
        Some(e) => {
            ctx.touch(e);
            let z = typed::zset(e)?;
            Ok(f(ctx, Some(z)))
        }
    }
}

/// Writes `[member, score]` pairs: a flat array in RESP2, nested pairs in
/// RESP3; members alone without `withscores`.
fn reply_members<'a>(
    out: &mut Reply,
    len: usize,
    items: impl IntoIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    let nested = withscores && out.resp3;
    out.array(if withscores && !nested { len * 2 } else { len });
    for (member, score) in items {
        if nested {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

/// Pops `count` members from the low (`max == false`) or high end.
pub fn pop(z: &mut ZSet, max: bool, count: usize) -> Vec<(Box<[u8]>, f64)> {
    if max {
        z.pop_max(count)
    } else {
        z.pop_min(count)
    }
}

/// The reply of the pop family (Redis's `genericZpopCommand`): with a key
/// (the BZ/M forms) it comes first; `nested` gives `[member, score]` pairs.
pub fn reply_pop(out: &mut Reply, key: Option<&[u8]>, popped: &[(Box<[u8]>, f64)], nested: bool) {
    match (key, nested) {
        (None, false) => out.array(popped.len() * 2),
        (None, true) => out.array(popped.len()),
        (Some(key), false) => {
            out.array(popped.len() * 2 + 1);
            out.bulk(key);
        }
        (Some(key), true) => {
            out.array(2);
            out.bulk(key);
            out.array(popped.len());
        }
    }
    for (member, score) in popped {
        if nested {
            out.array(2);
        }
        out.bulk(member);
        out.double(*score);
    }
}

// -- ZADD, ZINCRBY ------------------------------------------------------------

/// Redis's `zaddGenericCommand`, shared by ZADD and ZINCRBY (which is ZADD
/// with INCR forced on, so `ZINCRBY key nx member` is a syntax error, as there).
fn zadd_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], incr: bool) -> CmdResult {
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut at = 2;
    while let Some(opt) = argv.get(at) {
        if eq(opt, "nx") {
            flags.nx = true;
        } else if eq(opt, "xx") {
            flags.xx = true;
        } else if eq(opt, "ch") {
            ch = true;
        } else if eq(opt, "incr") {
            flags.incr = true;
        } else if eq(opt, "gt") {
            flags.gt = true;
        } else if eq(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        at += 1;
    }
    let pairs = &argv[at..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::other(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::other(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && pairs.len() > 2 {
        return Err(CmdError::other(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks_exact(2)
        .map(|p| score_arg(&p[0]))
        .collect::<Result<Vec<f64>, CmdError>>()?;
    let limits = ctx.node.hot.zset_limits();
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if let Some(e) = shard.lookup(key, ctx.now) {
        typed::zset(e)?;
    } else if flags.xx {
        // No key and XX: nothing to do, nothing created.
        if flags.incr {
            ctx.out.null();
        } else {
            ctx.out.int(0);
        }
        return Ok(());
    }
    let z = typed::zset(entry_or_insert(ctx, &mut shard, key, || {
        Value::ZSet(ZSet::for_first(&pairs[1], limits))
    }))?;
    let mut changed = 0i64;
    // Added or updated, whatever CH says: what Redis signals watchers for.
    let mut modified = false;
    let mut last = AddResult::Skipped;
    for (pair, &score) in pairs.chunks_exact(2).zip(&scores) {
        match z.add(&pair[1], score, flags, limits) {
            Ok(result) => {
                changed += i64::from(result.changed(ch));
                modified |= result.changed(true);
                last = result;
            }
            Err(e) => {
                drop_if_empty(&mut shard, key, ctx.now);
                drop(shard);
                if modified {
                    ctx.modified(key);
                }
                return Err(zerr(e));
            }
        }
    }
    drop(shard);
    if modified {
        ctx.modified(key);
    }
    if flags.incr {
        match last.new_score() {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(changed);
    }
    Ok(())
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, argv, false)
}

/// `ZINCRBY key increment member`
fn zincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, argv, true)
}

// -- point reads --------------------------------------------------------------

/// `ZSCORE key member`
fn zscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_zset(ctx, &argv[1], |ctx, z| {
        match z.and_then(|z| z.score(&argv[2])) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    })
}

/// `ZMSCORE key member [member ...]`
fn zmscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_zset(ctx, &argv[1], |ctx, z| {
        ctx.out.array(argv.len() - 2);
        for member in &argv[2..] {
            match z.and_then(|z| z.score(member)) {
                Some(s) => ctx.out.double(s),
                None => ctx.out.null(),
            }
        }
    })
}

/// `ZCARD key`
fn zcard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_zset(ctx, &argv[1], |ctx, z| {
        ctx.out.int(z.map_or(0, ZSet::len) as i64)
    })
}

/// `ZCOUNT key min max`
fn zcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&argv[2], &argv[3]).map_err(zerr)?;
    with_zset(ctx, &argv[1], |ctx, z| {
        ctx.out
            .int(z.map_or(0, |z| z.count_by_score(&range)) as i64)
    })
}

/// `ZLEXCOUNT key min max`
fn zlexcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&argv[2], &argv[3]).map_err(zerr)?;
    with_zset(ctx, &argv[1], |ctx, z| {
        ctx.out.int(z.map_or(0, |z| z.count_by_lex(&range)) as i64)
    })
}

fn rank_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], reverse: bool) -> CmdResult {
    with_zset(ctx, &argv[1], |ctx, z| {
        match z.and_then(|z| z.rank(&argv[2], reverse)) {
            Some(r) => ctx.out.int(r as i64),
            None => ctx.out.null(),
        }
    })
}

/// `ZRANK key member`
fn zrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, false)
}

/// `ZREVRANK key member`
fn zrevrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, true)
}

// -- ranges -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    /// ZRANGE and ZRANGESTORE: decided by BYSCORE/BYLEX, else by rank.
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed range, borrowing lex bounds from argv.
enum RangeSpec<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// Redis's `zrangeGenericCommand`: the source key is at `at`, its two
/// bounds follow, then options. `dst` makes it ZRANGESTORE. `rev` is
/// `Some` when the command fixes the direction (then REV is a syntax error).
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    at: usize,
    dst: Option<&Bytes>,
    mut by: RangeBy,
    rev: Option<bool>,
) -> CmdResult {
    let store = dst.is_some();
    let mut withscores = false;
    let mut reverse = rev;
    let mut limit = Limit::ALL;
    let mut j = at + 3;
    while j < argv.len() {
        let opt = &argv[j];
        let left = argv.len() - j - 1;
        if !store && eq(opt, "withscores") {
            withscores = true;
        } else if eq(opt, "limit") && left >= 2 {
            limit = Limit {
                offset: arg_int(&argv[j + 1])?,
                count: arg_int(&argv[j + 2])?,
            };
            j += 2;
        } else if reverse.is_none() && eq(opt, "rev") {
            reverse = Some(true);
        } else if by == RangeBy::Auto && eq(opt, "bylex") {
            by = RangeBy::Lex;
        } else if by == RangeBy::Auto && eq(opt, "byscore") {
            by = RangeBy::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if by == RangeBy::Auto {
        by = RangeBy::Rank;
    }
    // Redis tests the count, not the presence: `LIMIT 0 -1` passes by rank.
    if limit.count != -1 && by == RangeBy::Rank {
        return Err(CmdError::other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == RangeBy::Lex {
        return Err(CmdError::other(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // By score or lex, REV takes the range as max, min.
    let (lo, hi) = if reverse && by != RangeBy::Rank {
        (&argv[at + 2], &argv[at + 1])
    } else {
        (&argv[at + 1], &argv[at + 2])
    };
    let spec = match by {
        RangeBy::Score => RangeSpec::Score(ScoreRange::parse(lo, hi).map_err(zerr)?),
        RangeBy::Lex => RangeSpec::Lex(LexRange::parse(lo, hi).map_err(zerr)?),
        _ => RangeSpec::Rank(arg_int(lo)?, arg_int(hi)?),
    };
    fn pick<'z>(
        z: &'z ZSet,
        spec: &RangeSpec<'_>,
        limit: Limit,
        reverse: bool,
    ) -> Vec<(&'z [u8], f64)> {
        match spec {
            RangeSpec::Rank(start, stop) => z.range_by_rank(*start, *stop, reverse),
            RangeSpec::Score(r) => z.range_by_score(r, limit, reverse),
            RangeSpec::Lex(r) => z.range_by_lex(r, limit, reverse),
        }
    }
    let src = &argv[at];
    let Some(dst) = dst else {
        return with_zset(ctx, src, |ctx, z| {
            let items = z
                .map(|z| pick(z, &spec, limit, reverse))
                .unwrap_or_default();
            reply_members(ctx.out, items.len(), items, withscores);
        });
    };
    let db = ctx.conn.db;
    let limits = ctx.node.hot.zset_limits();
    let mut locked = ctx.node.store.lock([(db, &src[..]), (db, &dst[..])]);
    let stored = match locked.shard(db, src).lookup_read(src, ctx.now) {
        None => None,
        Some(e) => {
            // Redis builds the destination as a listpack and adds in order.
            let mut out = ZSet::new();
            for (member, score) in pick(typed::zset(e)?, &spec, limit, reverse) {
                out.add(member, score, AddFlags::default(), limits)
                    .map_err(zerr)?;
            }
            Some(out)
        }
    };
    let shard = locked.shard(db, dst);
    let modified = match stored {
        Some(z) if !z.is_empty() => {
            let n = z.len();
            let entry = ctx.entry(Value::ZSet(z));
            ctx.put(shard, dst, entry);
            ctx.out.int(n as i64);
            true
        }
        _ => {
            ctx.out.int(0);
            shard.remove(dst).is_some()
        }
    };
    drop(locked);
    if modified {
        ctx.modified(dst);
    }
    Ok(())
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Auto, None)
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
fn zrangestore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 2, Some(&argv[1]), RangeBy::Auto, None)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Score, Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Score, Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Lex, Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Lex, Some(true))
}

/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, 1, None, RangeBy::Rank, Some(true))
}

// -- removal ------------------------------------------------------------------

/// `ZREM key member [member ...]`
fn zrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = typed::zset(e)?;
    let removed = argv[2..].iter().filter(|m| z.remove(m)).count();
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if removed > 0 {
        ctx.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// ZREMRANGEBY*: the range is parsed (and refused) before the key is read.
fn zremrange(ctx: &mut Ctx<'_>, key: &Bytes, range: RangeSpec<'_>) -> CmdResult {
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = typed::zset(e)?;
    let removed = match range {
        RangeSpec::Rank(start, stop) => z.remove_range_by_rank(start, stop),
        RangeSpec::Score(r) => z.remove_range_by_score(&r),
        RangeSpec::Lex(r) => z.remove_range_by_lex(&r),
    };
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if removed > 0 {
        ctx.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let range = RangeSpec::Rank(arg_int(&argv[2])?, arg_int(&argv[3])?);
    zremrange(ctx, &argv[1], range)
}

/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let range = RangeSpec::Score(ScoreRange::parse(&argv[2], &argv[3]).map_err(zerr)?);
    zremrange(ctx, &argv[1], range)
}

/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let range = RangeSpec::Lex(LexRange::parse(&argv[2], &argv[3]).map_err(zerr)?);
    zremrange(ctx, &argv[1], range)
}

// -- pops ---------------------------------------------------------------------

fn zpop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = argv.get(2).map(|a| positive_count(a)).transpose()?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.array(0);
        return Ok(());
    };
    let z = typed::zset(e)?;
    let popped = pop(z, max, count.unwrap_or(1));
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if !popped.is_empty() {
        ctx.modified(key);
    }
    // Pairs nest only in RESP3 and only when a count was given.
    let nested = ctx.out.resp3 && count.is_some();
    reply_pop(ctx.out, None, &popped, nested);
    Ok(())
}

/// `ZPOPMIN key [count]`
fn zpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, argv, false)
}

/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, argv, true)
}

/// `MIN` → false, `MAX` → true.
fn min_or_max(arg: &[u8]) -> Result<bool, CmdError> {
    if eq(arg, "min") {
        Ok(false)
    } else if eq(arg, "max") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`
fn zmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, max, count) = super::mpop_args(argv, 1, min_or_max)?;
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock(keys.iter().map(|k| (db, &k[..])));
    for key in keys {
        let shard = locked.shard(db, key);
        let Some(e) = shard.lookup(key, ctx.now) else {
            continue;
        };
        let popped = pop(typed::zset(e)?, max, count);
        drop_if_empty(shard, key, ctx.now);
        drop(locked);
        ctx.modified(key);
        reply_pop(ctx.out, Some(key), &popped, true);
        return Ok(());
    }
    ctx.out.null_array();
    Ok(())
}

/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = super::blocking::parse_timeout(&argv[argv.len() - 1])?;
    super::blocking::zpop_or_block(ctx, &argv[1..argv.len() - 1], false, None, timeout)
}

/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = super::blocking::parse_timeout(&argv[argv.len() - 1])?;
    super::blocking::zpop_or_block(ctx, &argv[1..argv.len() - 1], true, None, timeout)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
fn bzmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis reads the timeout last, after the other arguments.
    let (keys, max, count) = super::mpop_args(argv, 2, min_or_max)?;
    let timeout = super::blocking::parse_timeout(&argv[1])?;
    super::blocking::zpop_or_block(ctx, keys, max, Some(count), timeout)
}

// -- ZRANDMEMBER --------------------------------------------------------------

/// `ZRANDMEMBER key [count [WITHSCORES]]`
fn zrandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (Some(count), withscores) = pick_args(argv, Some("withscores"))? else {
        return with_zset(ctx, &argv[1], |ctx, z| {
            match z.and_then(|z| z.random(|| ctx.conn.rng.next_u64())) {
                Some((member, _)) => ctx.out.bulk(member),
                None => ctx.out.null(),
            }
        });
    };
    with_zset(ctx, &argv[1], |ctx, z| {
        let (Some(z), false) = (z, count == 0) else {
            ctx.out.array(0);
            return;
        };
        let rng = &mut ctx.conn.rng;
        if count < 0 {
            let n = count.unsigned_abs() as usize;
            let picks = z.random_with_replacement(n, || rng.next_u64());
            reply_members(ctx.out, n, picks, withscores);
        } else if count as usize >= z.len() {
            // The whole set, highest first: Redis walks it with
            // `zuiNext`, which starts from the tail.
            reply_members(ctx.out, z.len(), z.iter_rev(), withscores);
        } else {
            let picks = z.random_distinct(count as usize, || rng.next_u64());
            reply_members(ctx.out, picks.len(), picks, withscores);
        }
    })
}

// -- ZUNION, ZINTER, ZDIFF and their STORE forms ------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: a SUM that is NaN (`inf + -inf`)
    /// becomes 0; MIN and MAX keep the target when `value` is NaN.
    fn fold(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// An input of the algebra: a sorted set, or a plain set whose members
/// all score 1.
enum Source<'a> {
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl Source<'_> {
    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Sorted(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::Plain(s) => s.members().iter().for_each(|m| f(m, 1.0)),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => s.contains(member).then_some(1.0),
        }
    }
}

/// The input at `key`, already type-checked; `None` if absent.
fn source<'l>(locked: &'l mut Locked<'_>, db: usize, key: &[u8], now: u64) -> Option<Source<'l>> {
    match locked.shard(db, key).lookup(key, now).map(|e| &e.value) {
        Some(Value::ZSet(z)) => Some(Source::Sorted(z)),
        Some(Value::Set(s)) => Some(Source::Plain(s)),
        _ => None,
    }
}

/// Redis's `zunionInterDiffGenericCommand`. `at` is the numkeys position;
/// `dst` makes it a STORE; `card_only` is ZINTERCARD.
fn zsetop(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    name: &str,
    at: usize,
    dst: Option<&Bytes>,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let setnum = arg_int(&argv[at])?;
    if setnum < 1 {
        return Err(CmdError::other(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum > (argv.len() - at - 1) as i64 {
        return Err(CmdError::Syntax);
    }
    let keys = &argv[at + 1..at + 1 + setnum as usize];
    let db = ctx.conn.db;
    let mut locked = ctx
        .node
        .store
        .lock(keys.iter().chain(dst).map(|k| (db, &k[..])));
    // Inputs are read and type-checked before the options are parsed.
    let mut lens = Vec::with_capacity(keys.len());
    for key in keys {
        lens.push(match locked.shard(db, key).lookup_read(key, ctx.now) {
            None => 0,
            Some(e) => match &e.value {
                Value::ZSet(z) => z.len(),
                Value::Set(s) => s.len(),
                _ => return Err(CmdError::WrongType),
            },
        });
    }
    let mut weights = vec![1.0f64; keys.len()];
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = at + 1 + keys.len();
    while j < argv.len() {
        let opt = &argv[j];
        let left = argv.len() - j;
        let algebra_opts = op != SetOp::Diff && !card_only;
        if algebra_opts && left > keys.len() && eq(opt, "weights") {
            for (w, arg) in weights.iter_mut().zip(&argv[j + 1..]) {
                *w = parse_double(arg)
                    .ok_or_else(|| CmdError::other("ERR weight value is not a float"))?;
            }
            j += 1 + keys.len();
        } else if algebra_opts && left >= 2 && eq(opt, "aggregate") {
            let a = &argv[j + 1];
            aggregate = if eq(a, "sum") {
                Aggregate::Sum
            } else if eq(a, "min") {
                Aggregate::Min
            } else if eq(a, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && left >= 2 && eq(opt, "limit") {
            let too_low = || CmdError::other("ERR LIMIT can't be negative");
            let n = arg_int(&argv[j + 1]).map_err(|_| too_low())?;
            limit = usize::try_from(n).map_err(|_| too_low())?;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Smallest input first (stable, as glibc's qsort is here): it decides
    // the order SUM adds in, which rounding can tell apart.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&i| lens[i]);
    }
    let now = ctx.now;
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    match op {
        SetOp::Inter if lens[order[0]] > 0 => {
            let first = order[0];
            if let Some(src) = source(&mut locked, db, &keys[first], now) {
                src.for_each(|m, s| {
                    let score = weights[first] * s;
                    result.push((m.to_vec(), if score.is_nan() { 0.0 } else { score }));
                });
            }
            for &i in &order[1..] {
                let Some(src) = source(&mut locked, db, &keys[i], now) else {
                    result.clear();
                    break;
                };
                result.retain_mut(|(m, score)| match src.score(m) {
                    Some(s) => {
                        aggregate.fold(score, s * weights[i]);
                        true
                    }
                    None => false,
                });
            }
        }
        SetOp::Inter => {}
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for &i in &order {
                let Some(src) = source(&mut locked, db, &keys[i], now) else {
                    continue;
                };
                src.for_each(|m, s| {
                    let mut score = weights[i] * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(existing) => aggregate.fold(existing, score),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if let Some(src) = source(&mut locked, db, &keys[0], now) {
                src.for_each(|m, s| result.push((m.to_vec(), s)));
            }
            for key in &keys[1..] {
                if result.is_empty() {
                    break;
                }
                if let Some(src) = source(&mut locked, db, key, now) {
                    result.retain(|(m, _)| src.score(m).is_none());
                }
            }
        }
    }
    if card_only {
        let n = if limit > 0 {
            result.len().min(limit)
        } else {
            result.len()
        };
        ctx.out.int(n as i64);
        return Ok(());
    }
    // The skiplist's order: score (`-0` equal to `0`; never NaN here), then bytes.
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let Some(dst) = dst else {
        let items = result.iter().map(|(m, s)| (&m[..], *s));
        reply_members(ctx.out, result.len(), items, withscores);
        return Ok(());
    };
    let shard = locked.shard(db, dst);
    if result.is_empty() {
        let existed = shard.remove(dst).is_some();
        drop(locked);
        if existed {
            ctx.modified(dst);
        }
        ctx.out.int(0);
        return Ok(());
    }
    // Redis builds a skiplist, then shrinks it to a listpack if it fits.
    let limits = ctx.node.hot.zset_limits();
    let mut z = ZSet::new_skiplist();
    for (member, score) in &result {
        z.add(member, *score, AddFlags::default(), limits)
            .map_err(zerr)?;
    }
    z.convert_to_listpack_if_needed(limits);
    let n = z.len();
    let entry = ctx.entry(Value::ZSet(z));
    ctx.put(shard, dst, entry);
    drop(locked);
    ctx.modified(dst);
    ctx.out.int(n as i64);
    Ok(())
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(ctx, argv, "zunion", 1, None, SetOp::Union, false)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(ctx, argv, "zinter", 1, None, SetOp::Inter, false)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(ctx, argv, "zdiff", 1, None, SetOp::Diff, false)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
fn zintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(ctx, argv, "zintercard", 1, None, SetOp::Inter, true)
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]`
fn zunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(
        ctx,
        argv,
        "zunionstore",
        2,
        Some(&argv[1]),
        SetOp::Union,
        false,
    )
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]`
fn zinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(
        ctx,
        argv,
        "zinterstore",
        2,
        Some(&argv[1]),
        SetOp::Inter,
        false,
    )
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    zsetop(
        ctx,
        argv,
        "zdiffstore",
        2,
        Some(&argv[1]),
        SetOp::Diff,
        false,
    )
}

// -- ZSCAN --------------------------------------------------------------------

/// A skiplist ZSCAN never walks more than this many times per full scan.
const SCAN_WALKS: usize = 32;

/// A member's place in ZSCAN's cursor order: SipHash with fixed keys, so it
/// is the same on every call for the life of the process.
fn scan_position(member: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(member);
    h.finish()
}

/// A score as a listpack holds it, which is what ZSCAN returns for one:
/// integers in `double2ll`'s range as integers (so `-0` reads `0`),
/// anything else as `%.17g`.
fn listpack_score_text(score: f64) -> String {
    let bound = (i64::MAX / 2) as f64;
    if score.fract() == 0.0 && (-bound..=bound).contains(&score) {
        (score as i64).to_string()
    } else {
        format_double(score)
    }
}

/// One ZSCAN call on a skiplist from `cursor` (see the module doc): the
/// members whose position is in `[cursor, t]`, where at least `batch`
/// positions are covered, and the next cursor (0 when done).
fn scan_skiplist(z: &ZSet, cursor: u64, batch: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
    // The `batch` smallest positions at or past the cursor.
    let mut heap: BinaryHeap<u64> = BinaryHeap::new();
    let mut beyond = 0usize;
    for (member, _) in z.iter() {
        let p = scan_position(member);
        if p < cursor {
            continue;
        }
        beyond += 1;
        if heap.len() < batch {
            heap.push(p);
        } else if heap.peek().is_some_and(|&top| p < top) {
            heap.pop();
            heap.push(p);
        }
    }
    let (last, next) = match heap.peek() {
        Some(&t) if beyond > heap.len() => (t, t.wrapping_add(1)),
        _ => (u64::MAX, 0),
    };
    for (member, score) in z.iter() {
        let p = scan_position(member);
        if (cursor..=last).contains(&p) {
            visit(member, score);
        }
    }
    next
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
fn zscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis reads the cursor, then the key, then the options.
    scan_args(&argv[..3], 2, false)?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup_read(key, ctx.now) else {
        drop(shard);
        reply_scan(ctx, 0, &[]);
        return Ok(());
    };
    ctx.touch(e);
    let z = typed::zset(e)?;
    let args = scan_args(argv, 2, false)?;
    let mut items = Vec::new();
    let next = if z.encoding() == "listpack" {
        for (member, score) in z.iter() {
            if args.matches(member) {
                items.push(member.to_vec());
                items.push(listpack_score_text(score).into_bytes());
            }
        }
        0
    } else {
        let batch = args.count.max(z.len().div_ceil(SCAN_WALKS));
        scan_skiplist(z, args.cursor, batch, |member, score| {
            if args.matches(member) {
                items.push(member.to_vec());
                items.push(format_double(score).into_bytes());
            }
        })
    };
    drop(shard);
    reply_scan(ctx, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_double_follows_string2d() {
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"0x1p3"), Some(8.0));
        assert_eq!(parse_double(b"1e-310"), Some(1e-310));
        assert_eq!(parse_double(b"0e999"), Some(0.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"(1",
            b"1\x002",
            b"nan",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"0x1p-2000",
            b"abc",
        ] {
            assert_eq!(
                parse_double(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn listpack_scores_scan_as_integers_where_redis_stores_them_so() {
        assert_eq!(listpack_score_text(1e17), "100000000000000000");
        assert_eq!(listpack_score_text(-0.0), "0");
        assert_eq!(listpack_score_text(1e20), "1e+20");
        assert_eq!(listpack_score_text(0.1), "0.10000000000000001");
        assert_eq!(listpack_score_text(f64::INFINITY), "inf");
    }

    #[test]
    fn skiplist_scan_returns_every_stable_member_despite_concurrent_changes() {
        let limits = shoal_store::zset::ZSetLimits::default();
        let mut z = ZSet::new_skiplist();
        for i in 0..2000 {
            let m = format!("m{i}");
            z.add(m.as_bytes(), i as f64, AddFlags::default(), limits)
                .expect("finite score");
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = scan_skiplist(&z, cursor, 10.max(z.len().div_ceil(SCAN_WALKS)), |m, _| {
                seen.insert(m.to_vec());
            });
            calls += 1;
            // Between calls: remove some, rescore others, add new ones.
            for i in (calls * 7..2000).step_by(97) {
                let m = format!("m{i}");
                if i % 2 == 0 {
                    z.remove(m.as_bytes());
                } else {
                    z.add(m.as_bytes(), -(i as f64), AddFlags::default(), limits)
                        .expect("finite score");
                }
            }
            for i in 0..20 {
                let m = format!("new{calls}-{i}");
                z.add(m.as_bytes(), 0.5, AddFlags::default(), limits)
                    .expect("finite score");
            }
            if cursor == 0 {
                break;
            }
            assert!(calls < 100, "scan does not end");
        }
        assert!(calls <= SCAN_WALKS + 2, "{calls} calls");
        for (m, _) in z.iter() {
            let m = String::from_utf8_lossy(m);
            if m.starts_with("m") {
                assert!(seen.contains(m.as_bytes()), "{m} missed");
            }
        }
    }
}
