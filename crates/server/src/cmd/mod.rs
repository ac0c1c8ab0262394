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
pub mod lock;
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

/// The arguments of the `*MPOP` family after the numkeys at `at`, parsed
/// in Redis's order (`lmpopGenericCommand`, `zmpopGenericCommand`): the
/// keys, the side (`parse_side` of the word after them) and the count.
/// A blocking form reads its timeout only after these succeed.
pub fn mpop_args<T>(
    argv: &[bytes::Bytes],
    at: usize,
    parse_side: impl Fn(&[u8]) -> Result<T, CmdError>,
) -> Result<(&[bytes::Bytes], T, usize), CmdError> {
    let positive = |arg: &[u8], msg: &'static str| {
        arg_int(arg)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n >= 1)
            .ok_or_else(|| CmdError::other(msg))
    };
    let n = positive(&argv[at], "ERR numkeys should be greater than 0")?;
    let side_at = at.saturating_add(n).saturating_add(1);
    let side = parse_side(argv.get(side_at).ok_or(CmdError::Syntax)?)?;
    let mut count = None;
    let mut j = side_at + 1;
    while j < argv.len() {
        if count.is_none() && eq(&argv[j], "count") && j + 1 < argv.len() {
            count = Some(positive(
                &argv[j + 1],
                "ERR count should be greater than 0",
            )?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&argv[at + 1..side_at], side, count.unwrap_or(1)))
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
