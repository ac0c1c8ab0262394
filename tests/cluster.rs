//! Multi-process clusters on loopback: nodes started by the test, one
//! joining through another, clients on every node.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::cluster::{
    agreed, cluster, cluster_info, field, id_of, leader_of, query, raft_info, LIMIT,
};
use common::{wait_until, Shoal};
use redis::Commands;

fn key(i: usize) -> String {
    format!("key:{i}")
}

/// Writes keys 0..n through the nodes in turn.
fn write_keys(nodes: &[Shoal], n: usize) {
    for i in 0..n {
        let mut c = nodes[i % nodes.len()].client();
        let _: () = c.set(key(i), i).expect("SET through any node");
    }
}

#[test]
fn three_nodes_serve_every_key_through_any_node() {
    let nodes = cluster(2, &[]);
    write_keys(&nodes, 300);
    // Each node holds its share, and every node serves every key.
    let sizes: Vec<usize> = nodes
        .iter()
        .map(|n| query(n, &["DBSIZE"]).expect("DBSIZE"))
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 300, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s > 50), "{sizes:?}");
    for node in &nodes {
        let mut c = node.client();
        for i in 0..300 {
            let v: Option<usize> = c.get(key(i)).expect("GET");
            assert_eq!(v, Some(i), "key {i} through port {}", node.port);
        }
    }
    // Multi-key commands across owners are split and put back in order.
    let mut c = nodes[1].client();
    let keys: Vec<String> = (0..10).map(key).chain(["missing".to_string()]).collect();
    let got: Vec<Option<usize>> = redis::cmd("MGET").arg(&keys).query(&mut c).expect("MGET");
    let want: Vec<Option<usize>> = (0..10).map(Some).chain([None]).collect();
    assert_eq!(got, want);
    let pairs: Vec<(String, usize)> = (300..320).map(|i| (key(i), i)).collect();
    let _: () = redis::cmd("MSET").arg(&pairs).query(&mut c).expect("MSET");
    let n: usize = redis::cmd("EXISTS")
        .arg(&keys)
        .query(&mut c)
        .expect("EXISTS");
    assert_eq!(n, 10);
    let n: usize = redis::cmd("DEL")
        .arg(&keys[..5])
        .query(&mut c)
        .expect("DEL");
    assert_eq!(n, 5);
    let n: usize = redis::cmd("EXISTS")
        .arg(&keys)
        .query(&mut c)
        .expect("EXISTS");
    assert_eq!(n, 5);
    let v: Option<usize> = nodes[2].client().get(key(319)).expect("GET");
    assert_eq!(v, Some(319));

    // Under `cluster-redirect moved`, keys owned elsewhere get -MOVED with
    // the owner's address; a two-key command across owners -CROSSSLOT.
    let _: () = query(&nodes[0], &["CONFIG", "SET", "cluster-redirect", "moved"]).expect("set");
    let ports: HashSet<String> = nodes.iter().map(|n| n.port.to_string()).collect();
    let (mut here, mut there) = (None, None);
    for i in 0..300 {
        match query::<Option<String>>(&nodes[0], &["GET", &key(i)]) {
            Ok(_) => here = here.or(Some(key(i))),
            Err(e) => {
                let slot: u16 = query(&nodes[0], &["CLUSTER", "KEYSLOT", &key(i)]).expect("slot");
                assert_eq!(e.code(), Some("MOVED"));
                let detail = e.detail().expect("detail").to_string();
                let (s, addr) = detail.split_once(' ').expect("slot and address");
                assert_eq!(s, slot.to_string());
                let (host, port) = addr.rsplit_once(':').expect("host:port");
                assert_eq!(host, "127.0.0.1");
                assert!(ports.contains(port) && port != nodes[0].port.to_string());
                there = there.or(Some(key(i)));
            }
        }
    }
    let (here, there) = (here.expect("a local key"), there.expect("a remote key"));
    for node in &nodes[..2] {
        let e = query::<String>(node, &["RENAME", &here, &there]).expect_err("cross-slot");
        assert_eq!(e.code(), Some("CROSSSLOT"));
        assert_eq!(
            e.detail(),
            Some("Keys in request don't hash to the same slot")
        );
    }

    // PUBLISH and SPUBLISH reach subscribers on other nodes; the reply
    // counts the publishing node's own subscribers, as Redis Cluster's.
    let mut sub = nodes[2].raw();
    assert_eq!(
        sub.call("SUBSCRIBE news"),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    let mut shard = nodes[2].raw();
    assert_eq!(
        shard.call("SSUBSCRIBE shard:1"),
        "*3\r\n$10\r\nssubscribe\r\n$7\r\nshard:1\r\n:1\r\n"
    );
    let n: usize = query(&nodes[1], &["PUBLISH", "news", "hello"]).expect("PUBLISH");
    assert_eq!(n, 0);
    let n: usize = query(&nodes[1], &["SPUBLISH", "shard:1", "hi"]).expect("SPUBLISH");
    assert_eq!(n, 0);
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    assert_eq!(
        shard.reply(),
        "*3\r\n$8\r\nsmessage\r\n$7\r\nshard:1\r\n$2\r\nhi\r\n"
    );

    // The cluster client finds every key from any seed.
    for node in &nodes {
        let client =
            redis::cluster::ClusterClient::new(vec![format!("redis://127.0.0.1:{}/", node.port)])
                .expect("cluster client");
        let mut c = client.get_connection().expect("cluster connection");
        for i in (10..300).step_by(7) {
            let v: Option<usize> = c.get(key(i)).expect("GET through the cluster client");
            assert_eq!(v, Some(i));
        }
        let _: () = c.set("written:by:cluster:client", node.port).expect("SET");
        let v: Option<u16> = nodes[2]
            .client()
            .get("written:by:cluster:client")
            .expect("GET");
        assert_eq!(v, Some(node.port));
    }
}

