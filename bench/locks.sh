#!/usr/bin/env bash
# Lock benchmark: acquire + release pairs per second and the pair latency's
# p50 and p99, at 1, 16 and 64 concurrent clients, for
#
#   - shoal: a 3-node cluster (3 Raft voters; the Raft log is always
#     fsynced), locks by SET k token NX PX 10000 / DELIFEQ k token;
#   - etcd (Debian's etcd-server, 3.4): 3 members on loopback, its default
#     durability (WAL fsynced), locks by lease + transaction;
#   - one redis-server 7.0, no replication and no persistence: the unsafe
#     baseline, SET NX PX / compare-and-delete script by EVALSHA.
#
# All three are driven by one program, bench/lockdrive (Go, built here in
# GOPATH mode against Debian's golang-etcd-server-dev: no module proxy).
# Each client locks a key of its own (lock:bench:<n>), so nothing
# contends: this measures the lock service. Clients are spread round-robin
# over the nodes, the Raft leader first (so 1 client talks to the leader
# on both shoal and etcd). See bench/lockdrive/main.go for the exact
# commands and checks.
#
# Prints a markdown section and writes it to bench/out/locks.md (not to
# RESULTS.md). Raw driver output and server logs go to
# bench/out/<run id>-locks/. Knobs (environment variables):
#   PAIRS          acquire + release pairs per run, over all clients
#                  (default 60000: 3-5 s of redis-server on 2 cores)
#   RUN_SECONDS    time cap of one run: no pair starts after it (default 30;
#                  shoal and etcd reach it before PAIRS)
#   CLIENTS        client counts, space-separated (default "1 16 64")
#   SHOAL_PORT     first of three shoal ports (default 17397..17399; each
#                  port + 10000 is its cluster bus port)
#   REDIS_PORT     the redis-server port (default 17400)
#   ETCD_PORT      first of three etcd client ports (default 17401..17403);
#                  the peer ports are the next three (17404..17406)
#   SHOAL_BIN      run this shoal binary (default target/release/shoal,
#                  built only if missing)
#   QUIET_LOAD     wait, before starting the servers, until the 1-minute
#                  load average is at most this (default 1.0) ...
#   QUIET_WAIT_S   ... for at most this many seconds (default 300; 0 = do
#                  not wait); the report gives the load either way
#   QUIET_OTHERS   before each run, wait until processes other than this
#                  benchmark's used at most this % of the machine's CPU
#                  over 3 s (default 10) ...
#   QUIET_RUN_WAIT_S ... for at most this many seconds per run (default 30)
# At the defaults the runs take about 4 minutes (each of the 9 stops at
# PAIRS or RUN_SECONDS, whichever comes first), plus the builds and up to
# QUIET_WAIT_S of waiting and the 3 s quiet check before each run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=bench/locks.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

COMMAND_LINE=$(command_line "$SCRIPT${*:+ $*}" SHOAL_BIN SHOAL_PORT REDIS_PORT ETCD_PORT PAIRS RUN_SECONDS CLIENTS \
    QUIET_LOAD QUIET_WAIT_S QUIET_OTHERS QUIET_RUN_WAIT_S)
# OUT_DIR=bench/out, READY_TIMEOUT_S (RESULTS_FILE and the marks are unused:
# this script writes its own file)
shared_settings

PAIRS=${PAIRS:-60000}
RUN_SECONDS=${RUN_SECONDS:-30}
CLIENTS=${CLIENTS:-1 16 64}
SHOAL_PORT=${SHOAL_PORT:-17397}
REDIS_PORT=${REDIS_PORT:-17400}
ETCD_PORT=${ETCD_PORT:-17401}
QUIET_LOAD=${QUIET_LOAD:-1.0}
QUIET_WAIT_S=${QUIET_WAIT_S:-300}
QUIET_OTHERS=${QUIET_OTHERS:-10}
QUIET_RUN_WAIT_S=${QUIET_RUN_WAIT_S:-30}
QUIET_SAMPLE_S=3
OP_TIMEOUT_S=5              # one request, in the driver
DRIVER_SLACK_S=120          # beyond RUN_SECONDS: connecting, warm-up, a stalled last request
CLUSTER_READY_TIMEOUT_S=30  # shoal: cluster_state:ok with 3 known nodes
ETCD_READY_TIMEOUT_S=30     # etcd: every member healthy
STOP_TIMEOUT_S=10
OUT_FILE=$OUT_DIR/locks.md
GOCODE=/usr/share/gocode    # where Debian's golang-*-dev packages put their source
DRIVER=$ROOT/target/lockdrive/lockdrive

