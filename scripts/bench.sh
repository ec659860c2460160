#!/usr/bin/env bash
# scripts/bench.sh [ROUNDS] -- every benchmark, in bounded time (about 10 minutes):
#   1. in-memory: bench/memory_bench (bulk, open/close pairs, idle memory, demux) -- Release
#   2. instructions per segment: memory_bench bulk under valgrind --tool=callgrind
#   3. pcap replay of a 1,000,000-frame capture (bench/replay_bench)
#   4. over the TAP, in the same interleaved rounds as the anchors of ../shared/bench-anchors
#      (kernel over veth, the null TAP stack, lwIP): echo-server is the "newstack" target.
# Each part is one script under bench/scripts/ (memory.sh, callgrind.sh, replay.sh, anchors.sh).
# Results land in bench/results/<date>-<commit>/ (<commit>: `git rev-parse --short HEAD`, with
# -dirty when tracked files differ from it): memory.jsonl, callgrind.jsonl, replay.txt,
# anchors/{raw.jsonl,summary.md} and manifest.json (the command line, the knobs below, the commit,
# the machine). `python3 bench/summarize.py DIR` prints bench/RESULTS.md's tables from them.
# TAPSTACK_BENCH_SKIP="anchors callgrind memory replay" skips parts.
# TAPSTACK_BENCH_OFFLOAD=on|off passes `--offload on|off` to echo-server (default: its own, on).
# TAPSTACK_BENCH_OUT=DIR writes results there instead of bench/results/<date>-<commit>.
# TAPSTACK_BENCH_BUILD=DIR builds (Release) and runs from DIR instead of the release preset.
# TARGETS="kernel-veth tap-null-offload" (run-anchors.sh's own knob) limits the anchors measured.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
skip=" ${TAPSTACK_BENCH_SKIP:-} "
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git -C "$root" status --short --untracked-files=no 2>/dev/null)" ]] && commit+=-dirty
out=${TAPSTACK_BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%d)-$commit}
mkdir -p "$out" && out=$(cd "$out" && pwd)
scripts=$root/bench/scripts

source "$root/scripts/deps.sh"
tapstack_deps || exit 1
bench_packages=(liblwip-dev iperf3 valgrind gcc)
missing=()
for p in "${bench_packages[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || exit 1
fi

cd "$root"
if [[ -n "${TAPSTACK_BENCH_BUILD:-}" ]]; then
    cmake -S "$root" -B "$TAPSTACK_BENCH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$TAPSTACK_BENCH_BUILD" -j"${TAPSTACK_JOBS:-2}" --target echo-server memory_bench replay_bench || exit 1
    bin=$(cd "$TAPSTACK_BENCH_BUILD" && pwd)/bin  # absolute: run-anchors.sh runs from its own directory
else
    cmake --preset release >/dev/null &&
        cmake --build --preset release -j"${TAPSTACK_JOBS:-2}" --target echo-server memory_bench replay_bench || exit 1
    bin=$root/build/release/bin
fi

python3 "$scripts/manifest.py" start "$out" --command "scripts/bench.sh $*" --build "$bin" || exit 1
[[ "$skip" != *" memory "* ]] && bash "$scripts/memory.sh" "$bin" "$out"
[[ "$skip" != *" callgrind "* ]] && bash "$scripts/callgrind.sh" "$bin" "$out"
[[ "$skip" != *" replay "* ]] && bash "$scripts/replay.sh" "$bin" "$out"
[[ "$skip" != *" anchors "* ]] && bash "$scripts/anchors.sh" "$bin" "$out" "$rounds"
python3 "$scripts/manifest.py" finish "$out"
echo "results in $out"
