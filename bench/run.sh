#!/usr/bin/env bash
# shoal vs redis-server, side by side, same tool and parameters.
#
# Starts one shoal and one redis-server on loopback, drives both with
# redis-benchmark (SET/GET at pipeline depth 1 and 16, runs alternating
# between the servers), loads 1,000,000 small keys into each to measure
# bytes per key, and writes this script's section of bench/RESULTS.md.
# See bench/README.md for the knobs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/run.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# The command line as given, with the knobs that were set explicitly.
COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT N_P1 N_P16 REPEAT RESULTS_FILE)
# RESULTS_FILE (default bench/RESULTS.md), OUT_DIR=bench/out (raw CSV and
# server logs; git-ignored), LOAD_TIMEOUT, READY_TIMEOUT_S, section marks
shared_settings

SHOAL_PORT=${SHOAL_PORT:-17379}
REDIS_PORT=${REDIS_PORT:-17380}
N_P1=${N_P1:-500000}       # ~10 s per test for redis-server on 2 shared cores
N_P16=${N_P16:-5000000}    # likewise at pipeline depth 16
REPEAT=${REPEAT:-1}
MEM_KEYS=1000000
BENCH_TIMEOUT=300
STOP_TIMEOUT_S=5

require_positive SHOAL_PORT REDIS_PORT N_P1 N_P16 REPEAT
(( REPEAT <= 50 )) || die "REPEAT must be at most 50"
require_distinct_ports
note_start

# --- tools -----------------------------------------------------------------
need_tools redis-server redis-benchmark redis-cli
find_shoal always   # cargo build unless SHOAL_BIN is set

# --- servers ---------------------------------------------------------------
make_workspace shoal-bench ""   # stops the servers on exit

# --- memory ----------------------------------------------------------------
# measure_memory NAME PORT PID: prints "used_memory_per_key rss_per_key".
measure_memory() {
    local name=$1 port=$2 pid=$3 um0 rss0 um1 rss1
    cli "$port" flushall >/dev/null
    um0=$(info_field "$port" used_memory)
    rss0=$(rss_bytes "$pid")
    pipe_load "$name" "$port" "$WORK/keys.resp" "$MEM_KEYS" "$RAW/$name-load.txt" key keys
    um1=$(info_field "$port" used_memory)
    rss1=$(rss_bytes "$pid")
    check_figures "$name" "$pid" "$um0" "$um1" "$rss0" "$rss1"
    echo "$name used_memory $um0 -> $um1, VmRSS $rss0 -> $rss1" >>"$RAW/memory.txt"
    per_key "$MEM_KEYS" "$um0" "$um1" "$rss0" "$rss1"
}

# --- throughput ------------------------------------------------------------
RECORDS=$WORK/records.tsv   # server pipeline test rep rps p50 p99
: >"$RECORDS"

# run_bench NAME PORT PIPELINE TEST N REP; TEST is SET (on a flushed
# keyspace) or GET (on what that server's SET run left).
run_bench() {
    local name=$1 port=$2 pipeline=$3 test=$4 n=$5 rep=$6 csv dbsize
    local lower=${test,,}
    csv=$RAW/$name-$lower-P$pipeline-rep$rep.csv
    if [[ $test == SET ]]; then cli "$port" flushall >/dev/null; fi
    log "$name: redis-benchmark -t $lower -P $pipeline -n $n (run $rep/$REPEAT)"
    timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" \
        -t "$lower" -d 64 -r 1000000 -c 50 -n "$n" -P "$pipeline" --csv >"$csv" \
        || die "$name: redis-benchmark failed or timed out (see $csv)"
    if [[ $test == SET ]]; then
        dbsize=$(cli "$port" dbsize)
        [[ $dbsize =~ ^[0-9]+$ ]] && (( dbsize > 0 )) || die "$name: SET stored nothing (DBSIZE $dbsize)"
    fi
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    tr -d '"\r' <"$csv" | awk -F, -v s="$name" -v p="$pipeline" -v t="$test" -v r="$rep" \
        '$1 == t { print s, p, t, r, $2, $5, $7; found++ }
         END { exit found == 1 ? 0 : 1 }' >>"$RECORDS" \
        || die "$name: unexpected redis-benchmark output in $csv"
}

