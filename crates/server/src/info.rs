//! The INFO text: Redis's sections and field names, because monitoring
//! tools and client libraries parse them.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::node::Node;

/// Sections in Redis's order; `default` is all of them here.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Renders the requested sections (none, `default`, `all` or `everything`
/// mean every section).
pub fn render(node: &Node, requested: &[String]) -> String {
    let every = requested.is_empty()
        || requested
            .iter()
            .any(|s| s == "default" || s == "all" || s == "everything");
    let mut out = String::new();
    for &section in SECTIONS {
        if !every && !requested.iter().any(|r| r == section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let mut title = section.to_string();
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let title = match section {
            "cpu" => "CPU".to_string(),
            _ => title,
        };
        let _ = write!(out, "# {title}\r\n");
        let fields = fields(node, section);
        for (name, value) in fields {
            let _ = write!(out, "{name}:{value}\r\n");
        }
    }
    out
}

fn fields(node: &Node, section: &str) -> Vec<(String, String)> {
    let config = node.config.read().clone();
    let uptime = node.started.elapsed();
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |name: &str, value: String| f.push((name.to_string(), value));
    match section {
        "server" => {
            put("redis_version", crate::REDIS_VERSION.into());
            put("shoal_version", env!("CARGO_PKG_VERSION").into());
            put("redis_git_sha1", "00000000".into());
            put("redis_git_dirty", "0".into());
            put("redis_mode", "cluster".into());
            put(
                "os",
                format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            put("arch_bits", (usize::BITS).to_string());
            put("multiplexing_api", "epoll".into());
            put("process_id", std::process::id().to_string());
            put("process_supervised", "no".into());
            put("run_id", node.run_id.clone());
            let port = node.local_addr.lock().map_or(config.port, |a| a.port());
            put("tcp_port", port.to_string());
            put(
                "server_time_usec",
                (shoal_store::now_ms() * 1000).to_string(),
            );
            put("uptime_in_seconds", uptime.as_secs().to_string());
            put("uptime_in_days", (uptime.as_secs() / 86400).to_string());
            put("hz", config.hz.to_string());
            put("configured_hz", config.hz.to_string());
            put(
                "lru_clock",
                (shoal_store::keyspace::lru_clock(shoal_store::now_ms()) & 0xff_ffff).to_string(),
            );
            put(
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            put("io_threads_active", "0".into());
        }
        "clients" => {
            put("connected_clients", node.clients.count().to_string());
            put("cluster_connections", "0".into());
            put("maxclients", config.maxclients.to_string());
            put("blocked_clients", "0".into());
            put("tracking_clients", "0".into());
            put("clients_in_timeout_table", "0".into());
        }
        "memory" => {
            let used = shoal_store::alloc::allocated() as u64;
            let rss = rss_bytes();
            put("used_memory", used.to_string());
            put("used_memory_human", human(used));
            put("used_memory_rss", rss.to_string());
            put("used_memory_rss_human", human(rss));
            let peak = shoal_store::alloc::peak() as u64;
            put("used_memory_peak", peak.to_string());
            put("used_memory_peak_human", human(peak));
            put("used_memory_startup", node.startup_allocated.to_string());
            put("maxmemory", config.maxmemory.to_string());
            put("maxmemory_human", human(config.maxmemory));
            put("maxmemory_policy", config.maxmemory_policy.clone());
            let ratio = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            put("mem_fragmentation_ratio", format!("{ratio:.2}"));
            put("mem_allocator", "libc".into());
        }
        "persistence" => {
            put("loading", "0".into());
            put("async_loading", "0".into());
            put("rdb_changes_since_last_save", "0".into());
            put("rdb_bgsave_in_progress", "0".into());
            put("rdb_last_bgsave_status", "ok".into());
            put("aof_enabled", "0".into());
            put("aof_rewrite_in_progress", "0".into());
        }
        "stats" => {
            let s = &node.stats;
            let keyspace = node.store.stats();
            put(
                "total_connections_received",
                s.connections_received.load(Ordering::Relaxed).to_string(),
            );
            put(
                "total_commands_processed",
                s.commands_processed.load(Ordering::Relaxed).to_string(),
            );
            put(
                "total_net_input_bytes",
                s.net_input_bytes.load(Ordering::Relaxed).to_string(),
            );
            put(
                "total_net_output_bytes",
                s.net_output_bytes.load(Ordering::Relaxed).to_string(),
            );
            put(
                "rejected_connections",
                s.rejected_connections.load(Ordering::Relaxed).to_string(),
            );
            put("expired_keys", keyspace.expired_keys.to_string());
            put("evicted_keys", keyspace.evicted_keys.to_string());
            put("evicted_clients", "0".into());
            let (total, current) = node.evictor.exceeded_ms();
            put("total_eviction_exceeded_time", total.to_string());
            put("current_eviction_exceeded_time", current.to_string());
            put("keyspace_hits", keyspace.keyspace_hits.to_string());
            put("keyspace_misses", keyspace.keyspace_misses.to_string());
            put(
                "total_error_replies",
                s.error_replies.load(Ordering::Relaxed).to_string(),
            );
        }
        "replication" => {
            put("role", "master".into());
            put("connected_slaves", "0".into());
            put("master_failover_state", "no-failover".into());
            put("master_replid", node.run_id.clone());
            put("master_repl_offset", "0".into());
        }
        "cpu" => {
            let (user, sys) = cpu_seconds();
            put("used_cpu_sys", format!("{sys:.6}"));
            put("used_cpu_user", format!("{user:.6}"));
        }
        "cluster" => {
            put("cluster_enabled", "1".into());
            if let Some(c) = node.cluster.get() {
                // shoal's own fields: this node's view of the metadata group.
                let map = c.map();
                let st = c.meta().status();
                let name = |rid: u64| {
                    map.nodes()
                        .iter()
                        .find(|n| shoal_meta::types::raft_id(&n.id) == Some(rid))
                        .map_or_else(|| format!("{rid:016x}"), |n| n.id.clone())
                };
                put(
                    "cluster_state",
                    if map.covered() { "ok" } else { "fail" }.into(),
                );
                put("cluster_node_id", c.me.id.clone());
                put("cluster_epoch", map.epoch.to_string());
                put("cluster_raft_role", st.role.into());
                put(
                    "cluster_raft_leader",
                    st.leader.map(name).unwrap_or_default(),
                );
                put("cluster_raft_term", st.term.to_string());
                put("cluster_raft_applied", st.applied.to_string());
                put("cluster_raft_voters", st.voters.len().to_string());
                put("cluster_raft_learners", st.learners.len().to_string());
                let me = map.position(&c.me.id);
                let (mut out, mut into) = (0, 0);
                for (_, owner, to) in map.moving_slots() {
                    out += usize::from(Some(owner) == me);
                    into += usize::from(Some(to) == me);
                }
                put("cluster_slots_moving", map.moves().to_string());
                put("cluster_slots_migrating", out.to_string());
                put("cluster_slots_importing", into.to_string());
                let m = &node.migrations;
                put(
                    "cluster_migrated_keys",
                    m.keys_sent
                        .load(std::sync::atomic::Ordering::Relaxed)
                        .to_string(),
                );
                put(
                    "cluster_migrated_slots",
                    m.slots_sent
                        .load(std::sync::atomic::Ordering::Relaxed)
                        .to_string(),
                );
            }
        }
        "keyspace" => {
            for i in 0..node.store.databases() {
                let (keys, expires) = node.store.db(i).sizes();
                if keys > 0 {
                    f.push((
                        format!("db{i}"),
                        format!("keys={keys},expires={expires},avg_ttl=0"),
                    ));
                }
            }
            return f;
        }
        _ => {}
    }
    f
}

/// Redis's `bytesToHuman`: `1.50M`, `312B`.
pub fn human(n: u64) -> String {
    let n = n as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n / size);
        }
    }
    format!("{}B", n as u64)
}

/// Resident set size from `/proc/self/statm` (0 where there is no procfs).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// (user, system) CPU seconds from `/proc/self/stat`.
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}
