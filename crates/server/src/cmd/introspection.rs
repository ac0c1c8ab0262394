//! `COMMAND` and its subcommands, all derived from the command table.
//!
//! Cluster clients read key positions from `COMMAND INFO`; `redis-cli`
//! 7.2+ builds its hints from `COMMAND DOCS`. The argument tree in `DOCS`
//! is parsed from each command's `syntax` string.

use bytes::Bytes;
use shoal_proto::pattern::glob_match;
use shoal_proto::Reply;

use super::eq;
use crate::command::{self, cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Command] = &[Command {
    name: "command",
    arity: -1,
    flags: &["loading", "stale"],
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: &["@slow", "@connection"],
    group: "server",
    since: "2.8.13",
    summary: "Returns detailed information about all commands.",
    syntax: "",
    handler: Some(command_all),
    subcommands: SUBCOMMANDS,
    movable_keys: None,
}];

const LS: &[&str] = &["loading", "stale"];
const ACL: &[&str] = &["@slow", "@connection"];

static SUBCOMMANDS: &[Command] = &[
    cmd(
        "count",
        2,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "2.8.13",
        "Returns a count of commands.",
        "",
        command_count,
    ),
    cmd(
        "info",
        -2,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        "[command-name [command-name ...]]",
        command_info,
    ),
    cmd(
        "docs",
        -2,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        "[command-name [command-name ...]]",
        command_docs,
    ),
    cmd(
        "list",
        -2,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "7.0.0",
        "Returns a list of command names.",
        "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]",
        command_list,
    ),
    cmd(
        "getkeys",
        -4,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        "command [arg [arg ...]]",
        command_getkeys,
    ),
    cmd(
        "help",
        2,
        LS,
        (0, 0, 0),
        ACL,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "",
        command_help,
    ),
];

/// `COMMAND` (no subcommand): every command's info. `COMMAND` itself has
/// subcommands and also runs alone, so it is dispatched here.
fn command_all(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 1 {
        let sub_name = &argv[1];
        let Some(sub) = COMMANDS[0].subcommand(sub_name) else {
            return Err(CmdError::unknown_subcommand("command", sub_name));
        };
        if !sub.arity_ok(argv.len()) {
            return Err(CmdError::WrongArity(sub.full_name(Some(&COMMANDS[0]))));
        }
        let handler = sub.handler.expect("every COMMAND subcommand has a handler");
        return handler(ctx, argv);
    }
    let all: Vec<_> = command::all().collect();
    ctx.out.array(all.len());
    for c in all {
        write_info(ctx.out, c, None);
    }
    Ok(())
}

/// `COMMAND COUNT`
fn command_count(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.int(command::all().count() as i64);
    Ok(())
}

/// Finds `get` or `client|list`.
fn find_full(name: &[u8]) -> Option<(&'static Command, Option<&'static Command>)> {
    match name.iter().position(|&b| b == b'|') {
        None => command::lookup(name).map(|c| (c, None)),
        Some(bar) => {
            let parent = command::lookup(&name[..bar])?;
            parent
                .subcommand(&name[bar + 1..])
                .map(|s| (s, Some(parent)))
        }
    }
}

/// `COMMAND INFO [command-name ...]`
fn command_info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        return command_all(ctx, &argv[..1]);
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match find_full(name) {
            Some((c, parent)) => write_info(ctx.out, c, parent),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn write_info(out: &mut Reply, c: &Command, parent: Option<&Command>) {
    out.array(10);
    out.bulk(c.full_name(parent).as_bytes());
    out.int(i64::from(c.arity));
    out.set(c.flags.len());
    for f in c.flags {
        out.simple(f);
    }
    out.int(i64::from(c.first_key));
    out.int(i64::from(c.last_key));
    out.int(i64::from(c.step));
    out.set(c.acl.len());
    for a in c.acl {
        out.simple(a);
    }
    out.set(0);
    if c.first_key > 0 {
        out.set(1);
        write_key_spec(out, c);
    } else {
        out.set(0);
    }
    out.set(c.subcommands.len());
    for s in c.subcommands {
        write_info(out, s, Some(c));
    }
}

/// The key spec equivalent to first/last/step.
fn write_key_spec(out: &mut Reply, c: &Command) {
    out.map(3);
    out.bulk(b"flags");
    let flags: &[&str] = if c.has_flag("write") {
        &["RW", "UPDATE"]
    } else {
        &["RO", "ACCESS"]
    };
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(i64::from(c.first_key));
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if c.last_key < 0 {
        i64::from(c.last_key)
    } else {
        i64::from(c.last_key - c.first_key)
    });
    out.bulk(b"keystep");
    out.int(i64::from(c.step));
    out.bulk(b"limit");
    out.int(0);
}

