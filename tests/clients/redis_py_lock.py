#!/usr/bin/env python3
"""redis-py's Lock against shoal's lock namespace.

redis-py's Lock acquires with `SET name token NX PX ms`, which shoal serves
from its Raft group unchanged; it releases and extends with Lua scripts,
which shoal does not run. A Lock subclass that releases with DELIFEQ (or
DELEX ... IFEQ) and extends with SET ... IFEQ ... PX works without
scripting. This program checks, against the nodes given on the command line:

- the stock Lock acquires, and its script-based release is refused;
- mutual exclusion: threads on every node increment a cache counter under
  the lock, with a read-sleep-write race inside; no increment is lost;
- fencing tokens (LOCK.TOKEN) grow from holder to holder;
- extend (SET IFEQ PX) and release by DELEX IFEQ; a stale token's release
  is refused.

Usage: redis_py_lock.py PORT[,PORT...]   Prints "redis-py locks: N passed, M failed".
"""

import sys
import threading
import time

import redis
from redis.exceptions import LockNotOwnedError, ResponseError
from redis.lock import Lock


class DelIfEqLock(Lock):
    """redis-py's Lock, released with DELIFEQ and extended with SET IFEQ."""

    def do_release(self, expected_token):
        if not self.redis.execute_command("DELIFEQ", self.name, expected_token):
            raise LockNotOwnedError("Cannot release a lock that's no longer owned", lock_name=self.name)

    def do_extend(self, additional_time, replace_ttl):
        ms = int(additional_time * 1000)
        if not replace_ttl:
            ms += max(self.redis.pttl(self.name), 0)
        token = self.local.token
        if not self.redis.execute_command("SET", self.name, token, "IFEQ", token, "PX", ms):
            raise LockNotOwnedError("Cannot extend a lock that's no longer owned", lock_name=self.name)
        return True


class DelExLock(DelIfEqLock):
    """The same, released with Redis 8.4's DELEX ... IFEQ."""

    def do_release(self, expected_token):
        if not self.redis.execute_command("DELEX", self.name, "IFEQ", expected_token):
            raise LockNotOwnedError("Cannot release a lock that's no longer owned", lock_name=self.name)


passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def client(port):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)


def stock_lock(r):
    lock = Lock(r, "lock:py:stock", timeout=10)
    check("stock Lock acquires with SET NX PX", lock.acquire(blocking=False))
    check("a second stock Lock is refused", not Lock(r, "lock:py:stock", timeout=10).acquire(blocking=False))
    try:
        lock.release()
        check("stock Lock release needs scripting", False, "release succeeded")
    except ResponseError as e:
        check("stock Lock release needs scripting", "unknown command" in str(e), str(e))
    r.delete("lock:py:stock")


def exclusion(ports, threads=8, rounds=25):
    """Each thread increments py:counter `rounds` times under the lock."""
    tokens = []
    errors = []

    def work(i):
        r = client(ports[i % len(ports)])
        try:
            for _ in range(rounds):
                with DelIfEqLock(r, "lock:py:counter", timeout=10, blocking_timeout=60):
                    tokens.append(r.execute_command("LOCK.TOKEN", "lock:py:counter"))
                    v = int(r.get("py:counter") or 0)
                    time.sleep(0.001)
                    r.set("py:counter", v + 1)
        except Exception as e:  # recorded, and the check below fails
            errors.append(repr(e))

    r = client(ports[0])
    r.delete("py:counter")
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    check("no client errors under contention", not errors, "; ".join(errors[:3]))
    total = int(r.get("py:counter") or 0)
    check(f"{threads}x{rounds} increments under the lock, none lost", total == threads * rounds, f"counter {total}")
    check(
        "fencing tokens grow from holder to holder",
        len(tokens) == threads * rounds and all(a < b for a, b in zip(tokens, tokens[1:])),
        f"{tokens[:10]}",
    )


def extend_and_release(ports):
    r = client(ports[-1])
    lock = DelExLock(r, "lock:py:extend", timeout=1)
    check("acquire with a 1 s lease", lock.acquire(blocking=False))
    lock.extend(30, replace_ttl=True)
    check("extend with SET IFEQ PX", r.pttl("lock:py:extend") > 20_000, str(r.pttl("lock:py:extend")))
    lock.extend(5)
    check("extend by more time", r.pttl("lock:py:extend") > 30_000, str(r.pttl("lock:py:extend")))
    stale = DelExLock(r, "lock:py:extend", timeout=1)
    stale.local.token = b"not-the-holder"
    try:
        stale.release()
        check("a stale token's release is refused", False, "released")
    except LockNotOwnedError:
        check("a stale token's release is refused", r.exists("lock:py:extend") == 1)
    lock.release()
    check("release with DELEX IFEQ", r.exists("lock:py:extend") == 0)


def main():
    ports = [int(p) for p in sys.argv[1].split(",")]
    stock_lock(client(ports[0]))
    exclusion(ports)
    extend_and_release(ports)
    print(f"redis-py locks: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
