//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::eq;
use crate::command::{cmd, container, Command, Ctx};
use crate::conn::ReplyMode;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Command] = &[
    cmd(
        "ping",
        -1,
        &["fast", "sentinel"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        "[message]",
        ping,
    ),
    cmd(
        "echo",
        2,
        &["fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "1.0.0",
        "Returns the given string.",
        "message",
        echo,
    ),
    cmd(
        "hello",
        -1,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "sentinel",
            "allow_busy",
        ],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        "[protover [AUTH username password] [SETNAME clientname]]",
        hello,
    ),
    cmd(
        "auth",
        -2,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "sentinel",
            "allow_busy",
        ],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        "[username] password",
        auth,
    ),
    cmd(
        "select",
        2,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "1.0.0",
        "Changes the selected database.",
        "index",
        select,
    ),
    cmd(
        "quit",
        -1,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "1.0.0",
        "Closes the connection.",
        "",
        quit,
    ),
    cmd(
        "reset",
        1,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        (0, 0, 0),
        &["@fast", "@connection"],
        "connection",
        "6.2.0",
        "Resets the connection.",
        "",
        reset,
    ),
    container(
        "client",
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        CLIENT,
    ),
];

static CLIENT: &[Command] = &[
    cmd("id", 2, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "5.0.0",
        "Returns the unique client ID of the connection.", "", client_id),
    cmd("setname", 3, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "2.6.9",
        "Sets the connection name.", "connection-name", client_setname),
    cmd("getname", 2, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "2.6.9",
        "Returns the name of the connection.", "", client_getname),
    cmd("list", -2, &["admin", "noscript", "loading", "stale"], (0, 0, 0), &["@admin", "@slow", "@dangerous", "@connection"],
        "connection", "2.4.0", "Lists open connections.", "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
        client_list),
    cmd("info", 2, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "6.2.0",
        "Returns information about the connection.", "", client_info),
    cmd("kill", -3, &["admin", "noscript", "loading", "stale"], (0, 0, 0), &["@admin", "@slow", "@dangerous", "@connection"],
        "connection", "2.4.0", "Terminates open connections.",
        "ip:port | [ID client-id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO]",
        client_kill),
    cmd("setinfo", 4, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "7.2.0",
        "Sets information specific to the client or connection.", "LIB-NAME libname|LIB-VER libver", client_setinfo),
    cmd("no-evict", 3, &["admin", "noscript", "loading", "stale"], (0, 0, 0), &["@admin", "@slow", "@dangerous", "@connection"],
        "connection", "7.0.0", "Sets the client eviction mode of the connection.", "ON|OFF", client_no_evict),
    cmd("no-touch", 3, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "ON|OFF", client_no_touch),
    cmd("reply", 3, &["noscript", "loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "3.2.0",
        "Instructs the server whether to reply to commands.", "ON|OFF|SKIP", client_reply),
    cmd("unblock", -3, &["admin", "noscript", "loading", "stale"], (0, 0, 0), &["@admin", "@slow", "@dangerous", "@connection"],
        "connection", "5.0.0", "Unblocks a client blocked by a blocking command from a different connection.",
        "client-id [TIMEOUT|ERROR]", client_unblock),
    cmd("help", 2, &["loading", "stale"], (0, 0, 0), &["@slow", "@connection"], "connection", "5.0.0",
        "Returns helpful text about the different subcommands.", "", client_help),
];

/// `PING [message]`
fn ping(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() <= 2 && !ctx.out.resp3 && ctx.conn.subs.active() {
        // A RESP2 subscriber gets PING's answer in the shape of a message.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).map_or(&b""[..], |m| &m[..]));
        return Ok(());
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&argv[1]),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

/// `ECHO message`
fn echo(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&argv[1]);
    Ok(())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut version = None;
    let mut i = 1;
    if let Some(v) = argv.get(1) {
        let v = shoal_proto::number::string2ll(v).ok_or_else(|| {
            CmdError::other("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::other("NOPROTO unsupported protocol version"));
        }
        version = Some(v);
        i = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if eq(&argv[i], "auth") && more >= 2 {
            credentials = Some((&argv[i + 1], &argv[i + 2]));
            i += 3;
        } else if eq(&argv[i], "setname") && more >= 1 {
            // Redis checks the name while reading the options, before AUTH.
            validate_name(&argv[i + 1])?;
            name = Some(&argv[i + 1]);
            i += 2;
        } else {
            return Err(CmdError::quoting(
                "ERR Syntax error in HELLO option '",
                &argv[i],
                "'",
            ));
        }
    }
    if let Some((user, pass)) = credentials {
        authenticate(ctx, user, pass)?;
    }
    if !ctx.conn.authenticated {
        return Err(CmdError::other("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    if let Some(v) = version {
        ctx.out.resp3 = v == 3;
        ctx.conn.handle.resp.store(v as u8, Ordering::Relaxed);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.conn.handle.id as i64);
    out.bulk(b"mode");
    out.bulk(b"cluster");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// Checks a username and password against `requirepass` (the only user is
/// `default`, as Redis without ACL rules).
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], pass: &[u8]) -> CmdResult {
    let required = ctx.node.config.read().requirepass.clone();
    let ok = user == b"default" && (required.is_empty() || required.as_bytes() == pass);
    if !ok {
        return Err(CmdError::WrongPass);
    }
    ctx.conn.authenticated = true;
    Ok(())
}

/// `AUTH [username] password`
fn auth(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        2 => {
            if ctx.node.config.read().requirepass.is_empty() {
                return Err(CmdError::other("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
            }
            authenticate(ctx, b"default", &argv[1])?;
        }
        3 => authenticate(ctx, &argv[1], &argv[2])?,
        _ => return Err(CmdError::Syntax),
    }
    ctx.out.ok();
    Ok(())
}

/// `SELECT index`
fn select(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let index = super::arg_i32(&argv[1])?;
    if index < 0 || index as usize >= ctx.node.store.databases() {
        return Err(CmdError::DbOutOfRange);
    }
    ctx.conn.set_db(index as usize);
    ctx.out.ok();
    Ok(())
}

/// `QUIT`
fn quit(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.conn.close_after_reply = true;
    Ok(())
}

/// `RESET`: back to a fresh connection's state.
fn reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.conn.set_db(0);
    ctx.out.resp3 = false;
    ctx.conn.handle.resp.store(2, Ordering::Relaxed);
    ctx.conn.reply_mode = ReplyMode::On;
    ctx.conn.no_evict = false;
    ctx.conn.no_touch = false;
    *ctx.conn.handle.name.lock() = None;
    ctx.conn.multi = None;
    ctx.conn.watching.clear();
    ctx.conn.subs.clear();
    ctx.conn.authenticated = ctx.node.config.read().requirepass.is_empty();
    ctx.out.simple("RESET");
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.conn.handle.id as i64);
    Ok(())
}

fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::other(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn set_name(ctx: &mut Ctx<'_>, name: &Bytes) -> CmdResult {
    validate_name(name)?;
    *ctx.conn.handle.name.lock() = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
    Ok(())
}

/// `CLIENT SETNAME connection-name`
fn client_setname(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_name(ctx, &argv[2])?;
    ctx.out.ok();
    Ok(())
}

/// `CLIENT GETNAME`
fn client_getname(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let name = ctx.conn.handle.name.lock().clone();
    match name {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// `CLIENT LIST [TYPE type] [ID id …]`
fn client_list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_pubsub = false;
    let mut i = 2;
    while i < argv.len() {
        if eq(&argv[i], "type") && i + 1 < argv.len() {
            let t = &argv[i + 1];
            if eq(t, "normal") {
                only_pubsub = false;
            } else if eq(t, "pubsub") || eq(t, "master") || eq(t, "replica") || eq(t, "slave") {
                only_pubsub = true;
            } else {
                return Err(CmdError::quoting("ERR Unknown client type '", t, "'"));
            }
            i += 2;
        } else if eq(&argv[i], "id") && i + 1 < argv.len() {
            let mut list = Vec::new();
            for a in &argv[i + 1..] {
                match shoal_proto::number::string2ll(a) {
                    Some(n) if n > 0 => list.push(n as u64),
                    _ => return Err(CmdError::other("ERR Invalid client ID")),
                }
            }
            ids = Some(list);
            i = argv.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut text = String::new();
    if !only_pubsub {
        for c in ctx.node.clients.all() {
            if ids.as_ref().is_none_or(|ids| ids.contains(&c.id)) {
                text.push_str(&c.info_line());
                text.push('\n');
            }
        }
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// `CLIENT INFO`
fn client_info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let line = format!("{}\n", ctx.conn.handle.info_line());
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

/// `CLIENT KILL ip:port` or `CLIENT KILL <filter value> …`
fn client_kill(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 3 {
        let addr = &argv[2];
        let victim = ctx
            .node
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string().as_bytes() == &addr[..]);
        return match victim {
            Some(c) => {
                kill_client(ctx, &c);
                ctx.out.ok();
                Ok(())
            }
            None => Err(CmdError::other("ERR No such client")),
        };
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    let mut user_mismatch = false;
    let mut type_mismatch = false;
    let mut i = 2;
    while i < argv.len() {
        let Some(value) = argv.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        let opt = &argv[i];
        if eq(opt, "id") {
            match shoal_proto::number::string2ll(value) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Err(CmdError::other("ERR client-id should be greater than 0")),
            }
        } else if eq(opt, "addr") {
            addr = Some(value.clone());
        } else if eq(opt, "laddr") {
            laddr = Some(value.clone());
        } else if eq(opt, "user") {
            user_mismatch = &value[..] != b"default";
        } else if eq(opt, "type") {
            if eq(value, "normal") {
                type_mismatch = false;
            } else if eq(value, "master")
                || eq(value, "replica")
                || eq(value, "slave")
                || eq(value, "pubsub")
            {
                type_mismatch = true;
            } else {
                return Err(CmdError::quoting("ERR Unknown client type '", value, "'"));
            }
        } else if eq(opt, "skipme") {
            if eq(value, "yes") {
                skipme = true;
            } else if eq(value, "no") {
                skipme = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let mut killed = 0;
    if !user_mismatch && !type_mismatch {
        for c in ctx.node.clients.all() {
            let matches = id.is_none_or(|id| c.id == id)
                && addr
                    .as_ref()
                    .is_none_or(|a| c.addr.to_string().as_bytes() == &a[..])
                && laddr
                    .as_ref()
                    .is_none_or(|a| c.laddr.to_string().as_bytes() == &a[..])
                && !(skipme && c.id == ctx.conn.handle.id);
            if matches {
                kill_client(ctx, &c);
                killed += 1;
            }
        }
    }
    ctx.out.int(killed);
    Ok(())
}

fn kill_client(ctx: &mut Ctx<'_>, c: &crate::node::ClientHandle) {
    if c.id == ctx.conn.handle.id {
        ctx.conn.close_after_reply = true;
    } else {
        c.kill();
    }
}

/// `CLIENT SETINFO LIB-NAME libname | LIB-VER libver`
fn client_setinfo(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let value = &argv[3];
    let attr = if eq(&argv[2], "lib-name") {
        "lib-name"
    } else if eq(&argv[2], "lib-ver") {
        "lib-ver"
    } else {
        return Err(CmdError::quoting(
            "ERR Unrecognized option '",
            &argv[2],
            "'",
        ));
    };
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::other(format!(
            "ERR {attr} cannot contain spaces, newlines or special characters."
        )));
    }
    let value = String::from_utf8_lossy(value).into_owned();
    let mut lib = ctx.conn.handle.lib.lock();
    if attr == "lib-name" {
        lib.0 = value;
    } else {
        lib.1 = value;
    }
    drop(lib);
    ctx.out.ok();
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq(arg, "on") {
        Ok(true)
    } else if eq(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `CLIENT NO-EVICT ON|OFF`
fn client_no_evict(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.conn.no_evict = on_off(&argv[2])?;
    update_flags(ctx);
    ctx.out.ok();
    Ok(())
}

/// `CLIENT NO-TOUCH ON|OFF`
fn client_no_touch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.conn.no_touch = on_off(&argv[2])?;
    update_flags(ctx);
    ctx.out.ok();
    Ok(())
}

fn update_flags(ctx: &mut Ctx<'_>) {
    let mut flags = String::new();
    if ctx.conn.no_evict {
        flags.push('e');
    }
    if ctx.conn.no_touch {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    *ctx.conn.handle.flags.lock() = flags;
}

/// `CLIENT REPLY ON|OFF|SKIP`
fn client_reply(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mode = &argv[2];
    if eq(mode, "on") {
        ctx.conn.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq(mode, "off") {
        ctx.conn.reply_mode = ReplyMode::Off;
    } else if eq(mode, "skip") {
        if ctx.conn.reply_mode == ReplyMode::On {
            ctx.conn.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`
fn client_unblock(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let id = super::arg_int(&argv[2])?;
    let with_error = match argv.get(3) {
        None => false,
        Some(a) if argv.len() == 4 && eq(a, "timeout") => false,
        Some(a) if argv.len() == 4 && eq(a, "error") => true,
        Some(_) => {
            return Err(CmdError::other(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let done = u64::try_from(id).is_ok_and(|id| ctx.node.blocking.unblock(id, with_error));
    ctx.out.int(i64::from(done));
    Ok(())
}

/// `CLIENT HELP`
fn client_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::help(
        ctx,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
        ],
    );
    Ok(())
}
