#!/usr/bin/env bash
# Runs a local Sluice cluster on loopback addresses (contract: docs/NODE-CONFIG.md).
#
#   deploy/local-cluster.sh start N [--tls]   write nodeI/sluice.toml for I=1..N, start every node,
#                                             wait until each answers /healthz, print a summary;
#                                             --tls: certificates by deploy/gen-certs.sh in
#                                             $SLUICE_DATA/certs, TLS on both listeners
#   deploy/local-cluster.sh stop              SIGTERM every node, wait, SIGKILL stragglers
#   deploy/local-cluster.sh status            one line per node: pid, state, /healthz
#   deploy/local-cluster.sh kill I            SIGKILL node I (a crash)
#   deploy/local-cluster.sh restart I         stop node I if it runs (SIGTERM), start it with its
#                                             existing config and data, wait for /healthz
#   deploy/local-cluster.sh pause I           SIGSTOP node I
#   deploy/local-cluster.sh resume I          SIGCONT node I
#
# Node I has id I and binds 127.0.0.I: client port $SLUICE_PORT (default 9092), inter-node +1,
# HTTP (/healthz) +2. Its config, log (server.log), PID file (pid) and data (data/) live in
# $SLUICE_DATA/nodeI/ (default: data/local-cluster in the repository).
#
# Environment:
#   SLUICE_SERVER          the binary (default .build/debug/sluice-server in the repository; built
#                          with `swift build --product sluice-server` if missing)
#   SLUICE_DATA            cluster directory (default <repo>/data/local-cluster); a relative path
#                          is taken relative to the current directory
#   SLUICE_PORT            client port of every node (default 9092)
#   SLUICE_HEALTH_TIMEOUT  seconds to wait for /healthz (default 60)
#   SLUICE_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL on stop/restart (default 15)
#   SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS  [cluster] leader_imbalance_check_interval_ms (default 300000)
#   SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS
#                          when set, written as [groups] initial_rebalance_delay_ms into every
#                          node's config (tests use a few hundred ms; the default is 3000)
#
# Only processes this script started are ever signalled. A node is its PID (nodeI/pid) and that
# process's start time (nodeI/pid.start, field 22 of /proc/PID/stat, which an exec keeps and a
# reused PID does not share): a PID is used only while both match a live process. The command
# line is not the test, because it names this script until the forked child has exec'd the
# server; judging by it once reported a starting node as exited and lost track of it. A PID file
# without a start time (an older version of this script) falls back to the command line naming
# this node's config file.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prog="local-cluster"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

data="$(abspath "${SLUICE_DATA:-$repo/data/local-cluster}")"
server="$(abspath "${SLUICE_SERVER:-$repo/.build/debug/sluice-server}")"
port="${SLUICE_PORT:-9092}"
health_timeout="${SLUICE_HEALTH_TIMEOUT:-60}"
stop_timeout="${SLUICE_STOP_TIMEOUT:-15}"
group_delay="${SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS:-}"

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }

[[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65533 ]] || die "SLUICE_PORT must be a port number ≤ 65533, got '$port'"
[[ "$health_timeout" =~ ^[0-9]+$ ]] || die "SLUICE_HEALTH_TIMEOUT must be whole seconds"
[[ "$stop_timeout" =~ ^[0-9]+$ ]] || die "SLUICE_STOP_TIMEOUT must be whole seconds"
[[ -z "$group_delay" || "$group_delay" =~ ^[0-9]+$ ]] || die "SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS must be whole milliseconds"
[[ -z "${SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS:-}" || "$SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS" =~ ^[0-9]+$ ]] \
    || die "SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS must be whole milliseconds"

node_dir() { echo "$data/node$1"; }
node_cfg() { echo "$data/node$1/sluice.toml"; }
node_pidfile() { echo "$data/node$1/pid"; }
node_startfile() { echo "$data/node$1/pid.start"; }
node_log() { echo "$data/node$1/server.log"; }

# Node indices that have a directory with a config, in numeric order.
known_nodes() {
    local d
    for d in "$data"/node*; do
        [[ -f "$d/sluice.toml" ]] || continue
        local i="${d##*/node}"
        [[ "$i" =~ ^[0-9]+$ ]] && echo "$i"
    done | sort -n
}

check_index() {
    [[ "${1:-}" =~ ^[0-9]+$ && "$1" -ge 1 ]] || die "node index must be a positive number, got '${1:-}'"
    [[ -f "$(node_cfg "$1")" ]] || die "node $1 has no config at $(node_cfg "$1") (run: $0 start N)"
}

