#!/usr/bin/env bash
# End to end, tapstack as the TCP/UDP client and the Linux kernel as the server: echo-client
# runs 200 connections (20 at a time) against a kernel socat echo server and gets every byte
# back; the kernel's own capture shows every local port the stack used lies in the RFC 6335
# dynamic range 49152-65535; a closed kernel port is "connection refused" (exit 1); an address
# nobody answers fails in bounded time with "timed out" or "host unreachable"; --udp echoes
# through a kernel UDP echo socket (python). Usage: test_echo_client.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_echo_client.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup echo-client echo-client
for tool in socat tcpdump tshark; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/deps.sh installs it)"; exit 1; }
done

ns=$(netns_name eclient)

net=10.99.31
host_ip=$net.1
stack_ip=$net.2
# Lost or unseen segments, malformed frames, bad checksums. One exception, on the kernel's
# frames only: a TCP checksum of 0xffff, which Linux's checksum offload path now and then
# leaves where a full computation gives 0x0000 -- the same value in one's complement (RFC 1624
# §3), accepted by every receiver, and flagged by Wireshark. Our own frames get no exception.
bad_segments="tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment || _ws.malformed || \
(tcp.checksum.status==0 && !(ip.src!=$stack_ip && tcp.checksum==0xffff))"

# The kernel side gets its address from netns_create, so every echo-client run just attaches.
netns_create "$ns" tap0 "$host_ip/24" || { echo "FAIL: cannot create namespace $ns"; exit 1; }

client() {  # client LOG ARGS...: runs echo-client in the namespace (bounded), returns its status
    local log=$1
    shift
    timeout 120 ip netns exec "$ns" "$bin/echo-client" --tap tap0 --ip "$stack_ip/24" "$@" >"$log" 2>&1
}

# --- argument checking
usage_errors() {
    local out status
    out=$("$bin/echo-client" --tap tap0 --ip "$stack_ip/24" --connect "$host_ip:7" --count 0 2>&1)
    status=$?
    [[ $status -eq 2 && $(wc -l <<<"$out") -eq 1 && "$out" == "echo-client: bad --count '0': "* ]] ||
        { echo "  status $status, output: $out"; return 1; }
    out=$("$bin/echo-client" --tap tap0 --ip "$stack_ip/24" --connect "$host_ip" 2>&1)
    status=$?
    [[ $status -eq 2 && "$out" == "echo-client: bad --connect"* ]] || { echo "  status $status, output: $out"; return 1; }
    out=$("$bin/echo-client" --tap tap0 --ip "$stack_ip/24" 2>&1)
    status=$?
    [[ $status -eq 2 && "$out" == "echo-client: missing --connect"* ]] || { echo "  status $status, output: $out"; return 1; }
    "$bin/echo-client" --help | grep -q -- '--concurrency'
}
check "echo-client --help works; bad input is one line and exit 2" usage_errors

# --- TCP: 200 connections, 20 at a time, against socat on the kernel side
netns_spawn "$ns" "$work/socat-tcp.log" socat TCP4-LISTEN:7777,bind="$host_ip",fork,reuseaddr,backlog=64 PIPE
netns_spawn "$ns" "$work/tcpdump.log" tcpdump -n -U --immediate-mode -B 65536 -i tap0 -w "$work/kernel.pcap" tcp port 7777
tcpdump_pid=$NETNS_LAST_PID
netns_wait_for "$work/tcpdump.log" 'listening on' 10 || { echo "FAIL: tcpdump did not start"; cat "$work/tcpdump.log"; exit 1; }
sleep 0.3

many() {
    client "$work/many.log" --connect "$host_ip:7777" --count 200 --concurrency 20 --bytes 3000 \
        --pcap "$work/client.pcap" --seed 31 ||
        { echo "  echo-client failed:"; tail -20 "$work/many.log"; return 1; }
    grep -q ' connections=200 ok=200 failures=0 bytes_sent=600000 bytes_echoed=600000 ' "$work/many.log" ||
        { echo "  unexpected summary:"; cat "$work/many.log"; return 1; }
}
check "echo-client: 200 TCP connections x 3000 B, 20 at a time, all echoed" many
grep '^summary:' "$work/many.log" | sed 's/^/     /'
sleep 1  # the last FINs reach tcpdump
netns_stop "$tcpdump_pid" INT

