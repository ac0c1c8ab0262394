//! The lock namespace (DESIGN.md §6): keys under a `lock-prefix` (default
//! `lock:`) are not cache keys. Commands on them go through the metadata
//! group ([`shoal_meta::locks`]): changes as log entries stamped by the
//! leader, reads as the leader's linearizable reads, from any node. Only
//! the commands a lock needs are taken; anything else is refused with an
//! error that names the namespace.

use bytes::Bytes;
use shoal_meta::locks::{Condition, ExpireWhen, Expiry, Op, Outcome, Read, MAX_BYTES};
use shoal_proto::Reply;

use crate::cmd::{arg_int, eq};
use crate::command::Command;
use crate::conn::ConnState;
use crate::error::CmdError;
use crate::node::Node;

/// A command on lock keys, ready for the metadata group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Change(Op),
    Read(Read),
    /// TTL: PTTL's answer in seconds.
    Ttl(Vec<u8>),
}

/// Most keys one lock command (DEL, EXISTS) names.
const MAX_KEYS_PER_COMMAND: usize = 1024;

/// What the lock namespace takes, for the error on anything else.
const TAKEN: &str = "SET, GET, EXISTS, PTTL, TTL, PEXPIRE, EXPIRE, PERSIST, DEL, UNLINK, DELEX, DELIFEQ and LOCK.TOKEN";

/// The lock call for a keyed command whose keys are lock keys; None when
/// none is (a cache command); an error when only some are, when the
/// command is not one a lock takes, or inside MULTI.
pub fn intercept(
    node: &Node,
    state: &ConnState,
    command: &Command,
    argv: &[Bytes],
) -> Result<Option<Call>, CmdError> {
    node.hot
        .with_lock_prefixes(|prefixes| intercept_with(prefixes, state, command, argv))
}

fn intercept_with(
    prefixes: &[Vec<u8>],
    state: &ConnState,
    command: &Command,
    argv: &[Bytes],
) -> Result<Option<Call>, CmdError> {
    if prefixes.is_empty() {
        return Ok(None);
    }
    let is_lock = |key: &[u8]| prefixes.iter().any(|p| key.starts_with(p));
    // One key (most commands): no list of positions to build for a cache key.
    let single = command.movable_keys.is_none() && command.first_key == command.last_key;
    if single
        && !argv
            .get(command.first_key as usize)
            .is_some_and(|k| is_lock(k))
    {
        return Ok(None);
    }
    // Shard channels (SPUBLISH, SSUBSCRIBE) are keys to the router, not locks.
    if command.has_flag("pubsub") {
        return Ok(None);
    }
    let keys = command.key_positions(argv);
    let locks = keys.iter().filter(|&&i| is_lock(&argv[i])).count();
    if locks == 0 {
        return Ok(None);
    }
    let namespace = || {
        let names: Vec<String> = prefixes
            .iter()
            .map(|p| format!("'{}'", String::from_utf8_lossy(p)))
            .collect();
        format!(
            "the lock namespace (keys starting with {})",
            names.join(" or ")
        )
    };
    if locks < keys.len() {
        return Err(CmdError::other(format!(
            "ERR keys of {} cannot be mixed with other keys in one command",
            namespace()
        )));
    }
    if state.multi.is_some() {
        return Err(CmdError::other(format!(
            "ERR commands on {} cannot run inside MULTI",
            namespace()
        )));
    }
    // Bounded before anything goes to the log (the table refuses the same).
    if keys.len() > MAX_KEYS_PER_COMMAND {
        return Err(CmdError::other(format!(
            "ERR a command on {} takes at most {MAX_KEYS_PER_COMMAND} keys",
            namespace()
        )));
    }
    if argv[1..].iter().any(|a| a.len() > MAX_BYTES) {
        return Err(CmdError::other(format!(
            "ERR a lock's key and value take at most {MAX_BYTES} bytes each"
        )));
    }
    plan(command.name, argv).map(Some).map_err(|e| match e {
        Refused::NotTaken => CmdError::other(format!(
            "ERR '{}' is not allowed on {}: it takes {TAKEN}",
            command.name,
            namespace()
        )),
        Refused::Error(e) => e,
    })
}

enum Refused {
    NotTaken,
    Error(CmdError),
}

impl From<CmdError> for Refused {
    fn from(e: CmdError) -> Refused {
        Refused::Error(e)
    }
}

