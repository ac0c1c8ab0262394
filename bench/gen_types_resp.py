#!/usr/bin/env python3
"""Write RESP commands that create one small value per key, for `redis-cli --pipe`.

One command per key, so the load gets exactly COUNT replies. Keys are
`key:%012d` (16 bytes), numbered 0..count-1. Standard library only.

Cases (10 elements per key):
  hash    HSET key f0 v f1 v .. f9 v; values `val:%04d`, 8-byte strings that
          do not parse as integers
  intset  SADD key with 10 integer members below 10,000 (16-bit range)
  strset  SADD key member:0 .. member:9
  zset    ZADD key with members member:0 .. member:9; even positions get
          integer scores, odd ones fractional (j + 0.5)
  list    RPUSH key item:0 .. item:9
  string  SET key with a 32-byte value `val:%028d`, numbered like the key so
          no two values are alike; the plain-string reference here, and
          bench/run.sh's memory load

Usage: gen_types_resp.py CASE COUNT > file.resp
"""

import sys

ELEMENTS = 10


def resp(args: list) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def command(case: str, i: int) -> list:
    key = b"key:%012d" % i
    if case == "hash":
        args = [b"HSET", key]
        for j in range(ELEMENTS):
            args += [b"f%d" % j, b"val:%04d" % ((i * ELEMENTS + j) % 10000)]
        return args
    if case == "intset":
        return [b"SADD", key] + [b"%d" % (j * 1000 + i % 1000) for j in range(ELEMENTS)]
    if case == "strset":
        return [b"SADD", key] + [b"member:%d" % j for j in range(ELEMENTS)]
    if case == "zset":
        args = [b"ZADD", key]
        for j in range(ELEMENTS):
            score = b"%d" % (j * 10) if j % 2 == 0 else b"%d.5" % j
            args += [score, b"member:%d" % j]
        return args
    if case == "list":
        return [b"RPUSH", key] + [b"item:%d" % j for j in range(ELEMENTS)]
    if case == "string":
        return [b"SET", key, b"val:%028d" % i]
    raise SystemExit("gen_types_resp.py: unknown case %r" % case)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    case, count = sys.argv[1], int(sys.argv[2])
    command(case, 0)  # reject an unknown case before writing anything
    out = sys.stdout.buffer
    chunk = []
    for i in range(count):
        chunk.append(resp(command(case, i)))
        if len(chunk) == 10000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


if __name__ == "__main__":
    main()
