#!/usr/bin/env bash
# scripts/build.sh [release|debug|asan] -- installs missing deps, configures and builds the
# preset into build/<preset>. Extra arguments go to `cmake --build` (e.g. a --target).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-debug}
shift || true
case "$preset" in
    release | debug | asan) ;;
    *) echo "usage: scripts/build.sh [release|debug|asan] [cmake --build args...]" >&2; exit 2 ;;
esac
source "$root/scripts/deps.sh"
tapstack_deps
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"${TAPSTACK_JOBS:-2}" "$@"
