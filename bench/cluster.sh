#!/usr/bin/env bash
# Cluster benchmark: a 3-node shoal cluster and a 3-master Redis Cluster
# side by side on loopback.
#
# 1. Throughput: `redis-benchmark --cluster` (the client reads CLUSTER SLOTS
#    and sends each key to its owner) against both clusters, SET and GET at
#    pipeline depth 1 and 16.
# 2. shoal only: plain `redis-benchmark` through one node, which forwards
#    keys it does not own to their owner (proxied), beside the direct figure.
# 3. Failover: kill -9 one node (shoal: one that is not the Raft leader;
#    Redis: one master) and time, polling every 50 ms, until every survivor
#    lists it with the `fail` flag and (shoal) reports cluster_state:ok with
#    the dead node's slots reassigned. Redis Cluster without replicas never
#    covers the dead master's slots again; the script watches and reports
#    the state it stays in.
#
# Prints a markdown section and writes it to bench/out/cluster.md (not to
# RESULTS.md). Raw benchmark output and server logs go to
# bench/out/<run id>-cluster/. Knobs (environment variables):
#   N_P1, N_P16        requests per redis-benchmark run at -P 1 / -P 16
#                      (defaults 400000 / 2000000: 2-5 s per direct run on
#                      2 shared cores, about 3x that for the proxied runs;
#                      at 200000 / 1000000 direct runs took ~1.5 s)
#   REQUESTS           overrides both (e.g. REQUESTS=20000 for a quick check)
#   SHOAL_PORT         first of three shoal ports (default 17391..17393)
#   REDIS_PORT         first of three redis-server ports (default 17394..17396)
#   SHOAL_BIN          run this shoal binary (default target/release/shoal,
#                      built only if missing)
# Both clusters also use each port + 10000 as their cluster bus port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/cluster.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# The command line as given, with the knobs that were set explicitly.
COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT REQUESTS N_P1 N_P16)
# OUT_DIR=bench/out, READY_TIMEOUT_S (RESULTS_FILE and the marks are unused:
# this script writes its own file)
shared_settings

SHOAL_PORT=${SHOAL_PORT:-17391}
REDIS_PORT=${REDIS_PORT:-17394}
N_P1=${REQUESTS:-${N_P1:-400000}}
N_P16=${REQUESTS:-${N_P16:-2000000}}
BENCH_TIMEOUT=300          # seconds for one redis-benchmark run
CLUSTER_READY_TIMEOUT_S=30 # for a fresh cluster to report cluster_state:ok
SHOAL_FAILOVER_TIMEOUT_S=30
REDIS_FAILOVER_TIMEOUT_S=40
POLL_S=0.05                # failover polling interval
STOP_TIMEOUT_S=10
OUT_FILE=$OUT_DIR/cluster.md

require_positive SHOAL_PORT REDIS_PORT N_P1 N_P16
(( N_P1 <= 50000000 && N_P16 <= 100000000 )) || die "N_P1 <= 50000000, N_P16 <= 100000000"
(( SHOAL_PORT + 2 <= 55535 && REDIS_PORT + 2 <= 55535 )) || die "ports + 10000 (the bus ports) must stay below 65536"
(( SHOAL_PORT + 2 < REDIS_PORT || REDIS_PORT + 2 < SHOAL_PORT )) \
    || die "the shoal ports $SHOAL_PORT..$((SHOAL_PORT + 2)) and redis ports $REDIS_PORT..$((REDIS_PORT + 2)) overlap"
SHOAL_PORTS=("$SHOAL_PORT" $((SHOAL_PORT + 1)) $((SHOAL_PORT + 2)))
REDIS_PORTS=("$REDIS_PORT" $((REDIS_PORT + 1)) $((REDIS_PORT + 2)))
note_start

# --- tools -----------------------------------------------------------------
need_tools redis-server redis-cli redis-benchmark
find_shoal if-missing   # target/release/shoal; cargo build only if it is missing

# --- workspace -------------------------------------------------------------
# WORK (scratch, removed on exit), RAW (bench/out/<run id>-cluster) and the
# EXIT trap. lib.sh's stop_servers stops every PID listed in SHOAL_PID and
# REDIS_PID (space-separated), so all six servers go there.
make_workspace shoal-bench-cluster -cluster

