#!/usr/bin/env python3
"""Failover on the docker-compose cluster: how long the slots of a node
that is killed (`docker kill`), paused (`docker pause`) or cut off
(`docker network disconnect`) stay unanswered, and how many client
requests fail while every node is restarted in turn.

Brings the compose cluster up under its own project and network
(bench/failover.sh does), then for each fault: picks a key owned by a
node that does not lead the metadata group, makes the fault, and sends
`SET key` through another node every 50 ms (200 ms timeout) until one
succeeds; the failover time is from the fault to that success. The node
is then brought back and the cluster left to settle. Last, a rolling
restart (`docker restart`; the next 2 s after the cluster settles) with
four clients sending SET/GET to random keys through all three nodes,
moving to the next node on an error; errors and requests are counted.

Environment: SHOAL_FAULT_PROJECT, SHOAL_SUBNET (set by bench/failover.sh).
"""
import os
import subprocess
import sys
import threading
import time

import redis

PROJECT = os.environ["SHOAL_FAULT_PROJECT"]
SUBNET = os.environ["SHOAL_SUBNET"]
NODES = [(f"{SUBNET}.1{i}", 7000 + i) for i in (1, 2, 3)]
REPEATS = int(os.environ.get("REPEATS", "3"))


def container(i):
    return f"{PROJECT}_node{i + 1}_1"


def docker(*args):
    subprocess.run(["docker", *args], check=True, capture_output=True)


def conn(i, timeout=1.0):
    host, port = NODES[i]
    return redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout)


def settled():
    try:
        for i in range(3):
            info = conn(i).execute_command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
            text = conn(i).execute_command("CLUSTER", "NODES").decode()
            if "fail" in text:
                return False
            if int(conn(i).info("cluster").get("cluster_slots_moving", 1)) != 0:
                return False
        return True
    except redis.RedisError:
        return False


def wait_settled(limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if settled():
            return
        time.sleep(0.2)
    sys.exit("the cluster did not settle")


def leader():
    info = conn(0).info("cluster")
    lead = info.get("cluster_raft_leader")
    for i in range(3):
        if conn(i).execute_command("CLUSTER", "MYID").decode() == lead:
            return i
    return None


def key_owned_by(i):
    addr = f"{NODES[i][0]}:{NODES[i][1]}"
    for k in range(100000):
        key = f"failover:{k}"
        slot = conn(0).execute_command("CLUSTER", "KEYSLOT", key)
        for first, last, owner, *_ in conn(0).execute_command("CLUSTER", "SLOTS"):
            if first <= slot <= last and f"{owner[0].decode()}:{owner[1]}" == addr:
                return key
    sys.exit(f"no key owned by node {i + 1}")


def time_failover(fault, heal):
    victim = next(i for i in range(3) if i != leader())
    via = next(i for i in range(3) if i != victim)
    key = key_owned_by(victim)
    c = conn(via, timeout=0.2)
    c.set(key, "before")
    began = time.perf_counter()
    fault(victim)
    while True:
        try:
            c.set(key, "after")
            took = time.perf_counter() - began
            break
        except redis.RedisError:
            time.sleep(0.05)
        if time.perf_counter() - began > 120:
            took = float("nan")
            break
    heal(victim)
    wait_settled()
    return took


def rolling_restart():
    stop = threading.Event()
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def client(t):
        at = t % 3
        c = conn(at)
        n = 0
        while not stop.is_set():
            n += 1
            key = f"roll:{t}:{n % 1000}"
            try:
                c.set(key, n)
                c.get(key)
                with lock:
                    counts["ok"] += 2
            except redis.RedisError:
                with lock:
                    counts["errors"] += 1
                at = (at + 1) % 3
                c = conn(at)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    began = time.perf_counter()
    for i in range(3):
        docker("restart", "-t", "5", container(i))
        wait_settled()
        # Steady load between restarts, so errors are seen against it.
        time.sleep(2)
    took = time.perf_counter() - began
    stop.set()
    for t in threads:
        t.join()
    return took, counts


def main():
    network = f"{PROJECT}_shoal"
    faults = {
        "kill (docker kill, then start)": (
            lambda i: docker("kill", container(i)),
            lambda i: docker("start", container(i)),
        ),
        "pause (docker pause, then unpause)": (
            lambda i: docker("pause", container(i)),
            lambda i: docker("unpause", container(i)),
        ),
        "partition (network disconnect, then connect)": (
            lambda i: docker("network", "disconnect", network, container(i)),
            lambda i: docker("network", "connect", "--ip", NODES[i][0], network, container(i)),
        ),
    }
    wait_settled()
    print("| fault | failover time (s), each run | median |")
    print("|---|---|---:|")
    for name, (fault, heal) in faults.items():
        times = sorted(time_failover(fault, heal) for _ in range(REPEATS))
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {name} | {runs} | {times[len(times) // 2]:.2f} |", flush=True)
    took, counts = rolling_restart()
    total = counts["ok"] + counts["errors"]
    print()
    print("| rolling restart of 3 nodes | took | requests | client errors | error share |")
    print("|---|---:|---:|---:|---:|")
    print(f"| docker restart each, next 2 s after the cluster settles | {took:.1f} s | {total} | {counts['errors']} | "
          f"{counts['errors'] / max(1, total):.4f} |")


if __name__ == "__main__":
    main()
