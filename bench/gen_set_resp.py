#!/usr/bin/env python3
"""Write RESP `SET key value` commands for `redis-cli --pipe` to stdout.

Keys are `key:%012d` (16 bytes), values `val:%028d` (32 bytes), numbered
0..count-1, so every key is distinct and every value is distinct too (no
server can share them). Standard library only.

Usage: gen_set_resp.py COUNT > file.resp
"""

import sys


def main() -> None:
    count = int(sys.argv[1])
    head = b"*3\r\n$3\r\nSET\r\n$16\r\n"
    mid = b"\r\n$32\r\n"
    out = sys.stdout.buffer
    chunk = []
    for i in range(count):
        chunk.append(b"%skey:%012d%sval:%028d\r\n" % (head, i, mid, i))
        if len(chunk) == 10000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


if __name__ == "__main__":
    main()
