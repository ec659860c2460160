#!/usr/bin/env bash
# scripts/test.sh -- installs missing deps, builds the debug preset (or $TAPSTACK_PRESET) and
# runs the unit, replay and e2e tests with ctest. Ends with one plain line
# "N passed, N failed" and exits non-zero if anything failed (or did not build).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${TAPSTACK_PRESET:-debug}
build_dir=$root/build/$preset
jobs=${TAPSTACK_JOBS:-2}
passed=0
failed=0

finish() {
    echo "$passed passed, $failed failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}

# run_ctest LABEL [ctest args...]: runs one label and adds its counts to the totals.
run_ctest() {
    local label=$1
    shift
    local log
    log=$(mktemp)
    echo "=== ctest -L $label ($preset)"
    (cd "$build_dir" && ctest -L "^${label}\$" --output-on-failure --timeout 600 "$@") 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local summary total fails
    summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    if [[ -n "$summary" ]]; then
        fails=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
        total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
        passed=$((passed + total - fails))
        failed=$((failed + fails))
        if ((rc != 0 && fails == 0)); then failed=$((failed + 1)); fi
    elif grep -q 'No tests were found' "$log"; then
        echo "(no $label tests yet)"
    elif ((rc != 0)); then
        failed=$((failed + 1))  # ctest itself failed
    fi
    rm -f "$log"
}

source "$root/scripts/deps.sh"
if ! tapstack_deps; then
    echo "dependency installation failed"
    failed=1
    finish
fi

echo "=== build ($preset)"
cd "$root"  # presets are looked up in the current directory
if ! { cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j"$jobs"; }; then
    echo "build failed"
    failed=1
    finish
fi

run_ctest unit -j"$jobs"
run_ctest replay -j"$jobs"
if [[ "${TAPSTACK_SKIP_E2E:-0}" != 1 ]]; then
    run_ctest e2e
fi

# Hook: the asan pass (build/asan, unit + replay under -fsanitize=address,undefined) goes
# here, added by the sanitizer work; it adds to the same totals via run_ctest.
# Hook: the fuzz pass (build/fuzz, each libFuzzer target for a bounded time over pcaps/) goes
# here, added by the fuzzing work.

finish