kernel_ports() {  # every SYN the kernel saw from the stack, by source port
    tshark -n -r "$work/kernel.pcap" -Y "ip.src==$stack_ip && tcp.flags.syn==1 && tcp.flags.ack==0" \
        -T fields -e tcp.srcport 2>/dev/null | sort -n | uniq
}
ports_in_range() {
    local ports n min max
    grep -q '^0 packets dropped by kernel' "$work/tcpdump.log" ||
        { echo "  tcpdump dropped packets, the kernel's view is incomplete:"; cat "$work/tcpdump.log"; return 1; }
    ports=$(kernel_ports)
    n=$(wc -l <<<"$ports")
    min=$(head -1 <<<"$ports")
    max=$(tail -1 <<<"$ports")
    echo "     kernel saw $n distinct source ports, $min..$max"
    [[ $n -eq 200 ]] || { echo "  expected 200 distinct ports"; return 1; }
    ((min >= 49152 && max <= 65535)) || { echo "  a port outside 49152-65535"; return 1; }
    # The client's own summary agrees with what the kernel saw.
    grep -q " local_port_min=$min local_port_max=$max " "$work/many.log" ||
        { echo "  the client's summary disagrees:"; grep '^summary' "$work/many.log"; return 1; }
}
check "kernel capture: 200 distinct local ports, all within 49152-65535" ports_in_range
both_ways() {  # the kernel saw data in both directions on every connection
    local to from
    to=$(tshark -n -r "$work/kernel.pcap" -Y "ip.dst==$host_ip && tcp.len>0" -T fields -e tcp.len 2>/dev/null | awk '{s+=$1} END {print s+0}')
    from=$(tshark -n -r "$work/kernel.pcap" -Y "ip.src==$host_ip && tcp.len>0" -T fields -e tcp.len 2>/dev/null | awk '{s+=$1} END {print s+0}')
    echo "     kernel received $to bytes and sent $from bytes"
    [[ $to -ge 600000 && $from -ge 600000 ]]
}
check "the kernel listener received 600000 bytes and sent them back" both_ways
clean_pcap() {
    local out
    out=$(tshark -n -r "$work/client.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -Y "$bad_segments" 2>/dev/null) || { echo "  tshark failed"; return 1; }
    [[ -z "$out" ]] || { echo "$out" | head | sed 's/^/    /'; return 1; }
}
check "echo-client's own --pcap is clean in tshark" clean_pcap

# --- a closed kernel port: RST, "connection refused", exit 1
refused() {
    client "$work/refused.log" --connect "$host_ip:9" --connect-timeout 5
    local status=$?
    [[ $status -eq 1 ]] || { echo "  exit status $status"; cat "$work/refused.log"; return 1; }
    grep -qx "echo-client: connect to $host_ip:9: connection refused" "$work/refused.log" ||
        { echo "  no 'connection refused' message:"; cat "$work/refused.log"; return 1; }
}
check "connect to a closed kernel port: 'connection refused', exit 1" refused

# --- nobody at that address: ARP goes unanswered; bounded by --connect-timeout
unanswered() {
    local start=$SECONDS status
    client "$work/unanswered.log" --connect "$net.77:7" --connect-timeout 3
    status=$?
    local took=$((SECONDS - start))
    echo "     took $took s: $(grep '^echo-client:' "$work/unanswered.log")"
    [[ $status -eq 1 ]] || { echo "  exit status $status"; cat "$work/unanswered.log"; return 1; }
    grep -Eq "^echo-client: connect to $net.77:7: (connection timed out|host unreachable|no route to host)$" "$work/unanswered.log" ||
        { echo "  unexpected message:"; cat "$work/unanswered.log"; return 1; }
    ((took <= 10)) || { echo "  took $took s, more than 10"; return 1; }
}
check "connect to an unanswered address fails (timed out / host unreachable) within 10 s" unanswered

# --- UDP against a kernel UDP echo: one socket, one datagram in, the same datagram out. (socat's
# UDP4-RECVFROM,fork hands each datagram to a child through a pipe, which can delay an echo past
# the client's retry or join two datagrams into one.)
netns_spawn "$ns" "$work/udp-echo.log" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7778))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
' "$host_ip"
netns_wait_for "$work/udp-echo.log" '^ready' 10 || echo "  the kernel UDP echo did not start"
udp() {
    client "$work/udp.log" --udp --connect "$host_ip:7778" --count 5 --concurrency 2 --bytes 4000 ||
        { echo "  echo-client --udp failed:"; cat "$work/udp.log"; return 1; }
    # bytes_sent may exceed 20000 when a datagram had to be sent again; the echo must not.
    grep -Eq ' connections=5 ok=5 failures=0 bytes_sent=[0-9]+ bytes_echoed=20000 ' "$work/udp.log" ||
        { echo "  unexpected summary:"; cat "$work/udp.log"; return 1; }
    grep '^summary:' "$work/udp.log" | sed 's/^/     /'
}
check "echo-client --udp: 5 x 4000 B through a kernel UDP echo socket" udp

e2e_finish