/// The keys `node` holds in slots it owns.
fn owned_keys(node: &Shoal) -> HashSet<String> {
    let id = id_of(node);
    type Owner = (String, u16, String, redis::Value);
    let slots: Vec<(u16, u16, Owner)> = query(node, &["CLUSTER", "SLOTS"]).expect("CLUSTER SLOTS");
    let mine: Vec<(u16, u16)> = slots
        .into_iter()
        .filter(|(_, _, (_, _, owner, _))| *owner == id)
        .map(|(a, b, _)| (a, b))
        .collect();
    query::<Vec<String>>(node, &["KEYS", "*"])
        .expect("KEYS")
        .into_iter()
        .filter(|k| {
            let slot: u16 = query(node, &["CLUSTER", "KEYSLOT", k]).expect("KEYSLOT");
            mine.iter().any(|&(a, b)| a <= slot && slot <= b)
        })
        .collect()
}

/// Kills `victim` (SIGKILL) and checks the survivors: within the failure
/// timeout and a few seconds it is marked failed, every slot is served,
/// and the keys that miss are exactly the victim's (which leave `alive`).
fn kill_and_check(
    nodes: &mut Vec<Shoal>,
    victim: usize,
    alive: &mut HashSet<usize>,
) -> (u16, Duration) {
    let lost = owned_keys(&nodes[victim]);
    assert!(!lost.is_empty());
    alive.retain(|&i| !lost.contains(&key(i)));
    let port = nodes[victim].port;
    drop(nodes.remove(victim));
    let killed = Instant::now();
    let survivors: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || {
        survivors.iter().all(|s| {
            let info = cluster_info(s);
            field(&info, "cluster_state").as_deref() == Some("ok")
                && query::<String>(s, &["CLUSTER", "NODES"]).is_ok_and(|t| {
                    t.lines().any(|l| {
                        l.contains(&format!(" 127.0.0.1:{port}@")) && l.contains(" master,fail ")
                    })
                })
        })
    });
    let took = killed.elapsed();
    for s in &survivors {
        let mut c = s.client();
        for i in 0..100 {
            let v: Option<usize> = c
                .get(key(i))
                .unwrap_or_else(|e| panic!("GET {i} after failover through {}: {e}", s.port));
            let want = alive.contains(&i).then_some(i);
            assert_eq!(
                v,
                want,
                "key {i} through port {}: {}",
                s.port,
                query::<String>(s, &["CLUSTER", "INFO"]).unwrap_or_default()
            );
        }
    }
    (port, took)
}

