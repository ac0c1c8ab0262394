#!/usr/bin/env bash
# Slot migration under load, warm against cold: see bench/migration.py.
# Builds target/release/shoal if it is missing (or runs SHOAL_BIN), needs
# python3 with redis-py (pip install redis). Prints a markdown section,
# also kept in bench/out/migration.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ -z "${SHOAL_BIN:-}" ] && [ ! -x target/release/shoal ]; then
  cargo build --release --bin shoal
fi
python3 -c 'import redis' 2>/dev/null || pip install -q 'redis==8.1.0'
mkdir -p bench/out
python3 bench/migration.py | tee bench/out/migration.md
