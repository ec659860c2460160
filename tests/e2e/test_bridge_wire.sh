#!/usr/bin/env bash
# What leaves the TAP is what a wire may carry (issue 15). A Linux bridge holds echo-server's
# TAP and one end of a veth pair whose TSO, GSO and transmit checksum offload are off, so the
# kernel cuts every super-frame tapstack writes and completes every partial checksum, as a NIC
# without offloads would; the client is the kernel at the far end of the veth, in its own
# namespace, and announces an MSS of 536 (a route with advmss 536), IPv4 and IPv6. In both
# offload modes: TCP echo of several sizes comes back byte for byte, and tshark, reading what
# arrived at the client's end of the veth with checksums validated and no reassembly, finds no
# bad IP or TCP checksum, nothing malformed, and no segment from the stack above the announced
# MSS (TCP header and data less 20 <= 536, RFC 9293 §3.7.1).
# Usage: test_bridge_wire.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_bridge_wire.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup bridge echo-server
for tool in ethtool tshark; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/deps.sh installs it)"; exit 1; }
done

net=10.99.28
stack_ip=$net.2
client_ip=$net.1
net6=2001:db8:28
stack_ip6=$net6::2
client_ip6=$net6::1
mss=536

run_mode() {  # run_mode on|off
    local mode=$1 ns nc server capture
    ns=$(netns_name "br$mode")
    nc=$(netns_name "brc$mode")
    netns_create "$ns" tap0 || { echo "FAIL - [$mode] cannot create namespace $ns"; failures=$((failures + 1)); return; }
    ip netns add "$nc" || { echo "FAIL - [$mode] cannot create namespace $nc"; failures=$((failures + 1)); return; }
    NETNS_NAMES+=("$nc")
    ip -n "$nc" link set lo up
    ip -n "$ns" link add br0 type bridge
    ip -n "$ns" link add vs type veth peer name vc netns "$nc"
    ip -n "$ns" link set tap0 master br0
    ip -n "$ns" link set vs master br0
    # The stack's side of the wire: nothing offloaded, so the kernel segments and sums.
    ip netns exec "$ns" ethtool -K vs tso off gso off tx off >/dev/null 2>&1
    # The client's side: no GRO, so the capture holds the frames as they came.
    ip netns exec "$nc" ethtool -K vc gro off tso off gso off tx off >/dev/null 2>&1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    for dev in br0 vs tap0; do ip -n "$ns" link set "$dev" up; done
    ip -n "$nc" addr add "$client_ip/24" dev vc noprefixroute
    ip -n "$nc" addr add "$client_ip6/64" dev vc nodad noprefixroute
    ip -n "$nc" link set vc up
    ip -n "$nc" route add "$net.0/24" dev vc advmss "$mss"
    ip -n "$nc" -6 route add "$net6::/64" dev vc advmss "$mss"

    capture=$work/wire-$mode.pcap
    netns_spawn "$nc" "$work/tshark-$mode.log" tshark -n -i vc -w "$capture"
    local cap_pid=$NETNS_LAST_PID
    netns_wait_for "$work/tshark-$mode.log" 'Capturing on' 10 || true
    netns_spawn "$ns" "$work/server-$mode.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
        --ip6 "$stack_ip6/64" --seed 28 --stats --offload "$mode"
    server=$NETNS_LAST_PID
    if ! netns_wait_for "$work/server-$mode.log" '^ready ' 10; then
        echo "FAIL - [$mode] echo-server did not print its ready line"
        cat "$work/server-$mode.log"
        failures=$((failures + 1))
        return
    fi

    echo_sizes() {  # echo_sizes HOST
        timeout 30 ip netns exec "$nc" /usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
host = sys.argv[1]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
for size in (1, 535, 536, 537, 1000, 1460, 3000, 20000, 300000):
    data = random.Random(size).randbytes(size)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, 7))
    s.sendall(data)
    got = bytearray()
    while len(got) < size:
        b = s.recv(1 << 16)
        if not b:
            break
        got += b
    s.close()
    if bytes(got) != data:
        print(f"  echo of {size} bytes to {host}: {len(got)} came back"); sys.exit(1)
PY
    }
    check "[$mode] IPv4 TCP echo across the bridge, 1 byte to 300 KB" echo_sizes "$stack_ip"
    check "[$mode] IPv6 TCP echo across the bridge, 1 byte to 300 KB" echo_sizes "$stack_ip6"
    check "[$mode] echo-server is still running" kill -0 "$server"
    netns_stop "$server" TERM
    sleep 0.5
    netns_stop "$cap_pid" INT
    check "[$mode] the capture exists and is not empty" test -s "$capture"
    gso_written() {  # with offload on, the kernel had super-frames to cut; off, none
        local n
        n=$(sed -nE 's/^ *([0-9]+) super-frames written$/\1/p' "$work/server-$mode.log" | tail -1)
        echo "  super-frames written to the TAP: ${n:-0}"
        if [[ $mode == on ]]; then [[ ${n:-0} -gt 0 ]]; else [[ ${n:-0} -eq 0 ]]; fi
    }
    check "[$mode] super-frames were written to the TAP only with offload on" gso_written

    local topts=(-n -r "$capture" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o tcp.desegment_tcp_streams:FALSE)
    # 0xffff in place of 0x0000 is the same sum in one's complement (RFC 1624 §3): Linux writes it
    # (CSUM_MANGLED_0) when it completes a checksum in software, and tshark marks it "bad" with
    # tcp.checksum.ffff. Roughly one frame in 65,536 has it, so it is not counted as wrong.
    checksums() {
        local out
        out=$(tshark "${topts[@]}" -Y "_ws.malformed || ip.checksum.status==0 || (tcp.checksum.status==0 && !tcp.checksum.ffff)" \
            2>"$work/tshark-check.err") || { echo "  tshark failed:"; cat "$work/tshark-check.err"; return 1; }
        [[ -z "$out" ]] || { echo "$out" | head -10 | sed 's/^/    /'; return 1; }
    }
    check "[$mode] tshark: every IP and TCP checksum on the wire is right, nothing malformed" checksums
    sizes() {
        local out count
        out=$(tshark "${topts[@]}" -Y "tcp.srcport==7 && tcp.len > 0" -T fields -e tcp.len -e tcp.hdr_len 2>/dev/null)
        count=$(echo "$out" | grep -c .)
        echo "  $count data segments from the stack"
        [[ $count -gt 100 ]] || { echo "  too few to tell"; return 1; }
        echo "$out" | awk -v mss="$mss" '$1 + $2 - 20 > mss { print "    " $1 " bytes of data, header " $2; bad++ } END { exit bad > 0 }'
    }
    check "[$mode] no segment from the stack above the MSS the client announced ($mss)" sizes
    syn_mss() {
        tshark "${topts[@]}" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.options.mss_val!=$mss" 2>/dev/null | grep -q . && {
            echo "  the client announced another MSS"; return 1; }
        return 0
    }
    check "[$mode] every client SYN announced MSS $mss" syn_mss
    if ((failures > 0)); then
        echo "--- echo-server log ($mode)"
        tail -20 "$work/server-$mode.log"
    fi
    netns_cleanup
}

run_mode on
run_mode off

e2e_finish