#[test]
fn killed_nodes_are_replaced_and_a_restarted_one_rejoins() {
    let extra = ["--cluster-node-timeout", "2000"];
    let mut nodes = cluster(2, &extra);
    write_keys(&nodes, 100);
    let mut alive: HashSet<usize> = (0..100).collect();
    let leader = leader_of(&nodes[0]).expect("a leader");
    let follower = nodes
        .iter()
        .position(|n| id_of(n) != leader)
        .expect("a follower");
    let (port, took) = kill_and_check(&mut nodes, follower, &mut alive);
    assert!(took < Duration::from_secs(8), "failover took {took:?}");

    // The killed node comes back with its identity and is healthy again.
    let back = Shoal::start_on(port, &extra).expect("restart");
    nodes.push(back);
    let all: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || {
        agreed(&all, 3)
            && all.iter().all(|s| {
                query::<String>(s, &["CLUSTER", "NODES"]).is_ok_and(|t| !t.contains("fail"))
            })
    });
    write_keys(&nodes, 100);
    let mut alive: HashSet<usize> = (0..100).collect();

    // Now the leader goes: the others elect a new one and serve every slot.
    let leader = leader_of(&nodes[0]).expect("a leader");
    let at = nodes
        .iter()
        .position(|n| id_of(n) == leader)
        .expect("the leader is a node");
    let (_, took) = kill_and_check(&mut nodes, at, &mut alive);
    assert!(took < Duration::from_secs(8), "failover took {took:?}");
    for s in &nodes {
        let new = leader_of(s).expect("a new leader");
        assert_ne!(new, leader);
    }
}

#[test]
fn a_whole_cluster_restarts_from_disk() {
    let nodes = cluster(2, &[]);
    let before: redis::Value = query(&nodes[0], &["CLUSTER", "SLOTS"]).expect("slots");
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    drop(nodes);
    let nodes: Vec<Shoal> = ports
        .iter()
        .map(|&p| Shoal::start_on(p, &[]).expect("restart"))
        .collect();
    let all: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || agreed(&all, 3));
    let after: redis::Value = query(&nodes[2], &["CLUSTER", "SLOTS"]).expect("slots");
    assert_eq!(after, before);
    write_keys(&nodes, 30);
    let v: Option<usize> = nodes[1].client().get(key(29)).expect("GET");
    assert_eq!(v, Some(29));
}

fn role(node: &Shoal) -> String {
    field(&raft_info(node), "cluster_raft_role").unwrap_or_default()
}

/// Survivors that vote (leader or follower) and that do not (learners).
fn seats(nodes: &[Shoal]) -> (usize, usize) {
    let roles: Vec<String> = nodes.iter().map(role).collect();
    let voting = roles
        .iter()
        .filter(|r| *r == "leader" || *r == "follower")
        .count();
    let learning = roles.iter().filter(|r| *r == "learner").count();
    (voting, learning)
}

#[test]
fn five_nodes_keep_three_voters_as_voters_die() {
    let extra = ["--cluster-node-timeout", "2000"];
    let mut nodes = cluster(4, &extra);
    wait_until(LIMIT, || seats(&nodes) == (3, 2));
    write_keys(&nodes, 100);
    let mut alive: HashSet<usize> = (0..100).collect();
    // A voter that does not lead dies: a learner takes its seat.
    let leader = leader_of(&nodes[0]).expect("a leader");
    let voter = nodes
        .iter()
        .position(|n| role(n) == "follower")
        .expect("a follower");
    kill_and_check(&mut nodes, voter, &mut alive);
    // The seat is handed over: three voters again, the dead one a learner.
    wait_until(LIMIT, || {
        seats(&nodes) == (3, 1)
            && nodes.iter().all(|n| {
                let info = raft_info(n);
                field(&info, "cluster_raft_voters").as_deref() == Some("3")
                    && field(&info, "cluster_raft_learners").as_deref() == Some("2")
            })
    });
    assert_eq!(leader_of(&nodes[0]).as_deref(), Some(leader.as_str()));
    // Then the leader: the two voters left elect one, the last learner
    // is promoted, and every slot is served again.
    let at = nodes
        .iter()
        .position(|n| id_of(n) == leader)
        .expect("the leader is a node");
    kill_and_check(&mut nodes, at, &mut alive);
    wait_until(LIMIT, || seats(&nodes) == (3, 0));
    let all: Vec<&Shoal> = nodes.iter().collect();
    wait_until(LIMIT, || {
        all.iter()
            .all(|s| field(&cluster_info(s), "cluster_state").as_deref() == Some("ok"))
    });
}