# Refuse to start if a client or bus port is taken: the results would mix
# with whatever listens there.
for port in "${SHOAL_PORTS[@]}" "${REDIS_PORTS[@]}"; do
    port_in_use "$port" && die "port $port is in use (set SHOAL_PORT / REDIS_PORT)"
    port_in_use $((port + 10000)) && die "bus port $((port + 10000)) is in use (set SHOAL_PORT / REDIS_PORT)"
done

# --- helpers ---------------------------------------------------------------

# without_pid PID LIST...: LIST without PID, space-separated.
without_pid() { local drop=$1 p; shift; for p in "$@"; do if [[ $p != "$drop" ]]; then printf '%s ' "$p"; fi; done; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f\n", ms / 1000 }'; }

# --- 1. the shoal cluster --------------------------------------------------
# lib.sh's start_shoal_cluster: the first node alone, the other two join it.
SHOAL_PID=""
start_shoal_cluster "${SHOAL_PORTS[@]}"
log "shoal cluster ok on ${SHOAL_PORTS[*]} (pids $SHOAL_PID)"

# --- 2. the Redis cluster --------------------------------------------------
# Three cluster-enabled redis-servers (no persistence), then
# `redis-cli --cluster create` with no replicas: three masters.
mkdir -p "$WORK/redis"
REDIS_PID=""
for port in "${REDIS_PORTS[@]}"; do
    (cd "$WORK/redis" && exec redis-server --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
        --port "$port" --save "" --appendonly no --bind 127.0.0.1 --daemonize no) \
        >"$RAW/redis-$port.log" 2>&1 &
    REDIS_PID+="$! "
    wait_ready "redis :$port" "$port" "$!" "$RAW/redis-$port.log"
done
timeout 60 redis-cli --cluster create "${REDIS_PORTS[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
    >"$RAW/redis-cluster-create.txt" 2>&1 \
    || { cat "$RAW/redis-cluster-create.txt" >&2; die "redis-cli --cluster create failed"; }
wait_cluster redis "${REDIS_PORTS[@]}"
log "redis cluster ok on ${REDIS_PORTS[*]} (pids $REDIS_PID)"

# --- 3 and 4. throughput ---------------------------------------------------
RECORDS=$WORK/records.tsv   # setup pipeline test rps
: >"$RECORDS"

# bench SETUP PIPELINE N ARGS...: one `redis-benchmark -t set,get` run;
# appends "SETUP PIPELINE SET|GET rps" for both tests to RECORDS.
bench() {
    local setup=$1 pipeline=$2 n=$3 out parsed
    shift 3
    out=$RAW/$setup-P$pipeline.txt
    log "$setup: redis-benchmark $* -t set,get -n $n -r 100000 -c 50 -P $pipeline -q"
    timeout "$BENCH_TIMEOUT" redis-benchmark "$@" -t set,get -n "$n" -r 100000 -c 50 \
        -P "$pipeline" -q >"$out" 2>&1 || { tail -n 5 "$out" >&2; die "$setup: redis-benchmark failed or timed out (see $out)"; }
    # -q prints progress lines ending in \r, then "SET: 123.45 requests per second, ...".
    parsed=$(tr '\r' '\n' <"$out" | sed -n 's/^ *\(SET\|GET\): \([0-9.]*\) requests per second.*/\1 \2/p')
    [[ $(wc -l <<<"$parsed") == 2 && $parsed == *SET*GET* ]] || die "$setup: no SET and GET figures in $out"
    if grep -q -i error "$out"; then die "$setup: errors in $out"; fi
    while read -r test rps; do
        printf '%s\t%s\t%s\t%s\n' "$setup" "$pipeline" "$test" "$rps" >>"$RECORDS"
        log "$setup P$pipeline $test: $rps requests/s"
    done <<<"$parsed"
}

# The three setups take turns, in reverse order at P16, so drift on the
# shared machine does not all land on one of them.
redis_direct() { bench redis-cluster "$1" "$2" --cluster -h 127.0.0.1 -p "$REDIS_PORT"; }
shoal_direct() { bench shoal-cluster "$1" "$2" --cluster -h 127.0.0.1 -p "$SHOAL_PORT"; }
shoal_proxied() { bench shoal-proxied "$1" "$2" -h 127.0.0.1 -p "$SHOAL_PORT"; }
redis_direct 1 "$N_P1"
shoal_direct 1 "$N_P1"
shoal_proxied 1 "$N_P1"
shoal_proxied 16 "$N_P16"
shoal_direct 16 "$N_P16"
redis_direct 16 "$N_P16"

# Every node must have received keys: the load really was spread.
SHOAL_DBSIZES=""
for port in "${SHOAL_PORTS[@]}"; do
    dbsize=$(cli "$port" dbsize | tr -d '\r')
    [[ $dbsize =~ ^[0-9]+$ ]] && (( dbsize > 0 )) || die "shoal :$port holds no keys after the runs (DBSIZE '$dbsize')"
    SHOAL_DBSIZES+="${SHOAL_DBSIZES:+ }$dbsize"
done
log "shoal DBSIZE per node: $SHOAL_DBSIZES"

# --- 5. failover -----------------------------------------------------------
FAILOVER=$WORK/failover.tsv   # name t_fail t_ok end_state timeout_s probe_reply
: >"$FAILOVER"

# node_status PORT KILLED_ID: prints "STATE FLAGGED SLOTLESS SLOTS_OK" as
# seen from PORT: cluster_state, whether KILLED_ID carries the `fail` flag
# (not `fail?`), whether its CLUSTER NODES line lists no slots, and
# cluster_slots_ok.
node_status() {
    local port=$1 id=$2 state slots_ok
    state=$(qcli "$port" cluster info | awk -F: '$1 == "cluster_state" { s = $2 } $1 == "cluster_slots_ok" { o = $2 } END { print s "-" o }')
    slots_ok=${state#*-}
    state=${state%-*}
    qcli "$port" cluster nodes | awk -v id="$id" -v s="${state:-none}" -v o="${slots_ok:-none}" '
        $1 == id { n = split($3, f, ","); for (i = 1; i <= n; i++) if (f[i] == "fail") flag = 1
                   slotless = NF <= 8 }
        END { print s, (flag ? "yes" : "no"), (slotless ? "yes" : "no"), o }'
}

# measure_failover NAME PID PORT ID TIMEOUT_S SURVIVOR_PORT...: kill -9 PID
# (the node on PORT with id ID), then poll every survivor every POLL_S until
# TIMEOUT_S. Records the first time all survivors flag it `fail` (t_fail)
# and the first time all of them also report cluster_state:ok with the
# dead node holding no slots (t_ok). Stops at t_ok, or at TIMEOUT_S
# (watching how the state stays) if that never comes. Then sends one SET
# through the first survivor and records the reply.
measure_failover() {
    local name=$1 pid=$2 port=$3 id=$4 timeout_s=$5 t0 t t_fail="" t_ok="" s all_fail all_ok
    local state flagged slotless slots_ok end_state="" probe trace=$RAW/$name-failover.txt
    shift 5
    log "$name: kill -9 $pid (:$port, $id); polling survivors ${*} for up to ${timeout_s}s"
    : >"$trace"
    t0=$(now_ms)
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    # Its PID is reaped (and may be reused): take it off the lists the EXIT
    # trap stops.
    SHOAL_PID=$(without_pid "$pid" $SHOAL_PID)
    REDIS_PID=$(without_pid "$pid" $REDIS_PID)
    while :; do
        t=$(( $(now_ms) - t0 ))
        all_fail=yes
        all_ok=yes
        end_state=""
        for s in "$@"; do
            read -r state flagged slotless slots_ok < <(node_status "$s" "$id")
            echo "$t :$s state=$state flagged_fail=$flagged slotless=$slotless slots_ok=$slots_ok" >>"$trace"
            [[ $flagged == yes ]] || all_fail=""
            [[ $flagged == yes && $state == ok && $slotless == yes ]] || all_ok=""
            end_state+="${end_state:+; }:$s cluster_state:$state, cluster_slots_ok:$slots_ok"
        done
        if [[ -n $all_fail && -z $t_fail ]]; then t_fail=$t; log "$name: flagged fail on all survivors after ${t} ms"; fi
        if [[ -n $all_ok ]]; then t_ok=$t; log "$name: cluster_state:ok, slots reassigned after ${t} ms"; break; fi
        (( t < timeout_s * 1000 )) || break
        sleep "$POLL_S"
    done
    # Does the cluster still take writes? A plain SET through the first
    # survivor (it proxies or answers -MOVED/-CLUSTERDOWN itself).
    probe=$(qcli "$1" set bench:failover:probe 1 | head -1)
    log "$name: SET through :$1 answers '${probe:-no reply}'"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${t_fail:-none}" "${t_ok:-none}" "$end_state" "$timeout_s" "${probe:-no reply}" >>"$FAILOVER"
}

# shoal: find the Raft leader and kill a node that is not it (the highest
# port that is not the leader).
LEADER=$(field "$SHOAL_PORT" "info cluster" cluster_raft_leader)
[[ -n $LEADER ]] || die "shoal: INFO cluster has no cluster_raft_leader"
read -ra SHOAL_PIDS <<<"$SHOAL_PID"
VICTIM=""
for ((i = 2; i >= 0; i--)); do
    id=$(field "${SHOAL_PORTS[i]}" "info cluster" cluster_node_id)
    if [[ -n $id && $id != "$LEADER" ]]; then
        VICTIM=$i
        SHOAL_VICTIM_ID=$id
        SHOAL_VICTIM_ROLE=$(field "${SHOAL_PORTS[i]}" "info cluster" cluster_raft_role)
        break
    fi
done
[[ -n $VICTIM ]] || die "shoal: no node other than the leader $LEADER"
SHOAL_VICTIM_PORT=${SHOAL_PORTS[VICTIM]}
SHOAL_NODE_TIMEOUT=$(cli "$SHOAL_PORT" config get cluster-node-timeout | tr -d '\r' | tail -1)
SURVIVORS=()
for ((i = 0; i < 3; i++)); do if ((i != VICTIM)); then SURVIVORS+=("${SHOAL_PORTS[i]}"); fi; done
measure_failover shoal "${SHOAL_PIDS[VICTIM]}" "$SHOAL_VICTIM_PORT" "$SHOAL_VICTIM_ID" \
    "$SHOAL_FAILOVER_TIMEOUT_S" "${SURVIVORS[@]}"

# Redis: kill the last master. With no replicas nothing takes its slots:
# expect the survivors to flag it fail after cluster-node-timeout and
# cluster_state to stay fail; the loop watches until the timeout.
read -ra REDIS_PIDS <<<"$REDIS_PID"
REDIS_VICTIM_PORT=${REDIS_PORTS[2]}
REDIS_VICTIM_ID=$(cli "$REDIS_VICTIM_PORT" cluster myid | tr -d '\r')
REDIS_NODE_TIMEOUT=$(cli "$REDIS_PORT" config get cluster-node-timeout | tr -d '\r' | tail -1)
measure_failover redis "${REDIS_PIDS[2]}" "$REDIS_VICTIM_PORT" "$REDIS_VICTIM_ID" \
    "$REDIS_FAILOVER_TIMEOUT_S" "${REDIS_PORTS[0]}" "${REDIS_PORTS[1]}"

stop_servers
cp "$RECORDS" "$RAW/records.tsv"
cp "$FAILOVER" "$RAW/failover.tsv"

# --- 6. report -------------------------------------------------------------
report_facts
rps_of() { awk -F'\t' -v s="$1" -v p="$2" -v t="$3" '$1 == s && $2 == p && $3 == t { print $4 }' "$RECORDS"; }
failover_field() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$FAILOVER"; }
# fmt_time MS TIMEOUT_S: "2.41 s", or "not within TIMEOUT_S s".
fmt_time() { if [[ $1 == none ]]; then echo "not within $2 s"; else echo "$(seconds "$1") s"; fi; }

SECTION=$WORK/section.md
{
    echo "<!-- $SCRIPT begin -->"
    echo "## Cluster: 3-node shoal vs 3-master Redis Cluster"
    echo
    echo "Written by \`bench/cluster.sh\` (to \`bench/out/cluster.md\`)."
    echo "The machine has 2 shared cores; the six servers and redis-benchmark all"
    echo "run on them: the ratios matter, the absolute numbers do not."
    echo
    fact_lines
    echo "- shoal: \`shoal --port P --bind 127.0.0.1 --dir D --loglevel warning --save \"\" --appendonly no\`,"
    echo "  the second and third with \`--join 127.0.0.1:$SHOAL_PORT\`; ports ${SHOAL_PORTS[*]}."
    echo "- Redis: \`redis-server --cluster-enabled yes --port P --save '' --appendonly no --bind 127.0.0.1\`,"
    echo "  then \`redis-cli --cluster create ... --cluster-replicas 0\`: 3 masters, no replicas; ports ${REDIS_PORTS[*]}."
    echo "- Each run: \`redis-benchmark [--cluster] -h 127.0.0.1 -p FIRST_PORT -t set,get -n N -r 100000 -c 50 -P P -q\`"
    echo "  with N = $N_P1 at P 1 and $N_P16 at P 16. *direct* = \`--cluster\` (the client"
    echo "  sends each key to its owner); *proxied* = plain client on shoal :$SHOAL_PORT only, which"
    echo "  forwards keys it does not own. Order: redis, shoal direct, shoal proxied at P 1,"
    echo "  the reverse at P 16. shoal DBSIZE per node afterwards: $SHOAL_DBSIZES."
    # Each run's length is N / rps; below a couple of seconds the fixed
    # start-up of a run weighs in and the figures are coarse.
    shortest=$(awk -F'\t' -v n1="$N_P1" -v n16="$N_P16" '{ d = ($2 == 1 ? n1 : n16) / $4; if (!m || d < m) m = d }
        END { printf "%.2f\n", m }' "$RECORDS")
    if awk -v d="$shortest" 'BEGIN { exit !(d < 2) }'; then
        echo "- **Quick check, not a result:** the shortest run took ${shortest} s; below ~2 s per"
        echo "  run the figures are coarse. Use the default N_P1/N_P16 for figures."
    fi
    echo
    echo "| test | redis cluster rps | shoal cluster (direct) rps | shoal/redis | shoal proxied rps | proxied/direct |"
    echo "|---|---:|---:|---:|---:|---:|"
    for pipeline in 1 16; do
        for test in SET GET; do
            r=$(rps_of redis-cluster "$pipeline" "$test")
            d=$(rps_of shoal-cluster "$pipeline" "$test")
            p=$(rps_of shoal-proxied "$pipeline" "$test")
            printf '| %s P%s | %s | %s | %s | %s | %s |\n' "$test" "$pipeline" "$r" "$d" "$(ratio "$d" "$r")" "$p" "$(ratio "$p" "$d")"
        done
    done
    echo
    echo "### Failover after kill -9 of one node"
    echo
    echo "Time from the kill until every survivor lists the node with the \`fail\` flag"
    echo "in CLUSTER NODES, and until every survivor also reports \`cluster_state:ok\` in"
    echo "CLUSTER INFO with the dead node's slots reassigned (its CLUSTER NODES line lists"
    echo "none); polled every ${POLL_S}s (a poll of all survivors takes a few ms more)."
    echo
    echo "| cluster | cluster-node-timeout | killed | flagged \`fail\` on all survivors | cluster_state:ok, slots reassigned | survivors at the end | SET through a survivor then |"
    echo "|---|---:|---|---:|---:|---|---|"
    printf '| shoal | %s ms | :%s (raft %s; leader is another node) | %s | %s | %s | %s |\n' \
        "$SHOAL_NODE_TIMEOUT" "$SHOAL_VICTIM_PORT" "$SHOAL_VICTIM_ROLE" \
        "$(fmt_time "$(failover_field shoal 2)" "$SHOAL_FAILOVER_TIMEOUT_S")" \
        "$(fmt_time "$(failover_field shoal 3)" "$SHOAL_FAILOVER_TIMEOUT_S")" \
        "$(failover_field shoal 4)" "\`$(failover_field shoal 6)\`"
    printf '| redis | %s ms | :%s (master, no replica) | %s | %s | %s | %s |\n' \
        "$REDIS_NODE_TIMEOUT" "$REDIS_VICTIM_PORT" \
        "$(fmt_time "$(failover_field redis 2)" "$REDIS_FAILOVER_TIMEOUT_S")" \
        "$(fmt_time "$(failover_field redis 3)" "$REDIS_FAILOVER_TIMEOUT_S")" \
        "$(failover_field redis 4)" "\`$(failover_field redis 6)\`"
    echo
    if [[ $(failover_field redis 3) == none ]]; then
        echo "Redis Cluster has no replica to promote and \`cluster-require-full-coverage yes\`:"
        echo "the dead master's slots stayed uncovered for the ${REDIS_FAILOVER_TIMEOUT_S} s watched after the kill"
        echo "(the last column: what a survivor answered to a SET then). shoal's leader hands the"
        echo "dead node's slots to the survivors (a cache: those keys are lost, the rest stay)."
    fi
    echo "<!-- $SCRIPT end -->"
} >"$SECTION"
cp "$SECTION" "$OUT_FILE"
cat "$SECTION"
log "wrote ${OUT_FILE#"$ROOT"/} (raw output in ${RAW#"$ROOT"/})"
