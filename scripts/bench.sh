#!/usr/bin/env bash
# scripts/bench.sh [ROUNDS] -- every benchmark, in bounded time (about 10 minutes):
#   1. in-memory: bench/memory_bench (bulk, open/close pairs, idle memory, demux) -- Release
#   2. instructions per segment: memory_bench bulk under valgrind --tool=callgrind
#   3. pcap replay of a 1,000,000-frame capture (bench/replay_bench)
#   4. over the TAP, in the same interleaved rounds as the anchors of ../shared/bench-anchors
#      (kernel over veth, the null TAP stack, lwIP): echo-server is the "newstack" target.
# Results land in bench/results/<date>/ (raw JSON lines and summaries); bench/RESULTS.md quotes them.
# TAPSTACK_BENCH_SKIP="anchors callgrind memory replay" skips parts.
# TAPSTACK_BENCH_OFFLOAD=on|off passes `--offload on|off` to echo-server (default: its own, on).
# TAPSTACK_BENCH_OUT=DIR writes results there instead of bench/results/<date>.
# TAPSTACK_BENCH_BUILD=DIR builds (Release) and runs from DIR instead of the release preset.
# TARGETS="kernel-veth tap-null-offload" (run-anchors.sh's own knob) limits the anchors measured.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
skip=" ${TAPSTACK_BENCH_SKIP:-} "
out=${TAPSTACK_BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%d)}
offload_flag=${TAPSTACK_BENCH_OFFLOAD:+ --offload $TAPSTACK_BENCH_OFFLOAD}
mkdir -p "$out"

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
    bin=$TAPSTACK_BENCH_BUILD/bin
else
    cmake --preset release >/dev/null &&
        cmake --build --preset release -j"${TAPSTACK_JOBS:-2}" --target echo-server memory_bench replay_bench || exit 1
    bin=$root/build/release/bin
fi

if [[ "$skip" != *" memory "* ]]; then
    echo "== in-memory (two stacks, one thread, no system calls)"
    timeout 600 "$bin/memory_bench" all --json | tee "$out/memory.jsonl"
fi

if [[ "$skip" != *" callgrind "* ]]; then
    echo "== instructions per segment (callgrind, bulk 16 MiB; software checksums, then the link's offload)"
    : >"$out/callgrind.jsonl"
    for variant in "" --csum-offload; do
        log=$(mktemp)
        # --collect-atstart=no: memory_bench toggles collection around the transfer only, so the
        # figure is the steady-state cost of a segment (set-up and the link's queues excluded).
        timeout 600 valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
            "$bin/memory_bench" bulk 16 --json $variant >"$log" 2>&1
        ir=$(grep -oE 'Collected : [0-9]+' "$log" | grep -oE '[0-9]+' | head -1)
        [[ -z "$ir" ]] && ir=$(grep -E 'I +refs:' "$log" | tr -d ',' | grep -oE '[0-9]+$')
        segs=$(grep -oE '"segments":[0-9]+' "$log" | head -1 | cut -d: -f2)
        name=callgrind_instructions_per_segment${variant:+_csum_offload}
        if [[ -n "$ir" && -n "$segs" ]]; then
            echo "{\"bench\":\"$name\",\"unit\":\"Ir\",\"value\":$((ir / segs)),\"total_ir\":$ir,\"segments\":$segs}" |
                tee -a "$out/callgrind.jsonl"
        else
            echo "callgrind: could not read the totals ($name)" >&2
        fi
        rm -f "$log"
    done
fi

if [[ "$skip" != *" replay "* ]]; then
    echo "== pcap replay (1,000,000 frames)"
    timeout 300 "$bin/replay_bench" 1000000 | tee "$out/replay.txt"
fi

if [[ "$skip" != *" anchors "* ]]; then
    kit=$root/../shared/bench-anchors
    if [[ ! -d "$kit" ]]; then
        echo "anchors: $kit not found, skipped" >&2
    else
        echo "== over the TAP, $rounds interleaved rounds with the anchors"
        work=$root/build/bench-anchors
        rm -rf "$work" && mkdir -p "$work" && cp "$kit"/*.c "$kit"/*.sh "$work"/
        NEWSTACK_CMD="$bin/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19$offload_flag" \
            timeout 1500 bash "$work/run-anchors.sh" "$rounds" "$out/anchors"
    fi
fi
echo "results in $out"
