#!/usr/bin/env bash
# bench/scripts/memory.sh BIN OUT -- in memory: memory_bench all --json (bulk, open/close pairs,
# idle memory, lookup, demux, load latency) -> OUT/memory.jsonl. BIN holds the Release programs.
set -uo pipefail
bin=$1 out=$2
echo "== in-memory (two stacks, one thread, no system calls)"
timeout 600 "$bin/memory_bench" all --json | tee "$out/memory.jsonl"
