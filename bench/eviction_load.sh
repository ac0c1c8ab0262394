#!/usr/bin/env bash
# Eviction under write load: shoal and redis-server side by side, each with
# the same maxmemory, written to as fast as redis-benchmark can (SET of
# random keys, many clients, pipelined). While each run goes, used_memory
# is sampled; the section reports its peak and its average over the run as
# a fraction of maxmemory, evicted keys and requests per second.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/eviction_load.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT MAXMEMORY N_REQUESTS POLICY RESULTS_FILE)
shared_settings

SHOAL_PORT=${SHOAL_PORT:-17389}
REDIS_PORT=${REDIS_PORT:-17390}
MAXMEMORY=${MAXMEMORY:-64mb}
N_REQUESTS=${N_REQUESTS:-4000000}
POLICY=${POLICY:-allkeys-lru}
STOP_TIMEOUT_S=10
SAMPLE_S=0.1

require_positive SHOAL_PORT REDIS_PORT N_REQUESTS
(( N_REQUESTS <= 100000000 )) || die "N_REQUESTS must be at most 100000000"
[[ $MAXMEMORY =~ ^[0-9]+(mb|gb|kb)?$ ]] || die "MAXMEMORY like 64mb, got '$MAXMEMORY'"
require_distinct_ports
note_start
need_tools redis-server redis-cli redis-benchmark
find_shoal always
make_workspace shoal-bench-evict -eviction-load
start_servers ""
log "shoal pid $SHOAL_PID on $SHOAL_PORT, redis-server pid $REDIS_PID on $REDIS_PORT"

ROWS=$WORK/rows.tsv
: >"$ROWS"
# run NAME PORT: one loaded run; appends a row.
run() {
    local name=$1 port=$2 max samples bench peak avg rps evicted
    cli "$port" flushall >/dev/null
    cli "$port" config resetstat >/dev/null
    cli "$port" config set maxmemory-policy "$POLICY" >/dev/null
    cli "$port" config set maxmemory "$MAXMEMORY" >/dev/null
    max=$(cli "$port" config get maxmemory | tail -1 | tr -d '\r')
    samples=$RAW/$name-used.txt
    bench=$RAW/$name-bench.csv
    : >"$samples"
    timeout 600 redis-benchmark -p "$port" -t set -r 100000000 -d 200 -c 50 -P 16 \
        -n "$N_REQUESTS" --csv >"$bench" 2>/dev/null &
    local bench_pid=$!
    # Sample until the benchmark ends (bounded by its timeout).
    while kill -0 "$bench_pid" 2>/dev/null; do
        info_field "$port" used_memory >>"$samples" || true
        sleep "$SAMPLE_S"
    done
    wait "$bench_pid" || die "$name: redis-benchmark failed (see $bench)"
    rps=$(awk -F'"' '/^"SET"/ { print $4 }' "$bench")
    [[ -n $rps ]] || die "$name: no SET line in $bench"
    evicted=$(cli "$port" info stats | tr -d '\r' | awk -F: '$1 == "evicted_keys" { print $2 }')
    # Skip samples before memory first reached the limit (the fill-up).
    read -r peak avg < <(awk -v m="$max" '$1 >= m * 0.95 { on = 1 } on { n++; s += $1; if ($1 > p) p = $1 }
        END { if (n) printf "%.4f %.4f\n", p / m, s / n / m; else print "0 0" }' "$samples")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$peak" "$avg" "$evicted" "$rps" "$(wc -l <"$samples")" >>"$ROWS"
    log "$name: peak $peak, average $avg of maxmemory; $evicted evicted; $rps SET/s"
}
run shoal "$SHOAL_PORT"
run redis "$REDIS_PORT"
stop_servers
cp "$ROWS" "$RAW/rows.tsv"

report_facts
SECTION=$WORK/section.md
{
    echo "$BEGIN_MARK"
    echo "## Eviction under write load: used_memory against maxmemory"
    echo
    echo "Written by \`bench/eviction_load.sh\`; rerun it to refresh this section."
    echo
    fact_lines
    echo "- Each server: FLUSHALL, \`maxmemory $MAXMEMORY\`, \`maxmemory-policy $POLICY\`, then"
    echo "  \`redis-benchmark -t set -r 100000000 -d 200 -c 50 -P 16 -n $N_REQUESTS\` (new random"
    echo "  keys nearly every time) while \`used_memory\` is read every ${SAMPLE_S}s; samples before"
    echo "  memory first reached 95% of the limit (the fill-up) are left out."
    echo
    echo "| server | peak used_memory / maxmemory | average / maxmemory | evicted keys | SET/s | samples |"
    echo "|---|---:|---:|---:|---:|---:|"
    while IFS=$'\t' read -r name peak avg evicted rps n; do
        printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$peak" "$avg" "$evicted" "$rps" "$n"
    done <"$ROWS"
    echo "$END_MARK"
} >"$SECTION"
publish_section "$SECTION" '^| server'
