#!/usr/bin/env bash
# pcaps/record.sh -- records the replay fixtures. Run as root from anywhere:
#   pcaps/record.sh                 # every fixture
#   pcaps/record.sh tcp_echo_linux  # one (the function names below)
# Each fixture makes two network namespaces joined by a veth pair (rp-host 10.77.0.1 with MAC
# 02:00:00:77:00:01, rp-cli 10.77.0.2 with 02:00:00:77:00:02), captures on the client side with
# tcpdump, and removes both namespaces on exit. No traffic leaves the namespaces. Checksum and
# segmentation offloads are off (ethtool) so the files hold real checksums and wire-sized frames.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
PY=/usr/bin/python3   # has scapy
H=rp-host C=rp-cli
HOST_IP=10.77.0.1 CLI_IP=10.77.0.2
HOST_MAC=02:00:00:77:00:01 CLI_MAC=02:00:00:77:00:02
bg_pids=()

cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    bg_pids=()
    ip netns del $H 2>/dev/null || true
    ip netns del $C 2>/dev/null || true
}
trap cleanup EXIT

# setup [static] [noclientip]: static = permanent neighbour entries on both sides (no ARP in
# the capture); noclientip = the client interface has no address (a scapy peer owns it, so the
# client kernel neither answers nor resets the host's segments).
setup() {
    cleanup
    ip netns add $H
    ip netns add $C
    ip link add rp-h0 netns $H type veth peer name rp-c0 netns $C
    for ns in $H $C; do
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n $ns link set lo up
    done
    ip -n $H link set rp-h0 address $HOST_MAC
    ip -n $C link set rp-c0 address $CLI_MAC
    ip netns exec $H ethtool -K rp-h0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec $C ethtool -K rp-c0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n $H addr add $HOST_IP/24 dev rp-h0
    [[ " $* " == *" noclientip "* ]] || ip -n $C addr add $CLI_IP/24 dev rp-c0
    if [[ " $* " == *" static "* ]]; then
        ip -n $H neigh replace $CLI_IP lladdr $CLI_MAC dev rp-h0 nud permanent
        ip -n $C neigh replace $HOST_IP lladdr $HOST_MAC dev rp-c0 nud permanent 2>/dev/null || true
    fi
    ip -n $H link set rp-h0 up
    ip -n $C link set rp-c0 up
    sleep 0.3
}

# capture NAME: starts tcpdump on the client side; stop_capture ends it.
capture() {
    local out="$here/$1.pcap"
    rm -f "$out" /tmp/rp-tcpdump.log
    ip netns exec $C tcpdump -i rp-c0 -s 0 -U --immediate-mode -w "$out" 2>/tmp/rp-tcpdump.log &
    cap_pid=$!
    bg_pids+=("$cap_pid")
    for _ in $(seq 50); do grep -q "listening on" /tmp/rp-tcpdump.log 2>/dev/null && break; sleep 0.1; done
    sleep 0.5  # "listening on" comes a little before the socket sees frames
}
stop_capture() {
    sleep 0.3
    kill -INT "$cap_pid"
    wait "$cap_pid" 2>/dev/null || true
    grep -E "packets captured" /tmp/rp-tcpdump.log || true
}

# The kernel echo server: socat, one process per connection. Extra socat options (-T) first.
linux_echo_server() {
    ip netns exec $H socat "$@" TCP4-LISTEN:7,reuseaddr,fork PIPE &
    bg_pids+=("$!")
    sleep 0.3
}

# A tapstack echo server as the host: echo-server on a TAP in the host namespace, bridged to the veth.
# tapstack_echo_server [FILE]: with a file, echo-server writes its own capture there (--pcap) in
# its deterministic mode: every frame the TAP gave it and every frame it sent, stamped with its
# stack's own clock (t=0 when it started, written as the Unix epoch). `replay --deterministic
# --seed 7` then reproduces the host's frames byte for byte. stop_tapstack ends it (SIGINT
# flushes the file).
tapstack_echo_server() {
    local bin=${TAPSTACK_BIN:-$root/build/debug/bin}
    local own=()
    if [[ -n ${1:-} ]]; then
        rm -f "$1"
        own=(--pcap "$1" --deterministic)
    fi
    ip -n $H addr flush dev rp-h0
    ip -n $H link set rp-h0 address 02:00:00:77:00:11
    ip -n $H link add rp-br type bridge
    ip -n $H link set rp-h0 master rp-br
    ip -n $H link set rp-br up
    ip netns exec $H "$bin/echo-server" --tap rp-tap --ip $HOST_IP/24 --mac $HOST_MAC --seed 7 "${own[@]}" >/tmp/rp-echo.log 2>&1 &
    echo_pid=$!
    bg_pids+=("$echo_pid")
    for _ in $(seq 50); do grep -q "^ready" /tmp/rp-echo.log 2>/dev/null && break; sleep 0.1; done
    ip -n $H link set rp-tap master rp-br
    ip -n $H link set rp-tap up
    sleep 0.3
}