/// A positive time in `unit_ms` units as ms, with Redis's error for SET.
fn lease_ms(arg: &[u8], unit_ms: u64, command: &str) -> Result<u64, CmdError> {
    let n = arg_int(arg)?;
    if n <= 0 {
        return Err(CmdError::other(format!(
            "ERR invalid expire time in '{command}' command"
        )));
    }
    (n as u64)
        .checked_mul(unit_ms)
        .ok_or_else(|| CmdError::other(format!("ERR invalid expire time in '{command}' command")))
}

fn plan(name: &str, argv: &[Bytes]) -> Result<Call, Refused> {
    let key = || argv[1].to_vec();
    let keys = || argv[1..].iter().map(|k| k.to_vec()).collect::<Vec<_>>();
    Ok(match name {
        "set" => Call::Change(plan_set(argv)?),
        "get" => Call::Read(Read::Get(key())),
        "exists" => Call::Read(Read::Exists(keys())),
        "pttl" => Call::Read(Read::Pttl(key())),
        "ttl" => Call::Ttl(key()),
        "lock.token" => Call::Read(Read::Token(key())),
        "del" | "unlink" => Call::Change(Op::Del { keys: keys() }),
        "delifeq" => Call::Change(Op::DelIfEq {
            key: key(),
            value: argv[2].to_vec(),
        }),
        "delex" => match argv.len() {
            2 => Call::Change(Op::Del { keys: vec![key()] }),
            4 if eq(&argv[2], "ifeq") => Call::Change(Op::DelIfEq {
                key: key(),
                value: argv[3].to_vec(),
            }),
            _ => return Err(CmdError::Syntax.into()),
        },
        "pexpire" | "expire" => {
            let unit = if name == "expire" { 1000 } else { 1 };
            let n = arg_int(&argv[2])?;
            let when = expire_when(&argv[3..])?;
            let ms = u64::try_from(n)
                .unwrap_or(0)
                .checked_mul(unit)
                .ok_or_else(|| {
                    CmdError::other(format!("ERR invalid expire time in '{name}' command"))
                })?;
            Call::Change(Op::Expire {
                key: key(),
                expiry: Expiry::After(ms),
                when,
            })
        }
        "persist" => Call::Change(Op::Persist { key: key() }),
        _ => return Err(Refused::NotTaken),
    })
}

