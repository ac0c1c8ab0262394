//! List commands (the blocking forms come with the blocking machinery).

use bytes::Bytes;
use shoal_store::list::{resolve_index, resolve_range};
use shoal_store::{List, Value};

use super::set::positive_count;
use super::typed::{self, drop_if_empty, entry_or_insert};
use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const WF: &[&str] = &["write", "denyoom", "fast"];
const LW: &[&str] = &["@write", "@list", "@fast"];
const LWS: &[&str] = &["@write", "@list", "@slow"];
const LR: &[&str] = &["@read", "@list", "@fast"];
const LRS: &[&str] = &["@read", "@list", "@slow"];

pub static COMMANDS: &[Command] = &[
    cmd("lpush", -3, WF, (1, 1, 1), LW, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        "key element [element ...]", lpush),
    cmd("rpush", -3, WF, (1, 1, 1), LW, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        "key element [element ...]", rpush),
    cmd("lpushx", -3, WF, (1, 1, 1), LW, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.",
        "key element [element ...]", lpushx),
    cmd("rpushx", -3, WF, (1, 1, 1), LW, "list", "2.2.0", "Appends an element to a list only when the list exists.",
        "key element [element ...]", rpushx),
    cmd("lpop", -2, &["write", "fast"], (1, 1, 1), LW, "list", "1.0.0",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        "key [count]", lpop),
    cmd("rpop", -2, &["write", "fast"], (1, 1, 1), LW, "list", "1.0.0",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        "key [count]", rpop),
    cmd("lrange", 4, &["readonly"], (1, 1, 1), LRS, "list", "1.0.0", "Returns a range of elements from a list.",
        "key start stop", lrange),
    cmd("llen", 2, &["readonly", "fast"], (1, 1, 1), LR, "list", "1.0.0", "Returns the length of a list.", "key", llen),
    cmd("lindex", 3, &["readonly"], (1, 1, 1), LRS, "list", "1.0.0", "Returns an element from a list by its index.",
        "key index", lindex),
    cmd("lset", 4, &["write", "denyoom"], (1, 1, 1), LWS, "list", "1.0.0", "Sets the value of an element in a list by its index.",
        "key index element", lset),
    cmd("lrem", 4, &["write"], (1, 1, 1), LWS, "list", "1.0.0",
        "Removes elements from a list. Deletes the list if the last element was removed.", "key count element", lrem),
    cmd("ltrim", 4, &["write"], (1, 1, 1), LWS, "list", "1.0.0",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "key start stop", ltrim),
    cmd("linsert", 5, &["write", "denyoom"], (1, 1, 1), LWS, "list", "2.2.0",
        "Inserts an element before or after another element in a list.", "key BEFORE|AFTER pivot element", linsert),
    cmd("lpos", -3, &["readonly"], (1, 1, 1), LRS, "list", "6.0.6", "Returns the index of matching elements in a list.",
        "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", lpos),
    cmd("lmove", 5, &["write", "denyoom"], (1, 2, 1), LWS, "list", "6.2.0",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        "source destination LEFT|RIGHT LEFT|RIGHT", lmove),
    cmd("rpoplpush", 3, &["write", "denyoom"], (1, 2, 1), LWS, "list", "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        "source destination", rpoplpush),
    cmd("lmpop", -4, &["write", "movablekeys"], (0, 0, 0), LWS, "list", "7.0.0",
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
        "numkeys key [key ...] LEFT|RIGHT [COUNT count]", lmpop).keys_by(crate::command::numkeys_at::<1, false>),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

pub fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if eq(arg, "left") {
        Ok(End::Left)
    } else if eq(arg, "right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

pub fn push(list: &mut List, end: End, item: &[u8]) {
    match end {
        End::Left => list.push_front(item),
        End::Right => list.push_back(item),
    }
}

pub fn pop(list: &mut List, end: End) -> Option<Box<[u8]>> {
    match end {
        End::Left => list.pop_front(),
        End::Right => list.pop_back(),
    }
}

fn push_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if only_existing {
        let Some(e) = shard.lookup(key, ctx.now) else {
            ctx.out.int(0);
            return Ok(());
        };
        typed::list(e)?;
    }
    let list = typed::list(entry_or_insert(ctx, &mut shard, key, || {
        Value::List(List::default())
    }))?;
    for item in &argv[2..] {
        push(list, end, item);
    }
    ctx.out.int(list.len() as i64);
    drop(shard);
    ctx.modified(key);
    Ok(())
}

/// `LPUSH key element [element ...]`
fn lpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, false)
}

