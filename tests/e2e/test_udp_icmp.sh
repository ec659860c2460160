#!/usr/bin/env bash
# End to end, with the Linux kernel as the peer: echo-server on a TAP inside a namespace of
# its own answers ping, echoes UDP, lets the kernel see "port unreachable" for a closed port,
# and writes a pcap that Wireshark's dissectors find clean (no malformed frame, no bad
# checksum). Usage: test_udp_icmp.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_udp_icmp.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup udp-icmp echo-server

ns=$(netns_name udp)

net=10.99.11
stack_ip=$net.2

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
# --host-ip makes echo-server configure the kernel side itself (SIOCSIFADDR & co.).
netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --pcap "$work/capture.pcap" --seed 7 --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi
grep -q "^ready ip=$stack_ip/24 mac=02:54:41:50:00:01 tap=tap0\$" "$work/server.log" ||
    { echo "FAIL: unexpected ready line:"; cat "$work/server.log"; failures=$((failures + 1)); }

check "ping -c 3 gets 3 replies" \
    netns_exec "$ns" ping -c 3 -i 0.2 -W 2 -q "$stack_ip"

udp_echo() {  # sends FILE to the echo port, expects the same bytes back
    local in=$1 out=$2
    netns_exec "$ns" socat -T 3 -t 3 - "UDP:$stack_ip:7" <"$in" >"$out" && cmp -s "$in" "$out"
}
printf 'hello tapstack %s\n' "$$" >"$work/small.in"
check "UDP echo of a short datagram comes back identical" udp_echo "$work/small.in" "$work/small.out"
head -c 1400 /dev/urandom >"$work/big.in"
check "UDP echo of a 1400-byte datagram comes back identical" udp_echo "$work/big.in" "$work/big.out"

py() { netns_exec "$ns" /usr/bin/python3 - "$@"; }
refused() {
    py "$stack_ip" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 9999))
s.send(b"anyone there?")
try:
    s.recv(2048)
    print("  unexpected reply from a closed port"); sys.exit(1)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    print("  no ICMP port unreachable within 3 s"); sys.exit(1)
PY
}
check "UDP to a closed port: the kernel reports connection refused" refused

discarded() {  # discard: no reply, and no port unreachable either
    py "$stack_ip" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[1], 9))
s.send(b"into the void")
try:
    s.recv(2048)
    print("  discard answered"); sys.exit(1)
except ConnectionRefusedError:
    print("  discard port reported unreachable"); sys.exit(1)
except socket.timeout:
    sys.exit(0)
PY
}
check "UDP discard swallows the datagram silently" discarded

chargen() {  # RFC 864: 0..512 printable characters (and CR LF) per datagram
    py "$stack_ip" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 19))
for _ in range(5):
    s.send(b"x")
    d = s.recv(2048)
    if len(d) > 512 or any(not (32 <= b < 127 or b in (13, 10)) for b in d):
        print("  bad chargen datagram", d[:40]); sys.exit(1)
sys.exit(0)
PY
}
check "UDP chargen answers with printable characters" chargen

flood() {  # many frames per wakeup: the runtime drains the TAP in batches
    local out loss
    out=$(netns_exec "$ns" ping -f -c 300 -W 2 -q "$stack_ip" 2>&1)
    loss=$(grep -oE '[0-9.]+% packet loss' <<<"$out" | cut -d% -f1)
    [[ -n "$loss" ]] && awk -v l="$loss" 'BEGIN { exit !(l <= 5) }' || { echo "  $out"; return 1; }
}
check "flood ping (300) loses at most 5%" flood

usr1() {  # SIGUSR1 prints the counters and keeps running
    kill -USR1 "$server" && netns_wait_for "$work/server.log" 'frames read' 5 && kill -0 "$server" &&
        netns_exec "$ns" ping -c 1 -W 2 -q "$stack_ip" >/dev/null
}
check "SIGUSR1 prints the counters and the server keeps answering" usr1
echo_requests=$(grep -oE '[0-9]+ echo requests received' "$work/server.log" | tail -1 | cut -d' ' -f1)
check "the counters saw at least the 303 echo requests" test "${echo_requests:-0}" -ge 303

# Stop it the way a user would; it must flush the pcap and exit 0.
netns_stop "$server" TERM
status=$?
check "echo-server exits 0 on SIGTERM" test "$status" -eq 0
check "--stats prints counters on exit" test "$(grep -Ec '^ +[0-9]+ frames read$' "$work/server.log")" -ge 2

pcap=$work/capture.pcap
check "the pcap exists and is not empty" test -s "$pcap"
tshark_opts=(-o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE)
if command -v tshark >/dev/null; then
    tshark -n -r "$pcap" "${tshark_opts[@]}" >"$work/pcap.txt" 2>&1
    tshark -n -r "$pcap" "${tshark_opts[@]}" -z expert -q >"$work/expert.txt" 2>&1
    count() { tshark -n -r "$pcap" "${tshark_opts[@]}" -Y "$1" 2>/dev/null | wc -l; }
    check "the pcap has the 3 echo replies" test "$(count 'icmp.type == 0 && ip.src == '"$stack_ip")" -ge 3
    check "the pcap has UDP from port 7" test "$(count 'udp.srcport == 7 && ip.src == '"$stack_ip")" -ge 2
    check "the pcap has the port unreachable" test "$(count 'icmp.type == 3 && icmp.code == 3')" -ge 1
    check "the pcap has both directions" test "$(count 'ip.dst == '"$stack_ip")" -ge 5
    no_bad_frames() {
        if grep -Eiq 'malformed|bad checksum|checksum.*incorrect|\[Errors\]|^Errors \(' "$work/expert.txt" "$work/pcap.txt"; then
            echo "  tshark found problems:"
            grep -Ei 'malformed|checksum|error' "$work/expert.txt" "$work/pcap.txt" | head -20
            return 1
        fi
    }
    check "tshark finds no malformed frame and no bad checksum" no_bad_frames
else
    echo "FAIL - tshark not installed (scripts/deps.sh installs it)"
    failures=$((failures + 1))
fi

show_logs() {
    echo "--- echo-server log"
    cat "$work/server.log"
}
e2e_finish show_logs
