//! DELEX, DELIFEQ and LOCK.TOKEN. On lock keys they never get here: the
//! router sends them to the metadata group ([`crate::lock`]). On cache
//! keys DELEX and DELIFEQ compare and delete a string, as Redis 8.4 and
//! Valkey 9 do; LOCK.TOKEN only has a meaning in the lock namespace.

use bytes::Bytes;

use super::eq;
use super::string::as_str;
use crate::command::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

const KW: &[&str] = &["@keyspace", "@write", "@fast"];
const KR: &[&str] = &["@keyspace", "@read", "@fast"];

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("delex", -2, &["write", "fast"], (1, 1, 1), KW, "generic", "8.4.0",
        "Deletes a key, or only if its string value is (IFEQ) or is not (IFNE) the one given.",
        "key [IFEQ value|IFNE value]", delex),
    cmd("delifeq", 3, &["write", "fast"], (1, 1, 1), KW, "generic", "9.0.0",
        "Deletes a key if its string value is the one given.", "key value", delifeq),
    cmd("lock.token", 2, &["readonly", "fast"], (1, 1, 1), KR, "generic", "0.1.0",
        "Returns the fencing token of a held lock (a key of the lock namespace).", "key", lock_token),
];

/// A condition on a string value.
type Test<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Deletes `key` if `test` holds for its string value (None: any type, no
/// condition); replies 1 or 0.
fn delete_if(ctx: &mut Ctx<'_>, key: &Bytes, test: Option<Test<'_>>) -> CmdResult {
    let mut shard = ctx.db().lock(key);
    let doomed = match (shard.lookup(key, ctx.now), test) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(e), Some(test)) => as_str(e)?.with_bytes(test),
    };
    if doomed {
        shard.remove(key);
        drop(shard);
        ctx.modified(key);
    }
    ctx.out.int(i64::from(doomed));
    Ok(())
}

/// `DELEX key [IFEQ value|IFNE value]`
fn delex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        2 => delete_if(ctx, &argv[1], None),
        4 if eq(&argv[2], "ifeq") => delete_if(ctx, &argv[1], Some(&|v| v == &argv[3][..])),
        4 if eq(&argv[2], "ifne") => delete_if(ctx, &argv[1], Some(&|v| v != &argv[3][..])),
        _ => Err(CmdError::Syntax),
    }
}

/// `DELIFEQ key value`
fn delifeq(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    delete_if(ctx, &argv[1], Some(&|v| v == &argv[2][..]))
}

/// `LOCK.TOKEN key` on a cache key.
fn lock_token(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::other(
        "ERR LOCK.TOKEN takes a key of the lock namespace (see lock-prefix)",
    ))
}
