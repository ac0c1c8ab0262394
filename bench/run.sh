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

# The command line as given, with the knobs that were set explicitly.
KNOBS=(SHOAL_BIN SHOAL_PORT REDIS_PORT N_P1 N_P16 REPEAT RESULTS_FILE)
COMMAND_LINE=""
for knob in "${KNOBS[@]}"; do
    if [[ -n "${!knob:-}" ]]; then COMMAND_LINE+="$knob=${!knob} "; fi
done
COMMAND_LINE+="bench/run.sh${*:+ $*}"

SHOAL_PORT=${SHOAL_PORT:-17379}
REDIS_PORT=${REDIS_PORT:-17380}
N_P1=${N_P1:-500000}       # ~10 s per test for redis-server on 2 shared cores
N_P16=${N_P16:-5000000}    # likewise at pipeline depth 16
REPEAT=${REPEAT:-1}
RESULTS_FILE=${RESULTS_FILE:-$ROOT/bench/RESULTS.md}
OUT_DIR=$ROOT/bench/out    # raw CSV and server logs; git-ignored
MEM_KEYS=1000000
BENCH_TIMEOUT=300
READY_TIMEOUT_S=10
BEGIN_MARK='<!-- bench/run.sh begin -->'
END_MARK='<!-- bench/run.sh end -->'

