//! Pub/sub end to end: delivery order, patterns, RESP2 subscribed mode,
//! RESP3 pushes, and the output limit for subscribers that do not read.

mod common;

use std::time::Duration;

use common::{wait_until, Shoal};

#[test]
fn messages_reach_channel_and_pattern_subscribers_in_order() {
    let node = Shoal::start(&[]);
    let mut sub = node.raw();
    assert_eq!(
        sub.call("SUBSCRIBE news"),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(
        sub.call("PSUBSCRIBE n*"),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n"
    );
    let mut publisher = node.raw();
    assert_eq!(publisher.call("PUBLISH news first"), ":2\r\n");
    assert_eq!(publisher.call("PUBLISH news second"), ":2\r\n");
    assert_eq!(publisher.call("PUBLISH other x"), ":0\r\n");
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nfirst\r\n"
    );
    assert_eq!(
        sub.reply(),
        "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nfirst\r\n"
    );
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$6\r\nsecond\r\n"
    );
    assert_eq!(
        sub.reply(),
        "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$6\r\nsecond\r\n"
    );
    assert_eq!(
        publisher.call("PUBSUB NUMSUB news nope"),
        "*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnope\r\n:0\r\n"
    );
    assert_eq!(publisher.call("PUBSUB NUMPAT"), ":1\r\n");
    assert_eq!(publisher.call("PUBSUB CHANNELS"), "*1\r\n$4\r\nnews\r\n");
}

#[test]
fn resp2_subscriber_may_only_send_subscription_commands() {
    let node = Shoal::start(&[]);
    let mut sub = node.raw();
    sub.call("SUBSCRIBE a");
    assert_eq!(
        sub.call("GET k"),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(sub.call("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        sub.call("UNSUBSCRIBE"),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n"
    );
    assert_eq!(sub.call("GET k"), "$-1\r\n");
    assert_eq!(
        sub.call("UNSUBSCRIBE"),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
}

#[test]
fn resp3_subscriber_gets_pushes_and_can_run_commands() {
    let node = Shoal::start(&[]);
    let mut sub = node.raw();
    sub.call("HELLO 3");
    assert_eq!(
        sub.call("SSUBSCRIBE s1"),
        ">3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n"
    );
    assert_eq!(sub.call("GET k"), "_\r\n");
    assert_eq!(node.raw().call("SPUBLISH s1 hi"), ":1\r\n");
    assert_eq!(
        sub.reply(),
        ">3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n"
    );
}

#[test]
fn subscriber_that_never_reads_is_disconnected() {
    let node = Shoal::start(&["--client-output-buffer-limit", "pubsub 1mb 0 0"]);
    let mut sub = node.raw();
    sub.call("SUBSCRIBE flood");
    let mut publisher = node.raw();
    let payload = vec![b'x'; 256 * 1024];
    for _ in 0..200 {
        publisher.cmd(&[b"PUBLISH", b"flood", &payload]);
        if publisher.call("PUBSUB NUMSUB flood").contains(":0\r\n") {
            break;
        }
    }
    wait_until(Duration::from_secs(10), || {
        publisher.call("PUBSUB NUMSUB flood").ends_with(":0\r\n")
    });
    assert_eq!(publisher.call("PING"), "+PONG\r\n");
}
