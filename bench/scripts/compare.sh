#!/usr/bin/env bash
# bench/scripts/compare.sh BASE_BIN NEW_BIN OUT [ROUNDS] -- two builds of echo-server in the same
# interleaved rounds: "basestack" = BASE_BIN/echo-server (e.g. built from the commit before a
# change, `git archive` of it into a scratch directory), "newstack" = NEW_BIN/echo-server, beside
# the anchors named in TARGETS; ROUNDS (3) rounds -> OUT/anchors/{raw.jsonl,summary.md,log.txt}
# and OUT/manifest.json. As root.
# Knobs: TARGETS ("kernel-veth tap-null tap-null-offload"), MIB (256), RTT (10000), CONNS (2000),
# UDP (10000); BASE_ARGS / NEW_ARGS extra echo-server arguments (e.g. NEW_ARGS="--offload off");
# COMPARE_NS (cmp) names the namespaces (COMPARE_NS-va, -vb, -tap) so they do not collide with a
# bench.sh run's (anc-*).
# The kit is ../shared/bench-anchors, copied into build/bench-compare with a "basestack" target
# added (kit.sh: bench_kit_basestack).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if (($# < 3)); then sed -n '2,13p' "$0" >&2; exit 2; fi
base=$1 new=$2 out=$3 rounds=${4:-3}
mkdir -p "$out/anchors"
source "$here/kit.sh"
work=$root/build/bench-compare
bench_kit "$work" "${COMPARE_NS:-cmp}" && bench_kit_basestack "$work" || exit 1
export TARGETS=${TARGETS:-"kernel-veth tap-null tap-null-offload"} MIB=${MIB:-256} RTT=${RTT:-10000} \
    CONNS=${CONNS:-2000} UDP=${UDP:-10000}
python3 "$here/manifest.py" start "$out" --command "bench/scripts/compare.sh $*" \
    --note "basestack: $base/echo-server ${BASE_ARGS:-}; newstack: $new/echo-server ${NEW_ARGS:-}" \
    --binary "$base/echo-server" --binary "$new/echo-server"
es="--tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19"
BASESTACK_CMD="$base/echo-server $es${BASE_ARGS:+ $BASE_ARGS}" NEWSTACK_CMD="$new/echo-server $es${NEW_ARGS:+ $NEW_ARGS}" \
    timeout 1700 bash "$work/run-anchors.sh" "$rounds" "$out/anchors" 2>&1 | tee "$out/anchors/log.txt"
python3 "$here/manifest.py" finish "$out"