die() { echo "bench/run.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for knob in SHOAL_PORT REDIS_PORT N_P1 N_P16 REPEAT; do
    [[ "${!knob}" =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, got '${!knob}'"
done
(( REPEAT <= 50 )) || die "REPEAT must be at most 50"
[[ $SHOAL_PORT != "$REDIS_PORT" ]] || die "SHOAL_PORT and REDIS_PORT must differ"

START_EPOCH=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- tools -----------------------------------------------------------------
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null \
        || ! command -v redis-cli >/dev/null; then
    log "installing redis-server and redis-tools"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools
fi
command -v python3 >/dev/null || die "python3 is needed to generate the key load"

SUBSTITUTE=""
if [[ -z "${SHOAL_BIN:-}" ]]; then
    log "building shoal (cargo build --release --bin shoal)"
    (cd "$ROOT" && cargo build --release --bin shoal)
    SHOAL_BIN=$ROOT/target/release/shoal
else
    SUBSTITUTE=yes
fi
SHOAL_BIN=$(command -v "$SHOAL_BIN") || die "SHOAL_BIN not found: ${SHOAL_BIN}"

# --- servers ---------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench.XXXXXX")
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT_DIR/$RUN_ID
mkdir -p "$RAW"
SHOAL_PID=""
REDIS_PID=""

cleanup() {
    local pid
    for pid in $SHOAL_PID $REDIS_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $SHOAL_PID $REDIS_PID; do
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Same flags for both: shoal takes redis-server's `--name value` directives.
SERVER_FLAGS=(--bind 127.0.0.1 --save "" --appendonly no)

start_servers() {
    port_in_use "$SHOAL_PORT" && die "port $SHOAL_PORT is in use (set SHOAL_PORT)"
    port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is in use (set REDIS_PORT)"
    mkdir -p "$WORK/shoal" "$WORK/redis"
    (cd "$WORK/shoal" && exec "$SHOAL_BIN" --port "$SHOAL_PORT" "${SERVER_FLAGS[@]}") \
        >"$RAW/shoal.log" 2>&1 &
    SHOAL_PID=$!
    (cd "$WORK/redis" && exec redis-server --port "$REDIS_PORT" "${SERVER_FLAGS[@]}") \
        >"$RAW/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_ready shoal "$SHOAL_PORT" "$SHOAL_PID"
    wait_ready redis "$REDIS_PORT" "$REDIS_PID"
}

wait_ready() {
    local name=$1 port=$2 pid=$3 i
    for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$RAW/$name.log" >&2; die "$name exited at start"; }
        if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then return 0; fi
        sleep 0.1
    done
    tail -n 20 "$RAW/$name.log" >&2
    die "$name did not answer PING on port $port within ${READY_TIMEOUT_S}s"
}

cli() { local port=$1; shift; timeout 60 redis-cli -p "$port" "$@"; }

# --- memory ----------------------------------------------------------------
info_field() { cli "$1" info memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# measure_memory NAME PORT PID: prints "used_memory_per_key rss_per_key".
measure_memory() {
    local name=$1 port=$2 pid=$3 um0 rss0 um1 rss1 out dbsize
    cli "$port" flushall >/dev/null
    um0=$(info_field "$port" used_memory)
    rss0=$(rss_bytes "$pid")
    out=$(timeout "$BENCH_TIMEOUT" redis-cli -p "$port" --pipe <"$WORK/keys.resp" 2>&1) || true
    echo "$out" >"$RAW/$name-load.txt"
    grep -q "errors: 0, replies: $MEM_KEYS" <<<"$out" || die "$name: key load failed: $out"
    dbsize=$(cli "$port" dbsize)
    [[ $dbsize == "$MEM_KEYS" ]] || die "$name: DBSIZE is $dbsize after loading $MEM_KEYS keys"
    um1=$(info_field "$port" used_memory)
    rss1=$(rss_bytes "$pid")
    [[ -n $um0 && -n $um1 ]] || die "$name: INFO memory has no used_memory"
    echo "$name used_memory $um0 -> $um1, VmRSS $rss0 -> $rss1" >>"$RAW/memory.txt"
    awk -v a="$um0" -v b="$um1" -v c="$rss0" -v d="$rss1" -v n="$MEM_KEYS" \
        'BEGIN { printf "%.1f %.1f\n", (b - a) / n, (d - c) / n }'
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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# --- run -------------------------------------------------------------------
log "generating $MEM_KEYS SET commands"
python3 "$ROOT/bench/gen_set_resp.py" "$MEM_KEYS" >"$WORK/keys.resp"

start_servers
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
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*malloc=\([^ ]*\).*/\1 (malloc \2)/p')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no -- . ':(exclude)bench' 2>/dev/null) ]]; then
    COMMIT+=" with uncommitted changes"
fi
if [[ -n $SUBSTITUTE ]]; then
    SHOAL_DESC="\`$SHOAL_BIN\` from SHOAL_BIN, not built by this run (repo at $COMMIT)"
else
    SHOAL_DESC="commit $COMMIT, \`target/release/shoal\`"
fi
ELAPSED=$(( $(date +%s) - START_EPOCH ))

SECTION=$WORK/section.md
{
    echo "$BEGIN_MARK"
    echo "## shoal vs redis-server: throughput, latency, memory"
    echo
    echo "Written by \`bench/run.sh\`; rerun it to refresh this section."
    echo "The machine has 2 shared cores, and redis-benchmark runs on the same"
    echo "cores as the server it drives: the ratios matter, the absolute numbers do not."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC') (took ${ELAPSED}s)"
    echo "- Machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "- redis-server: ${REDIS_VERSION:-unknown}"
    echo "- shoal: $SHOAL_DESC"
    echo "- Command: \`$COMMAND_LINE\`"
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

# Replace only this script's section; keep whatever else the file holds.
if [[ -f $RESULTS_FILE ]] && grep -qxF "$BEGIN_MARK" "$RESULTS_FILE"; then
    grep -qxF "$END_MARK" "$RESULTS_FILE" || die "$RESULTS_FILE has '$BEGIN_MARK' but no '$END_MARK'"
    awk -v sec="$SECTION" -v b="$BEGIN_MARK" -v e="$END_MARK" '
        $0 == b { while ((getline line < sec) > 0) print line; skip = 1; next }
        $0 == e { skip = 0; next }
        !skip { print }' "$RESULTS_FILE" >"$WORK/results.new"
    cat "$WORK/results.new" >"$RESULTS_FILE"
elif [[ -f $RESULTS_FILE ]]; then
    { echo; cat "$SECTION"; } >>"$RESULTS_FILE"
else
    { echo "# Benchmark results"; echo; cat "$SECTION"; } >"$RESULTS_FILE"
fi

sed -n '/^### /,$p' "$SECTION" | grep -vxF "$END_MARK"
log "wrote $RESULTS_FILE (raw output in ${RAW#"$ROOT"/})"
