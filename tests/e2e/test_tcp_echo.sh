#!/usr/bin/env bash
# End to end over TCP, with the Linux kernel as the client: echo-server's TCP echo returns
# exactly what it got (1 B .. 16 MiB, compared by sha256, the client reading while it
# writes), discard swallows 1 MiB and closes cleanly, chargen sends the RFC 864 pattern,
# daytime sends a line and closes first, a closed port answers RST (connection refused), and
# the capture is clean in tshark (no malformed segment, no bad checksum, no "ACKed unseen
# segment" or "previous segment not captured"). Usage: test_tcp_echo.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_tcp_echo.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup tcp-echo echo-server

ns=$(netns_name tcpecho)

net=10.99.21
stack_ip=$net.2
# Lost or unseen segments, malformed frames, bad checksums. One exception, on the kernel's
# frames only: a TCP checksum of 0xffff, which Linux's checksum offload path now and then
# leaves where a full computation gives 0x0000 -- the same value in one's complement (RFC 1624
# §3), accepted by every receiver, and flagged by Wireshark. Our own frames get no exception.
bad_segments="tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment || _ws.malformed || \
(tcp.checksum.status==0 && !(ip.src!=$stack_ip && tcp.checksum==0xffff))"

usage_errors() {
    local out status
    out=$("$bin/echo-server" --tap tap0 --ip "$stack_ip/24" --daytime-port x 2>&1)
    status=$?
    [[ $status -eq 2 && $(wc -l <<<"$out") -eq 1 && "$out" == "echo-server: bad --daytime-port 'x': "* ]] ||
        { echo "  status $status, output: $out"; return 1; }
    out=$("$bin/echo-server" --tap tap0 --ip "$stack_ip/24" --tcp-buffer 100 2>&1)
    status=$?
    [[ $status -eq 2 && "$out" == "echo-server: bad --tcp-buffer '100': "* ]] || { echo "  status $status, output: $out"; return 1; }
    "$bin/echo-server" --help | grep -q -- '--daytime-port'
}
check "echo-server --help lists the TCP flags; bad input is one line and exit 2" usage_errors

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --pcap "$work/capture.pcap" --seed 21 --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi

# Every client runs in the namespace under a hard time bound.
py() { timeout 120 ip netns exec "$ns" /usr/bin/python3 - "$stack_ip" "$@"; }

echo_size() {  # echo_size BYTES: send random bytes, half-close, read to eof, compare sha256
    py "$1" <<'PY'
import hashlib, os, socket, sys, threading
host, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
s = socket.create_connection((host, 7), timeout=60)
def writer():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer)
t.start()
h, got = hashlib.sha256(), 0
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    h.update(chunk)
    got += len(chunk)
t.join()
s.close()
want = hashlib.sha256(data).hexdigest()
if got != size or h.hexdigest() != want:
    print(f"  sent {size} bytes sha256 {want[:16]}, got {got} bytes sha256 {h.hexdigest()[:16]}")
    sys.exit(1)
PY
}
check "TCP echo of 1 B comes back identical (sha256)" echo_size 1
check "TCP echo of 1 KiB comes back identical (sha256)" echo_size 1024
check "TCP echo of 64 KiB comes back identical (sha256)" echo_size 65536
check "TCP echo of 1 MiB comes back identical (sha256)" echo_size 1048576
start=$SECONDS
check "TCP echo of 16 MiB comes back identical (sha256)" echo_size 16777216
echo "     (16 MiB echo took $((SECONDS - start)) s)"

socat_big() {  # socat copies a 16 MiB file through the echo: stdin -> socket -> stdout
    head -c 16777216 /dev/urandom >"$work/big.in"
    timeout 120 ip netns exec "$ns" socat -b 65536 -T 30 - "TCP:$stack_ip:7,connect-timeout=5" <"$work/big.in" >"$work/big.out"
    local a b
    a=$(sha256sum <"$work/big.in" | cut -d' ' -f1)
    b=$(sha256sum <"$work/big.out" | cut -d' ' -f1)
    [[ "$a" == "$b" ]] || { echo "  sha256 in $a, out $b ($(stat -c %s "$work/big.out") bytes)"; return 1; }
}
check "socat: 16 MiB file through TCP echo, same sha256" socat_big

