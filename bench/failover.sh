#!/usr/bin/env bash
# Failover times (kill, pause, partition) and client errors during a
# rolling restart, on the docker-compose cluster: see bench/failover.py.
# Brings the compose cluster up under its own project, network and host
# ports, and takes it down afterwards. Needs a Docker engine with
# docker-compose, and python3 with redis-py. Prints a markdown section,
# also kept in bench/out/failover.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export SHOAL_FAULT_PROJECT=shoalbench SHOAL_SUBNET=10.79.0
export SHOAL_PORT1=27101 SHOAL_PORT2=27102 SHOAL_PORT3=27103 SHOAL_PORT4=27104 SHOAL_PORT5=27105
python3 -c 'import redis' 2>/dev/null || pip install -q 'redis==8.1.0'
compose() { docker-compose -p "$SHOAL_FAULT_PROJECT" --profile five "$@"; }
trap 'compose down -v --remove-orphans >/dev/null 2>&1' EXIT
compose down -v --remove-orphans >/dev/null 2>&1 || true
docker-compose -p "$SHOAL_FAULT_PROJECT" up -d node1 node2 node3
mkdir -p bench/out
python3 bench/failover.py | tee bench/out/failover.md
