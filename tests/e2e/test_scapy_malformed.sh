#!/usr/bin/env bash
# 10,000 malformed and random frames from scapy (fuzz() over Ethernet/IP/TCP/UDP/ICMP,
# truncated headers, bad lengths and offsets, bad checksums, illegal flag combinations) at
# echo-server: it never crashes, its counters account for the drops, and an honest client's
# TCP and UDP echo still work afterwards. Usage: test_scapy_malformed.sh BIN_DIR
# Knobs: TAPSTACK_SCAPY_FRAMES (10000), TAPSTACK_SCAPY_SEED (1).
set -uo pipefail
bin=${1:?usage: test_scapy_malformed.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup scapy echo-server
frames=${TAPSTACK_SCAPY_FRAMES:-10000}
seed=${TAPSTACK_SCAPY_SEED:-1}

ns=$(netns_name scapy)

net=10.201.2
stack_ip=$net.2
stack_mac=02:54:41:50:00:01

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --seed 12 --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi
py() { netns_exec "$ns" /usr/bin/python3 "$here/flood_helpers.py" "$@"; }
udp_echo() {
    printf 'honest %s\n' "$$" >"$work/u.in"
    netns_exec "$ns" socat -T 3 -t 3 - "UDP:$stack_ip:7" <"$work/u.in" >"$work/u.out" && cmp -s "$work/u.in" "$work/u.out"
}

check "before: TCP echo works" py echo "$stack_ip" 7 2
check "scapy sent $frames malformed frames" py garbage tap0 "$stack_mac" "$net.1" "$stack_ip" "$frames" "$seed"
sleep 0.5
check "echo-server is still running" kill -0 "$server"
check "after: TCP echo works" py echo "$stack_ip" 7 2
check "after: UDP echo works" udp_echo
check "after: ping answers" netns_exec "$ns" ping -c 2 -i 0.2 -W 2 -q "$stack_ip"

kill -USR1 "$server"
netns_wait_for "$work/server.log" 'frames read' 5
frames_read=$(grep -oE '^ +[0-9]+ frames read$' "$work/server.log" | tail -1 | awk '{ print $1 }')
echo "  frames read ${frames_read:-0}"
check "the runtime read at least 95% of the frames" test "${frames_read:-0}" -ge $((frames * 95 / 100))
check "the counters add up layer by layer (every frame is a counted drop or a delivery)" \
    /usr/bin/python3 "$here/flood_helpers.py" account "$work/server.log"
drops=$(cat "$work/server.log.drops" 2>/dev/null || echo 0)
check "at least a third of the malformed frames were counted as drops" test "$drops" -ge $((frames / 3))

netns_stop "$server" TERM
check "echo-server exits 0 on SIGTERM" test $? -eq 0
show_logs() {
    echo "--- echo-server log (tail)"
    tail -120 "$work/server.log"
}
e2e_finish show_logs
