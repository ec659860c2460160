#!/usr/bin/env bash
# bench/scripts/trace.sh TESTS WRAPPER... -- one echo-server in a namespace of its own, started
# under WRAPPER (e.g. `strace -f -c -o counts.txt`, or `strace -f -o one.txt`), and peer-bench's
# TESTS (rtt, conn, bulk, sink, udp; comma-separated) against it; peer-bench's JSON line on stdout.
# As root. Knobs: BIN (build/release/bin) holds echo-server, ES_ARGS extra echo-server arguments
# (e.g. --stats, --offload off), ES_LOG gets echo-server's output (/dev/null); RTT (5000) round
# trips, CONNS (1000) connections, MIB (16) MiB for bulk/sink; TRACE_NS (trc) names the namespace
# TRACE_NS-tr and its TAP TRACE_NStr0. The kit is copied into build/bench-trace (kit.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if (($# < 1)); then sed -n '2,8p' "$0" >&2; exit 2; fi
tests=$1; shift
source "$here/kit.sh"
kit=$root/build/bench-trace
bench_kit "$kit" && bench_kit_peer_bench "$kit" || exit 1
ns=${TRACE_NS:-trc}-tr tap=${TRACE_NS:-trc}tr0
bin=${BIN:-$root/build/release/bin}
source "$kit/netns-lib.sh"
nslib_trap
nslib_tap_up "$ns" "$tap" >/dev/null
# shellcheck disable=SC2086  # ES_ARGS is a list of arguments
nslib_bg "$ns" "$@" "$bin/echo-server" --tap "$tap" --ip 10.77.0.2/24 ${ES_ARGS:-} >"${ES_LOG:-/dev/null}" 2>&1
pid=$NSLIB_LAST_PID
for _ in $(seq 1 50); do
    ip netns exec "$ns" "$kit/peer-bench" client 10.77.0.2 --tests conn --conns 1 --timeout 1 2>/dev/null |
        grep -q '"conn_ok":1' && break
    sleep 0.1
done
ip netns exec "$ns" "$kit/peer-bench" client 10.77.0.2 --tests "$tests" --rtt "${RTT:-5000}" \
    --conns "${CONNS:-1000}" --mib "${MIB:-16}" --udp 5000 --timeout 20
echo
# stop what we started: the wrapper's (strace's) children and grandchildren, then the wrapper
for c in $(pgrep -P "$pid"); do
    for g in $(pgrep -P "$c"); do kill -INT "$g"; done
    kill -INT "$c"
done
sleep 1
kill -INT "$pid" 2>/dev/null
wait "$pid"
