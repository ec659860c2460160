#!/usr/bin/env bash
# bench/scripts/anchors.sh BIN OUT ROUNDS -- over the TAP: ROUNDS interleaved rounds of the anchors
# of ../shared/bench-anchors (kernel over veth, the null TAP stack, lwIP) with BIN/echo-server as
# the kit's "newstack" target -> OUT/anchors/{raw.jsonl,summary.md}. As root.
# TAPSTACK_BENCH_OFFLOAD=on|off passes `--offload on|off` to echo-server (default: its own, on);
# the kit's own knobs (TARGETS, MIB, RTT, CONNS, UDP) pass through.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$1 out=$2 rounds=${3:-5}
offload_flag=${TAPSTACK_BENCH_OFFLOAD:+ --offload $TAPSTACK_BENCH_OFFLOAD}
source "$here/kit.sh"
work=$root/build/bench-anchors
bench_kit "$work" || { echo "anchors: skipped" >&2; exit 0; }
echo "== over the TAP, $rounds interleaved rounds with the anchors"
NEWSTACK_CMD="$bin/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19$offload_flag" \
    timeout 1500 bash "$work/run-anchors.sh" "$rounds" "$out/anchors"
