# shellcheck shell=bash
# bench/scripts/kit.sh -- sourced: the anchor kit (../shared/bench-anchors) copied into a work
# directory under build/ at run time, never vendored into this repository.
#   bench_kit DEST [PREFIX]   copy the kit's *.c and *.sh into DEST (emptied first); with PREFIX,
#                             run-anchors.sh's namespaces anc-* and TAP anctap0 become PREFIX-* and
#                             PREFIXtap0, so a second run on the machine does not collide with one
#                             using the kit's own names.
#   bench_kit_basestack DEST  add target "basestack" to DEST/run-anchors.sh: BASESTACK_CMD, started
#                             like NEWSTACK_CMD and measured before it in every round (a second
#                             build of echo-server, e.g. the commit before a change).
#   bench_kit_peer_bench DEST build DEST/peer-bench (run-anchors.sh builds it itself).
# BENCH_ANCHORS=DIR points at another copy of the kit.

bench_kit_src() { echo "${BENCH_ANCHORS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/bench-anchors}"; }

bench_kit() {
    local dest=$1 prefix=${2:-} kit
    kit=$(bench_kit_src)
    [[ -d "$kit" ]] || { echo "bench_kit: $kit not found" >&2; return 1; }
    rm -rf "$dest" && mkdir -p "$dest" && cp "$kit"/*.c "$kit"/*.sh "$dest"/ || return 1
    if [[ -n "$prefix" && "$prefix" != anc ]]; then
        sed -i -e "s/\banc-/$prefix-/g" -e "s/\banctap0\b/${prefix}tap0/g" "$dest/run-anchors.sh" || return 1
    fi
}

bench_kit_basestack() {
    python3 - "$1/run-anchors.sh" <<'PY'
import re, sys
path = sys.argv[1]
s = open(path).read()
line = '[ -n "${NEWSTACK_CMD:-}" ] && TARGETS="$TARGETS newstack"\n'
block = re.search(r"    newstack\)\n.*?;;\n", s, re.S)
if line not in s or block is None:
    sys.exit("bench_kit_basestack: run-anchors.sh has no newstack target to copy")
base = block.group(0).replace("newstack)", "basestack)").replace("NEWSTACK_CMD", "BASESTACK_CMD")
s = s.replace(line, '[ -n "${BASESTACK_CMD:-}" ] && TARGETS="$TARGETS basestack"\n' + line)
s = s.replace(block.group(0), block.group(0) + base)
open(path, "w").write(s)
PY
}

bench_kit_peer_bench() { gcc -O2 -Wall -o "$1/peer-bench" "$1/peer-bench.c"; }
