//! `shoal-hitratio`: how many hits a read-through cache gets from a given
//! amount of memory, per eviction policy, on shoal and redis-server side by
//! side, beside the offline optimum.
//!
//! Each row is a request stream (see [`workload`]): every request is a GET,
//! and a miss is followed by a SET of the key's value, as a read-through
//! cache does. Each target server gets `maxmemory` = its own used_memory
//! when empty + the row's budget (1 % or 10 % of the working set, counting
//! each key as value + key + 48 bytes), so the data gets the same room on
//! every server. Requests go in pipelined batches of 64 GETs, then the SETs
//! for that batch's misses. The first quarter of each stream warms the
//! cache and is not counted. Bélády's optimum is computed on the same
//! stream with the same budget.

mod belady;
mod client;
mod workload;

use std::process::ExitCode;
use std::time::Instant;

use client::{Client, Reply};
use workload::{Shape, Sizes};

const USAGE: &str = "\
usage: shoal-hitratio --target NAME=HOST:PORT=POLICY[,POLICY...] [--target ...]
                      [--requests N] [--keys N] [--spread-keys N] [--rows PREFIX,...] [--seed N]

Replays read-through streams (GET, SET on miss) against each target under
each listed maxmemory-policy and prints one markdown row per run:
  zipf-A-F       Zipf(A) over --keys keys (100-byte values), budget F of the working set
  scan-A-F       the same with 30% of requests for keys used once
  shift-A-F      Zipf(A) over a block of --keys keys replaced 8 times over the stream
  spread-A-F     Zipf(A) over --spread-keys keys, values 10 B..40 kB log-uniform
(A in 0.8, 1.0, 1.2; F in 1%, 10%). Defaults: --requests 2000000 --keys 1000000
--spread-keys 100000 --seed 1; --rows selects rows by name prefix.
";

/// Per-key bookkeeping bytes counted against the budget besides key and value.
const KEY_OVERHEAD: u64 = 48;
const BATCH: usize = 64;

struct Target {
    name: String,
    addr: String,
    policies: Vec<String>,
}

struct Options {
    targets: Vec<Target>,
    requests: usize,
    keys: u64,
    spread_keys: u64,
    rows: Vec<String>,
    seed: u64,
}

struct Row {
    /// `zipf-1.0-10%`: what `--rows` matches.
    name: String,
    /// `zipf 1.0`, `10%`: the table's first two columns.
    stream: String,
    budget: String,
    shape: Shape,
    sizes: Sizes,
    universe: u64,
    fraction: f64,
    /// The row's place in the full table: its stream's seed is `--seed`
    /// plus this, so a `--rows` subset replays the same streams.
    index: u64,
}

fn parse(argv: &[String]) -> Result<Options, String> {
    let mut o = Options {
        targets: Vec::new(),
        requests: 2_000_000,
        keys: 1_000_000,
        spread_keys: 100_000,
        rows: Vec::new(),
        seed: 1,
    };
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].as_str();
        let value = argv.get(i + 1).ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag {
            "--target" => {
                let mut parts = value.splitn(3, '=');
                let (Some(name), Some(addr), Some(policies)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "--target wants NAME=HOST:PORT=POLICIES, got {value}"
                    ));
                };
                o.targets.push(Target {
                    name: name.into(),
                    addr: addr.into(),
                    policies: policies.split(',').map(String::from).collect(),
                });
            }
            "--requests" => o.requests = number()? as usize,
            "--keys" => o.keys = number()?,
            "--spread-keys" => o.spread_keys = number()?,
            "--seed" => o.seed = number()?,
            "--rows" => o.rows = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown option {flag}")),
        }
        i += 2;
    }
    if o.targets.is_empty() {
        return Err("give at least one --target".into());
    }
    Ok(o)
}

fn rows(o: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut index = 0;
    for (kind, sizes, universe) in [
        ("zipf", Sizes::Fixed(100), o.keys),
        ("scan", Sizes::Fixed(100), o.keys),
        ("shift", Sizes::Fixed(100), o.keys),
        (
            "spread",
            Sizes::Spread {
                min: 10,
                max: 40_000,
            },
            o.spread_keys,
        ),
    ] {
        for alpha in [0.8, 1.0, 1.2] {
            if kind != "zipf" && kind != "scan" && alpha != 1.0 {
                continue;
            }
            for fraction in [0.01, 0.10] {
                let shape = match kind {
                    "zipf" | "spread" => Shape::Zipf { alpha },
                    "scan" => Shape::Scan { alpha, percent: 30 },
                    _ => Shape::Shift { alpha, shifts: 8 },
                };
                let budget = format!("{}%", (fraction * 100.0) as u32);
                let name = format!("{kind}-{alpha:.1}-{budget}");
                index += 1;
                if o.rows.is_empty() || o.rows.iter().any(|p| name.starts_with(p.as_str())) {
                    rows.push(Row {
                        name,
                        stream: format!("{kind} {alpha:.1}"),
                        budget,
                        shape,
                        sizes,
                        universe,
                        fraction,
                        index: index - 1,
                    });
                }
            }
        }
    }
    rows
}

