//! Blocking list commands with several clients: wake-up by pushes,
//! arrival-order fairness, timeouts, pipelining behind a blocked command,
//! transactions, and CLIENT UNBLOCK.

mod common;

use std::time::{Duration, Instant};

use common::{encode, wait_until, Shoal};

fn blocked_clients(node: &Shoal) -> usize {
    node.raw().call("CLIENT LIST").matches("cmd=blpop").count()
        + node.raw().call("CLIENT LIST").matches("cmd=blmove").count()
}

#[test]
fn push_wakes_the_oldest_waiter_first() {
    let node = Shoal::start(&[]);
    let mut first = node.raw();
    first.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    let mut second = node.raw();
    second.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 2);
    assert_eq!(node.raw().call("RPUSH q a b"), ":2\r\n");
    assert_eq!(first.reply(), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(second.reply(), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    assert_eq!(node.raw().call("EXISTS q"), ":0\r\n");
}

#[test]
fn timeout_replies_null_and_pipelined_commands_follow() {
    let node = Shoal::start(&[]);
    let mut c = node.raw();
    let started = Instant::now();
    let mut batch = encode(&[b"BRPOP", b"none", b"0.2"]);
    batch.extend_from_slice(&encode(&[b"PING"]));
    c.send(&batch);
    assert_eq!(c.reply(), "*-1\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "returned after {:?}",
        started.elapsed()
    );
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.call("BLPOP k -1"), "-ERR timeout is negative\r\n");
    assert_eq!(
        c.call("BLPOP k x"),
        "-ERR timeout is not a float or out of range\r\n"
    );
}

#[test]
fn blmove_chains_into_a_waiter_on_the_destination() {
    let node = Shoal::start(&[]);
    let mut mover = node.raw();
    mover.send(&encode(&[
        b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0",
    ]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    let mut taker = node.raw();
    taker.send(&encode(&[b"BLPOP", b"dst", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 2);
    assert_eq!(node.raw().call("LPUSH src x"), ":1\r\n");
    assert_eq!(mover.reply(), "$1\r\nx\r\n");
    assert_eq!(taker.reply(), "*2\r\n$3\r\ndst\r\n$1\r\nx\r\n");
}

#[test]
fn push_and_pop_inside_exec_wakes_nobody() {
    let node = Shoal::start(&[]);
    let mut waiter = node.raw();
    waiter.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    let mut tx = node.raw();
    tx.call("MULTI");
    tx.call("LPUSH q a");
    tx.call("LPOP q");
    assert_eq!(tx.call("EXEC"), "*2\r\n:1\r\n$1\r\na\r\n");
    assert_eq!(tx.call("MULTI"), "+OK\r\n");
    assert_eq!(tx.call("BLPOP empty 0"), "+QUEUED\r\n");
    assert_eq!(tx.call("EXEC"), "*1\r\n*-1\r\n");
    assert_eq!(tx.call("RPUSH q b"), ":1\r\n");
    assert_eq!(waiter.reply(), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
}

#[test]
fn client_unblock_ends_a_wait() {
    let node = Shoal::start(&[]);
    let mut waiter = node.raw();
    let id = waiter.call("CLIENT ID");
    let id = id.trim_start_matches(':').trim_end().to_string();
    waiter.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    assert_eq!(
        node.raw().call(&format!("CLIENT UNBLOCK {id} ERROR")),
        ":1\r\n"
    );
    assert_eq!(
        waiter.reply(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(node.raw().call(&format!("CLIENT UNBLOCK {id}")), ":0\r\n");
}

/// Redis checks BLMOVE's destination type only once the source has an
/// element: an empty source blocks whatever the destination holds, and the
/// waiter served later gets WRONGTYPE while the element stays put.
#[test]
fn blmove_checks_the_destination_only_when_there_is_something_to_move() {
    let node = Shoal::start(&[]);
    let mut c = node.raw();
    assert_eq!(c.call("HSET dst f v"), ":1\r\n");
    assert_eq!(c.call("MULTI"), "+OK\r\n");
    assert_eq!(c.call("BLMOVE src dst LEFT RIGHT 0"), "+QUEUED\r\n");
    assert_eq!(c.call("EXEC"), "*1\r\n$-1\r\n");
    c.send(&encode(&[
        b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0",
    ]));
    wait_until(Duration::from_secs(5), || blocked_clients(&node) == 1);
    assert_eq!(node.raw().call("RPUSH src x"), ":1\r\n");
    assert_eq!(
        c.reply(),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(c.call("LRANGE src 0 -1"), "*1\r\n$1\r\nx\r\n");
    assert_eq!(
        c.call("BLMOVE src dst LEFT RIGHT 0"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}