stop_tapstack() {
    sleep 0.3
    kill -INT "$echo_pid"
    wait "$echo_pid" 2>/dev/null || true
}

# --- the kernel client, as a Python script run in the client namespace -------------------------
client() { ip netns exec $C $PY - "$@"; }

# Handshake, data both ways (two request/response rounds), then the client closes first: the
# host's close is passive (FIN after reading EOF).
tcp_echo_linux() {
    setup static
    linux_echo_server
    capture tcp_echo_linux
    client <<'PY'
import socket, time
s = socket.create_connection(("10.77.0.1", 7))
for msg in (b"hello tapstack\n", b"second line, a little longer than the first\n"):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(4096)
    assert got == msg, got
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
assert s.recv(4096) == b""
s.close()
time.sleep(0.2)
PY
    stop_capture
}

# The host closes first (socat -T 0.5: half a second idle, then it closes): active close.
tcp_active_close_linux() {
    setup static
    linux_echo_server -T 0.5
    capture tcp_active_close_linux
    client <<'PY'
import socket, time
s = socket.create_connection(("10.77.0.1", 7))
s.sendall(b"ping\n")
assert s.recv(4096) == b"ping\n"
assert s.recv(4096) == b""          # the host's FIN after 0.5 s idle
time.sleep(0.05)
s.close()
time.sleep(0.2)
PY
    stop_capture
}

# A SYN to a port nobody listens on: the host answers RST,ACK (RFC 9293 §3.10.7.1).
tcp_rst_closed_linux() {
    setup static
    linux_echo_server
    capture tcp_rst_closed_linux
    client <<'PY'
import socket
for port in (8, 8):
    try:
        socket.create_connection(("10.77.0.1", port), timeout=1)
        raise SystemExit("connected?")
    except ConnectionRefusedError:
        pass
PY
    stop_capture
}

# A scapy peer (no kernel TCP on the client side) shared by the crafted fixtures.
SCAPY_PEER='
import select, sys, time
from scapy.all import Ether, IP, TCP, Raw, conf
conf.verb = 0
sock = conf.L2socket(iface="rp-c0")
HOST, ME = "10.77.0.1", "10.77.0.2"
HMAC, MYMAC = "02:00:00:77:00:01", "02:00:00:77:00:02"
t0 = time.monotonic()
def tsval(): return int((time.monotonic() - t0) * 1000) + 1000
class Peer:
    def __init__(self, sport, dport=7):
        self.sport, self.dport, self.seq, self.ack, self.ts_recent = sport, dport, 1000000, 0, 0
        self.received = b""
    def send(self, flags, data=b"", seq=None, win=64240, opts=None):
        o = opts if opts is not None else [("NOP", None), ("NOP", None), ("Timestamp", (tsval(), self.ts_recent))]
        p = Ether(src=MYMAC, dst=HMAC) / IP(src=ME, dst=HOST, flags="DF") / TCP(sport=self.sport, dport=self.dport,
            flags=flags, seq=self.seq if seq is None else seq, ack=self.ack, window=win, options=o)
        if data: p = p / Raw(data)
        sock.send(p)
    def recv(self, timeout):
        """Collects the host frames of this connection for `timeout` seconds."""
        out, end = [], time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0: return out
            if not select.select([sock], [], [], left)[0]: continue
            p = sock.recv()
            pkts = [p] if p is not None and TCP in p and IP in p and p[IP].src == HOST and p[TCP].dport == self.sport else []
            for p in pkts:
                t = p[TCP]
                for k, v in t.options:
                    if k == "Timestamp": self.ts_recent = v[0]
                end_seq = t.seq + len(bytes(t.payload)) + (1 if t.flags & 0x01 else 0) + (1 if t.flags & 0x02 else 0)
                if t.flags & 0x02: self.ack = end_seq
                elif len(bytes(t.payload)) or t.flags & 0x01:
                    if t.seq == self.ack: self.ack = end_seq; self.received += bytes(t.payload)
                out.append(p)
    def announce(self):
        """An ARP request for the host, as a client kernel sends before its SYN: a host without a
        static neighbour entry (tapstack) learns our MAC from it (RFC 826: the target is itself)."""
        from scapy.all import ARP
        sock.send(Ether(src=MYMAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MYMAC, psrc=ME, pdst=HOST))
        time.sleep(0.2)
    def handshake(self):
        self.send("S", opts=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval(), 0)), ("NOP", None), ("WScale", 7)])
        self.seq += 1
        synack = [p for p in self.recv(0.3) if p[TCP].flags & 0x12 == 0x12]
        assert synack, "no SYN-ACK"
        self.send("A")
