#!/usr/bin/env bash
# Shared helpers for tests and the demo: a network namespace with a TAP device inside it, so
# nothing the stack sends can leave the namespace. Source this file, then:
#     netns_trap                                   # clean up on EXIT/INT/TERM
#     ns=$(netns_name e2e)                         # unique per run (includes $$)
#     netns_create "$ns" tap0                      # namespace + TAP device inside it
#     netns_spawn "$ns" "$log" echo-server ...     # background, PID remembered in NETNS_PIDS
#     netns_wait_for "$log" '^ready ' 10
#     netns_exec "$ns" ping -c 3 10.99.0.2
# Cleanup kills only the PIDs netns_spawn started, then deletes only the namespaces
# netns_create made.

NETNS_PIDS=()
NETNS_NAMES=()

netns_name() {
    local name="ts-${1:-ns}-$$-${RANDOM}"
    echo "${name:0:40}"
}

# netns_create NS TAP [HOST_CIDR]: the namespace, its loopback up, a persistent TAP device
# inside it, and if HOST_CIDR is given the kernel-side address on the TAP, link up.
netns_create() {
    local ns=$1 tap=$2 host=${3:-}
    ip netns add "$ns" || return 1
    NETNS_NAMES+=("$ns")
    ip -n "$ns" link set lo up
    ip netns exec "$ns" ip tuntap add dev "$tap" mode tap || return 1
    if [[ -n "$host" ]]; then
        ip -n "$ns" addr add "$host" dev "$tap"
        ip -n "$ns" link set "$tap" up
    fi
}

netns_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# netns_spawn NS LOGFILE CMD...: runs CMD inside NS in the background, stdout+stderr to
# LOGFILE; sets NETNS_LAST_PID. `ip netns exec` execs CMD, so the PID is CMD's own.
netns_spawn() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    NETNS_LAST_PID=$!
    NETNS_PIDS+=("$NETNS_LAST_PID")
}

# netns_wait_for FILE REGEX SECONDS: waits until a line of FILE matches (0) or time runs out (1).
netns_wait_for() {
    local file=$1 re=$2 secs=${3:-10} i
    for ((i = 0; i < secs * 10; i++)); do
        if [[ -f "$file" ]] && grep -Eq -- "$re" "$file"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# netns_stop PID [SIGNAL]: signals one PID we started and waits up to 5 s for it (then KILL).
# Returns the process's exit status.
netns_stop() {
    local pid=$1 sig=${2:-TERM} i
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}

netns_cleanup() {
    local pid ns
    for pid in "${NETNS_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then netns_stop "$pid" TERM || true; fi
    done
    NETNS_PIDS=()
    for ns in "${NETNS_NAMES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    NETNS_NAMES=()
}

netns_trap() {
    trap 'netns_cleanup' EXIT
    trap 'netns_cleanup; exit 130' INT
    trap 'netns_cleanup; exit 143' TERM
}

# Namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
netns_available() {
    [[ $(id -u) == 0 ]] && command -v ip >/dev/null && [[ -c /dev/net/tun ]]
}
