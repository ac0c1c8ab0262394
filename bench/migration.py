#!/usr/bin/env python3
"""Slot migration under load: warm (keys move with their slots) against
cold (slots change owner at once, their keys dropped), on loopback.

For each mode: three shoal nodes, KEYS keys of VALUE bytes loaded, then a
read-through cache load (GET a uniformly random key; SET it on a miss)
from THREADS plain clients spread over the three nodes. After BEFORE_S
seconds a fourth node joins; the script watches `cluster_slots_moving`
until the moves end, then goes on for AFTER_S seconds. Every request is
timed, so each window (before, during the move, the AFTER_S seconds after)
gets its own throughput, p50/p99 latency and hit ratio; the move gets its
duration and keys moved per second (the nodes' `cluster_migrated_keys`).

Prints a markdown section. Knobs (environment): SHOAL_BIN (default
target/release/shoal), PORT (first of four client ports, default 17501),
KEYS (200000), VALUE (100), THREADS (6), BEFORE_S (5), AFTER_S (5),
MODES (warm,cold).
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SHOAL_BIN", os.path.join(ROOT, "target/release/shoal"))
PORT = int(os.environ.get("PORT", "17501"))
KEYS = int(os.environ.get("KEYS", "200000"))
VALUE = int(os.environ.get("VALUE", "100"))
THREADS = int(os.environ.get("THREADS", "6"))
BEFORE_S = float(os.environ.get("BEFORE_S", "5"))
AFTER_S = float(os.environ.get("AFTER_S", "5"))
MODES = os.environ.get("MODES", "warm,cold").split(",")
MOVE_LIMIT_S = 300


def field(info, name):
    return info.get(name)


def start(port, workdir, mode, join=None):
    args = [BIN, "--port", str(port), "--bind", "127.0.0.1", "--loglevel", "warning",
            "--dir", os.path.join(workdir, str(port)), "--cluster-migration", mode]
    if join:
        args += ["--join", f"127.0.0.1:{join}"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"shoal on {port} did not answer")


def settled(ports, n):
    for p in ports:
        info = redis.Redis(port=p, socket_timeout=2).info("cluster")
        raw = redis.Redis(port=p, socket_timeout=2).execute_command("CLUSTER", "INFO")
        text = raw.decode() if isinstance(raw, bytes) else raw
        if "cluster_state:ok" not in text or f"cluster_known_nodes:{n}" not in text:
            return False
        if int(info.get("cluster_slots_moving", 1)) != 0:
            return False
    return True


def wait(cond, limit, what):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if cond():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def load_keys(port):
    r = redis.Redis(port=port)
    value = b"v" * VALUE
    for start_at in range(0, KEYS, 1000):
        pipe = r.pipeline(transaction=False)
        for i in range(start_at, min(KEYS, start_at + 1000)):
            pipe.set(f"key:{i}", value)
        pipe.execute()


class Load:
    """Read-through cache clients; every request's (time, latency, hit)."""

    def __init__(self, ports):
        self.ports = ports
        self.stop = threading.Event()
        self.samples = [[] for _ in range(THREADS)]
        self.errors = [0] * THREADS
        self.threads = [threading.Thread(target=self.run, args=(t,)) for t in range(THREADS)]

    def run(self, t):
        r = redis.Redis(port=self.ports[t % len(self.ports)], socket_timeout=5)
        rng = random.Random(t)
        value = b"v" * VALUE
        out = self.samples[t]
        while not self.stop.is_set():
            key = f"key:{rng.randrange(KEYS)}"
            began = time.perf_counter()
            try:
                hit = r.get(key) is not None
                if not hit:
                    r.set(key, value)
            except redis.RedisError:
                self.errors[t] += 1
                continue
            out.append((began, time.perf_counter() - began, hit))

    def window(self, a, b):
        got = [s for per in self.samples for s in per if a <= s[0] < b]
        if not got:
            return None
        lat = sorted(s[1] for s in got)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        return {
            "ops": len(got) / (b - a),
            "p50": pct(0.50),
            "p99": pct(0.99),
            "hits": sum(1 for s in got if s[2]) / len(got),
        }


def migrated_keys(ports):
    return sum(int(redis.Redis(port=p).info("cluster").get("cluster_migrated_keys", 0)) for p in ports)


def run_mode(mode, workdir):
    ports = [PORT, PORT + 1, PORT + 2]
    procs = [start(ports[0], workdir, mode)]
    for p in ports[1:]:
        procs.append(start(p, workdir, mode, join=ports[0]))
    try:
        wait(lambda: settled(ports, 3), 60, "three nodes")
        load_keys(ports[0])
        loaded = sum(redis.Redis(port=p).dbsize() for p in ports)
        load = Load(ports)
        for t in load.threads:
            t.start()
        time.sleep(BEFORE_S)
        keys_before = migrated_keys(ports)
        joined_at = time.perf_counter()
        procs.append(start(PORT + 3, workdir, mode, join=ports[0]))
        all_ports = ports + [PORT + 3]
        wait(lambda: settled(all_ports, 4), MOVE_LIMIT_S, "the moves to end")
        done_at = time.perf_counter()
        moved = migrated_keys(all_ports) - keys_before
        time.sleep(AFTER_S)
        load.stop.set()
        for t in load.threads:
            t.join()
        return {
            "loaded": loaded,
            "before": load.window(joined_at - BEFORE_S + 0.5, joined_at),
            "during": load.window(joined_at, done_at),
            "after": load.window(done_at, done_at + AFTER_S),
            "move_s": done_at - joined_at,
            "moved": moved,
            "new_node_keys": redis.Redis(port=PORT + 3).dbsize(),
            "errors": sum(load.errors),
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def fmt(w, key, f):
    return "-" if w is None else f.format(w[key])


def main():
    results = {}
    for mode in MODES:
        workdir = tempfile.mkdtemp(prefix=f"shoal-migration-{mode}-")
        try:
            results[mode] = run_mode(mode, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    knobs = "".join(f"{k}={os.environ[k]} " for k in ("KEYS", "VALUE", "THREADS") if k in os.environ)
    print(f"Command: `{knobs}bench/migration.sh`"
          f" ({KEYS} keys of {VALUE} B, {THREADS} read-through clients over 3 nodes, a 4th node joins)")
    print()
    print("| mode | window | ops/s | p50 ms | p99 ms | hit ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for mode, r in results.items():
        for name in ("before", "during", "after"):
            w = r[name]
            label = name if name != "during" else f"during the move ({r['move_s']:.1f} s)"
            print(f"| {mode} | {label} | {fmt(w, 'ops', '{:.0f}')} | {fmt(w, 'p50', '{:.2f}')} | "
                  f"{fmt(w, 'p99', '{:.2f}')} | {fmt(w, 'hits', '{:.3f}')} |")
    print()
    print("| mode | keys loaded | move took | keys moved | keys moved/s | keys on the new node after | client errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, r in results.items():
        rate = r["moved"] / r["move_s"] if r["move_s"] > 0 else 0
        print(f"| {mode} | {r['loaded']} | {r['move_s']:.2f} s | {r['moved']} | {rate:.0f} | {r['new_node_keys']} | {r['errors']} |")


if __name__ == "__main__":
    main()
