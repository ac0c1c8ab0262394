//! Command handlers, one family per file (as Redis groups them). Each
//! handler's doc comment starts with its wire syntax. The shared argument
//! helpers below keep parsing rules (and their errors) identical everywhere.

pub mod bitmap;
pub mod blocking;
pub mod cluster;
pub mod connection;
pub mod dump;
pub mod hash;
pub mod hll;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod string;
pub mod transaction;
pub mod zset;

use crate::command::Ctx;
use crate::error::CmdError;

/// Case-insensitive comparison of an argument with an option name.
pub fn eq(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// An integer argument, or Redis's "not an integer" error.
pub fn arg_int(arg: &[u8]) -> Result<i64, CmdError> {
    shoal_proto::number::string2ll(arg).ok_or(CmdError::NotInteger)
}

/// An argument Redis reads as a C `int` (`getIntFromObjectOrReply`).
pub fn arg_i32(arg: &[u8]) -> Result<i32, CmdError> {
    let n = arg_int(arg)?;
    i32::try_from(n).map_err(|_| {
        CmdError::other("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
}

/// A float argument, or Redis's "not a valid float" error.
pub fn arg_float(arg: &[u8]) -> Result<f64, CmdError> {
    shoal_proto::number::parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// A `HELP` reply in Redis's layout: a title line, the given lines, and
/// the closing `HELP` entry.
pub fn help(ctx: &mut Ctx<'_>, container: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// Typed access to a key's value: each returns WRONGTYPE for another type.
pub mod typed {
    use shoal_store::{Entry, Hash, List, Set, Shard, Value};

    use crate::command::Ctx;
    use crate::error::CmdError;

    macro_rules! accessor {
        ($name:ident, $variant:ident, $ty:ty) => {
            pub fn $name(e: &mut Entry) -> Result<&mut $ty, CmdError> {
                match &mut e.value {
                    Value::$variant(v) => Ok(v),
                    _ => Err(CmdError::WrongType),
                }
            }
        };
    }
    accessor!(hash, Hash, Hash);
    accessor!(set, Set, Set);
    accessor!(list, List, List);
    accessor!(zset, ZSet, shoal_store::zset::ZSet);

    /// The live entry at `key`, created with `make` if absent; WRONGTYPE
    /// checking is left to the accessor the caller applies next.
    pub fn entry_or_insert<'s>(
        ctx: &Ctx<'_>,
        shard: &'s mut Shard,
        key: &[u8],
        make: impl FnOnce() -> Value,
    ) -> &'s mut Entry {
        if shard.lookup(key, ctx.now).is_none() {
            shard.insert(key, ctx.entry(make()));
        }
        shard
            .lookup(key, ctx.now)
            .expect("the key was just found or inserted under the shard lock")
    }

    /// Deletes `key` if its collection became empty (Redis never keeps empty collections).
    pub fn drop_if_empty(shard: &mut Shard, key: &[u8], now: u64) {
        if shard
            .lookup(key, now)
            .is_some_and(|e| e.value.is_empty_collection())
        {
            shard.remove(key);
        }
    }
}