/// `COMMAND DOCS [command-name ...]`
fn command_docs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let chosen: Vec<(&Command, Option<&Command>)> = if argv.len() == 2 {
        command::all().map(|c| (c, None)).collect()
    } else {
        argv[2..].iter().filter_map(|n| find_full(n)).collect()
    };
    ctx.out.map(chosen.len());
    for (c, parent) in chosen {
        ctx.out.bulk(c.full_name(parent).as_bytes());
        write_docs(ctx.out, c, parent);
    }
    Ok(())
}

fn write_docs(out: &mut Reply, c: &Command, parent: Option<&Command>) {
    let args = parse_syntax(c.syntax);
    let mut fields = 3;
    if !args.is_empty() {
        fields += 1;
    }
    if !c.subcommands.is_empty() {
        fields += 1;
    }
    out.map(fields);
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if !args.is_empty() {
        out.bulk(b"arguments");
        out.array(args.len());
        for a in &args {
            write_arg(out, a);
        }
    }
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(s.full_name(Some(c)).as_bytes());
            write_docs(out, s, Some(c));
        }
    }
    let _ = parent;
}

/// One argument of a command, as `COMMAND DOCS` describes it.
#[derive(Debug, Clone, PartialEq)]
struct Arg {
    name: String,
    kind: &'static str,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    children: Vec<Arg>,
}

fn write_arg(out: &mut Reply, a: &Arg) {
    let flags = usize::from(a.optional) + usize::from(a.multiple);
    let fields = 2
        + usize::from(a.kind == "key")
        + usize::from(a.token.is_some())
        + usize::from(flags > 0)
        + usize::from(!a.children.is_empty());
    out.map(fields);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if a.kind == "key" {
        out.bulk(b"key_spec_index");
        out.int(0);
    }
    if let Some(t) = &a.token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if flags > 0 {
        out.bulk(b"flags");
        out.set(flags);
        if a.optional {
            out.simple("optional");
        }
        if a.multiple {
            out.simple("multiple");
        }
    }
    if !a.children.is_empty() {
        out.bulk(b"arguments");
        out.array(a.children.len());
        for c in &a.children {
            write_arg(out, c);
        }
    }
}

fn kind_of(word: &str) -> &'static str {
    match word {
        "key" | "key1" | "key2" | "newkey" | "source" | "destination" => "key",
        "pattern" => "pattern",
        "seconds"
        | "milliseconds"
        | "count"
        | "index"
        | "offset"
        | "start"
        | "end"
        | "decrement"
        | "cursor"
        | "unix-time-seconds"
        | "unix-time-milliseconds"
        | "min-match-len"
        | "client-id"
        | "protover"
        | "destination-db"
        | "slot" => "integer",
        _ => "string",
    }
}