/// `RPUSH key element [element ...]`
fn rpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, false)
}

/// `LPUSHX key element [element ...]`
fn lpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, true)
}

/// `RPUSHX key element [element ...]`
fn rpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&argv[0]).to_lowercase(),
        ));
    }
    let count = argv.get(2).map(|a| positive_count(a)).transpose()?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let list = typed::list(e)?;
    let changed = count != Some(0);
    match count {
        None => match pop(list, end) {
            Some(item) => ctx.out.bulk(&item),
            None => ctx.out.null(),
        },
        Some(n) => {
            let n = n.min(list.len());
            ctx.out.array(n);
            for _ in 0..n {
                if let Some(item) = pop(list, end) {
                    ctx.out.bulk(&item);
                }
            }
        }
    }
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if changed {
        ctx.modified(key);
    }
    Ok(())
}

/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Left)
}

/// `RPOP key [count]`
fn rpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Right)
}

/// Reads the list at `key` (None if absent), WRONGTYPE for other types.
fn with_list<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Ctx<'_>, Option<&List>) -> R,
) -> Result<R, CmdError> {
    let mut shard = ctx.db().lock(key);
    match shard.lookup_read(key, ctx.now) {
        None => Ok(f(ctx, None)),
        Some(e) => {
            ctx.touch(e);
            let l = typed::list(e)?;
            Ok(f(ctx, Some(l)))
        }
    }
}

/// `LRANGE key start stop`
fn lrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_int(&argv[2])?;
    let stop = arg_int(&argv[3])?;
    with_list(ctx, &argv[1], |ctx, list| {
        let Some(list) = list else {
            ctx.out.array(0);
            return;
        };
        match resolve_range(list.len(), start, stop) {
            None => ctx.out.array(0),
            Some((a, b)) => {
                ctx.out.array(b - a + 1);
                for item in list.range(a, b) {
                    ctx.out.bulk(item);
                }
            }
        }
    })
}

/// `LLEN key`
fn llen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    with_list(ctx, &argv[1], |ctx, l| {
        ctx.out.int(l.map_or(0, |l| l.len()) as i64)
    })
}

/// `LINDEX key index`
fn lindex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis looks the key up before it parses the index.
    with_list(ctx, &argv[1], |ctx, l| {
        let Some(l) = l else {
            ctx.out.null();
            return Ok(());
        };
        match resolve_index(l.len(), arg_int(&argv[2])?).and_then(|i| l.get(i)) {
            Some(item) => ctx.out.bulk(item),
            None => ctx.out.null(),
        }
        Ok(())
    })?
}

/// `LSET key index element`
fn lset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut shard = ctx.db().lock(&argv[1]);
    let Some(e) = shard.lookup(&argv[1], ctx.now) else {
        return Err(CmdError::NoSuchKey);
    };
    let list = typed::list(e)?;
    // Redis looks the key up before it parses the index.
    let index = arg_int(&argv[2])?;
    let i = resolve_index(list.len(), index)
        .ok_or_else(|| CmdError::other("ERR index out of range"))?;
    list.set(i, &argv[3]);
    drop(shard);
    ctx.modified(&argv[1]);
    ctx.out.ok();
    Ok(())
}

