#!/usr/bin/env bash
# Hit ratio per eviction policy: shoal and redis-server side by side, on
# the same read-through request streams and the same memory budget, beside
# Bélády's offline optimum.
#
# Starts one shoal and one redis-server on loopback and runs
# `shoal-hitratio` (crates/hitratio) against both: every stream row under
# each of shoal's POLICIES and redis-server's REDIS_POLICIES. Writes this
# script's section of bench/RESULTS.md. See bench/README.md for the knobs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/hitratio.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT REQUESTS KEYS SPREAD_KEYS ROWS POLICIES REDIS_POLICIES RESULTS_FILE)
shared_settings

SHOAL_PORT=${SHOAL_PORT:-17387}
REDIS_PORT=${REDIS_PORT:-17388}
REQUESTS=${REQUESTS:-2000000}
KEYS=${KEYS:-1000000}
SPREAD_KEYS=${SPREAD_KEYS:-100000}
ROWS=${ROWS:-}   # row name prefixes, comma-separated (empty: all)
POLICIES=${POLICIES:-allkeys-lru,allkeys-lfu,allkeys-random}
REDIS_POLICIES=${REDIS_POLICIES:-allkeys-lru,allkeys-lfu}
STOP_TIMEOUT_S=10

require_positive SHOAL_PORT REDIS_PORT REQUESTS KEYS SPREAD_KEYS
(( REQUESTS <= 50000000 && KEYS <= 10000000 && SPREAD_KEYS <= 1000000 )) \
    || die "REQUESTS <= 50000000, KEYS <= 10000000, SPREAD_KEYS <= 1000000"
require_distinct_ports
note_start

need_tools redis-server redis-cli
find_shoal always
log "building shoal-hitratio (cargo build --release -p shoal-hitratio)"
(cd "$ROOT" && cargo build --release -p shoal-hitratio)
HITRATIO=$ROOT/target/release/shoal-hitratio

make_workspace shoal-bench-hitratio -hitratio
start_servers ""
log "shoal pid $SHOAL_PID on $SHOAL_PORT, redis-server pid $REDIS_PID on $REDIS_PORT"

TABLE=$WORK/table.md
ARGS=(--requests "$REQUESTS" --keys "$KEYS" --spread-keys "$SPREAD_KEYS"
    --target "shoal=127.0.0.1:$SHOAL_PORT=$POLICIES"
    --target "redis=127.0.0.1:$REDIS_PORT=$REDIS_POLICIES")
if [[ -n $ROWS ]]; then ARGS+=(--rows "$ROWS"); fi
log "running: shoal-hitratio ${ARGS[*]}"
# Each run is bounded by the request count; the whole by a generous timeout.
timeout 7200 "$HITRATIO" "${ARGS[@]}" | tee "$TABLE" >&2
cp "$TABLE" "$RAW/table.md"
stop_servers

report_facts
SECTION=$WORK/section.md
{
    echo "$BEGIN_MARK"
    echo "## Hit ratio per eviction policy: shoal vs redis-server vs the optimum"
    echo
    echo "Written by \`bench/hitratio.sh\`; rerun it to refresh this section."
    echo
    fact_lines
    echo "- Both servers: \`--port P --bind 127.0.0.1 --save \"\" --appendonly no\`; before each"
    echo "  run FLUSHALL, then \`maxmemory\` = the server's empty used_memory + the row's budget."
    echo "- Each stream: $REQUESTS requests, each a GET followed by a SET of the key's value"
    echo "  on a miss (read-through), pipelined 64 GETs at a time; the first quarter warms"
    echo "  the cache and is not counted. Budget = 1% or 10% of the working set, each key"
    echo "  counted as value + key + 48 bytes. zipf/scan/shift: $KEYS keys of 100-byte"
    echo "  values (scan: 30% of requests for keys used once; shift: the popular block is"
    echo "  replaced 8 times); spread: $SPREAD_KEYS keys, values 10 B to 40 kB log-uniform."
    echo "- \"of optimum\" = hit ratio / Bélády's (offline: keep a key only if it is used"
    echo "  again before something cached; drop what is used again furthest away)."
    echo "- data MB = used_memory at the end minus when empty; keys held = DBSIZE at the end."
    echo "  shoal's FLUSHALL drops allkeys-tinylfu's sketch, so every row starts it empty and"
    echo "  pays for it within the budget. kreq/s: GET requests per second of the run (both"
    echo "  servers on the same 2 shared cores as the client)."
    echo
    cat "$TABLE"
    echo "$END_MARK"
} >"$SECTION"
publish_section "$SECTION" '^| stream'
