#!/usr/bin/env bash
# End to end, Path MTU Discovery (RFC 1191) with the Linux kernel as the router. Topology:
#
#   echo-client (tapstack) --tap0-- [R: kernel router, ip_forward] --veth mtu 1000-- [S: kernel echo]
#   10.91.1.2                10.91.1.1                  10.91.2.1           10.91.2.2
#
# S's route back to 10.91.1.0/24 says "mtu 1000 advmss 1460": S advertises MSS 1460 in its SYN-ACK
# (so tapstack sends 1500-byte IP datagrams, DF set), while S itself sends at most 960-byte
# segments and its direction works. R cannot forward our 1500-byte datagrams onto the 1000-byte
# link and answers "fragmentation needed, next-hop MTU 1000" (ICMP type 3 code 4). Checks:
#   - every byte of 3 x 200 kB comes back (without PMTUD the data black-holes and times out);
#   - echo-client's own capture holds that ICMP from 10.91.1.1 with MTU 1000, after we did send
#     1500-byte segments;
#   - once a connection got its ICMP, it sends no TCP segment above 1000 bytes of IP, and does
#     send data in 1000-byte segments;
#   - the other way round (echo-client has no --stats): a kernel client in S against echo-server
#     --stats on the same TAP; echo-server's counters show the ICMP was delivered to TCP.
# Usage: test_pmtud.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_pmtud.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup pmtud echo-client echo-server
for tool in tshark python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/deps.sh installs it)"; exit 1; }
done

tap_net=10.91.1
link_net=10.91.2
router_tap_ip=$tap_net.1
stack_ip=$tap_net.2
router_link_ip=$link_net.1
server_ip=$link_net.2
link_mtu=1000
bytes=200000
count=3

ns_r=$(netns_name pmtud-r)
ns_s=$(netns_name pmtud-s)

# --- the router R: the TAP (kernel side 10.91.1.1) and forwarding
netns_create "$ns_r" tap0 "$router_tap_ip/24" || { echo "FAIL: cannot create namespace $ns_r"; exit 1; }
netns_exec "$ns_r" sysctl -q -w net.ipv4.ip_forward=1 || { echo "FAIL: cannot enable forwarding in $ns_r"; exit 1; }
# --- the server S: no TAP, only the veth; removed on exit with the others (netns_cleanup)
ip netns add "$ns_s" || { echo "FAIL: cannot create namespace $ns_s"; exit 1; }
NETNS_NAMES+=("$ns_s")
ip -n "$ns_s" link set lo up
setup_link() {
    ip -n "$ns_r" link add vr0 type veth peer name vs0 netns "$ns_s" &&
        ip -n "$ns_r" addr add "$router_link_ip/24" dev vr0 &&
        ip -n "$ns_r" link set vr0 mtu "$link_mtu" up &&
        ip -n "$ns_s" addr add "$server_ip/24" dev vs0 &&
        ip -n "$ns_s" link set vs0 up &&
        # S's own direction fits the narrow link (MSS 960), yet S advertises 1460 to us.
        ip -n "$ns_s" route add "$tap_net.0/24" via "$router_link_ip" mtu "$link_mtu" advmss 1460
}
setup_link || { echo "FAIL: cannot set up the veth link between $ns_r and $ns_s"; exit 1; }

# The echo service in S is the kernel's TCP behind a small Python server: a thread per
# connection, recv -> sendall until EOF, then FIN. (socat's PIPE echo deadlocks on a transfer
# this size: socat blocks writing a full pipe that only it reads, and the echo stops at 128 KiB.)
netns_spawn "$ns_s" "$work/server-s.log" python3 -u -c '
import socket, sys, threading
def serve(c):
    with c:
        while data := c.recv(65536):
            c.sendall(data)
        c.shutdown(socket.SHUT_WR)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$server_ip"
netns_wait_for "$work/server-s.log" '^ready' 10 || { echo "FAIL: the kernel echo server did not start"; cat "$work/server-s.log"; exit 1; }

# --- 1. tapstack as the client, through the router, with every byte echoed
pcap=$work/client.pcap
transfer() {
    timeout 60 ip netns exec "$ns_r" "$bin/echo-client" --tap tap0 --ip "$stack_ip/24" --gateway "$router_tap_ip" \
        --connect "$server_ip:7" --bytes "$bytes" --count "$count" --concurrency "$count" \
        --connect-timeout 5 --io-timeout 10 --pcap "$pcap" --seed 1191 >"$work/client.log" 2>&1
    local status=$?
    [[ $status -eq 0 ]] || { echo "  echo-client exit status $status:"; tail -20 "$work/client.log"; return 1; }
    local total=$((bytes * count))
    grep -q " connections=$count ok=$count failures=0 bytes_sent=$total bytes_echoed=$total " "$work/client.log" ||
        { echo "  unexpected summary:"; cat "$work/client.log"; return 1; }
    grep '^summary:' "$work/client.log" | sed 's/^/     /'
}
check "echo-client: $count x $bytes B through a router with a $link_mtu-byte link, all echoed" transfer

