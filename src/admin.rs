//! `shoal cluster …`: the admin commands. They talk to any node over RESP,
//! as `redis-cli` would: the cluster's state is the replicated map every
//! node holds, plus what each node reports about itself in INFO.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use clap::{Parser, Subcommand};
use shoal_proto::frame::reply_len;

/// Administer a shoal cluster through any of its nodes.
#[derive(Parser, Debug)]
#[command(name = "shoal cluster")]
struct Admin {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A table of the nodes (address, Raft role, health, slots, keys,
    /// memory), the metadata group's leader and term, and the balance.
    Status {
        /// Any node of the cluster.
        #[arg(long, default_value = "127.0.0.1:6379")]
        at: String,
    },
    /// Exits 0 when the node answers, is in the cluster's map and sees
    /// every slot served (`cluster_state:ok`); 1 with the reason if not
    /// (a container healthcheck).
    Health {
        #[arg(long, default_value = "127.0.0.1:6379")]
        at: String,
    },
    /// The nodes as CLUSTER NODES lists them.
    Nodes {
        #[arg(long, default_value = "127.0.0.1:6379")]
        at: String,
    },
    /// Adds a running node that is alone (started without --join) to the
    /// cluster of a member: `shoal cluster add 127.0.0.1:7004 --to 127.0.0.1:7001`.
    Add {
        node: String,
        #[arg(long)]
        to: String,
    },
    /// Takes a node (by id or client address) out of the cluster: its
    /// slots move to the others with their keys (a progress bar shows the
    /// moves), then it is forgotten.
    Remove {
        node: String,
        #[arg(long, default_value = "127.0.0.1:6379")]
        at: String,
        /// Forget the node at once, without moving its keys (for a node
        /// that is gone for good).
        #[arg(long)]
        cold: bool,
    },
    /// Moves slots, with their keys, to where the ring places them now
    /// (after joins and weight changes), showing progress.
    Rebalance {
        #[arg(long, default_value = "127.0.0.1:6379")]
        at: String,
    },
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
    Nil,
    Error(String),
    Array(Vec<Value>),
}

fn decode(wire: &[u8]) -> (Value, usize) {
    let line_end = wire
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(wire.len());
    let line = String::from_utf8_lossy(&wire[1..line_end]).into_owned();
    let mut pos = line_end + 2;
    let value = match wire.first() {
        Some(b'+') => Value::Text(line),
        Some(b'-') => Value::Error(line),
        Some(b':') => Value::Int(line.parse().unwrap_or(0)),
        Some(b'$') | Some(b'=') => match line.parse::<usize>() {
            Ok(n) => {
                let body = String::from_utf8_lossy(&wire[pos..pos + n]).into_owned();
                pos += n + 2;
                Value::Text(body)
            }
            Err(_) => Value::Nil,
        },
        Some(b'*') => match line.parse::<usize>() {
            Ok(n) => {
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let (v, used) = decode(&wire[pos..]);
                    items.push(v);
                    pos += used;
                }
                Value::Array(items)
            }
            Err(_) => Value::Nil,
        },
        _ => Value::Nil,
    };
    (value, pos)
}

/// Sends one command to `addr` and returns its decoded reply.
fn call(addr: &str, args: &[&str]) -> Result<Value, String> {
    call_within(addr, args, Duration::from_secs(5))
}

