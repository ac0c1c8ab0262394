//! The command table: the single source for dispatch, arity checks,
//! `COMMAND` and its subcommands, and (later) key-based routing.
//!
//! Each [`Command`] names its arity (positive: exactly that many arguments
//! including the name; negative: at least that many), its Redis flags, its
//! key positions (first, last, step, as in `COMMAND INFO`), its doc fields
//! and its handler. A container such as `CLIENT` has no handler of its own
//! and dispatches to its subcommands.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use bytes::Bytes;
use shoal_proto::Reply;

use shoal_store::evict::Policy;

use crate::conn::ConnState;
use crate::error::{CmdError, CmdResult};
use crate::node::Node;

/// What a handler gets: the node, the connection, and the reply buffer.
pub struct Ctx<'a> {
    pub node: &'a Node,
    pub conn: &'a mut ConnState,
    pub out: &'a mut Reply,
    /// Wall-clock time of this command in Unix milliseconds, read once so a
    /// command sees one instant (as Redis's command time snapshot).
    pub now: u64,
}

impl<'a> Ctx<'a> {
    /// The selected database.
    pub fn db(&self) -> &'a shoal_store::Db {
        self.node.store.db(self.conn.db)
    }

    /// Marks a key as just used (its LRU clock or LFU counter, by policy),
    /// unless the client asked for `NO-TOUCH`.
    pub fn touch(&mut self, entry: &mut shoal_store::Entry) {
        if self.conn.no_touch {
            return;
        }
        let hot = &self.node.hot;
        let policy = hot.policy();
        entry.access = if policy == Policy::AllKeysTinyLfu {
            self.node.evictor.tick();
            shoal_store::sketch::resident_touch(entry.access, self.node.evictor.epoch())
        } else if policy.lfu() {
            let random = (self.conn.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            shoal_store::lfu::touch(
                entry.access,
                self.now,
                hot.lfu_log_factor.load(Ordering::Relaxed),
                hot.lfu_decay_time.load(Ordering::Relaxed),
                random,
            )
        } else {
            shoal_store::keyspace::lru_clock(self.now)
        };
    }

    /// Stores `entry` at `key`, as Redis's setKey: a value replacing
    /// another under an LFU policy or allkeys-tinylfu keeps the key's
    /// counter, touched (Redis touches the key when it looks it up for the
    /// write, then keeps the counter when it swaps the value in).
    pub fn put(
        &mut self,
        shard: &mut shoal_store::Shard,
        key: &[u8],
        mut entry: shoal_store::Entry,
    ) {
        if self.node.hot.policy().counts_frequency() {
            if let Some(old) = shard.lookup(key, self.now) {
                entry.access = old.access;
                self.touch(&mut entry);
            }
        }
        shard.insert(key, entry);
    }

    /// Reports that a write changed `key` in the selected database (Redis's
    /// `signalModifiedKey`): WATCHers of it will fail their EXEC, and clients
    /// blocked on it get a chance to be served. A write command calls this
    /// for each key it actually changed, and for no other.
    pub fn modified(&mut self, key: &Bytes) {
        self.modified_in(self.conn.db, key);
    }

    /// [`Ctx::modified`] for a key in database `db`.
    pub fn modified_in(&mut self, db: usize, key: &Bytes) {
        if self.node.watches.active() {
            self.node.watches.touch(db, key);
        }
        if self.node.blocking.active() {
            self.conn.ready_keys.push((db, key.clone()));
        }
    }

    /// A new entry holding `value`, its access field set for the policy in force.
    pub fn entry(&self, value: shoal_store::Value) -> shoal_store::Entry {
        let mut e = shoal_store::Entry::new(value, self.now);
        let policy = self.node.hot.policy();
        if policy == Policy::AllKeysTinyLfu {
            // Count 0: `evict::record` starts it from the sketch's estimate.
            e.access = shoal_store::sketch::resident(0, self.node.evictor.epoch());
        } else if policy.lfu() {
            e.access = shoal_store::lfu::init(self.now);
        }
        e
    }
}

pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// One command (or subcommand) and everything said about it.
pub struct Command {
    /// Lower-case name; subcommands are named without their container.
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// 1-based position of the first key, 0 if none.
    pub first_key: i32,
    /// Position of the last key; negative counts from the end.
    pub last_key: i32,
    pub step: i32,
    pub acl: &'static [&'static str],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// Argument syntax after the name, as in Redis's docs
    /// (`key value [NX | XX]`); `COMMAND DOCS` derives its argument tree from it.
    pub syntax: &'static str,
    pub handler: Option<Handler>,
    pub subcommands: &'static [Command],
    /// For commands whose keys move (`numkeys key …`): finds them in argv.
    pub movable_keys: Option<KeyFinder>,
}

/// Finds key positions in a full argv.
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

/// Keys given as `numkeys key [key …]` with the count at position `AT`
/// (and, with `DEST`, one destination key at position 1 as well).
pub fn numkeys_at<const AT: usize, const DEST: bool>(argv: &[Bytes]) -> Vec<usize> {
    let mut keys: Vec<usize> = if DEST { vec![1] } else { Vec::new() };
    let n = argv
        .get(AT)
        .and_then(|a| shoal_proto::number::string2ll(a))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    keys.extend((AT + 1..AT + 1 + n).take_while(|&i| i < argv.len()));
    keys
}

impl Command {
    /// `client|list` for a subcommand, `get` for a command.
    pub fn full_name(&self, container: Option<&Command>) -> String {
        match container {
            Some(c) => format!("{}|{}", c.name, self.name),
            None => self.name.to_string(),
        }
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    pub fn subcommand(&self, name: &[u8]) -> Option<&'static Command> {
        self.subcommands
            .iter()
            .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Positions of the keys in `argv` by the first/last/step rule, or
    /// `None` if `argv` is too short for them.
    pub fn key_positions(&self, argv: &[Bytes]) -> Vec<usize> {
        if let Some(find) = self.movable_keys {
            return find(argv);
        }
        let argc = argv.len();
        if self.first_key <= 0 {
            return Vec::new();
        }
        let first = self.first_key as usize;
        let last = if self.last_key < 0 {
            argc as i64 + i64::from(self.last_key)
        } else {
            i64::from(self.last_key)
        };
        let step = self.step.max(1) as usize;
        let mut out = Vec::new();
        let mut i = first;
        while (i as i64) <= last && i < argc {
            out.push(i);
            i += step;
        }
        out
    }
}

/// Builds a [`Command`] in the table below without naming every field.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    syntax: &'static str,
    handler: Handler,
) -> Command {
    Command {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        group,
        since,
        summary,
        syntax,
        handler: Some(handler),
        subcommands: &[],
        movable_keys: None,
    }
}

/// A container command (`CLIENT`, `CONFIG`…) dispatching to `subcommands`.
pub const fn container(
    name: &'static str,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [Command],
) -> Command {
    Command {
        name,
        arity: -2,
        flags: &[],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow"],
        group,
        since,
        summary,
        syntax: "",
        handler: None,
        subcommands,
        movable_keys: None,
    }
}

impl Command {
    /// The same command, with keys found by `find` (a `movablekeys` command).
    pub const fn keys_by(mut self, find: KeyFinder) -> Command {
        self.movable_keys = Some(find);
        self
    }
}

/// Every command the node implements, by family.
pub fn all() -> impl Iterator<Item = &'static Command> {
    crate::cmd::connection::COMMANDS
        .iter()
        .chain(crate::cmd::server::COMMANDS)
        .chain(crate::cmd::string::COMMANDS)
        .chain(crate::cmd::bitmap::COMMANDS)
        .chain(crate::cmd::keys::COMMANDS)
        .chain(crate::cmd::lock::COMMANDS)
        .chain(crate::cmd::hash::COMMANDS)
        .chain(crate::cmd::list::COMMANDS)
        .chain(crate::cmd::blocking::COMMANDS)
        .chain(crate::cmd::set::COMMANDS)
        .chain(crate::cmd::zset::COMMANDS)
        .chain(crate::cmd::transaction::COMMANDS)
        .chain(crate::cmd::pubsub::COMMANDS)
        .chain(crate::cmd::hll::COMMANDS)
        .chain(crate::cmd::dump::COMMANDS)
        .chain(crate::cmd::cluster::COMMANDS)
        .chain(crate::cmd::introspection::COMMANDS)
}