# median SERVER PIPELINE TEST FIELD (5 = rps, 6 = p50, 7 = p99)
median() {
    awk -v s="$1" -v p="$2" -v t="$3" -v f="$4" '$1 == s && $2 == p && $3 == t { print $f }' "$RECORDS" \
        | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1;
                 if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- run -------------------------------------------------------------------
log "generating $MEM_KEYS SET commands"
python3 "$ROOT/bench/gen_types_resp.py" string "$MEM_KEYS" >"$WORK/keys.resp"

start_servers ""   # logs: $RAW/shoal.log, $RAW/redis.log
declare -A PORT=([shoal]=$SHOAL_PORT [redis]=$REDIS_PORT)
log "shoal ($SHOAL_BIN) on $SHOAL_PORT pid $SHOAL_PID, redis-server on $REDIS_PORT pid $REDIS_PID"

# Memory first, on fresh processes, so allocator history from the
# throughput runs does not distort RSS.
log "memory: loading $MEM_KEYS keys into each server"
measure_memory shoal "$SHOAL_PORT" "$SHOAL_PID" >"$WORK/mem-shoal"
measure_memory redis "$REDIS_PORT" "$REDIS_PID" >"$WORK/mem-redis"
read -r SHOAL_UM SHOAL_RSS <"$WORK/mem-shoal"
read -r REDIS_UM REDIS_RSS <"$WORK/mem-redis"

# The servers take turns test by test, in A-B-B-A order, and A swaps each
# round, so drift on the shared machine lands on both alike.
round=0
for ((rep = 1; rep <= REPEAT; rep++)); do
    for pipeline in 1 16; do
        if (( pipeline == 1 )); then n=$N_P1; else n=$N_P16; fi
        if (( round % 2 == 0 )); then order=(shoal redis); else order=(redis shoal); fi
        for name in "${order[@]}"; do run_bench "$name" "${PORT[$name]}" "$pipeline" SET "$n" "$rep"; done
        for ((i = 1; i >= 0; i--)); do
            name=${order[$i]}
            run_bench "$name" "${PORT[$name]}" "$pipeline" GET "$n" "$rep"
        done
        round=$((round + 1))
    done
done
cp "$RECORDS" "$RAW/records.tsv"

# --- report ----------------------------------------------------------------
report_facts

SECTION=$WORK/section.md
{
    echo "$BEGIN_MARK"
    echo "## shoal vs redis-server: throughput, latency, memory"
    echo
    echo "Written by \`bench/run.sh\`; rerun it to refresh this section."
    echo "The machine has 2 shared cores, and redis-benchmark runs on the same"
    echo "cores as the server it drives: the ratios matter, the absolute numbers do not."
    echo
    fact_lines
    echo "- Both servers: \`--port P --bind 127.0.0.1 --save \"\" --appendonly no\`."
    echo "- Each test: \`redis-benchmark -t set|get -d 64 -r 1000000 -c 50 -n N -P P --csv\`"
    echo "  with N = $N_P1 at P 1 and N = $N_P16 at P 16; FLUSHALL before each SET run,"
    echo "  GET runs read what that SET run stored. The servers take turns test by"
    echo "  test (A-B-B-A, A swapping each round); each figure is the median of $REPEAT run(s)."
    echo
    echo "### Throughput and latency (latency in ms)"
    echo
    echo "| test | shoal rps | redis rps | shoal/redis | shoal p50 | redis p50 | shoal p99 | redis p99 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for pipeline in 1 16; do
        for test in SET GET; do
            s_rps=$(median shoal "$pipeline" "$test" 5); r_rps=$(median redis "$pipeline" "$test" 5)
            s_p50=$(median shoal "$pipeline" "$test" 6); r_p50=$(median redis "$pipeline" "$test" 6)
            s_p99=$(median shoal "$pipeline" "$test" 7); r_p99=$(median redis "$pipeline" "$test" 7)
            printf '| %s P%s | %.0f | %.0f | %s | %.3f | %.3f | %.3f | %.3f |\n' \
                "$test" "$pipeline" "$s_rps" "$r_rps" "$(ratio "$s_rps" "$r_rps")" \
                "$s_p50" "$r_p50" "$s_p99" "$r_p99"
        done
    done
    echo
    echo "### Memory: 1,000,000 keys, 16-byte keys, 32-byte values"
    echo
    echo "Bytes per key = (figure after loading with \`redis-cli --pipe\` − figure after FLUSHALL) / $MEM_KEYS,"
    echo "measured on fresh processes before the throughput runs."
    echo
    echo "| measure | shoal bytes/key | redis bytes/key | shoal/redis |"
    echo "|---|---:|---:|---:|"
    echo "| used_memory (INFO memory) | $SHOAL_UM | $REDIS_UM | $(ratio "$SHOAL_UM" "$REDIS_UM") |"
    echo "| RSS (VmRSS) | $SHOAL_RSS | $REDIS_RSS | $(ratio "$SHOAL_RSS" "$REDIS_RSS") |"
    echo "$END_MARK"
} >"$SECTION"

# Replace only this script's section of RESULTS_FILE; print the tables.
publish_section "$SECTION" '^### '
