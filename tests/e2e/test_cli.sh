#!/usr/bin/env bash
# The command line every app shares (apps/common): bad flags and values give one line on
# stderr and exit 2, --help documents every flag and exits 0, start-up failures exit 1 with a
# readable message. Usage: test_cli.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_cli.sh BIN_DIR}
srv=$bin/echo-server
[[ -x "$srv" ]] || { echo "FAIL: no $srv"; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../../scripts/netns.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tapstack-cli.XXXXXX")
netns_trap
trap 'netns_cleanup; rm -rf "$work"' EXIT
failures=0

# expect STATUS STDERR_REGEX ARGS...: runs echo-server, checks the status and that stderr is
# exactly one line matching the regex.
expect() {
    local want=$1 re=$2
    shift 2
    "$srv" "$@" >"$work/out" 2>"$work/err"
    local got=$?
    local lines
    lines=$(wc -l <"$work/err")
    if [[ $got == "$want" && $lines == 1 ]] && grep -Eq -- "$re" "$work/err"; then
        echo "ok   - echo-server $* -> $want"
    else
        echo "FAIL - echo-server $*: status $got (want $want), stderr:"
        cat "$work/err"
        failures=$((failures + 1))
    fi
}

expect 2 "^echo-server: bad --ip '300\.1\.1\.1/24': " --tap t0 --ip 300.1.1.1/24
expect 2 "^echo-server: bad --ip '10\.0\.0\.2': " --tap t0 --ip 10.0.0.2
expect 2 "^echo-server: bad --ip '10\.0\.0\.2/33': " --tap t0 --ip 10.0.0.2/33
expect 2 "^echo-server: bad --host-ip '10\.0\.0\.2/24': same address" --tap t0 --ip 10.0.0.2/24 --host-ip 10.0.0.2/24
expect 2 "^echo-server: bad --gateway '10\.9\.9\.9': " --tap t0 --ip 10.0.0.2/24 --gateway 10.9.9.9
expect 2 "^echo-server: bad --mac 'zz:00:00:00:00:01': " --tap t0 --ip 10.0.0.2/24 --mac zz:00:00:00:00:01
expect 2 "^echo-server: bad --port '65536': " --tap t0 --ip 10.0.0.2/24 --port 65536
expect 2 "^echo-server: bad --seed 'abc': " --tap t0 --ip 10.0.0.2/24 --seed abc
expect 2 "^echo-server: bad --tap 'a-name-that-is-too-long': " --tap a-name-that-is-too-long --ip 10.0.0.2/24
expect 2 "^echo-server: unknown option '--frobnicate'" --tap t0 --ip 10.0.0.2/24 --frobnicate
expect 2 "^echo-server: missing --tap" --ip 10.0.0.2/24
expect 2 "^echo-server: missing --ip" --tap t0
expect 2 "^echo-server: --ip needs a value" --tap t0 --ip

if "$srv" --help >"$work/help" 2>"$work/err" && [[ ! -s "$work/err" ]]; then
    missing=""
    for flag in --tap --ip --host-ip --gateway --mac --pcap --seed --help --port --discard-port --chargen-port --stats; do
        grep -q -- "^  $flag " "$work/help" || missing="$missing $flag"
    done
    if [[ -z "$missing" ]]; then echo "ok   - --help documents every flag"; else
        echo "FAIL - --help does not document:$missing"
        failures=$((failures + 1))
    fi
else
    echo "FAIL - --help did not exit 0 quietly"
    failures=$((failures + 1))
fi

# Start-up failures (exit 1, one line naming the cause), inside a namespace of our own.
if netns_available; then
    ns=$(netns_name cli)
    netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace"; exit 1; }
    ip netns exec "$ns" "$srv" --tap tap0 --ip 10.99.12.2/24 --pcap "$work/no/such/dir/x.pcap" \
        >"$work/out" 2>"$work/err"
    status=$?
    if [[ $status == 1 ]] && grep -q "^echo-server: .*no/such/dir/x.pcap" "$work/err"; then
        echo "ok   - an unwritable --pcap exits 1 naming the file"
    else
        echo "FAIL - unwritable --pcap: status $status, stderr:"
        cat "$work/err"
        failures=$((failures + 1))
    fi
    # A name taken by a non-TAP device (the loopback) must be reported, not hang.
    ip netns exec "$ns" "$srv" --tap lo --ip 10.99.12.2/24 >"$work/out" 2>"$work/err"
    status=$?
    if [[ $status == 1 ]] && grep -q "^echo-server: .*'lo'" "$work/err"; then
        echo "ok   - --tap naming a non-TAP device exits 1 with a message"
    else
        echo "FAIL - --tap lo: status $status, stderr:"
        cat "$work/err"
        failures=$((failures + 1))
    fi
fi

if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
