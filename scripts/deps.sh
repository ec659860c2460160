#!/usr/bin/env bash
# Installs the Debian packages tapstack needs, only those missing. `apt-get update` runs only
# when something is missing. Safe to run repeatedly; sourced or executed.
# TAPSTACK_SKIP_DEPS=1 skips it (e.g. on a machine without apt).
# Sourcing it only defines tapstack_deps (no shell options change in the caller).

tapstack_deps() {
    if [[ "${TAPSTACK_SKIP_DEPS:-0}" == 1 ]]; then return 0; fi
    local packages=(cmake ninja-build g++ libboost1.81-dev libpcap-dev googletest libgtest-dev
        libbenchmark-dev pkg-config iproute2 ethtool tcpdump tshark socat netcat-openbsd iputils-ping
        python3-scapy curl wrk apache2-utils clang clang-format libclang-rt-14-dev libfmt-dev)
    local missing=() p status
    for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then return 0; fi
    echo "deps: installing ${missing[*]}" >&2
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
        sudo=(sudo)
    fi
    # tshark asks whether non-root users may capture: answer no, without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    tapstack_deps
fi