'

# Out-of-order data: the second segment arrives before the first. The host ACKs the hole with
# a SACK block, then acknowledges both and echoes the bytes in order; then the peer closes.
tcp_ooo_linux() {
    setup static noclientip
    linux_echo_server
    capture tcp_ooo_linux
    ip netns exec $C $PY -c "$SCAPY_PEER""$OOO_CLIENT"
    stop_capture
}
# The scapy client of the out-of-order fixtures (argument "announce": an ARP request for the host first).
OOO_CLIENT='
p = Peer(40001)
if len(sys.argv) > 1 and sys.argv[1] == "announce": p.announce()
p.handshake()
p.send("PA", b"WORLD\n", seq=p.seq + 6)     # bytes 6..11 first
p.recv(0.2)
p.send("PA", b"hello ")                      # then the hole 0..5
p.seq += 12
p.recv(0.3)
assert p.received == b"hello WORLD\n", p.received
p.send("A")
p.send("FA")                                 # the peer closes; the host answers FIN
p.seq += 1
p.recv(0.3)
p.send("A")
time.sleep(0.1)
'

# A peer that sends data while advertising a zero window: the host cannot echo and probes the
# window (RFC 9293 §3.8.6.1) until the peer opens it again, then sends the echo.
tcp_zero_window_linux() {
    setup static noclientip
    linux_echo_server
    capture tcp_zero_window_linux
    ip netns exec $C $PY -c "$SCAPY_PEER""$ZERO_WINDOW_CLIENT"
    stop_capture
}
# The scapy client of the zero-window fixtures (argument "announce": an ARP request for the host first).
ZERO_WINDOW_CLIENT='
p = Peer(40002)
if len(sys.argv) > 1 and sys.argv[1] == "announce": p.announce()
p.handshake()
p.send("PA", b"zero window\n", win=0)
p.seq += 12
p.recv(1.0)                                  # the ACK, then window probes
p.send("A", win=64240)                       # window opens: the echo follows
p.recv(0.3)
assert p.received == b"zero window\n", p.received
p.send("A")
p.send("FA")
p.seq += 1
p.recv(0.3)
p.send("A")
time.sleep(0.1)
'

# ARP (the client resolves the host), three pings, a UDP echo (socat) and a datagram to a
# closed UDP port (ICMP port unreachable, RFC 1122 3.2.2.1).
arp_icmp_udp_linux() {
    setup
    ip netns exec $H socat UDP4-RECVFROM:7,fork PIPE &
    bg_pids+=("$!")
    sleep 0.3
    capture arp_icmp_udp_linux
    ip netns exec $C ping -c 3 -i 0.2 -q $HOST_IP >/dev/null
    client <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"udp echo\n", ("10.77.0.1", 7))
assert s.recvfrom(4096)[0] == b"udp echo\n"
s.sendto(b"nobody here\n", ("10.77.0.1", 9))
PY
    stop_capture
}

# The same echo scenario with tapstack's echo-server (on a TAP bridged to the veth) as the host.
tcp_echo_tapstack() {
    setup static
    tapstack_echo_server "$here/tcp_echo_tapstack.pcap"
    client <<'PY'
import socket, time
s = socket.create_connection(("10.77.0.1", 7), timeout=2)
for msg in (b"hello tapstack\n", b"second line, a little longer than the first\n"):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(4096)
    assert got == msg, got
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
assert s.recv(4096) == b""
s.close()
time.sleep(0.2)
PY
    stop_tapstack
}

# The host (tapstack) refuses a SYN to a closed port: RST,ACK (RFC 9293 §3.10.7.1).
tcp_rst_closed_tapstack() {
    setup static
    tapstack_echo_server "$here/tcp_rst_closed_tapstack.pcap"
    client <<'PY'
import socket
for port in (8, 8):
    try:
        socket.create_connection(("10.77.0.1", port), timeout=1)
        raise SystemExit("connected?")
    except ConnectionRefusedError:
        pass
PY
    stop_tapstack
}

