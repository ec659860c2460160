#!/usr/bin/env bash
# scripts/check-format.sh -- every tracked C and C++ source is laid out as .clang-format says.
# Prints the files that differ (and how, with -v) and exits non-zero if any does.
# To fix: git ls-files '*.cpp' '*.hpp' '*.h' '*.c' | xargs clang-format -i
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "check-format: clang-format not installed" >&2; exit 2; }
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "check-format: $f is not formatted (clang-format -i $f)"
        [[ "${1:-}" == -v ]] && clang-format "$f" | diff -u "$f" - | head -40
        bad=1
    fi
done < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')
exit $bad
