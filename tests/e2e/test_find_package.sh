#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then configures, builds and runs the
# out-of-tree consumer apps/examples/hello-find-package against it with find_package(tapstack).
# Usage: test_find_package.sh <bin dir of a configured and built tree>  (the build dir is its parent)
# No network, no namespace needed: the example runs two stacks in memory.
set -euo pipefail

bin_dir=${1:?usage: test_find_package.sh <build>/bin}
build_dir=$(cd "$bin_dir/.." && pwd)
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/tapstack-find-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Everything the install step copies must exist: bring the tree up to date (a no-op after a build).
cmake --build "$build_dir" -j2 >"$work/build-tree.log" 2>&1 || { cat "$work/build-tree.log"; exit 1; }
cmake --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
test -f "$work/prefix/lib/cmake/tapstack/tapstackConfig.cmake" || test -f "$work/prefix/lib64/cmake/tapstack/tapstackConfig.cmake"
test -f "$work/prefix/include/tapstack/ip/tcp.hpp"

# A consumer must be compiled like the library it links: an asan-built install needs the
# sanitizer runtime in the consumer too (the static archives carry __asan_* references).
cxx_flags=$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$build_dir/CMakeCache.txt")
link_flags=$(sed -n 's/^CMAKE_EXE_LINKER_FLAGS:STRING=//p' "$build_dir/CMakeCache.txt")
cmake -S "$source_dir/apps/examples/hello-find-package" -B "$work/example" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$link_flags"
cmake --build "$work/example" -j2
"$work/example/hello_find_package"

# The pkg-config file names the same libraries.
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib64/pkgconfig" pkg-config --libs tapstack | grep -q -- -ltapstack
echo "find_package consumer OK"