/// A lock taken through one node is held for every node's clients; the
/// leader's loss forgets neither it nor its token; a release through
/// another node frees it for the next holder, whose token is larger.
#[test]
fn locks_are_exclusive_across_nodes_and_outlive_the_leader() {
    let mut nodes = cluster(2, &[]);
    let set = |n: &Shoal, holder: &str| -> Option<String> {
        query(n, &["SET", "lock:job", holder, "NX", "PX", "60000"]).expect("SET lock")
    };
    let token =
        |n: &Shoal| -> Option<i64> { query(n, &["LOCK.TOKEN", "lock:job"]).expect("token") };
    assert_eq!(set(&nodes[0], "a").as_deref(), Some("OK"));
    assert_eq!(set(&nodes[1], "b"), None);
    assert_eq!(set(&nodes[2], "c"), None);
    let first = token(&nodes[1]).expect("held");
    assert!(nodes.iter().all(|n| token(n) == Some(first)));
    let get: Option<String> = query(&nodes[2], &["GET", "lock:job"]).expect("GET lock");
    assert_eq!(get.as_deref(), Some("a"));

    // The Raft leader goes: the lock and its token stay.
    let leader = leader_of(&nodes[0]).expect("a leader");
    let at = nodes
        .iter()
        .position(|n| id_of(n) == leader)
        .expect("leader is a node");
    drop(nodes.remove(at));
    wait_until(LIMIT, || {
        nodes
            .iter()
            .all(|n| leader_of(n).is_some_and(|l| l != leader))
    });
    assert_eq!(set(&nodes[0], "d"), None);
    assert!(nodes.iter().all(|n| token(n) == Some(first)));
    let released: i64 = query(&nodes[1], &["DELIFEQ", "lock:job", "a"]).expect("DELIFEQ");
    assert_eq!(released, 1);
    assert_eq!(set(&nodes[0], "d").as_deref(), Some("OK"));
    assert!(token(&nodes[1]).is_some_and(|t| t > first));
}

#[test]
fn only_nodes_with_the_cluster_secret_join() {
    let first = Shoal::start(&["--cluster-secret", "s3cret"]);
    let seed = format!("127.0.0.1:{}", first.port);
    let id = "0123456789abcdef0123456789abcdef01234567";
    let mut raw = first.raw();
    for bad in [&["wrong"][..], &[]] {
        let mut args: Vec<&[u8]> = vec![b"CLUSTER", b"JOIN", id.as_bytes(), b"127.0.0.1:1"];
        args.extend([&b"127.0.0.1:2"[..], b"1"]);
        args.extend(bad.iter().map(|b: &&str| b.as_bytes()));
        assert_eq!(raw.cmd(&args), "-ERR cluster-secret does not match\r\n");
    }
    let second = Shoal::start(&["--cluster-secret", "s3cret", "--join", seed.as_str()]);
    wait_until(LIMIT, || agreed(&[&first, &second], 2));
}