/// PEXPIRE's options, with Redis's errors.
fn expire_when(args: &[Bytes]) -> Result<ExpireWhen, CmdError> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in args {
        match () {
            _ if eq(a, "nx") => nx = true,
            _ if eq(a, "xx") => xx = true,
            _ if eq(a, "gt") => gt = true,
            _ if eq(a, "lt") => lt = true,
            _ => {
                return Err(CmdError::other(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(a)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::other(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::other(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(match (nx, xx, gt, lt) {
        (true, ..) => ExpireWhen::Nx,
        (_, _, true, _) => ExpireWhen::Gt,
        (_, _, _, true) => ExpireWhen::Lt,
        (_, true, ..) => ExpireWhen::Xx,
        _ => ExpireWhen::Always,
    })
}

/// `SET key value [NX | XX | IFEQ cmp] [GET] [EX s | PX ms | KEEPTTL]`;
/// EXAT and PXAT are refused: a lease is measured in the log's time,
/// which is not the clock of any machine.
fn plan_set(argv: &[Bytes]) -> Result<Op, CmdError> {
    let mut condition = Condition::Always;
    let mut expiry = Expiry::Never;
    let mut get = false;
    let mut i = 3;
    while i < argv.len() {
        let a = &argv[i];
        let next = argv.get(i + 1);
        let free_condition = condition == Condition::Always;
        let free_expiry = expiry == Expiry::Never;
        match () {
            _ if eq(a, "nx") && free_condition => condition = Condition::Nx,
            _ if eq(a, "xx") && free_condition => condition = Condition::Xx,
            _ if eq(a, "ifeq") && free_condition && next.is_some() => {
                condition = Condition::IfEq(argv[i + 1].to_vec());
                i += 1;
            }
            _ if eq(a, "get") => get = true,
            _ if eq(a, "keepttl") && free_expiry => expiry = Expiry::Keep,
            _ if (eq(a, "ex") || eq(a, "px")) && free_expiry && next.is_some() => {
                let unit = if eq(a, "ex") { 1000 } else { 1 };
                expiry = Expiry::After(lease_ms(&argv[i + 1], unit, "set")?);
                i += 1;
            }
            _ if eq(a, "exat") || eq(a, "pxat") => {
                return Err(CmdError::other(
                    "ERR a lock's lease takes EX or PX (a duration), not EXAT or PXAT",
                ))
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    Ok(Op::Set {
        key: argv[1].to_vec(),
        value: argv[2].to_vec(),
        condition,
        expiry,
        get,
    })
}

/// Runs `call` through the metadata group and writes Redis's reply.
pub async fn run(node: &Node, call: Call, out: &mut Reply) -> Result<(), CmdError> {
    let cluster = node
        .cluster
        .get()
        .ok_or_else(|| CmdError::other("ERR this node has no metadata group for locks"))?;
    let meta = cluster.meta();
    let unavailable = |e: shoal_meta::Error| {
        CmdError::other(format!("TRYAGAIN the lock namespace is unavailable: {e}"))
    };
    let outcome = match call {
        Call::Change(op) => meta.lock(op).await.map_err(unavailable)?,
        Call::Read(read) => meta.lock_read(read).await.map_err(unavailable)?,
        Call::Ttl(key) => match meta.lock_read(Read::Pttl(key)).await.map_err(unavailable)? {
            // Redis rounds the remaining time to the nearest second.
            Outcome::Int(ms) if ms >= 0 => Outcome::Int((ms + 500) / 1000),
            other => other,
        },
    };
    match outcome {
        Outcome::Error(e) => return Err(CmdError::other(e)),
        Outcome::Ok => out.ok(),
        Outcome::Nil | Outcome::Bulk(None) => out.null(),
        Outcome::Int(n) => out.int(n),
        Outcome::Bulk(Some(v)) => out.bulk(&v),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::from(w.to_string()))
            .collect()
    }

    fn planned(line: &str) -> Result<Call, String> {
        let argv = args(line);
        let name = argv[0].to_ascii_lowercase();
        plan(std::str::from_utf8(&name).unwrap_or(""), &argv).map_err(|e| match e {
            Refused::NotTaken => "not taken".into(),
            Refused::Error(e) => e.to_string(),
        })
    }

    #[test]
    fn lock_commands_parse_as_redis_does() {
        assert_eq!(
            planned("SET lock:a me NX PX 30000"),
            Ok(Call::Change(Op::Set {
                key: b"lock:a".to_vec(),
                value: b"me".to_vec(),
                condition: Condition::Nx,
                expiry: Expiry::After(30_000),
                get: false,
            }))
        );
        assert_eq!(
            planned("set lock:a me ifeq me ex 5 get"),
            Ok(Call::Change(Op::Set {
                key: b"lock:a".to_vec(),
                value: b"me".to_vec(),
                condition: Condition::IfEq(b"me".to_vec()),
                expiry: Expiry::After(5_000),
                get: true,
            }))
        );
        assert_eq!(
            planned("DELEX lock:a IFEQ me"),
            Ok(Call::Change(Op::DelIfEq {
                key: b"lock:a".to_vec(),
                value: b"me".to_vec(),
            }))
        );
        assert_eq!(
            planned("PEXPIRE lock:a 100 GT"),
            Ok(Call::Change(Op::Expire {
                key: b"lock:a".to_vec(),
                expiry: Expiry::After(100),
                when: ExpireWhen::Gt,
            }))
        );
        assert_eq!(planned("TTL lock:a"), Ok(Call::Ttl(b"lock:a".to_vec())));
        assert_eq!(planned("HSET lock:a f v"), Err("not taken".into()));
        for (line, error) in [
            ("SET lock:a me NX XX", "ERR syntax error"),
            (
                "SET lock:a me PX 0",
                "ERR invalid expire time in 'set' command",
            ),
            ("SET lock:a me PX 10 EX 1", "ERR syntax error"),
            (
                "SET lock:a me PXAT 10",
                "ERR a lock's lease takes EX or PX (a duration), not EXAT or PXAT",
            ),
            ("DELEX lock:a IFNE me", "ERR syntax error"),
            (
                "PEXPIRE lock:a 10 NX GT",
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                "PEXPIRE lock:a 10 GT LT",
                "ERR GT and LT options at the same time are not compatible",
            ),
        ] {
            assert_eq!(planned(line), Err(error.to_string()), "{line}");
        }
    }
}