write_then_read() {  # a client that sends everything before reading a byte (fits the buffers)
    py 1048576 <<'PY'
import hashlib, os, socket, sys
host, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
s = socket.create_connection((host, 7), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while chunk := s.recv(1 << 16):
    got += chunk
if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
    print(f"  got {len(got)} of {size} bytes, or different ones"); sys.exit(1)
PY
}
check "TCP echo: 1 MiB written in full before reading comes back identical" write_then_read

socat_echo() {  # the kernel with socat: a line in, the same line out
    local got
    got=$(printf 'hello over TCP\n' | timeout 10 ip netns exec "$ns" socat -T 5 - "TCP:$stack_ip:7,connect-timeout=5")
    [[ "$got" == "hello over TCP" ]] || { echo "  socat got '$got'"; return 1; }
}
check "socat line echo over TCP" socat_echo

discard() {
    py <<'PY'
import os, socket, sys
s = socket.create_connection((sys.argv[1], 9), timeout=30)
s.sendall(os.urandom(1 << 20))
s.shutdown(socket.SHUT_WR)
try:
    rest = s.recv(4096)
except ConnectionResetError:
    print("  discard reset the connection instead of closing it"); sys.exit(1)
if rest:
    print("  discard answered", rest[:20]); sys.exit(1)
PY
}
check "TCP discard takes 1 MiB, sends nothing, closes with FIN (no RST)" discard

chargen() {
    py <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 19), timeout=10)
want = b"".join(bytes(32 + (line + c) % 95 for c in range(72)) + b"\r\n" for line in range(200))
got = b""
while len(got) < len(want):
    chunk = s.recv(65536)
    if not chunk:
        print("  chargen closed early"); sys.exit(1)
    got += chunk
s.close()
if got[:len(want)] != want:
    i = next(i for i in range(len(want)) if got[i] != want[i])
    print(f"  first difference at byte {i}: {got[max(0,i-10):i+10]!r}"); sys.exit(1)
lines = got[:len(want)].split(b"\r\n")
print("     first line:", lines[0].decode())
print("     second line:", lines[1].decode())
PY
}
check "TCP chargen streams the RFC 864 pattern (first 200 lines exact)" chargen

daytime() {
    py <<'PY'
import re, socket, sys, time
s = socket.create_connection((sys.argv[1], 13), timeout=10)
got = b""
while True:  # read to eof without closing: eof means the server closed first
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
text = got.decode("ascii")
print("     daytime:", text.strip())
if not re.fullmatch(r"[A-Z][a-z]+day, [A-Z][a-z]+ \d\d, \d{4} \d\d:\d\d:\d\d-UTC\r\n", text):
    print("  unexpected daytime text", repr(text)); sys.exit(1)
year = time.gmtime().tm_year
if str(year) not in text and str(year - 1) not in text:
    print("  not this year's date"); sys.exit(1)
s.close()
PY
}
check "TCP daytime sends one line, then the server closes first" daytime

refused() {
    py <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9999), timeout=5)
except ConnectionRefusedError:
    sys.exit(0)
except OSError as e:
    print("  expected connection refused, got", e); sys.exit(1)
print("  a closed port accepted a connection"); sys.exit(1)
PY
}
check "TCP connect to a closed port is refused (RST)" refused

check "echo-server is still running" kill -0 "$server"
netns_stop "$server" TERM
status=$?
check "echo-server exits 0 on SIGTERM" test "$status" -eq 0