# Field N (3 = state, 22 = start time) of /proc/PID/stat; empty if there is no such process.
# The command name (field 2) may hold spaces and parentheses, so fields are counted after its ")".
proc_stat_field() { # proc_stat_field PID N
    local stat fields
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    read -r -a fields <<< "${stat##*) }"
    echo "${fields[$(($2 - 3))]:-}"
}

# Forgets node I's PID (pid and pid.start).
forget_pid() { rm -f "$(node_pidfile "$1")" "$(node_startfile "$1")"; }

# The PID of node I if that process is alive (not a zombie) and is ours; nothing otherwise.
node_pid() {
    local pidfile pid state started
    pidfile="$(node_pidfile "$1")"
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    state="$(proc_stat_field "$pid" 3)"
    [[ -z "$state" || "$state" == Z || "$state" == X ]] && return 0
    if [[ -f "$(node_startfile "$1")" ]]; then
        started="$(cat "$(node_startfile "$1")" 2>/dev/null || true)"
        [[ -n "$started" && "$(proc_stat_field "$pid" 22)" == "$started" ]] || return 0
    else
        { tr '\0' '\n' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF -- "$(node_cfg "$1")" || return 0
    fi
    echo "$pid"
}

# The log of node I since its last start (at most 20 lines).
last_log() {
    awk '/^=== .* starting node /{n=0} {buf[n++]=$0} END{s=(n>20)?n-20:0; for(i=s;i<n;i++) print "    " buf[i]}' "$(node_log "$1")"
}

proc_state() { local st; st="$(proc_stat_field "$1" 3)"; echo "${st:-?}"; }

# The HTTP listener of node I, read back from its config.
node_http() {
    sed -n 's/^[[:space:]]*http[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$(node_cfg "$1")" | head -n1
}

healthz_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1/healthz" 2>/dev/null || true
}

ensure_server() {
    if [[ ! -x "$server" ]]; then
        if [[ -n "${SLUICE_SERVER:-}" ]]; then die "SLUICE_SERVER=$server is not an executable file"; fi
        say "building sluice-server (missing at $server)"
        (cd "$repo" && swift build --explicit-target-dependency-import-check error --product sluice-server) >&2 || die "swift build --product sluice-server failed"
        [[ -x "$server" ]] || die "build finished but $server does not exist"
    fi
}

write_config() { # write_config I N TLS
    local i="$1" n="$2" tls="$3" j voters="" host="127.0.0.$1"
    for ((j = 1; j <= n; j++)); do
        voters+="${voters:+, }\"$j@127.0.0.$j:$((port + 1))\""
    done
    mkdir -p "$(node_dir "$i")/data"
    {
        echo "# Written by deploy/local-cluster.sh start $n$([[ $tls == 1 ]] && echo ' --tls'); rewritten on every start."
        echo "[node]"
        echo "id = $i"
        echo "data_dir = \"$(node_dir "$i")/data\""
        echo
        echo "[listeners]"
        echo "client = \"$host:$port\""
        echo "inter_node = \"$host:$((port + 1))\""
        echo "http = \"$host:$((port + 2))\""
        echo
        echo "[cluster]"
        echo "voters = [$voters]"
        if [[ -n "${SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS:-}" ]]; then
            echo "leader_imbalance_check_interval_ms = $SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS"
        fi
        if [[ -n "$group_delay" ]]; then
            echo
            echo "[groups]"
            echo "initial_rebalance_delay_ms = $group_delay"
        fi
        if [[ $tls == 1 ]]; then
            echo
            echo "[tls]"
            echo "# Certificates from deploy/gen-certs.sh. The inter-node listener and connections to"
            echo "# peers use mutual TLS with this CA; clients connect with TLS (docs/TLS.md)."
            echo "enabled = true"
            echo "certificate = \"$data/certs/node$i.crt\""
            echo "private_key = \"$data/certs/node$i.key\""
            echo "ca = \"$data/certs/ca.crt\""
            echo "client_auth = \"none\""
        fi
    } > "$(node_cfg "$i")"
}