require_positive PAIRS RUN_SECONDS SHOAL_PORT REDIS_PORT ETCD_PORT
[[ $QUIET_WAIT_S =~ ^[0-9]+$ && $QUIET_RUN_WAIT_S =~ ^[0-9]+$ ]] || die "QUIET_WAIT_S and QUIET_RUN_WAIT_S must be whole numbers of seconds"
if ! [[ $QUIET_OTHERS =~ ^[0-9]+$ ]] || (( QUIET_OTHERS > 100 )); then die "QUIET_OTHERS must be a percentage, 0..100"; fi
[[ $QUIET_LOAD =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "QUIET_LOAD must be a number"
(( PAIRS <= 10000000 && RUN_SECONDS <= 600 )) || die "PAIRS <= 10000000, RUN_SECONDS <= 600"
read -ra CLIENT_COUNTS <<<"$CLIENTS"
(( ${#CLIENT_COUNTS[@]} > 0 )) || die "CLIENTS is empty"
for c in "${CLIENT_COUNTS[@]}"; do
    if ! [[ $c =~ ^[1-9][0-9]*$ ]] || (( c > 1000 )); then die "CLIENTS: each count must be 1..1000, got '$c'"; fi
done
SHOAL_PORTS=("$SHOAL_PORT" $((SHOAL_PORT + 1)) $((SHOAL_PORT + 2)))
ETCD_CLIENT_PORTS=("$ETCD_PORT" $((ETCD_PORT + 1)) $((ETCD_PORT + 2)))
ETCD_PEER_PORTS=($((ETCD_PORT + 3)) $((ETCD_PORT + 4)) $((ETCD_PORT + 5)))
ALL_PORTS=("${SHOAL_PORTS[@]}" "$REDIS_PORT" "${ETCD_CLIENT_PORTS[@]}" "${ETCD_PEER_PORTS[@]}")
(( SHOAL_PORT + 2 <= 55535 )) || die "shoal ports + 10000 (the bus ports) must stay below 65536"
(( ETCD_PORT + 5 <= 65535 )) || die "ETCD_PORT + 5 must stay below 65536"
# No port may serve two roles (the bus ports are each shoal port + 10000).
if [[ -n $(printf '%s\n' "${ALL_PORTS[@]}" $((SHOAL_PORT + 10000)) $((SHOAL_PORT + 10001)) $((SHOAL_PORT + 10002)) | sort | uniq -d) ]]; then
    die "the shoal (and bus), redis and etcd ports overlap: SHOAL_PORT=$SHOAL_PORT REDIS_PORT=$REDIS_PORT ETCD_PORT=$ETCD_PORT"
fi

# --- tools -----------------------------------------------------------------

need_tools redis-server redis-cli   # redis-server and redis-tools if missing

# etcd, etcdctl, Go and the etcd client's source with its dependencies
# (golang-etcd-server-dev pulls in grpc, protobuf, zap and the rest), each
# installed from Debian only if missing.
need_lock_tools() {
    local missing=()
    command -v etcd >/dev/null || missing+=(etcd-server)
    command -v etcdctl >/dev/null || missing+=(etcd-client)
    command -v go >/dev/null || missing+=(golang-go)
    [[ -d $GOCODE/src/go.etcd.io/etcd/clientv3 ]] || missing+=(golang-etcd-server-dev)
    if (( ${#missing[@]} > 0 )); then
        log "installing ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    fi
}
need_lock_tools
find_shoal if-missing   # target/release/shoal; cargo build only if it is missing

# The driver, in GOPATH mode: imports resolve from Debian's source tree, and
# nothing is fetched. The build cache lives under target/ (git-ignored).
log "building bench/lockdrive (go build, GOPATH=$GOCODE)"
(cd "$ROOT" && GO111MODULE=off GOPATH=$GOCODE GOFLAGS="" GOCACHE=$ROOT/target/lockdrive/go-build \
    go build -o "$DRIVER" ./bench/lockdrive) || die "go build of bench/lockdrive failed"

# --- a quiet machine -------------------------------------------------------
# The machine is shared (builds run beside this): wait a while for the
# 1-minute load average to come down, then go on whatever it is.
load1() { cut -d' ' -f1 /proc/loadavg; }
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
QUIET_WAITED=0
while above "$(load1)" "$QUIET_LOAD" && (( QUIET_WAITED < QUIET_WAIT_S )); do
    (( QUIET_WAITED == 0 )) && log "load average $(load1) > $QUIET_LOAD: waiting up to ${QUIET_WAIT_S}s for it to fall"
    sleep 10
    QUIET_WAITED=$((QUIET_WAITED + 10))
done
if (( QUIET_WAIT_S == 0 )); then
    QUIET_NOTE="not waited for (QUIET_WAIT_S=0); 1-minute load average $(load1) at start"
elif above "$(load1)" "$QUIET_LOAD"; then
    QUIET_NOTE="the 1-minute load average was still $(load1) (> $QUIET_LOAD) after waiting ${QUIET_WAITED}s: figures taken on a busy machine"
else
    QUIET_NOTE="1-minute load average $(load1) at start (waited ${QUIET_WAITED}s for it to be <= $QUIET_LOAD)"
fi
log "$QUIET_NOTE"
note_start

# --- workspace -------------------------------------------------------------
# WORK (scratch, removed on exit), RAW (bench/out/<run id>-locks) and the
# EXIT trap, which stops every PID in SHOAL_PID, REDIS_PID and OTHER_PID
# (the etcd members).
make_workspace shoal-bench-locks -locks

for port in "${ALL_PORTS[@]}" $((SHOAL_PORT + 10000)) $((SHOAL_PORT + 10001)) $((SHOAL_PORT + 10002)); do
    port_in_use "$port" && die "port $port is in use (set SHOAL_PORT / REDIS_PORT / ETCD_PORT)"
done

# How long one fsync takes on the filesystem the servers write to: 100
# 4 KiB writes with O_DSYNC, for the report (every lock pair needs at
# least two on each system that is durable).
FSYNC_MS=$(dd if=/dev/zero of="$WORK/fsync-probe" bs=4k count=100 oflag=dsync 2>&1 \
    | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) t = $(i - 1); printf "%.2f\n", t * 1000 / 100 }')
FS_TYPE=$(df -T "$WORK" | awk 'NR == 2 { print $2 }')
rm -f "$WORK/fsync-probe"
log "one 4 KiB O_DSYNC write on $FS_TYPE: ${FSYNC_MS:-?} ms"

# --- 1. shoal: 3 voters ----------------------------------------------------
start_shoal_cluster "${SHOAL_PORTS[@]}"
# A joined node becomes a voter once the group admits it: wait until every
# node counts three voters, so no run measures a two-voter group.
for ((t = 0; ; t++)); do
    voters=""
    for port in "${SHOAL_PORTS[@]}"; do voters+="$(field "$port" "info cluster" cluster_raft_voters) "; done
    [[ $voters == "3 3 3 " ]] && break
    (( t < CLUSTER_READY_TIMEOUT_S * 10 )) || die "shoal: cluster_raft_voters is '$voters' on ${SHOAL_PORTS[*]} after ${CLUSTER_READY_TIMEOUT_S}s, want 3 on each"
    sleep 0.1
done
log "shoal cluster ok on ${SHOAL_PORTS[*]} with 3 voters (pids $SHOAL_PID)"

# --- 2. redis-server -------------------------------------------------------
mkdir -p "$WORK/redis"
(cd "$WORK/redis" && exec redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no) \
    >"$RAW/redis.log" 2>&1 &
REDIS_PID=$!
wait_ready redis "$REDIS_PORT" "$REDIS_PID" "$RAW/redis.log"
log "redis-server on $REDIS_PORT (pid $REDIS_PID)"

# --- 3. etcd: 3 members ----------------------------------------------------
# Static bootstrap; each member its own data dir; default durability (no
# --unsafe-no-fsync) and default timings (heartbeat 100 ms, election 1 s,
# snapshot every 100,000 entries).
ETCD_INITIAL=""
for i in 0 1 2; do ETCD_INITIAL+="${ETCD_INITIAL:+,}etcd-$i=http://127.0.0.1:${ETCD_PEER_PORTS[i]}"; done
for i in 0 1 2; do
    dir=$WORK/etcd-$i
    mkdir -p "$dir"
    (cd "$dir" && exec etcd --name "etcd-$i" --data-dir "$dir/data" \
        --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
        --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
        --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
        --initial-cluster "$ETCD_INITIAL" --initial-cluster-state new \
        --initial-cluster-token shoal-lockbench --logger zap --log-outputs stderr) \
        >"$RAW/etcd-$i.log" 2>&1 &
    OTHER_PID+="$! "
done
read -ra ETCD_PIDS <<<"$OTHER_PID"
ETCD_ENDPOINTS=$(printf 'http://127.0.0.1:%s,' "${ETCD_CLIENT_PORTS[@]}")
ETCD_ENDPOINTS=${ETCD_ENDPOINTS%,}
etcd_ctl() { timeout 10 etcdctl --endpoints="$ETCD_ENDPOINTS" --dial-timeout=2s --command-timeout=5s "$@"; }
for ((t = 0; ; t++)); do
    for i in 0 1 2; do
        kill -0 "${ETCD_PIDS[i]}" 2>/dev/null || { tail -n 20 "$RAW/etcd-$i.log" >&2; die "etcd-$i exited at start"; }
    done
    if etcd_ctl endpoint health >"$RAW/etcd-health.txt" 2>&1; then break; fi
    (( t < ETCD_READY_TIMEOUT_S * 2 )) || { cat "$RAW/etcd-health.txt" >&2; die "etcd: not every member healthy within ${ETCD_READY_TIMEOUT_S}s"; }
    sleep 0.5
done
ETCD_VERSION=$(etcd --version | awk '/^etcd Version/ { print $3 }')
log "etcd $ETCD_VERSION healthy on ${ETCD_CLIENT_PORTS[*]} (pids $OTHER_PID)"

# --- leaders first ---------------------------------------------------------
# Client i goes to endpoint i mod 3; with the leader first, 1 client talks
# to the leader on both systems and 16 or 64 clients put the same share on
# it (6 of 16, 22 of 64).

# leader_first LEADER_INDEX ITEM...: the items, the leader's first and the
# rest in their order, comma-separated.
leader_first() {
    local lead=$1 i out
    shift
    local items=("$@")
    out=${items[lead]}
    for ((i = 0; i < ${#items[@]}; i++)); do
        if ((i != lead)); then out+=",${items[i]}"; fi
    done
    echo "$out"
}

SHOAL_LEADER_ID=$(field "$SHOAL_PORT" "info cluster" cluster_raft_leader)
SHOAL_LEAD=""
for i in 0 1 2; do
    if [[ -n $SHOAL_LEADER_ID && $(field "${SHOAL_PORTS[i]}" "info cluster" cluster_node_id) == "$SHOAL_LEADER_ID" ]]; then SHOAL_LEAD=$i; fi
done
[[ -n $SHOAL_LEAD ]] || die "shoal: no node is the Raft leader '$SHOAL_LEADER_ID' (INFO cluster)"
# `etcdctl endpoint status` prints "endpoint, id, version, db size, is leader, ...".
etcd_ctl endpoint status >"$RAW/etcd-status-start.txt" 2>&1 || die "etcd: endpoint status failed: $(cat "$RAW/etcd-status-start.txt")"
ETCD_LEAD=$(awk -F', ' '$5 == "true" { sub(".*:", "", $1); print $1 }' "$RAW/etcd-status-start.txt")
ETCD_LEAD_INDEX=""
for i in 0 1 2; do if [[ ${ETCD_CLIENT_PORTS[i]} == "$ETCD_LEAD" ]]; then ETCD_LEAD_INDEX=$i; fi; done
[[ -n $ETCD_LEAD_INDEX ]] || die "etcd: no leader in $(cat "$RAW/etcd-status-start.txt")"
SHOAL_EPS=$(leader_first "$SHOAL_LEAD" "${SHOAL_PORTS[@]/#/127.0.0.1:}")
ETCD_EPS=$(leader_first "$ETCD_LEAD_INDEX" "${ETCD_CLIENT_PORTS[@]/#/127.0.0.1:}")
log "endpoints, leader first: shoal $SHOAL_EPS; etcd $ETCD_EPS"

# --- 4. the runs -----------------------------------------------------------
# Where each server log stands now: warnings counted at the end are those
# logged during the runs (start-up logs its own, peers not yet up and so on).
declare -A LOG_START
for f in "$RAW"/shoal-*.log "$RAW"/etcd-*.log; do LOG_START[$f]=$(wc -l <"$f"); done
RECORDS=$WORK/records.tsv
# 1 system 2 clients 3 pairs 4 errors 5 seconds 6 pairs_per_s 7 p50 8 p99
# 9 max 10 stopped_by 11 driver_cpu_s (from the driver), then 12 load1
# before the run, 13 the system's server CPU in cores, 14 others' CPU % of
# the machine, 15 note
: >"$RECORDS"

pids_of() { case $1 in shoal) echo "$SHOAL_PID" ;; redis) echo "$REDIS_PID" ;; etcd) echo "$OTHER_PID" ;; esac; }
eps_of() { case $1 in shoal) echo "$SHOAL_EPS" ;; redis) echo "127.0.0.1:$REDIS_PORT" ;; etcd) echo "$ETCD_EPS" ;; esac; }

# CPU accounting, so a run can tell its own load from the rest of the
# machine's (the load average cannot: the servers' fsync waits and the
# driver's threads count in it). Clock ticks of user + nice + system time
# of all CPUs, and of the given PIDs (utime + stime).
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat; }
pid_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        # Fields after "(comm) ": state is 1st, utime 12th, stime 13th.
        t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

# others_share SECONDS: the share (%) of all cores that processes other
# than our servers used over the next SECONDS (call it between runs).
others_share() {
    local all b0 a0 t0 b1 a1 t1
    read -ra all <<<"$SHOAL_PID $REDIS_PID $OTHER_PID"
    b0=$(busy_ticks); a0=$(pid_ticks "${all[@]}"); t0=$(date +%s%N)
    sleep "$1"
    t1=$(date +%s%N); b1=$(busy_ticks); a1=$(pid_ticks "${all[@]}")
    awk -v hz="$HZ" -v n="$NCPU" -v b="$((b1 - b0))" -v a="$((a1 - a0))" -v ns="$((t1 - t0))" \
        'BEGIN { o = (b - a) / hz; if (o < 0) o = 0; printf "%.0f\n", 100 * o / (ns / 1e9 * n) }'
}

# wait_for_quiet: samples others_share until it is at most QUIET_OTHERS or
# QUIET_RUN_WAIT_S have passed; sets QUIET_SHARE and QUIET_WAITED.
wait_for_quiet() {
    QUIET_WAITED=0
    while :; do
        QUIET_SHARE=$(others_share "$QUIET_SAMPLE_S")
        QUIET_WAITED=$((QUIET_WAITED + QUIET_SAMPLE_S))
        (( QUIET_SHARE <= QUIET_OTHERS || QUIET_WAITED >= QUIET_RUN_WAIT_S )) && return 0
    done
}

# drive SYSTEM CLIENTS: one driver run; appends to RECORDS its line, the
# load average before it, the system's CPU, the other processes' CPU and a
# note. A run that fails or finds a server gone is recorded as such and the
# script goes on.
drive() {
    local sys=$1 clients=$2 out err load pid dead="" rc=0 b0 b1 s0 s1 a0 a1 t0 t1
    out=$RAW/$sys-c$clients.tsv
    err=$RAW/$sys-c$clients.err
    for pid in $(pids_of "$sys"); do kill -0 "$pid" 2>/dev/null || dead+="$pid "; done
    local quiet=""
    if (( QUIET_RUN_WAIT_S > 0 )); then
        wait_for_quiet
        if (( QUIET_SHARE > QUIET_OTHERS )); then
            quiet="other processes still took ${QUIET_SHARE}% of the CPU when the run started (waited ${QUIET_WAITED}s); "
        elif (( QUIET_WAITED > QUIET_SAMPLE_S )); then
            quiet="waited ${QUIET_WAITED}s for other processes' CPU to fall to ${QUIET_SHARE}%; "
        fi
    fi
    load=$(load1)
    log "$sys, $clients clients: up to $PAIRS pairs or ${RUN_SECONDS}s (load $load)"
    local mine all
    read -ra mine <<<"$(pids_of "$sys")"
    read -ra all <<<"$SHOAL_PID $REDIS_PID $OTHER_PID"
    b0=$(busy_ticks); s0=$(pid_ticks "${mine[@]}"); a0=$(pid_ticks "${all[@]}"); t0=$(date +%s%N)
    timeout $((RUN_SECONDS + DRIVER_SLACK_S)) "$DRIVER" -system "$sys" -endpoints "$(eps_of "$sys")" \
        -clients "$clients" -pairs "$PAIRS" -seconds "${RUN_SECONDS}s" -op-timeout "${OP_TIMEOUT_S}s" \
        >"$out" 2>"$err" || rc=$?
    t1=$(date +%s%N); b1=$(busy_ticks); s1=$(pid_ticks "${mine[@]}"); a1=$(pid_ticks "${all[@]}")
    local note=$quiet
    [[ -z $dead ]] || note+="server pid(s) ${dead% } gone before the run; "
    if (( rc != 0 )) || [[ $(wc -l <"$out") != 1 ]]; then
        note+="driver failed (exit $rc): $(tail -n 1 "$err" | tr '\t' ' ')"
        printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t%s\n' "$sys" "$clients" "$load" "$note" >>"$RECORDS"
        log "$sys, $clients clients: $note"
        return 0
    fi
    if [[ -s $err ]]; then note+="$(wc -l <"$err") line(s) on stderr, first: $(head -n 1 "$err" | tr '\t' ' ')"; fi
    note=${note%; }
    # The system's servers in cores; everyone else (not our seven servers,
    # not the driver) as a share of all the machine's CPU time.
    local cpu
    cpu=$(awk -F'\t' -v hz="$HZ" -v n="$NCPU" -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v a="$((a1 - a0))" \
        -v ns="$((t1 - t0))" '{ wall = ns / 1e9; other = (b - a) / hz - $11; if (other < 0) other = 0
            printf "%.2f\t%.0f", s / hz / wall, 100 * other / (wall * n) }' "$out")
    printf '%s\t%s\t%s\t%s\n' "$(cat "$out")" "$load" "$cpu" "$note" >>"$RECORDS"
    log "$sys, $clients clients: $(awk -F'\t' '{ printf "%s pairs/s, p50 %s ms, p99 %s ms, %s errors (%s pairs in %s s, stopped by %s)", $6, $7, $8, $4, $3, $5, $10 }' "$out"); server CPU ${cpu%%$'\t'*} cores, others ${cpu#*$'\t'}% of the machine"
}

# The systems take turns, in reverse order every other client count, so
# drift on the shared machine does not all land on one of them.
for ((k = 0; k < ${#CLIENT_COUNTS[@]}; k++)); do
    if ((k % 2 == 0)); then order=(shoal etcd redis); else order=(redis etcd shoal); fi
    for sys in "${order[@]}"; do drive "$sys" "${CLIENT_COUNTS[k]}"; done
done

# After the load: who is still up, and who leads.
GONE=""
for sys in shoal redis etcd; do
    for pid in $(pids_of "$sys"); do kill -0 "$pid" 2>/dev/null || GONE+="$sys pid $pid; "; done
done
SHOAL_LEADER_END=$(field "$SHOAL_PORT" "info cluster" cluster_raft_leader)
SHOAL_VOTERS_END=$(field "$SHOAL_PORT" "info cluster" cluster_raft_voters)
etcd_ctl endpoint status >"$RAW/etcd-status-end.txt" 2>&1 || true
ETCD_LEAD_END=$(awk -F', ' '$5 == "true" { sub(".*:", "", $1); print $1 }' "$RAW/etcd-status-end.txt")

# Warnings and errors the servers logged during the runs, counted before
# they are stopped (shutting down logs warnings of its own). shoal runs at
# --loglevel warning; etcd's zap lines carry "level":"warn" or "error".
LOG_PATTERN='"level":"(warn|error|fatal|panic)"|\bWARN\b|\bERROR\b|panic'
# since_start LOG...: the lines each log gained since LOG_START.
since_start() { local f n; for f in "$@"; do n=${LOG_START[$f]}; tail -n +$((n + 1)) "$f"; done; }
SHOAL_LOG_LINES=$(since_start "$RAW"/shoal-*.log | grep -ciE "$LOG_PATTERN" || true)
ETCD_LOG_LINES=$(since_start "$RAW"/etcd-*.log | grep -ciE "$LOG_PATTERN" || true)
ETCD_SLOW=$(since_start "$RAW"/etcd-*.log | grep -c 'took too long' || true)
since_start "$RAW"/shoal-*.log "$RAW"/etcd-*.log | grep -iE "$LOG_PATTERN" >"$RAW/warnings-during-runs.txt" || true

stop_servers
cp "$RECORDS" "$RAW/records.tsv"

# --- 5. report -------------------------------------------------------------
report_facts
rec() { awk -F'\t' -v s="$1" -v c="$2" -v f="$3" '$1 == s && $2 == c { print $f }' "$RECORDS"; }
# ratio_or_dash A B: A/B to two places, "-" if either is missing.
ratio_or_dash() { if [[ $1 == - || $2 == - || -z $1 || -z $2 ]]; then echo -; else ratio "$1" "$2"; fi; }
# at_least A B: "yes" when A >= B (numbers), "-" when either is missing.
at_least() { if [[ $1 == - || $2 == - || -z $1 || -z $2 ]]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b ? "yes" : "no") }'; fi; }

SECTION=$WORK/section.md
{
    echo "<!-- $SCRIPT begin -->"
    echo "## Locks: shoal (3 voters) vs etcd (3 members) vs one redis-server"
    echo
    echo "Written by \`bench/locks.sh\` (to \`bench/out/locks.md\`). The machine has $(nproc) shared"
    echo "cores; all seven servers and the driver run on them."
    echo
    fact_lines
    echo "- Quiet check: $QUIET_NOTE."
    echo "- etcd: $ETCD_VERSION (Debian \`etcd-server\`), 3 members, static \`--initial-cluster\`, default"
    echo "  durability (WAL fsynced) and timings; ports ${ETCD_CLIENT_PORTS[*]} (peers ${ETCD_PEER_PORTS[*]})."
    echo "- shoal: 3 nodes, \`shoal --port P --bind 127.0.0.1 --dir D --loglevel warning --save \"\" --appendonly no\`,"
    echo "  the second and third with \`--join 127.0.0.1:$SHOAL_PORT\`; all three Raft voters, the Raft"
    echo "  log fsynced on every append; ports ${SHOAL_PORTS[*]}."
    echo "- redis-server: one, \`--save \"\" --appendonly no\`, no replica: nothing survives its loss; port $REDIS_PORT."
    echo "- Disk: the servers' directories are on $FS_TYPE; one 4 KiB O_DSYNC write took ${FSYNC_MS:-?} ms"
    echo "  there (mean of 100, at start)."
    echo "- Driver: \`bench/lockdrive\` (Go $(go env GOVERSION 2>/dev/null | sed 's/^go//'), etcd's clientv3 from Debian's"
    echo "  \`golang-etcd-server-dev\`), the same loop for all three: each client locks its own key"
    echo "  \`lock:bench:<n>\` (no contention) with a fresh 32-hex-digit token, acquire then release,"
    echo "  timing the pair from sending the acquire to the release's answer. One connection"
    echo "  (etcd: one clientv3 client and one lease, TTL 10 s, kept alive) per client, to one node;"
    echo "  client i to node i mod 3, the Raft leader first. Each client first does one untimed pair."
    echo "  - shoal: \`SET k token NX PX 10000\` (+OK), \`DELIFEQ k token\` (:1)."
    echo "  - redis: \`SET k token NX PX 10000\` (+OK), \`EVALSHA\` of the compare-and-delete script (:1)."
    echo "  - etcd: \`Txn(If CreateRevision(k) = 0 Then Put(k, token, lease))\` succeeded,"
    echo "    \`Txn(If Value(k) = token Then Delete(k))\` succeeded and deleted 1."
    echo "  Any other answer, or no answer within ${OP_TIMEOUT_S} s, is an error (the pair is not timed)."
    echo "- Each run: up to $PAIRS pairs over all clients or ${RUN_SECONDS} s, whichever ends first;"
    echo "  pairs/s = pairs completed / the run's seconds. Order: shoal, etcd, redis at the first"
    echo "  client count, reversed at the next, and so on."
    echo "- *server CPU*: the CPU time (user + system) of that system's server processes over the"
    echo "  run, in cores. *others' CPU*: the machine's busy time (user + nice + system, /proc/stat)"
    echo "  less all seven servers' and the driver's own, as a share of all $NCPU cores: what the rest of"
    echo "  the machine (another engineer's builds and tests) took during the run. The load average"
    echo "  before each run counts this benchmark's own threads and fsync waits too. Before each"
    echo "  run the script waited up to ${QUIET_RUN_WAIT_S} s for the others' share, sampled over ${QUIET_SAMPLE_S} s, to be at"
    echo "  most ${QUIET_OTHERS}% (the notes below say when it waited or gave up)."
    shortest=$(awk -F'\t' '$5 != "-" && (!m || $5 < m) { m = $5 } END { print m + 0 }' "$RECORDS")
    if awk -v d="$shortest" 'BEGIN { exit !(d < 2) }'; then
        echo "- **Quick check, not a result:** the shortest run took ${shortest} s; below ~2 s per"
        echo "  run the figures are coarse. Use the default PAIRS/RUN_SECONDS for figures."
    fi
    echo
    echo "| system | clients | pairs | pairs/s | p50 ms | p99 ms | max ms | errors | stopped by | server CPU (cores) | others' CPU | load before |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    for c in "${CLIENT_COUNTS[@]}"; do
        for sys in shoal etcd redis; do
            awk -F'\t' -v s="$sys" -v c="$c" '$1 == s && $2 == c {
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s |\n", $1, $2, $3, $6, $7, $8, $9, $4, $10, $13, $14, $12 }' "$RECORDS"
        done
    done
    echo
    echo "| clients | shoal/etcd pairs/s | shoal p99 / etcd p99 | shoal/redis pairs/s | shoal >= etcd pairs/s | shoal p99 <= etcd p99 |"
    echo "|---:|---:|---:|---:|---|---|"
    for c in "${CLIENT_COUNTS[@]}"; do
        sp=$(rec shoal "$c" 6); ep=$(rec etcd "$c" 6); rp=$(rec redis "$c" 6)
        s99=$(rec shoal "$c" 8); e99=$(rec etcd "$c" 8)
        printf '| %s | %s | %s | %s | %s | %s |\n' "$c" "$(ratio_or_dash "$sp" "$ep")" "$(ratio_or_dash "$s99" "$e99")" \
            "$(ratio_or_dash "$sp" "$rp")" "$(at_least "$sp" "$ep")" "$(at_least "$e99" "$s99")"
    done
    echo
    notes=$(awk -F'\t' '$15 != "" { printf "- %s, %s clients: %s\n", $1, $2, $15 }' "$RECORDS")
    if [[ -n $notes ]]; then echo "Notes from the runs (driver stderr in the raw directory):"; echo; echo "$notes"; echo; fi
    echo "Afterwards: ${GONE:-every server still running}; shoal Raft leader $SHOAL_LEADER_ID (:${SHOAL_PORTS[SHOAL_LEAD]})"
    echo "at start, ${SHOAL_LEADER_END:-none} at the end with ${SHOAL_VOTERS_END:-?} voters; etcd leader :$ETCD_LEAD at start,"
    echo ":${ETCD_LEAD_END:-none} at the end."
    echo "Warning or error lines logged during the runs: shoal $SHOAL_LOG_LINES, etcd $ETCD_LOG_LINES (of which"
    echo "$ETCD_SLOW \"took too long\"); they are in the raw directory's warnings-during-runs.txt."
    echo "<!-- $SCRIPT end -->"
} >"$SECTION"
cp "$SECTION" "$OUT_FILE"
cat "$SECTION"
log "wrote ${OUT_FILE#"$ROOT"/} (raw output in ${RAW#"$ROOT"/})"
