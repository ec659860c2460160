#!/usr/bin/env bash
# bench/scripts/callgrind.sh BIN OUT -- instructions per segment: memory_bench bulk 16 under
# valgrind --tool=callgrind, software checksums then the link's offload -> OUT/callgrind.jsonl.
set -uo pipefail
bin=$1 out=$2
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