/// Parses a syntax line such as `key [NX|XX] [EX seconds|PX milliseconds]
/// [key value ...]` into an argument tree.
fn parse_syntax(syntax: &str) -> Vec<Arg> {
    let spaced = syntax
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('|', " | ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    let alternatives = parse_alternatives(&tokens, &mut pos);
    if alternatives.len() == 1 {
        alternatives.into_iter().next().unwrap_or_default()
    } else {
        vec![group(alternatives, false)]
    }
}

/// Sequences separated by `|`, up to a closing `]` or the end.
fn parse_alternatives(tokens: &[&str], pos: &mut usize) -> Vec<Vec<Arg>> {
    let mut alternatives: Vec<Vec<Arg>> = vec![Vec::new()];
    while let Some(&t) = tokens.get(*pos) {
        *pos += 1;
        match t {
            "]" => break,
            "|" => alternatives.push(Vec::new()),
            "[" => {
                let inner = parse_alternatives(tokens, pos);
                let seq = alternatives.last_mut().expect("starts with one sequence");
                // `x [x ...]` and `k v [k v ...]`: one repeated argument.
                let repeats = inner.len() == 1
                    && inner[0].last().is_some_and(|a| a.name == "...")
                    && seq.len() >= inner[0].len() - 1
                    && seq[seq.len() + 1 - inner[0].len()..]
                        .iter()
                        .zip(&inner[0])
                        .all(|(a, b)| a.name == b.name);
                if repeats {
                    let n = inner[0].len() - 1;
                    let tail: Vec<Arg> = seq.drain(seq.len() - n..).collect();
                    let mut arg = if tail.len() == 1 {
                        tail.into_iter()
                            .next()
                            .unwrap_or_else(|| group(Vec::new(), false))
                    } else {
                        group(vec![tail], false)
                    };
                    arg.multiple = true;
                    seq.push(arg);
                } else {
                    let mut arg = if inner.len() == 1 && inner[0].len() == 1 {
                        inner
                            .into_iter()
                            .next()
                            .and_then(|s| s.into_iter().next())
                            .unwrap_or_else(|| group(Vec::new(), false))
                    } else {
                        group(inner, false)
                    };
                    arg.optional = true;
                    seq.push(arg);
                }
            }
            "..." => {
                let seq = alternatives.last_mut().expect("starts with one sequence");
                seq.push(Arg {
                    name: "...".into(),
                    kind: "string",
                    token: None,
                    optional: false,
                    multiple: false,
                    children: Vec::new(),
                });
            }
            word => {
                let seq = alternatives.last_mut().expect("starts with one sequence");
                let is_token = word.chars().any(|c| c.is_ascii_uppercase())
                    && !word.chars().any(|c| c.is_ascii_lowercase());
                let value = tokens.get(*pos).filter(|w| {
                    !matches!(**w, "[" | "]" | "|" | "...")
                        && !w.chars().any(|c| c.is_ascii_uppercase())
                });
                if is_token {
                    if let Some(v) = value {
                        *pos += 1;
                        seq.push(Arg {
                            name: v.to_string(),
                            kind: kind_of(v),
                            token: Some(word.to_string()),
                            optional: false,
                            multiple: false,
                            children: Vec::new(),
                        });
                    } else {
                        seq.push(Arg {
                            name: word.to_ascii_lowercase(),
                            kind: "pure-token",
                            token: Some(word.to_string()),
                            optional: false,
                            multiple: false,
                            children: Vec::new(),
                        });
                    }
                } else {
                    seq.push(Arg {
                        name: word.to_string(),
                        kind: kind_of(word),
                        token: None,
                        optional: false,
                        multiple: false,
                        children: Vec::new(),
                    });
                }
            }
        }
    }
    alternatives
}

/// A `oneof` of several alternatives or a `block` of one sequence.
fn group(alternatives: Vec<Vec<Arg>>, optional: bool) -> Arg {
    if alternatives.len() == 1 {
        let children = alternatives.into_iter().next().unwrap_or_default();
        let name = children
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("_");
        return Arg {
            name,
            kind: "block",
            token: None,
            optional,
            multiple: false,
            children,
        };
    }
    let children: Vec<Arg> = alternatives
        .into_iter()
        .map(|seq| {
            if seq.len() == 1 {
                seq.into_iter()
                    .next()
                    .unwrap_or_else(|| group(Vec::new(), false))
            } else {
                group(vec![seq], false)
            }
        })
        .collect();
    let name = children
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("_");
    Arg {
        name,
        kind: "oneof",
        token: None,
        optional,
        multiple: false,
        children,
    }
}

/// `COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]`
fn command_list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut names: Vec<String> = Vec::new();
    for c in command::all() {
        names.push(c.name.to_string());
        for s in c.subcommands {
            names.push(s.full_name(Some(c)));
        }
    }
    let names: Vec<String> = match argv.len() {
        2 => names,
        5 if eq(&argv[2], "filterby") => {
            let (kind, value) = (&argv[3], &argv[4]);
            if eq(kind, "module") {
                Vec::new()
            } else if eq(kind, "pattern") {
                names
                    .into_iter()
                    .filter(|n| glob_match(value, n.as_bytes(), true))
                    .collect()
            } else if eq(kind, "aclcat") {
                let cat = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                names
                    .into_iter()
                    .filter(|n| {
                        find_full(n.as_bytes()).is_some_and(|(c, _)| c.acl.contains(&cat.as_str()))
                    })
                    .collect()
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// `COMMAND GETKEYS command [arg ...]`
fn command_getkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let target = &argv[2..];
    let c = match command::resolve(target) {
        Ok((c, _)) => c,
        Err(CmdError::WrongArity(_)) => {
            return Err(CmdError::other(
                "ERR Invalid number of arguments specified for command",
            ))
        }
        Err(_) => return Err(CmdError::other("ERR Invalid command specified")),
    };
    if c.first_key <= 0 && c.movable_keys.is_none() {
        return Err(CmdError::other("ERR The command has no key arguments"));
    }
    let keys = c.key_positions(target);
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(&target[i]);
    }
    Ok(())
}

/// `COMMAND HELP`
fn command_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[Arg]) -> Vec<(String, &'static str, bool, bool)> {
        args.iter()
            .map(|a| (a.name.clone(), a.kind, a.optional, a.multiple))
            .collect()
    }

    #[test]
    fn syntax_parses_into_redis_argument_shapes() {
        let set = parse_syntax("key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]");
        assert_eq!(
            names(&set),
            vec![
                ("key".into(), "key", false, false),
                ("value".into(), "string", false, false),
                ("nx_xx".into(), "oneof", true, false),
                ("get".into(), "pure-token", true, false),
                ("seconds_milliseconds_keepttl".into(), "oneof", true, false),
            ]
        );
        assert_eq!(set[4].children[0].token.as_deref(), Some("EX"));
        assert_eq!(set[4].children[0].kind, "integer");

        let mset = parse_syntax("key value [key value ...]");
        assert_eq!(
            names(&mset),
            vec![("key_value".into(), "block", false, true)]
        );
        assert_eq!(
            names(&mset[0].children),
            vec![
                ("key".into(), "key", false, false),
                ("value".into(), "string", false, false)
            ]
        );

        let del = parse_syntax("key [key ...]");
        assert_eq!(names(&del), vec![("key".into(), "key", false, true)]);
    }
}
