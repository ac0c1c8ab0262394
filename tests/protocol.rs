//! The wire protocol end to end against a real node: pipelining, inline
//! commands, RESP3, protocol errors, and the limits that keep bad or slow
//! clients from hurting the node.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{encode, wait_until, Raw, Shoal};

#[test]
fn ping_echo_and_set_get_work_through_the_redis_crate() {
    let node = Shoal::start(&[]);
    let mut con = node.client();
    let pong: String = redis::cmd("PING").query(&mut con).expect("ping");
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut con)
        .expect("set");
    let v: String = redis::cmd("GET").arg("k").query(&mut con).expect("get");
    assert_eq!(v, "v");
    let echoed: Vec<u8> = redis::cmd("ECHO")
        .arg(&b"a\r\nb\0"[..])
        .query(&mut con)
        .expect("echo");
    assert_eq!(echoed, b"a\r\nb\0");
}

#[test]
fn deep_pipeline_replies_in_order() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    let mut batch = Vec::new();
    for _ in 0..5000 {
        batch.extend_from_slice(&encode(&[b"INCR", b"counter"]));
    }
    raw.send(&batch);
    for i in 1..=5000 {
        assert_eq!(raw.reply(), format!(":{i}\r\n"));
    }
}

#[test]
fn inline_commands_are_understood() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    raw.send(
        b"PING\r\nSET greeting \"hello world\"\r\nGET greeting\nEXISTS  greeting   nosuch\r\n",
    );
    assert_eq!(raw.reply(), "+PONG\r\n");
    assert_eq!(raw.reply(), "+OK\r\n");
    assert_eq!(raw.reply(), "$11\r\nhello world\r\n");
    assert_eq!(raw.reply(), ":1\r\n");
}