pcap=$work/capture.pcap
check "the pcap exists and is not empty" test -s "$pcap"
if command -v tshark >/dev/null; then
    # No TCP reassembly: the checks read single segments (a dissector reassembling megabytes of
    # random bytes can take tshark minutes; see test_offload.sh).
    topts=(-n -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o tcp.desegment_tcp_streams:FALSE)
    count() { tshark "${topts[@]}" -Y "$1" 2>/dev/null | wc -l; }
    tshark "${topts[@]}" -z expert -q >"$work/expert.txt" 2>&1
    clean_expert() {
        if grep -Eiq 'malformed|bad checksum|checksum.*incorrect|ACKed segment that wasn.t captured|ACKed unseen|previous segment.*not captured' "$work/expert.txt"; then
            echo "  tshark -z expert:"
            sed 's/^/    /' "$work/expert.txt" | head -40
            return 1
        fi
    }
    check "tshark -z expert: no malformed, bad checksum, unseen or lost segment" clean_expert
    bad_filter() {
        local out
        out=$(tshark "${topts[@]}" -Y "$bad_segments" 2>"$work/tshark.err") ||
            { echo "  tshark failed:"; cat "$work/tshark.err"; return 1; }
        [[ -z "$out" ]] || { echo "$out" | head -20 | sed 's/^/    /'; return 1; }
    }
    check "tshark filter for lost/unseen/malformed/bad-checksum segments prints nothing" bad_filter
    check "the pcap has the RST for the closed port" test "$(count "tcp.flags.reset==1 && ip.src==$stack_ip && tcp.srcport==9999")" -ge 1
    # Daytime: the first FIN on port 13 comes from the stack (it closes first: FIN-WAIT, TIME-WAIT).
    first_fin_from_server() {
        local first
        first=$(tshark "${topts[@]}" -Y 'tcp.port==13 && tcp.flags.fin==1' -T fields -e ip.src 2>/dev/null | head -1)
        [[ "$first" == "$stack_ip" ]] || { echo "  first FIN on port 13 from '$first'"; return 1; }
    }
    check "daytime: the server's FIN is the first FIN of the connection" first_fin_from_server
    # The socat line echo: the kernel sends its line and FIN at once; echo-server closes on EOF,
    # so the ACK of that FIN rides on echo-server's own FIN (stack/src/tcp/connection.cpp, the
    # runtime runs completions before its poll): the first frame to ACK that FIN is the echo or
    # echo-server's FIN, never a pure ACK.
    fin_rides_on_fin() {
        tshark "${topts[@]}" -Y 'tcp.port==7' -T fields -e tcp.stream -e ip.src -e tcp.flags.fin -e tcp.flags.syn \
            -e tcp.len -e tcp.seq_raw -e tcp.ack_raw 2>/dev/null |
            /usr/bin/python3 -c '
import sys
stack = sys.argv[1]
streams = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if len(f) < 7: continue
    streams.setdefault(f[0], []).append(f)
checked = 0
for sid, frames in streams.items():
    client_bytes = sum(int(f[4]) for f in frames if f[1] != stack)
    if client_bytes != 15: continue  # only the socat line echo ("hello over TCP\n")
    fin = next((f for f in frames if f[1] != stack and f[2] == "1"), None)
    if fin is None: continue
    after = int(fin[5]) + int(fin[4]) + 1
    mine = [f for f in frames if f[1] == stack and f[3] != "1" and int(f[6]) == after]
    if not mine or (mine[0][2] != "1" and mine[0][4] == "0"):  # a pure ACK: the FIN waited for nothing
        print("  stream %s: first frame acking the FIN: %s" % (sid, mine[0] if mine else None)); sys.exit(1)
    checked += 1
sys.exit(0 if checked >= 1 else 2)
' "$stack_ip"
    }
    check "socat line echo: the ACK of the client's FIN rides on echo-server's echo or FIN" fin_rides_on_fin
    check "the pcap carries at least 16 MiB of echo back to the kernel" \
        test "$(tshark "${topts[@]}" -Y "tcp.srcport==7 && ip.src==$stack_ip" -T fields -e tcp.len 2>/dev/null | awk '{s+=$1} END {print s+0}')" -ge 16777216
else
    echo "FAIL - tshark not installed (scripts/deps.sh installs it)"
    failures=$((failures + 1))
fi

show_logs() {
    echo "--- echo-server log"
    tail -60 "$work/server.log"
}
e2e_finish show_logs
