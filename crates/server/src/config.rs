//! Configuration: one table of parameters serves the config file, the
//! command-line flags (`--port 7000`), `CONFIG GET` and `CONFIG SET`.
//!
//! Names, value syntax (`100mb`, `yes`/`no`) and error strings are Redis's,
//! so a `redis.conf` fragment and Redis tooling work unchanged.

use shoal_proto::pattern::glob_match;
use shoal_store::evict::Policy;

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];

/// Output-buffer limits of one client class (`normal`, `replica`, `pubsub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: String,
    pub databases: usize,
    pub maxclients: usize,
    /// Idle seconds before a client is closed; 0 = never.
    pub timeout: u64,
    pub requirepass: String,
    pub loglevel: String,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub output_limit_normal: BufferLimit,
    pub output_limit_replica: BufferLimit,
    pub output_limit_pubsub: BufferLimit,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    pub maxmemory_eviction_tenacity: u64,
    pub lfu_log_factor: u64,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub hll_sparse_max_bytes: u64,
    pub lfu_decay_time: u64,
    pub hz: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub save: String,
    pub appendonly: bool,
    /// Port of the Prometheus metrics endpoint; 0 = off (shoal's own).
    pub metrics_port: u16,
    /// Cluster bus port; 0 = client port + 10000, as Redis.
    pub cluster_port: u16,
    /// Address peers and clients are told to reach this node at; empty =
    /// the first bind address (or, for a wildcard bind, the address this
    /// node reaches its seed from).
    pub cluster_announce_ip: String,
    /// Milliseconds of silence before a member is declared failed.
    pub cluster_node_timeout: u64,
    /// Voters the metadata group keeps: 1, 3 or 5 (shoal's own).
    pub cluster_voters: u64,
    /// A member's client address to join at first start; empty = start a
    /// cluster of one (shoal's own).
    pub join: String,
    /// `proxy` (serve other owners' keys by forwarding) or `moved`
    /// (answer `-MOVED`) (shoal's own).
    pub cluster_redirect: String,
    /// This node's share of slots, relative to the others (shoal's own).
    pub cluster_weight: u64,
    /// `warm`: a slot moving to another node takes its keys along; `cold`:
    /// it changes owner at once and its keys are dropped (shoal's own;
    /// for comparison).
    pub cluster_migration: String,
    /// Keys per batch when a slot's keys move to another node (shoal's own).
    pub cluster_migration_batch: u64,
    /// Most keys per second this node sends while moving slots; 0 = no
    /// limit (shoal's own).
    pub cluster_migration_rate: u64,
    /// What members prove to each other on the cluster bus and when
    /// joining; empty = none (shoal's own).
    pub cluster_secret: String,
    /// `lock-prefix`: key prefixes of the lock namespace, space-separated.
    pub lock_prefix: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            dir: ".".into(),
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            requirepass: String::new(),
            loglevel: "notice".into(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            output_limit_normal: BufferLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            output_limit_replica: BufferLimit {
                hard: 256 * 1024 * 1024,
                soft: 64 * 1024 * 1024,
                soft_seconds: 60,
            },
            output_limit_pubsub: BufferLimit {
                hard: 32 * 1024 * 1024,
                soft: 8 * 1024 * 1024,
                soft_seconds: 60,
            },
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            lfu_decay_time: 1,
            hz: 10,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            save: String::new(),
            appendonly: false,
            metrics_port: 0,
            cluster_port: 0,
            cluster_announce_ip: String::new(),
            cluster_node_timeout: 2000,
            cluster_voters: 3,
            join: String::new(),
            cluster_redirect: "proxy".into(),
            cluster_weight: 1,
            cluster_migration: "warm".into(),
            cluster_migration_batch: 256,
            cluster_migration_rate: 0,
            cluster_secret: String::new(),
            lock_prefix: "lock:".into(),
        }
    }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    /// Settable with `CONFIG SET` (every parameter is settable at start).
    pub mutable: bool,
    pub get: Getter,
    pub set: Setter,
}

const fn param(name: &'static str, mutable: bool, get: Getter, set: Setter) -> Param {
    Param {
        name,
        mutable,
        get,
        set,
    }
}

