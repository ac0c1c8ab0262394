#!/usr/bin/env bash
# shoal vs redis-server: bytes per key of small collections, side by side.
#
# For each case (hash, integer set, string set, sorted set, list, plain
# string) starts a fresh shoal and a fresh redis-server on loopback, loads
# the same N_KEYS keys into each with `redis-cli --pipe`, records the
# OBJECT ENCODING both report and the growth of used_memory and VmRSS, stops
# both, and writes this script's section of bench/RESULTS.md.
# See bench/README.md for the knobs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/memory_types.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# The command line as given, with the knobs that were set explicitly.
COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT N_KEYS RESULTS_FILE)
# RESULTS_FILE (default bench/RESULTS.md), OUT_DIR=bench/out (raw figures and
# server logs; git-ignored), LOAD_TIMEOUT, READY_TIMEOUT_S, section marks
shared_settings

SHOAL_PORT=${SHOAL_PORT:-17381}
REDIS_PORT=${REDIS_PORT:-17382}
N_KEYS=${N_KEYS:-100000}
STOP_TIMEOUT_S=10
SETTLE_S=1   # after the load, so redis-server's incremental rehash of the keyspace finishes

# case name (as gen_types_resp.py takes it) and its row label
CASES=(hash intset strset zset list string)
declare -A LABEL=(
    [hash]="hash, 10 fields (8-byte values)"
    [intset]="set, 10 integers"
    [strset]="set, 10 short strings"
    [zset]="sorted set, 10 members"
    [list]="list, 10 short items"
    [string]="string, 32-byte value"
)

require_positive SHOAL_PORT REDIS_PORT N_KEYS
(( N_KEYS <= 10000000 )) || die "N_KEYS must be at most 10000000"
require_distinct_ports
note_start

# --- tools -----------------------------------------------------------------
need_tools redis-server redis-cli
find_shoal if-missing   # cargo build only if target/release/shoal is missing

# --- servers ---------------------------------------------------------------
make_workspace shoal-bench-types -memory-types   # stops the servers on exit

# --- memory ----------------------------------------------------------------
SAMPLE_KEY=$(printf 'key:%012d' 0)

# measure CASE NAME PORT PID: prints "encoding used_memory_per_key rss_per_key".
measure() {
    local case=$1 name=$2 port=$3 pid=$4 um0 rss0 um1 rss1 enc
    um0=$(info_field "$port" used_memory)
    rss0=$(rss_bytes "$pid")
    pipe_load "$name" "$port" "$WORK/$case.resp" "$N_KEYS" "$RAW/$case-$name-load.txt" "$case" "$case keys"
    enc=$(cli "$port" object encoding "$SAMPLE_KEY" | tr -d '\r')
    sleep "$SETTLE_S"
    [[ $enc =~ ^[a-z0-9_]+$ ]] || die "$name: unexpected OBJECT ENCODING reply for $SAMPLE_KEY: '$enc'"
    um1=$(info_field "$port" used_memory)
    rss1=$(rss_bytes "$pid")
    check_figures "$name" "$pid" "$um0" "$um1" "$rss0" "$rss1"
    echo "$case $name encoding $enc used_memory $um0 -> $um1, VmRSS $rss0 -> $rss1" >>"$RAW/memory.txt"
    echo "$enc $(per_key "$N_KEYS" "$um0" "$um1" "$rss0" "$rss1")"
}

# --- run -------------------------------------------------------------------
refuse_busy_ports
log "shoal: $SHOAL_BIN; $N_KEYS keys per case; ports $SHOAL_PORT (shoal) and $REDIS_PORT (redis)"
ROWS=$WORK/rows.tsv   # case shoal_enc redis_enc shoal_um redis_um shoal_rss redis_rss
: >"$ROWS"
for case in "${CASES[@]}"; do
    log "$case: generating $N_KEYS commands"
    python3 "$ROOT/bench/gen_types_resp.py" "$case" "$N_KEYS" >"$WORK/$case.resp"
    start_servers "$case-"   # logs: $RAW/$case-shoal.log, $RAW/$case-redis.log
    log "$case: shoal pid $SHOAL_PID, redis-server pid $REDIS_PID; loading"
    measure "$case" shoal "$SHOAL_PORT" "$SHOAL_PID" >"$WORK/mem-shoal"
    measure "$case" redis "$REDIS_PORT" "$REDIS_PID" >"$WORK/mem-redis"
    read -r s_enc s_um s_rss <"$WORK/mem-shoal"
    read -r r_enc r_um r_rss <"$WORK/mem-redis"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$s_enc" "$r_enc" "$s_um" "$r_um" "$s_rss" "$r_rss" >>"$ROWS"
    stop_servers
    rm -f "$WORK/$case.resp"
done
cp "$ROWS" "$RAW/rows.tsv"

# --- report ----------------------------------------------------------------
report_facts

SECTION=$WORK/section.md
{
    echo "$BEGIN_MARK"
    echo "## shoal vs redis-server: memory per key of small collections"
    echo
    echo "Written by \`bench/memory_types.sh\`; rerun it to refresh this section."
    echo
    fact_lines
    echo "- Both servers: \`--port P --bind 127.0.0.1 --save \"\" --appendonly no\`, a fresh"
    echo "  pair for each case."
    echo "- Each case: $N_KEYS keys \`key:%012d\` (16 bytes), one command per key"
    echo "  (HSET/SADD/ZADD/RPUSH with 10 elements, or SET), from one RESP file"
    echo "  made by \`gen_types_resp.py\` and loaded into both with \`redis-cli --pipe\`."
    echo "  Encoding is \`OBJECT ENCODING $SAMPLE_KEY\`."
    echo
    echo "Bytes per key = (figure ${SETTLE_S}s after the load − figure on the fresh process) / $N_KEYS."
    echo
    echo "| case | encoding shoal | encoding redis | used_memory B/key shoal | used_memory B/key redis | shoal/redis | RSS B/key shoal | RSS B/key redis | shoal/redis |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
    while IFS=$'\t' read -r case s_enc r_enc s_um r_um s_rss r_rss; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "${LABEL[$case]}" "$s_enc" "$r_enc" \
            "$s_um" "$r_um" "$(ratio "$s_um" "$r_um")" \
            "$s_rss" "$r_rss" "$(ratio "$s_rss" "$r_rss")"
    done <"$ROWS"
    echo "$END_MARK"
} >"$SECTION"

# Replace only this script's section of RESULTS_FILE; print the table.
publish_section "$SECTION" '^| case'
