# Sourced by the e2e scripts (after they set `bin`): the namespace helpers of scripts/netns.sh
# and what every script needs around them: the preconditions, a work directory removed on exit,
# and "ok/FAIL" checks with their summary.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/netns.sh"

failures=0

# check NAME CMD...: runs CMD; prints "ok   - NAME" or "FAIL - NAME" and counts the failure.
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok   - $name"
    else
        echo "FAIL - $name"
        failures=$((failures + 1))
    fi
}

# e2e_setup TAG PROGRAM...: fails the test unless a namespace with a TAP device can be made and
# every PROGRAM is in $bin; makes $work (kept when KEEP_WORK is set) and, on exit, stops what
# netns_spawn started, removes the namespaces netns_create made and the work directory.
e2e_setup() {
    local tag=$1 program
    shift
    if ! netns_available; then
        echo "FAIL: needs root, iproute2 and /dev/net/tun to make a namespace with a TAP device"
        exit 1
    fi
    for program in "$@"; do
        [[ -x "$bin/$program" ]] || { echo "FAIL: no $bin/$program"; exit 1; }
    done
    work=$(mktemp -d "${TMPDIR:-/tmp}/tapstack-$tag.XXXXXX")
    netns_trap
    trap 'netns_cleanup; [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$work"' EXIT
}

# e2e_finish [CMD...]: the summary line and the exit status; when a check failed, CMD (a log
# dump, say) runs first.
e2e_finish() {
    if ((failures > 0)); then
        if (($# > 0)); then "$@"; fi
        echo "$failures check(s) failed"
        exit 1
    fi
    echo "all checks passed"
}
