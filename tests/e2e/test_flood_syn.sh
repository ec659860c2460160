#!/usr/bin/env bash
# SYN flood from the kernel side: 20,000 SYNs from random ports and addresses of the namespace's
# subnet (scapy, layer 2, a few seconds) at echo-server's TCP echo port. During and after it,
# ping answers, a kernel client connects and echoes within 2 s, echo-server's memory (VmRSS
# from /proc) stays under a stated bound, and its counters show the flood was absorbed by the
# SYN backlog and, once it was full, by SYN cookies (stateless: RFC 4987 §3.6; random drop only
# with cookies off). Usage: test_flood_syn.sh BIN_DIR
# Knobs: TAPSTACK_FLOOD_SYNS (20000), TAPSTACK_FLOOD_RSS_MB (the bound, 64).
set -uo pipefail
bin=${1:?usage: test_flood_syn.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup flood echo-server

syns=${TAPSTACK_FLOOD_SYNS:-20000}
rss_bound_mb=${TAPSTACK_FLOOD_RSS_MB:-64}
# Sanitizer builds carry shadow memory and quarantine: the bound is for the real thing.
if [[ "$bin" == */asan/* ]]; then rss_bound_mb=$((rss_bound_mb * 8)); fi

ns=$(netns_name flood)

net=10.201.1
stack_ip=$net.2
stack_mac=02:54:41:50:00:01

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
ip -n "$ns" link set tap0 txqueuelen 20000  # the kernel's TAP queue must not be the bottleneck
netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --seed 11 --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi

py() { netns_exec "$ns" /usr/bin/python3 "$here/flood_helpers.py" "$@"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status" 2>/dev/null || echo 0; }
rss_ok() {
    local kb
    kb=$(rss_kb)
    echo "  echo-server VmRSS ${kb} kB (bound ${rss_bound_mb} MiB)"
    ((kb > 0 && kb < rss_bound_mb * 1024))
}
pings() { netns_exec "$ns" ping -c 3 -i 0.2 -W 2 -q "$stack_ip" >/dev/null; }

check "before: ping answers" pings
check "before: a kernel client echoes over TCP within 2 s" py echo "$stack_ip" 7 2
check "before: memory under the bound" rss_ok

py synflood tap0 "$stack_mac" "$stack_ip" "$net" 7 "$syns" >"$work/flood.log" 2>&1 &
flood=$!
sleep 0.5
check "during: ping answers" pings
check "during: a kernel client echoes over TCP within 2 s" py echo "$stack_ip" 7 2
check "during: memory under the bound" rss_ok
wait "$flood"
flood_status=$?
cat "$work/flood.log"
check "the flood was sent" test "$flood_status" -eq 0
check "echo-server survived the flood" kill -0 "$server"
check "after: ping answers" pings
check "after: a kernel client echoes over TCP within 2 s" py echo "$stack_ip" 7 2
check "after: memory under the bound" rss_ok

kill -USR1 "$server"
netns_wait_for "$work/server.log" 'frames read' 5
count() { grep -oE "^ *[0-9]+ $1" "$work/server.log" | tail -1 | awk '{ print $1 }'; }
evicted=$(count 'half-open connections evicted: SYN backlog full')
refused=$(count 'SYNs dropped: SYN backlog full')
cookies=$(count 'SYN cookies sent')
passive=$(count 'passive connection openings')
echo "  counters: ${passive:-0} passive openings, ${cookies:-0} cookies, ${evicted:-0} evicted, ${refused:-0} refused"
frames_read=$(grep -oE '^ +[0-9]+ frames read$' "$work/server.log" | tail -1 | awk '{ print $1 }')
echo "  runtime read ${frames_read:-0} frames"
# Every SYN that reached the stack opened a half-open entry, was answered with a cookie once the
# backlog was full (or, with cookies off, evicted another entry) or was refused: openings +
# cookies + refusals cover the SYNs read (frames read less the ~200 frames of pings, echoes and
# ARP).
absorbed() {
    (( ${passive:-0} + ${cookies:-0} + ${refused:-0} >= ${frames_read:-0} - 300 &&
        ${evicted:-0} + ${cookies:-0} > 0 ))
}
check "the counters account for the flood (openings + cookies + refusals cover the SYNs read, cookies > 0)" absorbed
check "most of the flood reached the stack (>= 90% of the SYNs read)" test "${frames_read:-0}" -ge $((syns * 9 / 10))
check "the connection table is printed (ss -tan style)" grep -q '^State .*Recv-Q' "$work/server.log"
check "the listener is in the table" grep -qE '^LISTEN .*:7 ' "$work/server.log"

netns_stop "$server" TERM
check "echo-server exits 0 on SIGTERM" test $? -eq 0
show_logs() {
    echo "--- echo-server log (tail)"
    tail -80 "$work/server.log"
}
e2e_finish show_logs
