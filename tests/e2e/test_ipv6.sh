#!/usr/bin/env bash
# End to end over IPv6, the Linux kernel as the peer, in a namespace this test makes and removes:
# ping -6 to tapstack's global and link-local addresses, UDP and TCP echo over IPv6 (and IPv4
# still, from the same dual-stack sockets), curl -6 to http-hello, echo-client connecting to a
# kernel IPv6 listener from an ephemeral port, and a tshark-clean capture.
# Usage: test_ipv6.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_ipv6.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup ipv6 echo-server echo-client http-hello

ns=$(netns_name v6)

net=10.99.16
prefix=fd00:99:16
stack6=$prefix::2
host6=$prefix::1
stack_ll=fe80::54:41ff:fe50:1   # from the default MAC 02:54:41:50:00:01 (modified EUI-64)

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
# The kernel's own DAD would keep its address tentative for a second or two; not under test.
netns_exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.tap0.accept_dad=0 >/dev/null

netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$net.2/24" --host-ip "$net.1/24" \
    --ip6 "$stack6/64" --host-ip6 "$host6/64" --pcap "$work/server.pcap" --seed 7
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi
check "ready line names the IPv6 addresses" grep -q "^ready ip=$net.2/24 ip6=$stack6/64 ll=$stack_ll " "$work/server.log"

check "ping -6 to the global address gets 3 replies" netns_exec "$ns" ping -6 -c 3 -i 0.2 -W 2 -q "$stack6"
check "ping -6 to the link-local address gets 3 replies" netns_exec "$ns" ping -6 -c 3 -i 0.2 -W 2 -q "$stack_ll%tap0"
check "IPv4 ping still works next to IPv6" netns_exec "$ns" ping -c 1 -W 2 -q "$net.2"

udp_echo() {
    local addr=$1 in=$2 out=$3
    netns_exec "$ns" socat -T 3 -t 3 - "$addr" <"$in" >"$out" && cmp -s "$in" "$out"
}
printf 'hello tapstack over IPv6 %s\n' "$$" >"$work/small.in"
check "UDP echo over IPv6 (socat UDP6)" udp_echo "UDP6:[$stack6]:7" "$work/small.in" "$work/u6.out"
check "UDP echo over IPv4 from the same dual-stack socket" udp_echo "UDP4:$net.2:7" "$work/small.in" "$work/u4.out"
head -c 1400 /dev/urandom >"$work/big.in"
check "UDP echo over IPv6 of 1400 bytes" udp_echo "UDP6:[$stack6]:7" "$work/big.in" "$work/u6big.out"
head -c 200000 /dev/urandom >"$work/tcp.in"
tcp_echo() {
    local addr=$1 out=$2
    netns_exec "$ns" socat -T 5 -t 5 - "$addr" <"$work/tcp.in" >"$out" && cmp -s "$work/tcp.in" "$out"
}
check "TCP echo over IPv6 of 200 kB (socat TCP6)" tcp_echo "TCP6:[$stack6]:7" "$work/t6.out"
check "TCP echo over IPv6 to the link-local address" tcp_echo "TCP6:[$stack_ll%tap0]:7" "$work/t6ll.out"
check "TCP echo over IPv4 from the same dual-stack listener" tcp_echo "TCP4:$net.2:7" "$work/t4.out"
unreachable6() {
    netns_exec "$ns" /usr/bin/python3 - "$stack6" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 9999))
s.send(b"anyone there?")
try:
    s.recv(2048); sys.exit(1)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    print("  no ICMPv6 port unreachable within 3 s"); sys.exit(1)
PY
}
check "UDP to a closed IPv6 port: the kernel reports connection refused" unreachable6
neighbor_ok() {
    # The entry may be between states (e.g. re-probing) at the instant we look: a fresh ping
    # makes the kernel use it again, and a few looks a second apart settle it.
    local t i
    for i in 1 2 3; do
        netns_exec "$ns" ping -6 -c 1 -W 1 "$stack6" >/dev/null 2>&1
        t=$(netns_exec "$ns" ip -6 neigh show dev tap0)
        grep -qE "^($stack6|$stack_ll) lladdr 02:54:41:50:00:01" <<<"$t" && return 0
        sleep 1
    done
    echo "  ip -6 neigh: $t"
    return 1
}
check "the kernel learnt our MAC through neighbor discovery" neighbor_ok