fn index() -> &'static HashMap<&'static str, &'static Command> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Command>> = OnceLock::new();
    INDEX.get_or_init(|| all().map(|c| (c.name, c)).collect())
}

/// Looks a command up by name, case-insensitively, without allocating for
/// names of ordinary length.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index().get(std::str::from_utf8(lower).ok()?).copied()
}

/// Resolves `argv` to the command (or subcommand) that will run, checking
/// that it exists and that its arity fits. Returns the command and its
/// container, if any.
pub fn resolve(argv: &[Bytes]) -> Result<(&'static Command, Option<&'static Command>), CmdError> {
    let Some(command) = lookup(&argv[0]) else {
        return Err(CmdError::unknown_command(argv));
    };
    if command.handler.is_some() {
        if !command.arity_ok(argv.len()) {
            return Err(CmdError::WrongArity(command.name.to_string()));
        }
        return Ok((command, None));
    }
    let Some(sub_name) = argv.get(1) else {
        return Err(CmdError::WrongArity(command.name.to_string()));
    };
    let Some(sub) = command.subcommand(sub_name) else {
        return Err(CmdError::unknown_subcommand(command.name, sub_name));
    };
    if !sub.arity_ok(argv.len()) {
        return Err(CmdError::WrongArity(sub.full_name(Some(command))));
    }
    Ok((sub, Some(command)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_name_is_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for c in all() {
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(seen.insert(c.name), "duplicate command {}", c.name);
            assert!(
                c.handler.is_some() || !c.subcommands.is_empty(),
                "{} needs a handler or subcommands",
                c.name
            );
        }
    }

    #[test]
    fn resolve_checks_arity_like_redis() {
        let argv = |s: &[&'static str]| {
            s.iter()
                .map(|a| Bytes::from_static(a.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resolve(&argv(&["GET"])).err().map(|e| e.to_string()),
            Some("ERR wrong number of arguments for 'get' command".into())
        );
        assert_eq!(
            resolve(&argv(&["client", "setname"]))
                .err()
                .map(|e| e.to_string()),
            Some("ERR wrong number of arguments for 'client|setname' command".into())
        );
        assert_eq!(
            resolve(&argv(&["client", "nope"]))
                .err()
                .map(|e| e.to_string()),
            Some("ERR unknown subcommand 'nope'. Try CLIENT HELP.".into())
        );
        assert!(resolve(&argv(&["gEt", "k"])).is_ok());
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let argv = |s: &[&'static str]| {
            s.iter()
                .map(|a| Bytes::from_static(a.as_bytes()))
                .collect::<Vec<_>>()
        };
        let mset = lookup(b"mset").expect("mset exists");
        assert_eq!(
            mset.key_positions(&argv(&["mset", "a", "1", "b", "2"])),
            vec![1, 3]
        );
        let del = lookup(b"del").expect("del exists");
        assert_eq!(
            del.key_positions(&argv(&["del", "a", "b", "c"])),
            vec![1, 2, 3]
        );
        let ping = lookup(b"ping").expect("ping exists");
        assert!(ping.key_positions(&argv(&["ping", "x"])).is_empty());
        let lmpop = lookup(b"lmpop").expect("lmpop exists");
        assert_eq!(
            lmpop.key_positions(&argv(&["lmpop", "2", "a", "b", "LEFT"])),
            vec![2, 3]
        );
        let blmpop = lookup(b"blmpop").expect("blmpop exists");
        assert_eq!(
            blmpop.key_positions(&argv(&["blmpop", "0", "1", "a", "LEFT"])),
            vec![3]
        );
        let claims_too_many = lookup(b"sintercard").expect("sintercard exists");
        assert_eq!(
            claims_too_many.key_positions(&argv(&["sintercard", "5", "a"])),
            vec![2]
        );
    }
}