# The capture, one line per IP frame: number, outer source, outer IP length, ICMP type, code,
# next-hop MTU, TCP source port (for an ICMP error, the port of the segment it quotes), TCP
# payload length. No reassembly (see test_offload.sh).
frames() {
    tshark -n -r "$pcap" -o tcp.desegment_tcp_streams:FALSE -Y 'tcp || icmp' -E occurrence=f \
        -T fields -e frame.number -e ip.src -e ip.len -e icmp.type -e icmp.code -e icmp.mtu -e tcp.srcport -e tcp.len \
        2>"$work/tshark.err"
}
frames >"$work/frames.tsv" || { echo "  tshark failed:"; cat "$work/tshark.err"; }

# --- 2. the router's "fragmentation needed" reached us, after we sent datagrams too big for it
icmp_seen() {
    local n big_before
    n=$(awk -F'\t' -v r="$router_tap_ip" -v m="$link_mtu" \
        '$2 == r && $4 == 3 && $5 == 4 && $6 == m' "$work/frames.tsv" | wc -l)
    # Our TCP segments longer than the narrow link, before the first such ICMP: proof that S
    # advertised 1460 and the setup makes the router refuse them.
    big_before=$(awk -F'\t' -v s="$stack_ip" -v r="$router_tap_ip" -v m="$link_mtu" '
        $2 == r && $4 == 3 && $5 == 4 { exit }
        $2 == s && $4 == "" && $3 > m { big++ }
        END { print big + 0 }' "$work/frames.tsv")
    echo "     $n ICMP fragmentation-needed (MTU $link_mtu) from $router_tap_ip; $big_before TCP segments > $link_mtu B before the first"
    ((n >= 1)) || { echo "  no ICMP type 3 code 4 with MTU $link_mtu from $router_tap_ip in the capture"; return 1; }
    ((big_before >= 1)) || { echo "  no segment of ours was too big for the link before the ICMP: the test tests nothing"; return 1; }
}
check "capture: ICMP 3/4 (next-hop MTU $link_mtu) from the router, after we sent segments > $link_mtu B" icmp_seen

# --- 3. after a connection's first ICMP, its segments fit the link
fits_after_icmp() {
    local out
    out=$(awk -F'\t' -v s="$stack_ip" -v r="$router_tap_ip" -v m="$link_mtu" '
        $2 == r && $4 == 3 && $5 == 4 { if (!($7 in told)) { told[$7] = $1; conns++ } next }
        $2 == s && $4 == "" && ($7 in told) {
            if ($3 > m) { bad++; if (bad <= 5) printf "  frame %s: port %s sent %s B of IP after the ICMP in frame %s\n", $1, $7, $3, told[$7] }
            if ($3 == m && $8 > 0) full[$7]++
        }
        END {
            for (p in told) if (!(p in full)) { printf "  port %s: no full %d-byte data segment after its ICMP\n", p, m; bad++ }
            printf "     %d connection(s) told; %d segment(s) too big after the ICMP\n", conns, bad + 0
            exit (conns >= 1 && bad == 0) ? 0 : 1
        }' "$work/frames.tsv")
    local status=$?
    echo "$out"
    return $status
}
check "capture: after its ICMP, each connection sends no segment > $link_mtu B of IP, and full $link_mtu-B ones" fits_after_icmp

# --- 4. echo-client prints no counters; echo-server --stats does. The other direction: a kernel
# client in S sends to echo-server on the same TAP, whose echo is too big for the link.
netns_spawn "$ns_r" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" --gateway "$router_tap_ip" \
    --seed 1192 --stats
server_pid=$NETNS_LAST_PID
netns_wait_for "$work/server.log" '^ready ' 10 || { echo "  echo-server did not print its ready line"; cat "$work/server.log"; }
reverse() {
    timeout 30 ip netns exec "$ns_s" python3 - "$stack_ip" "$bytes" <<'PY'
import os, socket, sys, threading
host, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
s = socket.create_connection((host, 7), timeout=10)
def writer():
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the reader reports the failure
t = threading.Thread(target=writer, daemon=True)
t.start()
got = bytearray()
try:
    while chunk := s.recv(1 << 16):
        got += chunk
except OSError as e:
    print(f"  {e} after {len(got)} of {size} bytes echoed")
    sys.exit(1)
t.join()
if got != data:
    print(f"  sent {size} bytes, got {len(got)} back" + (" (different)" if len(got) == size else ""))
    sys.exit(1)
PY
}
check "kernel client in S: $bytes B echoed by echo-server through the router" reverse
netns_stop "$server_pid" TERM
delivered() {
    local n
    n=$(sed -n 's/^ *\([0-9]\+\) ICMP errors delivered to TCP$/\1/p' "$work/server.log" | head -1)
    echo "     echo-server: ${n:-0} ICMP errors delivered to TCP"
    [[ -n "$n" ]] && ((n >= 1)) || { sed -n '/^Icmp:/,/^Tcp:/p' "$work/server.log" | sed 's/^/    /'; return 1; }
}
check "echo-server --stats: the router's ICMP was delivered to TCP (in_tcp_errors >= 1)" delivered

show_logs() {
    echo "--- echo-client log"
    tail -20 "$work/client.log"
    echo "--- ICMP and large frames in the capture (first 20)"
    awk -F'\t' '$4 != "" || $3 > 1000' "$work/frames.tsv" | head -20
    echo "--- echo-server log"
    tail -40 "$work/server.log"
}
e2e_finish show_logs
