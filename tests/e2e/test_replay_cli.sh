#!/usr/bin/env bash
# The replay program's command line: exit status 0/1/2, one-line errors for bad captures (never
# a crash), --out and --report files. No network: captures only. Usage: test_replay_cli.sh BIN_DIR
set -uo pipefail
bin=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/debug/bin}
root=$(cd "$(dirname "$0")/../.." && pwd)
replay=$bin/replay
pcaps=$root/pcaps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check NAME EXPECTED_STATUS ACTUAL_STATUS
    if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: status $3, expected $2"; fails=$((fails + 1)); fi
}
# expect_error NAME PATTERN ARGS...: exit 2, exactly one line on stderr containing PATTERN.
expect_error() {
    local name=$1 pattern=$2
    shift 2
    "$replay" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    check "$name (exit 2)" 2 $rc
    local lines
    lines=$(wc -l <"$tmp/err")
    if [[ $lines != 1 ]] || ! grep -q -- "$pattern" "$tmp/err"; then
        echo "FAIL $name: stderr should be one line with '$pattern', got:"; cat "$tmp/err"; fails=$((fails + 1))
    fi
}
[[ -x $replay ]] || { echo "FAIL no $replay"; exit 1; }

# Bad captures.
expect_error "missing file" "cannot read" --pcap "$tmp/nope.pcap" --host-ip 10.77.0.1
head -c 300 /dev/urandom >"$tmp/garbage.pcap"
expect_error "garbage bytes" "garbage.pcap" --pcap "$tmp/garbage.pcap" --host-ip 10.77.0.1
whole=$(stat -c %s "$pcaps/tcp_echo_linux.pcap")
head -c $((whole - 20)) "$pcaps/tcp_echo_linux.pcap" >"$tmp/truncated.pcap"
expect_error "truncated file" "truncated or corrupt" --pcap "$tmp/truncated.pcap" --host-ip 10.77.0.1
# The same file with link type 101 (raw IP) in the global header.
{ head -c 20 "$pcaps/tcp_echo_linux.pcap"; printf '\x65\x00\x00\x00'; tail -c +25 "$pcaps/tcp_echo_linux.pcap"; } >"$tmp/rawip.pcap"
expect_error "wrong link type" "expected EN10MB" --pcap "$tmp/rawip.pcap" --host-ip 10.77.0.1
# A record of 10 bytes: the global header, then ts 1000.0, caplen = len = 10.
{ head -c 24 "$pcaps/tcp_echo_linux.pcap"; printf '\xe8\x03\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x0a\x00\x00\x00'; head -c 10 /dev/zero; } >"$tmp/short.pcap"
expect_error "frame shorter than Ethernet" "shorter than an Ethernet header" --pcap "$tmp/short.pcap" --host-ip 10.77.0.1
expect_error "host never mentioned" "never mentions the host" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.1.2.3
# Bad flags.
expect_error "bad --app" "bad --app" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --app telnet
expect_error "bad --ignore" "unknown name 'colour'" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --ignore window,colour
expect_error "missing --host-ip" "missing --host-ip" --pcap "$pcaps/tcp_echo_linux.pcap"
expect_error "unknown flag" "unknown option" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --frobnicate

# Different captures: 0 without --strict, 1 with it; equivalent (with the fixture's tolerances): 0.
"$replay" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 >/dev/null 2>&1
check "different without --strict" 0 $?
"$replay" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --strict >"$tmp/out" 2>&1
check "different with --strict" 1 $?
tail -1 "$tmp/out" | grep -q "DIFFERENT" || { echo "FAIL summary line: $(tail -1 "$tmp/out")"; fails=$((fails + 1)); }
"$replay" --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --strict --ignore window,wscale,tsval \
    --unmatched-ok tcp_pure_ack --out "$tmp/out.pcap" --report "$tmp/report.json" >"$tmp/out" 2>&1
check "equivalent with tolerances" 0 $?
tail -1 "$tmp/out" | grep -q ": equivalent: 1 flows" || { echo "FAIL summary line: $(tail -1 "$tmp/out")"; fails=$((fails + 1)); }
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["equivalent"] and r["flows"][0]["matched"] == 4, r' "$tmp/report.json"
check "report.json" 0 $?
n=$(tcpdump -nn -r "$tmp/out.pcap" 2>/dev/null | wc -l)
# SYN-ACK, two echoes, FIN+ACK (the ACK of the client's FIN rides on ours)
check "out.pcap holds the stack's 4 frames" 4 "$n"