/// [`call`], waiting at most `limit` for the reply.
fn call_within(addr: &str, args: &[&str], limit: Duration) -> Result<Value, String> {
    let limit = Some(limit);
    let mut s = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(limit).map_err(|e| e.to_string())?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reply_len(&buf) {
            Ok(Some(n)) => return Ok(decode(&buf[..n]).0),
            Ok(None) => {}
            Err(_) => return Err(format!("{addr}: the reply is not RESP")),
        }
        let n = s.read(&mut chunk).map_err(|e| format!("{addr}: {e}"))?;
        if n == 0 {
            return Err(format!("{addr} closed the connection"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn text(addr: &str, args: &[&str]) -> Result<String, String> {
    match call(addr, args)? {
        Value::Text(t) => Ok(t),
        Value::Error(e) => Err(format!("{addr}: {e}")),
        other => Err(format!("{addr}: unexpected reply {other:?}")),
    }
}

/// A `field:value` of an INFO text.
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// One line of CLUSTER NODES.
struct NodeLine {
    id: String,
    addr: String,
    failed: bool,
    slots: usize,
}

fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let addr = parts.get(1)?.split('@').next()?.to_string();
            let slots = parts
                .iter()
                .skip(8)
                // `[slot->-id]` / `[slot-<-id]`: a slot moving, not owned.
                .filter(|r| !r.starts_with('['))
                .map(|r| match r.split_once('-') {
                    Some((a, b)) => {
                        b.parse::<usize>().unwrap_or(0) + 1 - a.parse::<usize>().unwrap_or(0)
                    }
                    None => 1,
                })
                .sum();
            Some(NodeLine {
                id: parts.first()?.to_string(),
                addr,
                failed: parts.get(2)?.split(',').any(|f| f == "fail"),
                slots,
            })
        })
        .collect()
}

fn status(at: &str) -> Result<(), String> {
    let nodes = parse_nodes(&text(at, &["CLUSTER", "NODES"])?);
    let info = text(at, &["INFO", "cluster"])?;
    let leader = field(&info, "cluster_raft_leader").unwrap_or("");
    let leader_addr = nodes
        .iter()
        .find(|n| n.id == leader)
        .map_or("unknown", |n| n.addr.as_str());
    let served: usize = nodes.iter().filter(|n| !n.failed).map(|n| n.slots).sum();
    println!(
        "cluster via {at}: state {}, epoch {}, {served}/16384 slots served",
        field(&info, "cluster_state").unwrap_or("?"),
        field(&info, "cluster_epoch").unwrap_or("?"),
    );
    println!(
        "metadata group: leader {} ({leader_addr}), term {}, applied {}, {} voters, {} learners",
        leader.get(..8).unwrap_or("none"),
        field(&info, "cluster_raft_term").unwrap_or("?"),
        field(&info, "cluster_raft_applied").unwrap_or("?"),
        field(&info, "cluster_raft_voters").unwrap_or("?"),
        field(&info, "cluster_raft_learners").unwrap_or("?"),
    );
    match field(&info, "cluster_slots_moving") {
        Some(n) if n != "0" => println!("migrations: {n} slots moving with their keys"),
        _ => println!("migrations: none in flight"),
    }
    println!();
    println!(
        "{:<10} {:<22} {:<10} {:<12} {:>6} {:>9} {:>9}",
        "NODE", "ADDRESS", "RAFT", "HEALTH", "SLOTS", "KEYS", "MEMORY"
    );
    for n in &nodes {
        let own = call(&n.addr, &["INFO", "everything"]).ok();
        let own = match &own {
            Some(Value::Text(t)) => Some(t.as_str()),
            _ => None,
        };
        let (role, keys, memory) = match own {
            Some(t) => (
                field(t, "cluster_raft_role").unwrap_or("?").to_string(),
                field(t, "db0")
                    .and_then(|d| d.split(',').next())
                    .and_then(|k| k.strip_prefix("keys="))
                    .unwrap_or("0")
                    .to_string(),
                field(t, "used_memory_human").unwrap_or("?").to_string(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let health = match (n.failed, own.is_some()) {
            (false, true) => "ok",
            (false, false) => "unreachable",
            (true, _) => "failed",
        };
        println!(
            "{:<10} {:<22} {:<10} {:<12} {:>6} {:>9} {:>9}",
            n.id.get(..8).unwrap_or(&n.id),
            n.addr,
            role,
            health,
            n.slots,
            keys,
            memory
        );
    }
    let serving: Vec<usize> = nodes
        .iter()
        .filter(|n| !n.failed && n.slots > 0)
        .map(|n| n.slots)
        .collect();
    if let Some(max) = serving.iter().max() {
        let mean = served as f64 / serving.len() as f64;
        println!();
        println!(
            "balance: max/mean slots {:.3} over {} serving nodes",
            *max as f64 / mean,
            serving.len()
        );
    }
    Ok(())
}

fn health(at: &str) -> Result<(), String> {
    let limit = Duration::from_secs(2);
    let info = match call_within(at, &["CLUSTER", "INFO"], limit)? {
        Value::Text(t) => t,
        other => return Err(format!("{at}: CLUSTER INFO answered {other:?}")),
    };
    let state = field(&info, "cluster_state").unwrap_or("?");
    if state != "ok" {
        return Err(format!("{at}: cluster_state:{state}"));
    }
    let id = match call_within(at, &["CLUSTER", "MYID"], limit)? {
        Value::Text(t) => t,
        other => return Err(format!("{at}: CLUSTER MYID answered {other:?}")),
    };
    if !parse_nodes(&text(at, &["CLUSTER", "NODES"])?)
        .iter()
        .any(|n| n.id == id)
    {
        return Err(format!("{at}: not in the cluster's map yet"));
    }
    Ok(())
}

fn add(node: &str, to: &str) -> Result<(), String> {
    let (host, port) = to
        .rsplit_once(':')
        .ok_or_else(|| format!("{to} is not host:port"))?;
    // The node joins before it answers (up to 30 s).
    let meet = ["CLUSTER", "MEET", host, port];
    if let Value::Error(e) = call_within(node, &meet, Duration::from_secs(40))? {
        return Err(format!("{node}: {e}"));
    }
    let id = text(node, &["CLUSTER", "MYID"])?;
    for _ in 0..100 {
        if parse_nodes(&text(to, &["CLUSTER", "NODES"])?)
            .iter()
            .any(|n| n.id == id)
        {
            println!("added {id} ({node}) to the cluster of {to}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{to} does not list {node} after 10 s"))
}

fn remove(node: &str, at: &str, cold: bool) -> Result<(), String> {
    let nodes = parse_nodes(&text(at, &["CLUSTER", "NODES"])?);
    let Some(target) = nodes.iter().find(|n| n.id == node || n.addr == node) else {
        return Err(format!("no node {node} in the cluster {at} belongs to"));
    };
    let via = if target.addr == at {
        // A node does not forget itself: ask another.
        nodes
            .iter()
            .find(|n| n.id != target.id && !n.failed)
            .map(|n| n.addr.clone())
            .ok_or("the last node cannot be removed")?
    } else {
        at.to_string()
    };
    if !cold && !target.failed && target.slots > 0 {
        text(&via, &["CLUSTER", "DRAIN", &target.id])?;
        println!(
            "moving the {} slots of {} ({}) to the others",
            target.slots, target.id, target.addr
        );
        let id = target.id.clone();
        follow_moves(&via, Some(target.slots), || {
            let nodes = parse_nodes(&text(&via, &["CLUSTER", "NODES"])?);
            Ok(nodes.iter().find(|n| n.id == id).map_or(0, |n| n.slots))
        })?;
    }
    text(&via, &["CLUSTER", "FORGET", &target.id])?;
    println!("removed {} ({})", target.id, target.addr);
    Ok(())
}

fn rebalance(at: &str) -> Result<(), String> {
    text(at, &["CLUSTER", "REBALANCE"])?;
    // The plan is in the log once the command answers; give `at` a moment
    // to apply it before reading "nothing moving" as "nothing to move".
    let moving = || moves_now(at).map(|(m, _)| m);
    let start = std::time::Instant::now();
    while moving()? == 0 {
        if start.elapsed() > Duration::from_secs(2) {
            println!("every slot is where the ring places it: nothing to move");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    follow_moves(at, None, moving)
}

/// Slots moving (as `at` sees the map) and keys sent so far by every node.
fn moves_now(at: &str) -> Result<(usize, u64), String> {
    let info = text(at, &["INFO", "cluster"])?;
    let moving = field(&info, "cluster_slots_moving")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut keys = 0;
    for n in parse_nodes(&text(at, &["CLUSTER", "NODES"])?) {
        if let Ok(Value::Text(info)) = call(&n.addr, &["INFO", "cluster"]) {
            keys += field(&info, "cluster_migrated_keys")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok((moving, keys))
}

/// Shows a progress bar until `left` (slots still to move, of `total` or
/// of as many as it first reports) reaches 0; an error if it stops making
/// progress for a minute.
fn follow_moves(
    at: &str,
    total: Option<usize>,
    left: impl Fn() -> Result<usize, String>,
) -> Result<(), String> {
    let stall_limit = Duration::from_secs(60);
    let start = std::time::Instant::now();
    let (_, keys_before) = moves_now(at)?;
    let mut total = match total {
        Some(t) => t,
        None => left()?,
    };
    let mut last = (total, keys_before);
    let mut progress_at = std::time::Instant::now();
    loop {
        let remaining = left()?;
        let (_, keys) = moves_now(at)?;
        total = total.max(remaining);
        let done = total - remaining;
        let moved_keys = keys.saturating_sub(keys_before);
        let secs = start.elapsed().as_secs_f64().max(0.001);
        let rate = moved_keys as f64 / secs;
        let eta = if done > 0 {
            format!("{:.0} s", secs * remaining as f64 / done as f64)
        } else {
            "?".into()
        };
        let width = 30;
        let filled = (width * done).checked_div(total).unwrap_or(width);
        eprint!(
            "\r[{}{}] {done}/{total} slots, {moved_keys} keys, {rate:.0} keys/s, ETA {eta}   ",
            "#".repeat(filled),
            "-".repeat(width - filled)
        );
        if remaining == 0 {
            eprintln!();
            println!(
                "moved {total} slots and {moved_keys} keys in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if (remaining, keys) != last {
            last = (remaining, keys);
            progress_at = std::time::Instant::now();
        } else if progress_at.elapsed() > stall_limit {
            eprintln!();
            return Err(format!(
                "no progress for {} s: {remaining} slots still to move (see the nodes' logs; `shoal cluster status` shows them)",
                stall_limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs `shoal cluster <args>`; the exit code.
pub fn run(args: &[String]) -> std::process::ExitCode {
    let admin = Admin::parse_from(args);
    let done = match admin.command {
        Command::Status { at } => status(&at),
        Command::Health { at } => health(&at),
        Command::Nodes { at } => text(&at, &["CLUSTER", "NODES"]).map(|t| print!("{t}")),
        Command::Add { node, to } => add(&node, &to),
        Command::Remove { node, at, cold } => remove(&node, &at, cold),
        Command::Rebalance { at } => rebalance(&at),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_decode_and_node_lines_parse() {
        let (v, used) = decode(b"*3\r\n$2\r\nab\r\n:7\r\n$-1\r\n+x");
        assert_eq!(
            v,
            Value::Array(vec![Value::Text("ab".into()), Value::Int(7), Value::Nil])
        );
        assert_eq!(used, 21);
        let nodes = parse_nodes(
            "aa 127.0.0.1:7001@17001 myself,master - 0 0 3 connected 0-99 200\n\
             bb 127.0.0.1:7002@17002 master,fail - 0 0 3 disconnected\n",
        );
        assert_eq!(nodes.len(), 2);
        assert_eq!(
            (nodes[0].addr.as_str(), nodes[0].slots, nodes[0].failed),
            ("127.0.0.1:7001", 101, false)
        );
        assert_eq!((nodes[1].slots, nodes[1].failed), (0, true));
    }
}