# Starts node I in the background (no waiting). Fails if it is already running.
launch() {
    local i="$1" pid
    pid="$(node_pid "$i")"
    [[ -z "$pid" ]] || die "node $i is already running (pid $pid)"
    local log; log="$(node_log "$i")"
    echo "=== $(date -u +%FT%TZ) $prog: starting node $i: $server --config $(node_cfg "$i")" >> "$log"
    # stdin/stdout/stderr are detached from the caller so that a caller capturing our output
    # (pytest, $(...)) does not wait for the server to exit. The background subshell execs the
    # server, so $! is the server's PID from the start, and the start time read now stays its
    # own through the exec.
    ( exec "$server" --config "$(node_cfg "$i")" < /dev/null >> "$log" 2>&1 ) &
    local child=$! started
    started="$(proc_stat_field "$child" 22)"
    echo "$child" > "$(node_pidfile "$i")"
    if [[ -n "$started" ]]; then
        echo "$started" > "$(node_startfile "$i")"
    else
        # Already gone (and reaped): no start time to record. A PID alone is only trusted
        # while the command line names the config, which a dead process's does not.
        rm -f "$(node_startfile "$i")"
    fi
}

# Waits until every given node answers /healthz 200. Reports a node that exits or never gets ready.
wait_healthy() {
    local deadline=$((SECONDS + health_timeout)) pending=("$@") failed=0
    while ((${#pending[@]} > 0)); do
        local still=() i
        for i in "${pending[@]}"; do
            local pid; pid="$(node_pid "$i")"
            if [[ -z "$pid" ]]; then
                local status="unknown"
                local rawpid; rawpid="$(cat "$(node_pidfile "$i")" 2>/dev/null || true)"
                # It is our child when launched by this invocation: collect its exit status
                # (only from a zombie, so that this never blocks).
                if [[ "$rawpid" =~ ^[0-9]+$ && "$(proc_state "$rawpid")" =~ ^[ZX?]$ ]]; then
                    if wait "$rawpid" 2>/dev/null; then status=0; else status="$?"; fi
                    [[ "$status" == 127 ]] && status="unknown"
                fi
                echo "$prog: node $i exited (status $status) before /healthz answered 200; last lines of $(node_log "$i"):" >&2
                last_log "$i" >&2
                forget_pid "$i"
                failed=1
                continue
            fi
            [[ "$(healthz_code "$(node_http "$i")")" == 200 ]] || still+=("$i")
        done
        pending=("${still[@]+"${still[@]}"}")
        ((${#pending[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            for i in "${pending[@]}"; do
                echo "$prog: node $i is running but http://$(node_http "$i")/healthz did not answer 200 within ${health_timeout}s (last: $(healthz_code "$(node_http "$i")" | sed 's/^000$/no answer/')); last lines of $(node_log "$i"):" >&2
                last_log "$i" >&2
            done
            return 1
        fi
        sleep 0.2
    done
    return "$failed"
}

# Sends SIGTERM (and SIGCONT, so a paused node can act on it) to the given nodes, waits, then
# SIGKILLs what is left.
stop_nodes() {
    local i pids=() idx=()
    for i in "$@"; do
        local pid; pid="$(node_pid "$i")"
        if [[ -n "$pid" ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            kill -CONT "$pid" 2>/dev/null || true
            pids+=("$pid"); idx+=("$i")
        else
            forget_pid "$i"  # not alive, or not ours: nothing to stop
        fi
    done
    ((${#idx[@]} == 0)) && return 0
    local deadline=$((SECONDS + stop_timeout))
    while :; do
        local left=()
        for i in "${idx[@]}"; do [[ -n "$(node_pid "$i")" ]] && left+=("$i"); done
        if ((${#left[@]} == 0)); then break; fi
        if ((SECONDS >= deadline)); then
            for i in "${left[@]}"; do
                local pid; pid="$(node_pid "$i")"
                [[ -n "$pid" ]] || continue
                say "node $i (pid $pid) still running ${stop_timeout}s after SIGTERM: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            done
            wait_dead "${left[@]}"
            break
        fi
        sleep 0.1
    done
    # Only nodes seen dead above get here (wait_dead exits otherwise, keeping their PID files).
    for i in "${idx[@]}"; do forget_pid "$i"; say "node $i stopped"; done
}

wait_dead() {
    local i deadline=$((SECONDS + 10))
    for i in "$@"; do
        while [[ -n "$(node_pid "$i")" ]]; do
            ((SECONDS < deadline)) || die "node $i survived SIGKILL for 10s"
            sleep 0.05
        done
    done
}

summary() {
    local i
    printf '%-5s %-8s %-9s %-22s %-22s %-22s %s\n' node pid state client inter_node http healthz
    for i in $(known_nodes); do
        local pid state="stopped" code="-" cfg; pid="$(node_pid "$i")"; cfg="$(node_cfg "$i")"
        if [[ -n "$pid" ]]; then
            case "$(proc_state "$pid")" in T|t) state="paused" ;; *) state="running" ;; esac
            [[ $state == paused ]] || code="$(healthz_code "$(node_http "$i")")"
            [[ "$code" == 000 ]] && code="no answer"
        elif [[ -f "$(node_pidfile "$i")" ]]; then
            state="dead"
        fi
        local client inter http
        client="$(sed -n 's/^client = "\(.*\)"/\1/p' "$cfg")"
        inter="$(sed -n 's/^inter_node = "\(.*\)"/\1/p' "$cfg")"
        http="$(node_http "$i")"
        printf '%-5s %-8s %-9s %-22s %-22s %-22s %s\n' "$i" "${pid:--}" "$state" "$client" "$inter" "$http" "$code"
    done
}

cmd_start() {
    local n="" tls=0
    while (($#)); do
        case "$1" in
            --tls) tls=1 ;;
            *) [[ -z "$n" ]] || die "start takes one node count"; n="$1" ;;
        esac
        shift
    done
    [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 254 ]] || die "usage: $0 start N [--tls]  (1 ≤ N ≤ 254)"
    local i
    for i in $(known_nodes); do
        local pid; pid="$(node_pid "$i")"
        [[ -z "$pid" ]] || die "node $i is already running (pid $pid); run: $0 stop"
    done
    ensure_server
    mkdir -p "$data"
    if [[ $tls == 1 ]]; then
        if [[ -x "$repo/deploy/gen-certs.sh" ]]; then
            # Node certificates name 127.0.0.1..9; peers verify each other by IP, so add the rest.
            local extra=(); for ((i = 10; i <= n; i++)); do extra+=("127.0.0.$i"); done
            "$repo/deploy/gen-certs.sh" --nodes "$n" "$data/certs" "${extra[@]}" >/dev/null || die "deploy/gen-certs.sh failed"
            say "TLS: certificates in $data/certs"
        else
            die "--tls needs deploy/gen-certs.sh, which is missing from $repo/deploy"
        fi
    fi
    # Node directories of a previous, larger cluster would confuse stop/status: refuse to mix.
    for i in $(known_nodes); do
        ((i <= n)) || die "$(node_dir "$i") belongs to a larger cluster; remove it or use another SLUICE_DATA"
    done
    for ((i = 1; i <= n; i++)); do write_config "$i" "$n" "$tls"; done
    for ((i = 1; i <= n; i++)); do launch "$i"; done
    local nodes=(); for ((i = 1; i <= n; i++)); do nodes+=("$i"); done
    if ! wait_healthy "${nodes[@]}"; then
        say "start failed; stopping the nodes that are still running"
        stop_nodes "${nodes[@]}" >/dev/null
        exit 1
    fi
    say "$n node(s) ready (data: $data, server: $server)"
    summary
    if [[ $tls == 1 ]]; then
        say "TLS on both listeners. A client connects with the cluster CA, e.g.:"
        say "  kcat -b 127.0.0.1:$port -X security.protocol=ssl -X ssl.ca.location=$data/certs/ca.crt -L"
        say "  (client certificate, for client_auth = \"required\": -X ssl.certificate.location=$data/certs/client.crt -X ssl.key.location=$data/certs/client.key)"
    fi
}

cmd_stop() {
    local nodes; mapfile -t nodes < <(known_nodes)
    ((${#nodes[@]})) || { say "no nodes under $data"; return 0; }
    stop_nodes "${nodes[@]}"
}

cmd_kill() {
    check_index "${1:-}"
    local pid; pid="$(node_pid "$1")"
    [[ -n "$pid" ]] || die "node $1 is not running"
    kill -KILL "$pid"
    wait_dead "$1"
    forget_pid "$1"
    say "node $1 (pid $pid) killed"
}

cmd_restart() {
    check_index "${1:-}"
    stop_nodes "$1"
    ensure_server
    launch "$1"
    wait_healthy "$1" || { stop_nodes "$1" >/dev/null; exit 1; }
    say "node $1 restarted (pid $(node_pid "$1"))"
}

cmd_signal() { # cmd_signal SIG I
    check_index "${2:-}"
    local pid; pid="$(node_pid "$2")"
    [[ -n "$pid" ]] || die "node $2 is not running"
    kill -"$1" "$pid"
    say "node $2 (pid $pid) sent SIG$1"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) summary ;;
    kill) cmd_kill "${2:-}" ;;
    restart) cmd_restart "${2:-}" ;;
    pause) cmd_signal STOP "${2:-}" ;;
    resume) cmd_signal CONT "${2:-}" ;;
    -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' ;;
    *) echo "usage: $0 {start N [--tls]|stop|status|kill I|restart I|pause I|resume I}" >&2; exit 2 ;;
esac