netns_stop "$server" TERM
check "echo-server exits 0 on SIGTERM" test $? -eq 0

# http-hello over IPv6
netns_spawn "$ns" "$work/http.log" "$bin/http-hello" --tap tap0 --ip "$net.2/24" --ip6 "$stack6/64" \
    --port 8080 --pcap "$work/http.pcap" --seed 8
http=$NETNS_LAST_PID
netns_wait_for "$work/http.log" '^ready ' 10 || { echo "FAIL: http-hello not ready"; cat "$work/http.log"; }

curl6() { netns_exec "$ns" curl -6 -s -m 5 "http://[$stack6]:8080/" | grep -q "Hello from tapstack"; }
check "curl -6 gets http-hello's page" curl6
netns_stop "$http" TERM

# echo-client to a kernel IPv6 listener
netns_spawn "$ns" "$work/listener.log" socat "TCP6-LISTEN:7007,bind=[$host6],fork,reuseaddr" EXEC:cat
sleep 0.3
netns_exec "$ns" "$bin/echo-client" --tap tap0 --ip "$net.2/24" --ip6 "$stack6/64" --connect "[$host6]:7007" \
    --count 5 --bytes 20000 --pcap "$work/client.pcap" --seed 9 >"$work/client.log" 2>&1
client_status=$?
check "echo-client over IPv6 to the kernel's listener exits 0" test "$client_status" -eq 0
ports_ok() {  # the summary line names the lowest and highest local port used
    local line p n=0
    line=$(grep '^summary:' "$work/client.log") || return 1
    for p in $(grep -oE 'local_port_(min|max)=[0-9]+' <<<"$line" | grep -oE '[0-9]+$'); do
        n=$((n + 1))
        ((p >= 49152 && p <= 65535)) || { echo "  port $p outside 49152-65535"; return 1; }
    done
    ((n == 2)) || { echo "  no port range in: $line"; return 1; }
}
check "echo-client's local ports are ephemeral (49152-65535)" ports_ok

if command -v tshark >/dev/null; then
    tshark_opts=(-o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE)
    for pcap in "$work/server.pcap" "$work/http.pcap" "$work/client.pcap"; do
        pname=$(basename "$pcap")
        tshark -n -r "$pcap" "${tshark_opts[@]}" >"$work/$pname.txt" 2>&1
        tshark -n -r "$pcap" "${tshark_opts[@]}" -z expert -q >"$work/$pname.expert" 2>&1
        clean() {
            [[ -s "$work/$pname.txt" ]] || { echo "  tshark read nothing from $pname"; return 1; }
            if grep -Eiq 'malformed|bad checksum|checksum.*incorrect|\[Errors\]|^Errors \(' "$work/$pname.txt" "$work/$pname.expert"; then
                grep -Ei 'malformed|checksum|error' "$work/$pname.txt" "$work/$pname.expert" | head -10
                return 1
            fi
        }
        check "tshark: $pname has no malformed frame and no bad checksum" clean
    done
    count() { tshark -n -r "$work/server.pcap" -Y "$1" 2>/dev/null | wc -l; }
    check "server.pcap has echo replies over IPv6" test "$(count 'icmpv6.type == 129')" -ge 6
    check "server.pcap has our neighbor advertisements" test "$(count 'icmpv6.type == 136 && eth.src == 02:54:41:50:00:01')" -ge 1
    check "server.pcap has our DAD solicitations from ::" test "$(count 'icmpv6.type == 135 && ipv6.src == ::')" -ge 2
    check "server.pcap has TCP over IPv6 from port 7" test "$(count 'tcp.srcport == 7 && ipv6.src == '"$stack6")" -ge 10
else
    echo "FAIL - tshark not installed"
    failures=$((failures + 1))
fi

show_logs() {
    echo "--- echo-server log"; cat "$work/server.log"
    echo "--- echo-client log"; cat "$work/client.log"
}
e2e_finish show_logs