/// Runs `shoal cluster <args>`; its stdout, or its stderr on failure.
fn admin(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("cluster")
        .args(args)
        .output()
        .expect("shoal cluster runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

#[test]
fn the_admin_cli_adds_a_lone_node_shows_the_cluster_and_removes_a_node() {
    let first = Shoal::start(&[]);
    let second = Shoal::start(&[]);
    let at = |n: &Shoal| format!("127.0.0.1:{}", n.port);
    let added = admin(&["add", &at(&second), "--to", &at(&first)]).expect("add");
    assert!(added.starts_with("added "), "{added}");
    wait_until(LIMIT, || agreed(&[&first, &second], 2));
    // A node in a cluster with others does not meet another cluster.
    let mut raw = second.raw();
    assert_eq!(
        raw.call(&format!("CLUSTER MEET 127.0.0.1 {}", first.port)),
        "-ERR this node is already in a cluster with other nodes\r\n"
    );
    let status = admin(&["status", "--at", &at(&second)]).expect("status");
    // The join, then the moves of the second node's share with its keys.
    assert!(status.contains("state ok, epoch "), "{status}");
    assert!(status.contains(", 16384/16384 slots served"), "{status}");
    assert!(status.contains("migrations: none in flight"), "{status}");
    for n in [&first, &second] {
        assert!(status.contains(&at(n)), "{status}");
    }
    assert!(status.contains(" leader "), "{status}");
    // After a rebalance every slot is at its ring place: a second one
    // moves nothing.
    let first_pass = admin(&["rebalance", "--at", &at(&first)]).expect("rebalance");
    assert!(
        first_pass.starts_with("moved ")
            || first_pass == "every slot is where the ring places it: nothing to move\n",
        "{first_pass}"
    );
    assert_eq!(
        admin(&["rebalance", "--at", &at(&second)]).expect("rebalance"),
        "every slot is where the ring places it: nothing to move\n"
    );
    let removed = admin(&["remove", &at(&second), "--at", &at(&first)]).expect("remove");
    // Its slots move back, then it is forgotten.
    let lines: Vec<&str> = removed.lines().collect();
    assert_eq!(lines.len(), 3, "{removed}");
    let slots = lines[0]
        .strip_prefix("moving the ")
        .and_then(|r| r.split(' ').next())
        .expect("moving the N slots");
    assert!(slots.parse::<usize>().is_ok_and(|n| n > 0), "{removed}");
    assert!(
        lines[1].starts_with(&format!("moved {slots} slots and ")),
        "{removed}"
    );
    assert!(lines[2].starts_with("removed "), "{removed}");
    wait_until(LIMIT, || {
        let info = cluster_info(&first);
        field(&info, "cluster_known_nodes").as_deref() == Some("1")
            && field(&info, "cluster_state").as_deref() == Some("ok")
    });
    let e = admin(&["remove", "nosuchnode", "--at", &at(&first)]).expect_err("unknown");
    assert!(e.contains("no node nosuchnode"), "{e}");
}

#[test]
fn slot_commands_answer_as_redis_cluster_does() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    // "a" and "{a}x" share slot 15495; "b" is elsewhere.
    assert_eq!(raw.call("CLUSTER KEYSLOT {a}x"), ":15495\r\n");
    for k in ["a", "{a}x", "b"] {
        assert_eq!(raw.call(&format!("SET {k} 1")), "+OK\r\n");
    }
    assert_eq!(raw.call("CLUSTER COUNTKEYSINSLOT 15495"), ":2\r\n");
    assert_eq!(raw.call("CLUSTER COUNTKEYSINSLOT 0"), ":0\r\n");
    assert_eq!(
        raw.call("CLUSTER GETKEYSINSLOT 15495 1")
            .matches('$')
            .count(),
        1
    );
    assert_eq!(raw.call("CLUSTER GETKEYSINSLOT 0 10"), "*0\r\n");
    assert_eq!(
        raw.call("CLUSTER COUNTKEYSINSLOT 16384"),
        "-ERR Invalid slot\r\n"
    );
    assert_eq!(
        raw.call("CLUSTER COUNTKEYSINSLOT x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call("CLUSTER GETKEYSINSLOT 0 -1"),
        "-ERR Invalid slot or number of keys\r\n"
    );
    assert_eq!(
        raw.call("CLUSTER GETKEYSINSLOT -1 1"),
        "-ERR Invalid slot or number of keys\r\n"
    );
    let id: String = query(&node, &["CLUSTER", "MYID"]).expect("MYID");
    assert_eq!(id.len(), 40);
    assert_eq!(field(&raft_info(&node), "cluster_node_id"), Some(id));
    assert_eq!(
        raw.call("CLUSTER MEET 127.0.0.1 x"),
        "-ERR Invalid node address specified: 127.0.0.1:x\r\n"
    );
    // A one-node cluster runs a multi-key command across slots (Redis
    // Cluster would answer CROSSSLOT): it is a plain redis-server.
    assert_eq!(raw.call("MGET a b"), "*2\r\n$1\r\n1\r\n$1\r\n1\r\n");
}