# The capture's own --host-ip with a prefix works too.
"$replay" --pcap "$pcaps/tcp_rst_closed_linux.pcap" --host-ip 10.77.0.1/24 --strict --quiet >"$tmp/out" 2>&1
check "rst fixture, --host-ip with prefix" 0 $?

# A 10-minute capture replays on the virtual clock, without sleeping: tcp_echo_linux with every
# record after the handshake moved 10 minutes later (the connection idles in between).
/usr/bin/python3 - "$pcaps/tcp_echo_linux.pcap" "$tmp/ten_minutes.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out, off, n = bytearray(data[:24]), 24, 0
while off < len(data):
    sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
    n += 1
    if n > 3: sec += 600   # everything after SYN, SYN-ACK, ACK: an idle established connection
    out += struct.pack("<IIII", sec, usec, incl, orig) + data[off + 16:off + 16 + incl]
    off += 16 + incl
open(sys.argv[2], "wb").write(out)
PY
start=$(date +%s%N)
timeout 10 "$replay" --pcap "$tmp/ten_minutes.pcap" --host-ip 10.77.0.1 --strict --quiet --ignore window,wscale,tsval \
    --unmatched-ok tcp_pure_ack --report "$tmp/ten.json" >"$tmp/out" 2>&1
check "10-minute capture: equivalent, within the timeout" 0 $?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["capture_duration_us"] > 600e6, r["capture_duration_us"]' "$tmp/ten.json"
check "10-minute capture: the report spans 10 minutes" 0 $?
if ((elapsed_ms < 5000)); then echo "ok   10-minute capture replayed in ${elapsed_ms} ms (no sleeping)"; else
    echo "FAIL 10-minute capture took ${elapsed_ms} ms"; fails=$((fails + 1)); fi

# Deterministic mode: tapstack's own capture (echo-server --pcap --seed 7 --deterministic) gives
# back the recorded host frames byte for byte, timestamps included.
host_frames() {  # host_frames FILE [MAC]: "sec usec hex" per record (from MAC only, if given)
    /usr/bin/python3 - "$@" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
mac = bytes.fromhex(sys.argv[2].replace(":", "")) if len(sys.argv) > 2 else None
assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, "not a little-endian microsecond pcap"
off = 24
while off < len(data):
    sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if mac is None or frame[6:12] == mac:
        print(sec, usec, frame.hex())
PY
}
"$replay" --pcap "$pcaps/tcp_echo_tapstack.pcap" --host-ip 10.77.0.1 --seed 7 --deterministic --strict --quiet \
    --out "$tmp/det.pcap" >"$tmp/out" 2>&1
check "deterministic replay of tapstack's own capture" 0 $?
host_frames "$pcaps/tcp_echo_tapstack.pcap" 02:00:00:77:00:01 >"$tmp/recorded.txt"
host_frames "$tmp/det.pcap" >"$tmp/replayed.txt"
if [[ $(wc -l <"$tmp/recorded.txt") == 5 ]] && cmp -s "$tmp/recorded.txt" "$tmp/replayed.txt"; then
    echo "ok   deterministic output is the recorded host frames, byte for byte and instant for instant"
else
    echo "FAIL deterministic output differs:"; diff "$tmp/recorded.txt" "$tmp/replayed.txt" | head; fails=$((fails + 1))
fi
"$replay" --pcap "$pcaps/tcp_echo_tapstack.pcap" --host-ip 10.77.0.1 --seed 8 --deterministic --strict --quiet \
    --out "$tmp/det8.pcap" >"$tmp/out" 2>&1
check "deterministic replay with another seed is still equivalent" 0 $?
host_frames "$tmp/det8.pcap" >"$tmp/replayed8.txt"
if cmp -s "$tmp/recorded.txt" "$tmp/replayed8.txt"; then
    echo "FAIL another seed gave the same bytes"; fails=$((fails + 1))
else
    echo "ok   another seed gives other bytes (ISNs, TS offsets, IP IDs)"
fi
expect_error "deterministic on a wall-clock capture" "needs a capture stamped with the stack's own clock" \
    --pcap "$pcaps/tcp_echo_linux.pcap" --host-ip 10.77.0.1 --deterministic
# echo-server refuses --deterministic without a seed before it touches any device.
if [[ -x $bin/echo-server ]]; then
    "$bin/echo-server" --tap rp-none --ip 10.78.0.1/24 --deterministic >"$tmp/out" 2>"$tmp/err"
    check "echo-server --deterministic without --seed" 2 $?
    grep -q "needs --seed" "$tmp/err" || { echo "FAIL echo-server message: $(cat "$tmp/err")"; fails=$((fails + 1)); }
fi

if ((fails > 0)); then echo "$fails failed"; exit 1; fi
echo "all passed"