/// `LREM key count element`
fn lrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = arg_int(&argv[2])?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    let Some(e) = shard.lookup(key, ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let list = typed::list(e)?;
    let removed = list.remove_matching(&argv[3], count);
    drop_if_empty(&mut shard, key, ctx.now);
    drop(shard);
    if removed > 0 {
        ctx.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `LTRIM key start stop`
fn ltrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_int(&argv[2])?;
    let stop = arg_int(&argv[3])?;
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if let Some(e) = shard.lookup(key, ctx.now) {
        let list = typed::list(e)?;
        match resolve_range(list.len(), start, stop) {
            None => list.clear(),
            Some((a, b)) => list.keep_range(a, b),
        }
        drop_if_empty(&mut shard, key, ctx.now);
        drop(shard);
        ctx.modified(key);
    }
    ctx.out.ok();
    Ok(())
}

/// `LINSERT key BEFORE|AFTER pivot element`
fn linsert(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let after = if eq(&argv[2], "after") {
        true
    } else if eq(&argv[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let mut shard = ctx.db().lock(&argv[1]);
    let Some(e) = shard.lookup(&argv[1], ctx.now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let list = typed::list(e)?;
    let pivot = list.iter().position(|item| item == &argv[3][..]);
    match pivot {
        None => ctx.out.int(-1),
        Some(i) => {
            list.insert(if after { i + 1 } else { i }, &argv[4]);
            ctx.out.int(list.len() as i64);
            drop(shard);
            ctx.modified(&argv[1]);
        }
    }
    Ok(())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let Some(value) = argv.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if eq(&argv[i], "rank") {
            rank = arg_int(value)?;
            if rank == 0 {
                return Err(CmdError::other("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            if rank == i64::MIN {
                // Redis negates it in wrapping arithmetic and then takes
                // every match as reaching the rank: RANK -1, in effect.
                rank = -1;
            }
        } else if eq(&argv[i], "count") {
            let n = arg_int(value)?;
            if n < 0 {
                return Err(CmdError::other("ERR COUNT can't be negative"));
            }
            count = Some(n);
        } else if eq(&argv[i], "maxlen") {
            maxlen = arg_int(value)?;
            if maxlen < 0 {
                return Err(CmdError::other("ERR MAXLEN can't be negative"));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let target = &argv[2][..];
    let matches = with_list(ctx, &argv[1], |_, l| {
        let l = l?;
        let wanted = match count {
            Some(0) => usize::MAX,
            Some(n) => n as usize,
            None => 1,
        };
        let scan_limit = if maxlen == 0 {
            usize::MAX
        } else {
            maxlen as usize
        };
        let mut skip = rank.unsigned_abs() - 1;
        let mut found = Vec::new();
        let items: Vec<&[u8]> = l.iter().collect();
        let indexes: Box<dyn Iterator<Item = usize>> = if rank > 0 {
            Box::new(0..items.len())
        } else {
            Box::new((0..items.len()).rev())
        };
        for idx in indexes.take(scan_limit) {
            if items[idx] == target {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push(idx as i64);
                    if found.len() >= wanted {
                        break;
                    }
                }
            }
        }
        Some(found)
    })?;
    match count {
        None => match matches.and_then(|m| m.first().copied()) {
            Some(i) => ctx.out.int(i),
            None => ctx.out.null(),
        },
        Some(_) => {
            let m = matches.unwrap_or_default();
            ctx.out.array(m.len());
            for i in m {
                ctx.out.int(i);
            }
        }
    }
    Ok(())
}

fn lmove_generic(ctx: &mut Ctx<'_>, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    let db = ctx.conn.db;
    let mut locked = ctx.node.store.lock([(db, &src[..]), (db, &dst[..])]);
    let Some(e) = locked.shard(db, src).lookup(src, ctx.now) else {
        ctx.out.null();
        return Ok(());
    };
    typed::list(e)?;
    if let Some(e) = locked.shard(db, dst).lookup(dst, ctx.now) {
        typed::list(e)?;
    }
    let src_shard = locked.shard(db, src);
    let item = match src_shard.lookup(src, ctx.now) {
        Some(e) => pop(typed::list(e)?, from),
        None => None,
    };
    let Some(item) = item else {
        ctx.out.null();
        return Ok(());
    };
    drop_if_empty(src_shard, src, ctx.now);
    let dst_shard = locked.shard(db, dst);
    let list = typed::list(entry_or_insert(ctx, dst_shard, dst, || {
        Value::List(List::default())
    }))?;
    push(list, to, &item);
    ctx.out.bulk(&item);
    drop(locked);
    ctx.modified(src);
    ctx.modified(dst);
    Ok(())
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
fn lmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    lmove_generic(ctx, &argv[1], &argv[2], from, to)
}

/// `RPOPLPUSH source destination`
fn rpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &argv[1], &argv[2], End::Right, End::Left)
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn lmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (keys, end, count) = super::mpop_args(argv, 1, parse_end)?;
    for key in keys {
        let mut shard = ctx.db().lock(key);
        let Some(e) = shard.lookup(key, ctx.now) else {
            continue;
        };
        let list = typed::list(e)?;
        let n = count.min(list.len());
        let items: Vec<Box<[u8]>> = (0..n).filter_map(|_| pop(list, end)).collect();
        drop_if_empty(&mut shard, key, ctx.now);
        drop(shard);
        ctx.modified(key);
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(items.len());
        for item in &items {
            ctx.out.bulk(item);
        }
        return Ok(());
    }
    ctx.out.null_array();
    Ok(())
}
