#!/usr/bin/env bash
# bench/scripts/replay.sh BIN OUT -- pcap replay of a 1,000,000-frame capture -> OUT/replay.txt.
set -uo pipefail
bin=$1 out=$2
echo "== pcap replay (1,000,000 frames)"
timeout 300 "$bin/replay_bench" 1000000 | tee "$out/replay.txt"
