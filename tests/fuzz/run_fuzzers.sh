#!/usr/bin/env bash
# tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS] -- the fuzz pass of scripts/test.sh.
# For every fuzzer in BUILD_DIR/bin (fuzz_*):
#   1. every saved regression input in tests/fuzz/regressions/<name>/ runs once and must pass;
#   2. the fuzzer runs SECONDS (default 60, TAPSTACK_FUZZ_SECONDS in test.sh) over a scratch
#      corpus in BUILD_DIR, seeded from tests/fuzz/corpus/<name> and from the frames of pcaps/.
# Any crash, leak, timeout (-timeout=10 s per input), out-of-memory or sanitizer report fails
# the target; the input is left in BUILD_DIR/artifacts/<name>/ to become a regression input.
# Writes the counts to BUILD_DIR/fuzz_passed and BUILD_DIR/fuzz_failed; exits 1 on a failure.
set -uo pipefail
build=${1:?usage: run_fuzzers.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0
failed=0
seeds=$build/seeds
rm -rf "$seeds"
python3 "$here/seed_from_pcaps.py" "$root/pcaps" "$seeds" || { echo "FAIL: seeding from pcaps/"; failed=1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

shopt -s nullglob
for bin in "$build"/bin/fuzz_*; do
    [[ -x "$bin" ]] || continue
    name=$(basename "$bin")
    log=$build/fuzz-$name.log
    artifacts=$build/artifacts/$name/
    mkdir -p "$artifacts" "$build/corpus/$name"
    ok=1
    regressions=("$here/regressions/$name"/*)
    if ((${#regressions[@]} > 0)); then
        if ! "$bin" -runs=1 "${regressions[@]}" >"$log.regressions" 2>&1; then
            echo "FAIL - $name: a regression input fails again (log: $log.regressions)"
            tail -30 "$log.regressions"
            ok=0
        fi
    fi
    dirs=("$build/corpus/$name")
    [[ -d "$here/corpus/$name" ]] && dirs+=("$here/corpus/$name")
    [[ -d "$seeds/$name" ]] && dirs+=("$seeds/$name")
    if ((ok)); then
        echo "=== fuzz $name for ${secs}s"
        if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$artifacts" "${dirs[@]}" >"$log" 2>&1; then
            grep -E '^stat::(number_of_executed_units|new_units_added)|^#[0-9]+.*DONE' "$log" | tr '\n' ' '
            echo
            echo "ok   - $name"
        else
            echo "FAIL - $name (log: $log; inputs: $artifacts)"
            grep -E 'ERROR|SUMMARY|check failed|runtime error|==[0-9]+==' "$log" | head -20
            ok=0
        fi
    fi
    if ((ok)); then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed" >"$build/fuzz_passed"
echo "$failed" >"$build/fuzz_failed"
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