# The scapy peer of tcp_ooo_linux against tapstack (it announces its MAC with an ARP request
# first: tapstack has no static neighbour entry and the peer answers no ARP).
tcp_ooo_tapstack() {
    setup static noclientip
    tapstack_echo_server "$here/tcp_ooo_tapstack.pcap"
    ip netns exec $C $PY -c "$SCAPY_PEER""$OOO_CLIENT" announce
    stop_tapstack
}

# The zero-window peer of tcp_zero_window_linux against tapstack (announcing itself, as above).
tcp_zero_window_tapstack() {
    setup static noclientip
    tapstack_echo_server "$here/tcp_zero_window_tapstack.pcap"
    ip netns exec $C $PY -c "$SCAPY_PEER""$ZERO_WINDOW_CLIENT" announce
    stop_tapstack
}

arp_icmp_udp_tapstack() {
    setup
    tapstack_echo_server
    capture arp_icmp_udp_tapstack
    ip netns exec $C ping -c 3 -i 0.2 -q $HOST_IP >/dev/null
    client <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"udp echo\n", ("10.77.0.1", 7))
assert s.recvfrom(4096)[0] == b"udp echo\n"
s.sendto(b"nobody here\n", ("10.77.0.1", 10))
PY
    stop_capture
}

# --- IPv6 --------------------------------------------------------------------------------------
# setup6: the same pair, IPv6 on (rp-host fd77::1/64, rp-cli fd77::2/64, link-local addresses
# from the MACs), IPv4 off. No DAD delay (accept_dad=0, addresses added with nodad), no router
# solicitations; the neighbour caches start empty, so the capture holds the NDP exchange. The
# kernel's own MLD reports on link-up are over before the capture starts (sleep 2).
HOST_IP6=fd77::1 CLI_IP6=fd77::2
setup6() {
    cleanup
    ip netns add $H
    ip netns add $C
    ip link add rp-h0 netns $H type veth peer name rp-c0 netns $C
    for ns in $H $C; do
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
            net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
        ip -n $ns link set lo up
    done
    ip -n $H link set rp-h0 address $HOST_MAC
    ip -n $C link set rp-c0 address $CLI_MAC
    ip netns exec $H ethtool -K rp-h0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec $C ethtool -K rp-c0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec $H sysctl -qw net.ipv6.conf.rp-h0.accept_dad=0 net.ipv6.conf.rp-h0.router_solicitations=0
    ip netns exec $C sysctl -qw net.ipv6.conf.rp-c0.accept_dad=0 net.ipv6.conf.rp-c0.router_solicitations=0
    ip -n $H addr add $HOST_IP6/64 dev rp-h0 nodad
    ip -n $C addr add $CLI_IP6/64 dev rp-c0 nodad
    ip -n $H link set rp-h0 up
    ip -n $C link set rp-c0 up
    sleep 2
    ip -n $H neigh flush dev rp-h0
    ip -n $C neigh flush dev rp-c0
}

# NDP (the client's NS for fd77::1, the host's NA), three ping6 echo request/replies, then a
# UDP datagram to closed port 9 answered with ICMPv6 destination unreachable (port).
ndp_ping_v6_linux() {
    setup6
    capture ndp_ping_v6_linux
    ip netns exec $C ping -6 -c 3 -i 0.2 -q $HOST_IP6 >/dev/null
    client <<'PY'
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"nobody here\n", ("fd77::1", 9))
PY
    stop_capture
}

# Linux as TCP echo server over IPv6 (socat TCP6-LISTEN): NDP first, then the same
# conversation as tcp_echo_linux.
tcp_echo_v6_linux() {
    setup6
    ip netns exec $H socat TCP6-LISTEN:7,reuseaddr,fork PIPE &
    bg_pids+=("$!")
    sleep 0.3
    capture tcp_echo_v6_linux
    client <<'PY'
import socket, time
s = socket.create_connection(("fd77::1", 7), timeout=2)
for msg in (b"hello tapstack over ipv6\n", b"second line, a little longer than the first\n"):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(4096)
    assert got == msg, got
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
assert s.recv(4096) == b""
s.close()
time.sleep(0.2)
PY
    stop_capture
}

all=(tcp_echo_linux tcp_active_close_linux tcp_rst_closed_linux tcp_ooo_linux tcp_zero_window_linux arp_icmp_udp_linux ndp_ping_v6_linux tcp_echo_v6_linux
     arp_icmp_udp_tapstack tcp_echo_tapstack tcp_rst_closed_tapstack tcp_ooo_tapstack tcp_zero_window_tapstack)
if (($# == 0)); then set -- "${all[@]}"; fi
for f in "$@"; do
    echo "== $f"
    "$f"
    cleanup
done