/// Every parameter, in the order `CONFIG GET *` lists them.
pub static PARAMS: &[Param] = &[
    param(
        "port",
        false,
        |c| c.port.to_string(),
        |c, v| {
            c.port = int(v, 0, 65535)? as u16;
            Ok(())
        },
    ),
    param(
        "bind",
        false,
        |c| c.bind.join(" "),
        |c, v| {
            c.bind = v.split_whitespace().map(String::from).collect();
            Ok(())
        },
    ),
    param(
        "dir",
        false,
        |c| c.dir.clone(),
        |c, v| {
            c.dir = v.to_string();
            Ok(())
        },
    ),
    param(
        "databases",
        false,
        |c| c.databases.to_string(),
        |c, v| {
            c.databases = int(v, 1, i64::from(i32::MAX))? as usize;
            Ok(())
        },
    ),
    param(
        "maxclients",
        true,
        |c| c.maxclients.to_string(),
        |c, v| {
            c.maxclients = int(v, 1, i64::from(i32::MAX))? as usize;
            Ok(())
        },
    ),
    param(
        "timeout",
        true,
        |c| c.timeout.to_string(),
        |c, v| {
            c.timeout = int(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
    param(
        "requirepass",
        true,
        |c| c.requirepass.clone(),
        |c, v| {
            c.requirepass = v.to_string();
            Ok(())
        },
    ),
    param(
        "loglevel",
        true,
        |c| c.loglevel.clone(),
        |c, v| {
            c.loglevel = one_of(v, LOGLEVELS)?;
            Ok(())
        },
    ),
    param(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| {
            c.proto_max_bulk_len = memory(v)?.max(1024 * 1024);
            Ok(())
        },
    ),
    param(
        "client-query-buffer-limit",
        true,
        |c| c.client_query_buffer_limit.to_string(),
        |c, v| {
            c.client_query_buffer_limit = memory(v)?.max(1024 * 1024);
            Ok(())
        },
    ),
    param(
        "client-output-buffer-limit",
        true,
        show_output_limits,
        set_output_limits,
    ),
    param(
        "maxmemory",
        true,
        |c| c.maxmemory.to_string(),
        |c, v| {
            c.maxmemory = memory(v)?;
            Ok(())
        },
    ),
    param(
        "maxmemory-policy",
        true,
        |c| c.maxmemory_policy.clone(),
        |c, v| {
            // shoal's own policy is accepted but, like Redis's message,
            // the error lists Redis's eight.
            c.maxmemory_policy = if v.eq_ignore_ascii_case(Policy::AllKeysTinyLfu.name()) {
                Policy::AllKeysTinyLfu.name().to_string()
            } else {
                let names: Vec<&str> = Policy::REDIS.iter().map(|p| p.name()).collect();
                one_of(v, &names)?
            };
            Ok(())
        },
    ),
    param(
        "maxmemory-samples",
        true,
        |c| c.maxmemory_samples.to_string(),
        |c, v| {
            c.maxmemory_samples = int(v, 1, 64)? as u64;
            Ok(())
        },
    ),
    param(
        "maxmemory-eviction-tenacity",
        true,
        |c| c.maxmemory_eviction_tenacity.to_string(),
        |c, v| {
            c.maxmemory_eviction_tenacity = int(v, 0, 100)? as u64;
            Ok(())
        },
    ),
    param(
        "hash-max-listpack-entries",
        true,
        |c| c.hash_max_listpack_entries.to_string(),
        |c, v| {
            c.hash_max_listpack_entries = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "hash-max-ziplist-entries",
        true,
        |c| c.hash_max_listpack_entries.to_string(),
        |c, v| {
            c.hash_max_listpack_entries = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "hash-max-listpack-value",
        true,
        |c| c.hash_max_listpack_value.to_string(),
        |c, v| {
            c.hash_max_listpack_value = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "hash-max-ziplist-value",
        true,
        |c| c.hash_max_listpack_value.to_string(),
        |c, v| {
            c.hash_max_listpack_value = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "zset-max-listpack-entries",
        true,
        |c| c.zset_max_listpack_entries.to_string(),
        |c, v| {
            c.zset_max_listpack_entries = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "zset-max-ziplist-entries",
        true,
        |c| c.zset_max_listpack_entries.to_string(),
        |c, v| {
            c.zset_max_listpack_entries = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "zset-max-listpack-value",
        true,
        |c| c.zset_max_listpack_value.to_string(),
        |c, v| {
            c.zset_max_listpack_value = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "zset-max-ziplist-value",
        true,
        |c| c.zset_max_listpack_value.to_string(),
        |c, v| {
            c.zset_max_listpack_value = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "hll-sparse-max-bytes",
        true,
        |c| c.hll_sparse_max_bytes.to_string(),
        |c, v| {
            c.hll_sparse_max_bytes = memory(v)?;
            Ok(())
        },
    ),
    param(
        "set-max-intset-entries",
        true,
        |c| c.set_max_intset_entries.to_string(),
        |c, v| {
            c.set_max_intset_entries = int(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    ),
    param(
        "lfu-log-factor",
        true,
        |c| c.lfu_log_factor.to_string(),
        |c, v| {
            c.lfu_log_factor = int(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
    param(
        "lfu-decay-time",
        true,
        |c| c.lfu_decay_time.to_string(),
        |c, v| {
            c.lfu_decay_time = int(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
    param(
        "hz",
        true,
        |c| c.hz.to_string(),
        |c, v| {
            c.hz = int(v, 0, i64::from(i32::MAX))?.clamp(1, 500) as u64;
            Ok(())
        },
    ),
    param(
        "slowlog-log-slower-than",
        true,
        |c| c.slowlog_log_slower_than.to_string(),
        |c, v| {
            c.slowlog_log_slower_than = int(v, -1, i64::MAX)?;
            Ok(())
        },
    ),
    param(
        "slowlog-max-len",
        true,
        |c| c.slowlog_max_len.to_string(),
        |c, v| {
            c.slowlog_max_len = int(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
    param(
        "save",
        true,
        |c| c.save.clone(),
        |c, v| {
            c.save = v.to_string();
            Ok(())
        },
    ),
    param(
        "appendonly",
        true,
        |c| yes_no(c.appendonly),
        |c, v| {
            c.appendonly = boolean(v)?;
            Ok(())
        },
    ),
    param(
        "metrics-port",
        false,
        |c| c.metrics_port.to_string(),
        |c, v| {
            c.metrics_port = int(v, 0, 65535)? as u16;
            Ok(())
        },
    ),
    param(
        "cluster-port",
        false,
        |c| c.cluster_port.to_string(),
        |c, v| {
            c.cluster_port = int(v, 0, 65535)? as u16;
            Ok(())
        },
    ),
    param(
        "cluster-announce-ip",
        false,
        |c| c.cluster_announce_ip.clone(),
        |c, v| {
            c.cluster_announce_ip = v.to_string();
            Ok(())
        },
    ),
    param(
        "cluster-node-timeout",
        false,
        |c| c.cluster_node_timeout.to_string(),
        |c, v| {
            c.cluster_node_timeout = int(v, 100, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
    param(
        "cluster-voters",
        false,
        |c| c.cluster_voters.to_string(),
        |c, v| {
            c.cluster_voters = one_of(v, &["1", "3", "5"])?.parse().unwrap_or(3);
            Ok(())
        },
    ),
    param(
        "join",
        false,
        |c| c.join.clone(),
        |c, v| {
            c.join = v.to_string();
            Ok(())
        },
    ),
    param(
        "cluster-redirect",
        true,
        |c| c.cluster_redirect.clone(),
        |c, v| {
            c.cluster_redirect = one_of(v, &["proxy", "moved"])?;
            Ok(())
        },
    ),
    param(
        "lock-prefix",
        true,
        |c| c.lock_prefix.clone(),
        |c, v| {
            c.lock_prefix = v.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok(())
        },
    ),
    param(
        "cluster-secret",
        false,
        |c| c.cluster_secret.clone(),
        |c, v| {
            c.cluster_secret = v.to_string();
            Ok(())
        },
    ),
    param(
        "cluster-weight",
        false,
        |c| c.cluster_weight.to_string(),
        |c, v| {
            c.cluster_weight = int(v, 1, 1000)? as u64;
            Ok(())
        },
    ),
    param(
        "cluster-migration",
        true,
        |c| c.cluster_migration.clone(),
        |c, v| {
            c.cluster_migration = one_of(v, &["warm", "cold"])?;
            Ok(())
        },
    ),
    param(
        "cluster-migration-batch",
        true,
        |c| c.cluster_migration_batch.to_string(),
        |c, v| {
            c.cluster_migration_batch = int(v, 1, 100_000)? as u64;
            Ok(())
        },
    ),
    param(
        "cluster-migration-rate",
        true,
        |c| c.cluster_migration_rate.to_string(),
        |c, v| {
            c.cluster_migration_rate = int(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    ),
];

/// Looks a parameter up by name, case-insensitively (also `slaveof`-era
/// aliases are not accepted: shoal has no replicas).
pub fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Config {
    /// `CONFIG GET`: every (name, value) whose name matches one of the patterns.
    ///
    /// As in Redis, a name without glob characters is looked up directly and
    /// echoed as the client spelled it; a pattern reports canonical names.
    /// Each parameter appears once, in the order first matched.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, String)> {
        let mut found: Vec<(&'static str, Vec<u8>)> = Vec::new();
        for pat in patterns {
            let is_glob = pat.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            for p in PARAMS {
                let hit = if is_glob {
                    glob_match(pat, p.name.as_bytes(), true)
                } else {
                    p.name.as_bytes().eq_ignore_ascii_case(pat)
                };
                if hit && !found.iter().any(|(n, _)| *n == p.name) {
                    let shown = if is_glob {
                        p.name.as_bytes().to_vec()
                    } else {
                        pat.to_vec()
                    };
                    found.push((p.name, shown));
                }
            }
        }
        found
            .into_iter()
            .filter_map(|(name, shown)| find(name).map(|p| (shown, (p.get)(self))))
            .collect()
    }

    /// Applies `name value` pairs all together, as `CONFIG SET` does: either
    /// every one is valid and applied, or none is. `at_start` also allows
    /// parameters that cannot change at run time. Errors are the text after
    /// `ERR ` in Redis's reply.
    pub fn apply(&mut self, pairs: &[(&str, &str)], at_start: bool) -> Result<(), String> {
        let mut next = self.clone();
        for (i, (name, value)) in pairs.iter().enumerate() {
            let Some(p) = find(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let fail = |why: &str| {
                format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            if pairs[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(fail("duplicate parameter"));
            }
            if !p.mutable && !at_start {
                return Err(fail("can't set immutable config"));
            }
            (p.set)(&mut next, value).map_err(|why| fail(&why))?;
        }
        *self = next;
        Ok(())
    }

    /// Reads a `redis.conf`-style file: `name value…` per line, `#` comments,
    /// quoting as in inline commands.
    pub fn load_file(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = shoal_proto::request::split_line(line.as_bytes())
                .map_err(|_| format!("line {}: unbalanced quotes", n + 1))?;
            let Some((name, rest)) = words.split_first() else {
                continue;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let value = rest
                .iter()
                .map(|w| String::from_utf8_lossy(w))
                .collect::<Vec<_>>()
                .join(" ");
            self.apply(&[(name.as_str(), value.as_str())], true)
                .map_err(|e| format!("line {}: '{}': {}", n + 1, line, e))?;
        }
        Ok(())
    }

    /// Reads `--name value…` flags, as `redis-server` does after its config file.
    pub fn load_flags(&mut self, args: &[String]) -> Result<(), String> {
        let mut i = 0;
        while i < args.len() {
            let Some(name) = args[i].strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument '{}' (flags are --name value)",
                    args[i]
                ));
            };
            let mut values = Vec::new();
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                values.push(args[i].as_str());
                i += 1;
            }
            let value = values.join(" ");
            self.apply(&[(name, value.as_str())], true)?;
        }
        Ok(())
    }
}

fn int(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = shoal_proto::number::string2ll(v.as_bytes())
        .or_else(|| memory(v).ok().and_then(|m| i64::try_from(m).ok()))
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// Redis's `memtoull`: a byte count with an optional unit (`k`=1000,
/// `kb`=1024, `m`, `mb`, `g`, `gb`), case-insensitive.
pub fn memory(v: &str) -> Result<u64, String> {
    let err = || "argument must be a memory value".to_string();
    let lower = v.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(err()),
    };
    let n: u64 = digits.parse().map_err(|_| err())?;
    n.checked_mul(mul).ok_or_else(err)
}

fn one_of(v: &str, allowed: &[&str]) -> Result<String, String> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .map(|a| a.to_string())
        .ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                allowed.join(", ")
            )
        })
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn show_output_limits(c: &Config) -> String {
    let one =
        |name: &str, l: BufferLimit| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds);
    format!(
        "{} {} {}",
        one("normal", c.output_limit_normal),
        one("slave", c.output_limit_replica),
        one("pubsub", c.output_limit_pubsub)
    )
}

fn set_output_limits(c: &mut Config, v: &str) -> Result<(), String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for w in words.chunks(4) {
        let limit = BufferLimit {
            hard: memory(w[1]).map_err(|_| {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            })?,
            soft: memory(w[2]).map_err(|_| {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            })?,
            soft_seconds: w[3].parse().map_err(|_| {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            })?,
        };
        match w[0].to_ascii_lowercase().as_str() {
            "normal" => c.output_limit_normal = limit,
            "slave" | "replica" => c.output_limit_replica = limit,
            "pubsub" => c.output_limit_pubsub = limit,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_set_errors_match_redis() {
        let mut c = Config::default();
        assert_eq!(
            c.apply(&[("foo", "1")], false),
            Err("Unknown option or number of arguments for CONFIG SET - 'foo'".into())
        );
        assert_eq!(
            c.apply(&[("timeout", "x")], false),
            Err("CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer".into())
        );
        assert_eq!(
            c.apply(&[("databases", "3")], false),
            Err("CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config".into())
        );
        assert_eq!(
            c.apply(&[("timeout", "1"), ("TIMEOUT", "2")], false),
            Err(
                "CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter"
                    .into()
            )
        );
        assert_eq!(
            c.apply(&[("maxmemory-policy", "x")], false),
            Err("CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into())
        );
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let mut c = Config::default();
        assert!(c
            .apply(&[("timeout", "5"), ("maxmemory", "nope")], false)
            .is_err());
        assert_eq!(c.timeout, 0);
        c.apply(&[("timeout", "5"), ("maxmemory", "1gb")], false)
            .expect("valid");
        assert_eq!((c.timeout, c.maxmemory), (5, 1 << 30));
    }

    #[test]
    fn file_and_flags_use_the_same_names() {
        let mut c = Config::default();
        c.load_file("# comment\nport 7001\nmaxmemory 100mb\nclient-output-buffer-limit normal 1mb 512kb 10\n")
            .expect("valid file");
        c.load_flags(&[
            "--bind".into(),
            "127.0.0.1".into(),
            "::1".into(),
            "--timeout".into(),
            "3".into(),
        ])
        .expect("valid flags");
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxmemory, 100 * 1024 * 1024);
        assert_eq!(c.bind, vec!["127.0.0.1".to_string(), "::1".to_string()]);
        assert_eq!(c.timeout, 3);
        assert_eq!(
            c.output_limit_normal,
            BufferLimit {
                hard: 1 << 20,
                soft: 512 * 1024,
                soft_seconds: 10
            }
        );
        assert!(c.load_file("nosuch 1\n").is_err());
    }

    #[test]
    fn config_get_matches_globs_case_insensitively() {
        let c = Config::default();
        let names: Vec<_> = c
            .matching(&[b"MAXMEMORY*", b"TimeOut", b"timeout"])
            .into_iter()
            .map(|(n, _)| String::from_utf8_lossy(&n).into_owned())
            .collect();
        assert_eq!(
            names,
            vec![
                "maxmemory",
                "maxmemory-policy",
                "maxmemory-samples",
                "maxmemory-eviction-tenacity",
                "TimeOut"
            ]
        );
        assert_eq!(
            c.matching(&[b"client-output-buffer-limit"])[0].1,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
