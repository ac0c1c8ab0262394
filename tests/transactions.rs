//! MULTI/EXEC/WATCH across clients: atomicity and optimistic locking.

mod common;

use common::{encode, Shoal};

#[test]
fn exec_is_atomic_for_other_clients() {
    let node = Shoal::start(&[]);
    let port = node.port;
    let writer = std::thread::spawn(move || {
        let mut w = common::Raw::connect(port);
        for _ in 0..200 {
            let mut batch = encode(&[b"MULTI"]);
            for _ in 0..50 {
                batch.extend_from_slice(&encode(&[b"INCR", b"x"]));
            }
            batch.extend_from_slice(&encode(&[b"EXEC"]));
            w.send(&batch);
            for _ in 0..52 {
                w.reply();
            }
        }
    });
    let mut r = node.raw();
    let mut seen = 0;
    while seen < 10_000 {
        let reply = r.call("GET x");
        if reply == "$-1\r\n" {
            continue;
        }
        let v: i64 = reply
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .expect("integer value");
        assert_eq!(v % 50, 0, "saw a transaction half applied: {v}");
        seen = v;
    }
    writer.join().expect("writer finishes");
}

#[test]
fn watched_key_written_by_another_client_aborts_exec() {
    let node = Shoal::start(&[]);
    let mut a = node.raw();
    let mut b = node.raw();
    assert_eq!(a.call("WATCH k other"), "+OK\r\n");
    assert_eq!(b.call("SET k changed"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("SET k mine"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
    assert_eq!(a.call("GET k"), "$7\r\nchanged\r\n");
    // Watches end with EXEC; an untouched watch lets EXEC run.
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    assert_eq!(b.call("SET unrelated 1"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("SET k mine"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*1\r\n+OK\r\n");
    // FLUSHALL touches every watched key.
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    assert_eq!(b.call("FLUSHALL"), "+OK\r\n");
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("PING"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
}

#[test]
fn watched_key_that_expires_aborts_exec() {
    let node = Shoal::start(&["--hz", "1"]);
    let mut a = node.raw();
    assert_eq!(a.call("SET k v PX 50"), "+OK\r\n");
    assert_eq!(a.call("WATCH k"), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(a.call("MULTI"), "+OK\r\n");
    assert_eq!(a.call("PING"), "+QUEUED\r\n");
    assert_eq!(a.call("EXEC"), "*-1\r\n");
}

#[test]
fn refused_exec_inside_multi_discards_the_transaction() {
    let node = Shoal::start(&[]);
    let mut r = node.raw();
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(r.call("SET a 1"), "+QUEUED\r\n");
    assert_eq!(
        r.call("EXEC now"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(r.call("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(
        r.call("EXEC now"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(r.call("EXISTS a"), ":0\r\n");
    assert_eq!(r.call("MULTI"), "+OK\r\n");
    assert_eq!(
        r.call("DISCARD now"),
        "-ERR wrong number of arguments for 'discard' command\r\n"
    );
    assert_eq!(r.call("PING"), "+QUEUED\r\n");
    assert_eq!(
        r.call("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}
