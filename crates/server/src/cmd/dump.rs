//! DUMP and RESTORE: values in Redis 7.0's serialized form
//! (`shoal_store::rdb`), so data moves between Redis and shoal both ways.
//!
//! DUMP writes the encoding the value has now (a hash that became a
//! hashtable is dumped as one, as Redis does); RESTORE rebuilds a value
//! with this node's encoding rules, as Redis's loader does.

use bytes::Bytes;
use shoal_store::evict::Policy;
use shoal_store::rdb::{self, DumpOptions, RdbValue};
use shoal_store::zset::{AddFlags, ZSet};
use shoal_store::{Hash, List, Set, Str, Value};

use super::{arg_int, eq};
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Command] = &[
    cmd(
        "dump",
        2,
        &["readonly"],
        (1, 1, 1),
        &["@keyspace", "@read", "@slow"],
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        "key",
        dump,
    ),
    cmd(
        "restore",
        -4,
        &["write", "denyoom"],
        (1, 1, 1),
        &["@keyspace", "@write", "@slow", "@dangerous"],
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        restore,
    ),
];

/// The neutral form of a value, and dump options that make `rdb::dump`
/// choose the encoding the value has now.
fn to_rdb(value: &Value, node_limits: DumpOptions) -> (RdbValue, DumpOptions) {
    let mut opts = node_limits;
    let rdb = match value {
        Value::Str(s) => RdbValue::String(s.to_vec()),
        Value::List(l) => RdbValue::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Hash(h) => {
            if h.encoding() == "hashtable" {
                opts.hash_max_listpack_entries = 0;
            } else {
                opts.hash_max_listpack_entries = usize::MAX;
                opts.hash_max_listpack_value = usize::MAX;
            }
            RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
        }
        Value::Set(s) => {
            opts.set_max_intset_entries = if s.encoding() == "intset" {
                usize::MAX
            } else {
                0
            };
            RdbValue::Set(s.members())
        }
        Value::ZSet(z) => {
            if z.encoding() == "skiplist" {
                opts.zset_max_listpack_entries = 0;
            } else {
                opts.zset_max_listpack_entries = usize::MAX;
                opts.zset_max_listpack_value = usize::MAX;
            }
            RdbValue::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect())
        }
    };
    (rdb, opts)
}

/// Rebuilds a value as this node would have built it element by element.
fn from_rdb(rdb: RdbValue, ctx: &Ctx<'_>) -> Result<Value, CmdError> {
    Ok(match rdb {
        RdbValue::String(b) => Value::Str(Str::new(&b)),
        RdbValue::List(items) => Value::List(items.into_iter().collect::<List>()),
        RdbValue::Hash(pairs) => {
            let limits = ctx.node.hot.hash_limits();
            let mut h = Hash::default();
            for (f, v) in &pairs {
                h.insert(f, v, limits);
            }
            Value::Hash(h)
        }
        RdbValue::Set(members) => {
            let max_intset = ctx.node.hot.max_intset();
            let mut s = members
                .first()
                .map_or(Set::Intset(shoal_store::IntSet::default()), |m| {
                    Set::for_first(m)
                });
            if members.len() > max_intset {
                s = Set::for_first(b"not an integer");
            }
            for m in &members {
                s.insert(m, max_intset);
            }
            Value::Set(s)
        }
        RdbValue::ZSet(pairs) => {
            // Redis's loader: a skiplist, shrunk to a listpack if it fits.
            let limits = ctx.node.hot.zset_limits();
            let mut z = ZSet::new_skiplist();
            for (m, score) in &pairs {
                z.add(m, *score, AddFlags::default(), limits)
                    .map_err(|_| CmdError::other("ERR Bad data format"))?;
            }
            z.convert_to_listpack_if_needed(limits);
            Value::ZSet(z)
        }
    })
}

fn dump_options(ctx: &Ctx<'_>) -> DumpOptions {
    node_dump_options(ctx.node)
}

fn node_dump_options(node: &crate::node::Node) -> DumpOptions {
    let c = node.config.read();
    DumpOptions {
        hash_max_listpack_entries: c.hash_max_listpack_entries as usize,
        hash_max_listpack_value: c.hash_max_listpack_value as usize,
        set_max_intset_entries: c.set_max_intset_entries as usize,
        zset_max_listpack_entries: c.zset_max_listpack_entries as usize,
        zset_max_listpack_value: c.zset_max_listpack_value as usize,
        ..DumpOptions::default()
    }
}

/// `value` as DUMP serializes it on `node` (what a slot's keys travel as
/// when they move to another node, [`crate::migrate`]).
pub(crate) fn serialize(node: &crate::node::Node, value: &Value) -> Vec<u8> {
    let (value, opts) = to_rdb(value, node_dump_options(node));
    rdb::dump(&value, &opts)
}

/// `DUMP key`
fn dump(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let limits = dump_options(ctx);
    let mut shard = ctx.db().lock(&argv[1]);
    match shard.lookup_read(&argv[1], ctx.now) {
        None => ctx.out.null(),
        Some(e) => {
            let (value, opts) = to_rdb(&e.value, limits);
            ctx.out.bulk(&rdb::dump(&value, &opts));
        }
    }
    Ok(())
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
fn restore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if eq(&argv[i], "replace") {
            replace = true;
        } else if eq(&argv[i], "absttl") {
            absttl = true;
        } else if eq(&argv[i], "idletime") && more >= 1 && freq.is_none() {
            let n = arg_int(&argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::other("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            i += 1;
        } else if eq(&argv[i], "freq") && more >= 1 && idle.is_none() {
            let n = arg_int(&argv[i + 1])?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::other(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = &argv[1];
    let mut shard = ctx.db().lock(key);
    if !replace && shard.lookup(key, ctx.now).is_some() {
        return Err(CmdError::other("BUSYKEY Target key name already exists."));
    }
    let ttl = arg_int(&argv[2])?;
    if ttl < 0 {
        return Err(CmdError::other("ERR Invalid TTL value, must be >= 0"));
    }
    let value = rdb::restore(&argv[3]).map_err(|e| CmdError::other(e.reply()))?;
    let value = from_rdb(value, ctx)?;
    let deleted = replace && shard.remove(key).is_some();
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t,
        // Redis adds the clock in C's wrapping signed arithmetic: a huge
        // relative TTL wraps negative and the key counts as already expired.
        t => t.wrapping_add(ctx.now as i64),
    };
    if expire_at != 0 && expire_at <= ctx.now as i64 {
        drop(shard);
        if deleted {
            ctx.modified(key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let mut entry = ctx.entry(value);
    entry.expire_at = expire_at as u64;
    // As Redis's objectSetLRUOrLFU: FREQ only under a policy that counts
    // frequency, IDLETIME only under one that does not.
    let policy = ctx.node.hot.policy();
    match (freq, idle) {
        (Some(f), _) if policy == Policy::AllKeysTinyLfu => {
            entry.access = shoal_store::sketch::resident(f as u32, ctx.node.evictor.epoch());
        }
        (Some(f), _) if policy.lfu() => entry.access = (entry.access & !0xff) | f as u32,
        (_, Some(seconds)) if !policy.counts_frequency() => {
            let clock = shoal_store::keyspace::lru_clock(ctx.now);
            entry.access = clock.saturating_sub(u32::try_from(seconds).unwrap_or(u32::MAX));
        }
        _ => {}
    }
    shard.insert(key, entry);
    drop(shard);
    ctx.modified(key);
    ctx.out.ok();
    Ok(())
}
