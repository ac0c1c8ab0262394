# shellcheck shell=bash
# What the bench/*.sh scripts share: sourced by each, after
# `set -euo pipefail`, never run on its own.
#
# The sourcing script sets ROOT (the repository root) and SCRIPT (its name
# for messages and section marks, e.g. bench/run.sh), then calls
# command_line and shared_settings before it sets its own knobs:
#   SHOAL_PORT REDIS_PORT  loopback ports of the two servers
#   STOP_TIMEOUT_S         how long a server may take to exit after TERM
# The functions below set the rest: RESULTS_FILE OUT_DIR LOAD_TIMEOUT
# READY_TIMEOUT_S BEGIN_MARK END_MARK, START_EPOCH LOAD_START, SHOAL_BIN
# SUBSTITUTE, WORK RUN_ID RAW, SHOAL_PID REDIS_PID OTHER_PID, ELAPSED and the
# report facts.

die() { echo "$SCRIPT: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# --- knobs -----------------------------------------------------------------

# command_line SCRIPT_AND_ARGS KNOB...: the command line as given, with the
# knobs that were set explicitly in front. Call it before applying defaults.
command_line() {
    local script=$1 knob line=""
    shift
    for knob in "$@"; do
        if [[ -n "${!knob:-}" ]]; then line+="$knob=${!knob} "; fi
    done
    printf '%s\n' "$line$script"
}

# shared_settings: what both scripts set alike.
shared_settings() {
    RESULTS_FILE=${RESULTS_FILE:-$ROOT/bench/RESULTS.md}
    OUT_DIR=$ROOT/bench/out    # raw output and server logs; git-ignored
    LOAD_TIMEOUT=300           # seconds for one `redis-cli --pipe` load
    READY_TIMEOUT_S=10         # for a fresh server to answer PING
    BEGIN_MARK="<!-- $SCRIPT begin -->"   # around SCRIPT's section of RESULTS_FILE
    END_MARK="<!-- $SCRIPT end -->"
}

# require_positive KNOB...: dies unless each is a positive integer.
require_positive() {
    local knob
    for knob in "$@"; do
        [[ "${!knob}" =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, got '${!knob}'"
    done
}

require_distinct_ports() {
    [[ $SHOAL_PORT != "$REDIS_PORT" ]] || die "SHOAL_PORT and REDIS_PORT must differ"
}

# note_start: the start time and load average, for the report.
note_start() {
    START_EPOCH=$(date +%s)
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
}

# --- tools -----------------------------------------------------------------

# need_tools COMMAND...: installs redis-server and redis-tools with apt-get
# only if one of the given commands is missing; python3 must be there.
need_tools() {
    local tool
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            log "installing redis-server and redis-tools"
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools
            break
        fi
    done
    command -v python3 >/dev/null || die "python3 is needed to generate the key load"
}

# find_shoal always|if-missing: with SHOAL_BIN set, uses it as is (and sets
# SUBSTITUTE); otherwise uses target/release/shoal, building it first always,
# or only if it is missing.
find_shoal() {
    local build=$1
    SUBSTITUTE=""
    if [[ -z "${SHOAL_BIN:-}" ]]; then
        SHOAL_BIN=$ROOT/target/release/shoal
        if [[ $build == always || ! -x $SHOAL_BIN ]]; then
            log "building shoal (cargo build --release --bin shoal)"
            (cd "$ROOT" && cargo build --release --bin shoal)
        fi
    else
        SUBSTITUTE=yes
    fi
    local found
    found=$(command -v "$SHOAL_BIN") || die "SHOAL_BIN not found: ${SHOAL_BIN}"
    SHOAL_BIN=$found
}

# --- servers ---------------------------------------------------------------

# make_workspace NAME RUN_SUFFIX: a scratch directory ${TMPDIR:-/tmp}/NAME.XXXXXX
# (WORK), the raw output directory OUT_DIR/<UTC time>RUN_SUFFIX (RAW), and
# the traps that stop the servers and remove WORK on exit.
make_workspace() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)$2
    RAW=$OUT_DIR/$RUN_ID
    mkdir -p "$RAW"
    SHOAL_PID=""
    REDIS_PID=""
    OTHER_PID=""   # any other servers a script starts (e.g. etcd members)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# Stops exactly the servers this script started, by PID (SHOAL_PID,
# REDIS_PID and OTHER_PID, each a space-separated list): TERM, up to
# STOP_TIMEOUT_S for it to exit, then KILL.
stop_servers() {
    local pid i
    for pid in $SHOAL_PID $REDIS_PID $OTHER_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $SHOAL_PID $REDIS_PID $OTHER_PID; do
        for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SHOAL_PID=""
    REDIS_PID=""
    OTHER_PID=""
}

cleanup() {
    stop_servers
    rm -rf "$WORK"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

refuse_busy_ports() {
    port_in_use "$SHOAL_PORT" && die "port $SHOAL_PORT is in use (set SHOAL_PORT)"
    port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is in use (set REDIS_PORT)"
    return 0
}

# Same flags for both: shoal takes redis-server's `--name value` directives.
SERVER_FLAGS=(--bind 127.0.0.1 --save "" --appendonly no)

# start_servers LOG_PREFIX: fresh processes, each in its own empty directory,
# logging to RAW/LOG_PREFIXshoal.log and RAW/LOG_PREFIXredis.log; returns
# once both answer PING.
start_servers() {
    local prefix=$1
    refuse_busy_ports
    rm -rf "$WORK/shoal" "$WORK/redis"
    mkdir -p "$WORK/shoal" "$WORK/redis"
    (cd "$WORK/shoal" && exec "$SHOAL_BIN" --port "$SHOAL_PORT" "${SERVER_FLAGS[@]}") \
        >"$RAW/${prefix}shoal.log" 2>&1 &
    SHOAL_PID=$!
    (cd "$WORK/redis" && exec redis-server --port "$REDIS_PORT" "${SERVER_FLAGS[@]}") \
        >"$RAW/${prefix}redis.log" 2>&1 &
    REDIS_PID=$!
    wait_ready shoal "$SHOAL_PORT" "$SHOAL_PID" "$RAW/${prefix}shoal.log"
    wait_ready redis "$REDIS_PORT" "$REDIS_PID" "$RAW/${prefix}redis.log"
}

wait_ready() {
    local name=$1 port=$2 pid=$3 logfile=$4 i
    for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "$name exited at start"; }
        if [[ $(timeout 5 redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then return 0; fi
        sleep 0.1
    done
    tail -n 20 "$logfile" >&2
    die "$name did not answer PING on port $port within ${READY_TIMEOUT_S}s"
}

cli() { local port=$1; shift; timeout 60 redis-cli -p "$port" "$@"; }

# --- clusters --------------------------------------------------------------
# For the scripts that start a shoal cluster (cluster.sh, locks.sh); they set
# CLUSTER_READY_TIMEOUT_S.

# Short-timeout redis-cli for polling (cli allows 60 s); prints nothing, and
# still succeeds, if the node does not answer in time.
qcli() { local port=$1; shift; { timeout 2 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null || true; } | tr -d '\r'; }
# field PORT SECTION-COMMAND FIELD: one `name:value` field of CLUSTER INFO
# or INFO cluster, e.g. field 17391 "cluster info" cluster_state.
# shellcheck disable=SC2086 # $cmd is two words on purpose
field() { local port=$1 cmd=$2 name=$3; qcli "$port" $cmd | awk -F: -v f="$name" '$1 == f { print $2 }'; }

# wait_cluster NAME PORT...: returns once every node reports
# cluster_state:ok and knows all the given nodes; dies after
# CLUSTER_READY_TIMEOUT_S.
wait_cluster() {
    local name=$1 port ready i
    shift
    for ((i = 0; i < CLUSTER_READY_TIMEOUT_S * 10; i++)); do
        ready=yes
        for port in "$@"; do
            if [[ $(field "$port" "cluster info" cluster_state) != ok ||
                  $(field "$port" "cluster info" cluster_known_nodes) != "$#" ]]; then
                ready=""
                break
            fi
        done
        if [[ -n $ready ]]; then return 0; fi
        sleep 0.1
    done
    for port in "$@"; do echo "--- $name :$port" >&2; qcli "$port" cluster info | head -7 >&2; done
    die "$name: cluster not ok with $# known nodes on every node within ${CLUSTER_READY_TIMEOUT_S}s"
}

# start_shoal_cluster PORT...: a shoal cluster on loopback, its PIDs added
# to SHOAL_PID. The first node is a cluster of one; the others join
# through it. Each runs in its own directory WORK/shoal-PORT and keeps its
# identity and Raft log in <dir>/node-<port>/; logs go to RAW/shoal-PORT.log.
# Returns once wait_cluster is satisfied.
start_shoal_cluster() {
    local port dir join
    for port in "$@"; do
        dir=$WORK/shoal-$port
        mkdir -p "$dir"
        join=()
        if [[ $port != "$1" ]]; then join=(--join "127.0.0.1:$1"); fi
        (cd "$dir" && exec "$SHOAL_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" \
            --loglevel warning --save "" --appendonly no "${join[@]}") >"$RAW/shoal-$port.log" 2>&1 &
        SHOAL_PID+="$! "
        # The seed must answer before anyone joins it.
        wait_ready "shoal :$port" "$port" "$!" "$RAW/shoal-$port.log"
    done
    wait_cluster shoal "$@"
}

# --- memory ----------------------------------------------------------------
info_field() { cli "$1" info memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# pipe_load NAME PORT RESP_FILE COUNT OUT_FILE WHAT KEYS: loads RESP_FILE
# with `redis-cli --pipe` under LOAD_TIMEOUT, keeps its output in OUT_FILE,
# and dies ("NAME: WHAT load failed", "... after loading COUNT KEYS") unless
# all COUNT replies came back without errors and DBSIZE is COUNT.
pipe_load() {
    local name=$1 port=$2 file=$3 count=$4 outfile=$5 what=$6 keys=$7 out dbsize
    out=$(timeout "$LOAD_TIMEOUT" redis-cli -p "$port" --pipe <"$file" 2>&1) || true
    echo "$out" >"$outfile"
    grep -q "errors: 0, replies: $count\$" <<<"$out" || die "$name: $what load failed: $out"
    dbsize=$(cli "$port" dbsize)
    [[ $dbsize == "$count" ]] || die "$name: DBSIZE is $dbsize after loading $count $keys"
}

# check_figures NAME PID UM0 UM1 RSS0 RSS1: dies if a used_memory or VmRSS
# figure, before (0) or after (1) the load, came back empty.
check_figures() {
    local name=$1 pid=$2
    [[ -n $3 && -n $4 ]] || die "$name: INFO memory has no used_memory"
    [[ -n $5 && -n $6 ]] || die "$name: no VmRSS in /proc/$pid/status"
}

# per_key COUNT UM0 UM1 RSS0 RSS1: prints "used_memory_per_key rss_per_key"
# for COUNT keys loaded.
per_key() {
    awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" -v d="$5" \
        'BEGIN { printf "%.1f %.1f\n", (b - a) / n, (d - c) / n }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# --- report ----------------------------------------------------------------

# report_facts: CPU_MODEL, REDIS_VERSION, COMMIT, SHOAL_DESC and ELAPSED.
report_facts() {
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
}

# fact_lines: the date, machine, redis-server, shoal and command lines of a
# section's list (after report_facts).
fact_lines() {
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC') (took ${ELAPSED}s)"
    echo "- Machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "- redis-server: ${REDIS_VERSION:-unknown}"
    echo "- shoal: $SHOAL_DESC"
    echo "- Command: \`$COMMAND_LINE\`"
}

# publish_section SECTION FIRST_REGEX: puts SECTION (from BEGIN_MARK to
# END_MARK) into RESULTS_FILE, replacing only this script's section and
# keeping whatever else the file holds; prints SECTION from the first line
# matching FIRST_REGEX (a sed address) on.
publish_section() {
    local section=$1 first=$2
    if [[ -f $RESULTS_FILE ]] && grep -qxF "$BEGIN_MARK" "$RESULTS_FILE"; then
        grep -qxF "$END_MARK" "$RESULTS_FILE" || die "$RESULTS_FILE has '$BEGIN_MARK' but no '$END_MARK'"
        awk -v sec="$section" -v b="$BEGIN_MARK" -v e="$END_MARK" '
            $0 == b { while ((getline line < sec) > 0) print line; skip = 1; next }
            $0 == e { skip = 0; next }
            !skip { print }' "$RESULTS_FILE" >"$WORK/results.new"
        cat "$WORK/results.new" >"$RESULTS_FILE"
    elif [[ -f $RESULTS_FILE ]]; then
        { echo; cat "$section"; } >>"$RESULTS_FILE"
    else
        { echo "# Benchmark results"; echo; cat "$section"; } >"$RESULTS_FILE"
    fi
    sed -n "/$first/,\$p" "$section" | grep -vxF "$END_MARK"
    log "wrote $RESULTS_FILE (raw output in ${RAW#"$ROOT"/})"
}