#[test]
fn protocol_error_is_answered_then_connection_closes() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    raw.send(b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n");
    assert_eq!(raw.reply(), "+PONG\r\n");
    assert_eq!(raw.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(raw.closed_by_server());
    let mut other = node.raw();
    assert_eq!(other.call("PING"), "+PONG\r\n");
}

#[test]
fn unbalanced_inline_quotes_get_redis_error() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    raw.send(b"SET a \"b\r\n");
    assert_eq!(
        raw.reply(),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert!(raw.closed_by_server());
}

#[test]
fn unknown_command_and_wrong_arity_errors_match_redis() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    assert_eq!(
        raw.call("FOO bar baz"),
        "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"
    );
    assert_eq!(
        raw.call("GET"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.call("CONFIG GET"),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
    assert_eq!(
        raw.call("CLIENT NOPE"),
        "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn hello_3_switches_replies_to_resp3() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    let hello = raw.call("HELLO 3");
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"),
        "{hello}"
    );
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello}");
    assert_eq!(raw.call("GET nosuch"), "_\r\n");
    assert_eq!(
        raw.call("CONFIG GET timeout"),
        "%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        raw.call("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(raw.call("HELLO 2").lines().next(), Some("*14"));
    assert_eq!(raw.call("GET nosuch"), "$-1\r\n");
}

#[test]
fn huge_claimed_bulk_length_does_not_reserve_memory() {
    let node = Shoal::start(&[]);
    let mut greedy = node.raw();
    // Claims 500 MB, sends three bytes, then waits.
    greedy.send(b"*2\r\n$3\r\nSET\r\n$500000000\r\nabc");
    let mut other = node.raw();
    assert_eq!(other.call("PING"), "+PONG\r\n");
    let info = other.call("INFO memory");
    let used: u64 = info
        .split("\r\n")
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.parse().ok())
        .expect("used_memory in INFO");
    assert!(
        used < 64 * 1024 * 1024,
        "used_memory grew to {used} on a claim"
    );
}

#[test]
fn bulk_over_proto_max_bulk_len_is_refused() {
    let node = Shoal::start(&["--proto-max-bulk-len", "1mb"]);
    let mut raw = node.raw();
    raw.send(b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert_eq!(raw.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(raw.closed_by_server());
}

#[test]
fn query_buffer_over_limit_closes_the_client() {
    let node = Shoal::start(&[
        "--client-query-buffer-limit",
        "1mb",
        "--proto-max-bulk-len",
        "8mb",
    ]);
    let mut raw = node.raw();
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    // The server may close while we are still writing: stop at the first failed write.
    for _ in 0..40 {
        if raw.stream.write_all(&chunk).is_err() {
            break;
        }
    }
    assert!(raw.closed_by_server());
    assert_eq!(node.raw().call("EXISTS k"), ":0\r\n");
}

#[test]
fn maxclients_refuses_with_redis_message() {
    let node = Shoal::start(&["--maxclients", "2"]);
    // The readiness probe's connection may not be reaped yet: wait until
    // only this admin connection remains, then fill the last slot.
    let mut a = node.raw();
    wait_until(Duration::from_secs(5), || {
        a.call("CLIENT LIST").matches("id=").count() == 1
    });
    let mut b = node.raw();
    assert_eq!(a.call("PING"), "+PONG\r\n");
    assert_eq!(b.call("PING"), "+PONG\r\n");
    let mut c = Raw::connect(node.port);
    assert_eq!(c.reply(), "-ERR max number of clients reached\r\n");
    assert!(c.closed_by_server());
}

#[test]
fn idle_timeout_closes_silent_clients() {
    let node = Shoal::start(&["--timeout", "1"]);
    let mut idle = node.raw();
    assert_eq!(idle.call("PING"), "+PONG\r\n");
    // The read returns EOF once the server drops the idle client (read timeout is 10 s).
    assert!(idle.closed_by_server());
}

#[test]
fn client_that_never_reads_is_cut_off_by_output_limit() {
    let node = Shoal::start(&["--client-output-buffer-limit", "normal 0 256kb 1"]);
    let mut admin = node.raw();
    let value = vec![b'v'; 256 * 1024];
    assert_eq!(admin.cmd(&[b"SET", b"big", &value]), "+OK\r\n");
    let mut slow = node.raw();
    let mut batch = Vec::new();
    for _ in 0..400 {
        batch.extend_from_slice(&encode(&[b"GET", b"big"]));
    }
    slow.send(&batch);
    // Never read: 100 MB of replies cannot fit in socket buffers, so the
    // server must give up on this client.
    wait_until(Duration::from_secs(15), || {
        admin.call("CLIENT LIST").matches("id=").count() == 1
    });
    assert_eq!(admin.call("PING"), "+PONG\r\n");
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let node = Shoal::start(&["--requirepass", "s3cret"]);
    let mut raw = node.raw();
    assert_eq!(raw.call("GET k"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        raw.call("AUTH wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.call("AUTH s3cret"), "+OK\r\n");
    assert_eq!(raw.call("GET k"), "$-1\r\n");
    let mut other = node.raw();
    assert_eq!(
        other.call("HELLO 3 AUTH default s3cret").lines().next(),
        Some("%7")
    );
}

#[test]
fn client_kill_closes_the_other_connection() {
    let node = Shoal::start(&[]);
    let mut victim = node.raw();
    let id = victim.call("CLIENT ID");
    let id = id.trim_start_matches(':').trim_end();
    let mut admin = node.raw();
    assert_eq!(admin.call(&format!("CLIENT KILL ID {id}")), ":1\r\n");
    assert!(victim.closed_by_server());
}

#[test]
fn client_reply_off_and_skip_suppress_replies() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    raw.send(&encode(&[b"CLIENT", b"REPLY", b"SKIP"]));
    raw.send(&encode(&[b"SET", b"a", b"1"]));
    raw.send(&encode(&[b"CLIENT", b"REPLY", b"OFF"]));
    raw.send(&encode(&[b"SET", b"b", b"2"]));
    raw.send(&encode(&[b"CLIENT", b"REPLY", b"ON"]));
    raw.send(&encode(&[b"MGET", b"a", b"b"]));
    assert_eq!(raw.reply(), "+OK\r\n");
    assert_eq!(raw.reply(), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn quit_replies_ok_and_closes() {
    let node = Shoal::start(&[]);
    let mut raw = node.raw();
    assert_eq!(raw.call("QUIT"), "+OK\r\n");
    assert!(raw.closed_by_server());
}

#[test]
fn sigterm_finishes_and_exits_zero() {
    let mut node = Shoal::start(&[]);
    let mut raw = node.raw();
    assert_eq!(raw.call("SET k v"), "+OK\r\n");
    let pid = libc::pid_t::try_from(node.child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let mut exit = None;
    wait_until(Duration::from_secs(10), || {
        exit = node.child.try_wait().expect("wait works");
        exit.is_some()
    });
    assert_eq!(exit.and_then(|s| s.code()), Some(0));
}

#[test]
fn shutdown_command_stops_the_node() {
    let mut node = Shoal::start(&[]);
    let mut raw = node.raw();
    raw.send(&encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(raw.closed_by_server());
    let mut exit = None;
    wait_until(Duration::from_secs(10), || {
        exit = node.child.try_wait().expect("wait works");
        exit.is_some()
    });
    assert_eq!(exit.and_then(|s| s.code()), Some(0));
}

#[test]
fn config_file_and_flags_configure_the_node() {
    let path = std::env::temp_dir().join(format!("shoal-conf-{}.conf", common::free_port()));
    std::fs::write(&path, "# test\nmaxmemory 1mb\ntimeout 7\n").expect("config written");
    let node = Shoal::start_with(Some(&path), &["--timeout", "9"]);
    let mut raw = node.raw();
    assert_eq!(
        raw.call("CONFIG GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
    );
    assert_eq!(
        raw.call("CONFIG GET timeout"),
        "*2\r\n$7\r\ntimeout\r\n$1\r\n9\r\n"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn metrics_port_serves_prometheus_text() {
    use std::io::Read;
    let metrics_port = common::free_port();
    let node = Shoal::start(&["--metrics-port", &metrics_port.to_string()]);
    let mut raw = node.raw();
    assert_eq!(raw.call("SET k v"), "+OK\r\n");
    assert_eq!(raw.call("GET k"), "$1\r\nv\r\n");
    raw.call("PING");
    let mut body = String::new();
    wait_until(Duration::from_secs(10), || {
        body.clear();
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", metrics_port)) else {
            return false;
        };
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request");
        s.read_to_string(&mut body).is_ok()
    });
    assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
    assert!(body.contains("shoal_keyspace_hits_total 1\n"), "{body}");
    assert!(body.contains("shoal_keys 1\n"), "{body}");
    assert!(body.contains("shoal_commands_processed_total "), "{body}");
}