fn key(id: u64) -> Vec<u8> {
    format!("key:{id}").into_bytes()
}

fn cost(sizes: Sizes, id: u64) -> u64 {
    sizes.of(id) as u64 + key(id).len() as u64 + KEY_OVERHEAD
}

/// One run's outcome.
struct Run {
    hits: u64,
    counted: u64,
    evicted: u64,
    /// Keys cached at the end (DBSIZE).
    keys: u64,
    /// used_memory at the end minus used_memory when empty.
    used: u64,
    errors: u64,
    seconds: f64,
}

fn run(
    addr: &str,
    policy: &str,
    row: &Row,
    requests: &[u64],
    warmup: usize,
    budget: u64,
) -> std::io::Result<Run> {
    let mut c = Client::connect(addr)?;
    c.call(&["CONFIG", "SET", "maxmemory", "0"])?;
    c.call(&["FLUSHALL", "SYNC"])?;
    c.call(&["CONFIG", "RESETSTAT"])?;
    let idle = c.info("used_memory")?;
    let maxmemory = idle + budget;
    for (name, value) in [
        ("maxmemory-policy", policy.to_string()),
        ("maxmemory", maxmemory.to_string()),
    ] {
        if let Reply::Error(e) = c.call(&["CONFIG", "SET", name, &value])? {
            return Err(std::io::Error::other(format!(
                "CONFIG SET {name} {value}: {e}"
            )));
        }
    }
    let max_value = match row.sizes {
        Sizes::Fixed(n) => n,
        Sizes::Spread { max, .. } => max,
    };
    let payload = vec![b'v'; max_value];
    let started = Instant::now();
    let (mut hits, mut errors) = (0u64, 0u64);
    let mut misses = Vec::with_capacity(BATCH);
    for (b, batch) in requests.chunks(BATCH).enumerate() {
        for &id in batch {
            c.send(&[b"GET", &key(id)])?;
        }
        c.flush()?;
        misses.clear();
        for (j, &id) in batch.iter().enumerate() {
            match c.read()? {
                Reply::Bulk(Some(_)) => {
                    if b * BATCH + j >= warmup {
                        hits += 1;
                    }
                }
                Reply::Bulk(None) => misses.push(id),
                _ => errors += 1,
            }
        }
        for &id in &misses {
            c.send(&[b"SET", &key(id), &payload[..row.sizes.of(id)]])?;
        }
        c.flush()?;
        for _ in &misses {
            if !matches!(c.read()?, Reply::Ok(_)) {
                errors += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let run = Run {
        hits,
        counted: (requests.len() - warmup) as u64,
        evicted: c.info("evicted_keys")?,
        keys: match c.call(&["DBSIZE"])? {
            Reply::Int(n) => n.max(0) as u64,
            other => return Err(std::io::Error::other(format!("DBSIZE: {other:?}"))),
        },
        used: c.info("used_memory")?.saturating_sub(idle),
        errors,
        seconds,
    };
    c.call(&["CONFIG", "SET", "maxmemory", "0"])?;
    c.call(&["FLUSHALL", "SYNC"])?;
    Ok(run)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let o = match parse(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("shoal-hitratio: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!("| stream | budget | server | policy | hit ratio | of optimum | evicted keys | keys held | data MB / budget MB | errors | kreq/s |");
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows(&o) {
        let stream = workload::stream(row.shape, row.universe, o.requests, o.seed + row.index);
        let warmup = stream.requests.len() / 4;
        let working_set: u64 = (0..row.universe).map(|id| cost(row.sizes, id)).sum();
        let budget = (working_set as f64 * row.fraction) as u64;
        let counted = (stream.requests.len() - warmup) as u64;
        let opt = belady::hits(&stream.requests, warmup, budget, |id| cost(row.sizes, id));
        let opt_ratio = opt as f64 / counted as f64;
        println!(
            "| {} | {} | (Bélády) | optimum | {:.2}% | 1.00 | | | | | |",
            row.stream,
            row.budget,
            opt_ratio * 100.0
        );
        for t in &o.targets {
            for policy in &t.policies {
                match run(&t.addr, policy, &row, &stream.requests, warmup, budget) {
                    Ok(run) => {
                        let ratio = run.hits as f64 / run.counted as f64;
                        println!(
                            "| {} | {} | {} | {policy} | {:.2}% | {:.2} | {} | {} | {:.1} / {:.1} | {} | {:.0} |",
                            row.stream,
                            row.budget,
                            t.name,
                            ratio * 100.0,
                            if opt_ratio > 0.0 { ratio / opt_ratio } else { 0.0 },
                            run.evicted,
                            run.keys,
                            run.used as f64 / 1e6,
                            budget as f64 / 1e6,
                            run.errors,
                            stream.requests.len() as f64 / run.seconds / 1000.0,
                        );
                    }
                    Err(e) => {
                        eprintln!("shoal-hitratio: {} {policy} {}: {e}", t.name, row.name);
                        return ExitCode::from(1);
                    }
                }
            }
        }
    }
    ExitCode::SUCCESS
}
