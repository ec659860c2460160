#!/usr/bin/env bash
# Many clients at once (issue 14), in one namespace with one TAP, the kernel on its side:
#   1. 2,000 concurrent kernel clients echo 1 KiB each through echo-server's port 7, then 200
#      echo 256 KiB each (bench/many-clients/echo_load.py crowd, one asyncio process): every
#      byte compared, every client ok;
#   2. echo-client on tapstack makes 20,000 short connections (200 at a time, 100 B each) to a
#      kernel echo server (echo_load.py serve) within 60 s, every one echoed: more than the
#      16,384 ephemeral ports, so TIME-WAIT must neither count against the socket limit nor
#      keep a 4-tuple from being used again;
#   3. wrk keep-alive against http-hello with 1,000 connections for 5 s: requests served and
#      zero socket errors;
#   4. right after a burst of short connections (ab -n 5000 -c 50), a new connection from a
#      fresh local port connects within 0.5 s;
#   5. after each load, once the clients are done and a short settle, no kernel socket toward
#      the stack is left half-closed (CLOSE-WAIT or FIN-WAIT-2).
# With the asan build (BIN_DIR ending in asan/bin) or TAPSTACK_E2E_SCALE=N, the sizes are
# divided by 10 (or N). Usage: test_many_clients.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_many_clients.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
load=$here/../../bench/many-clients/echo_load.py
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

work=  # set by e2e_setup
e2e_setup many-clients echo-server echo-client http-hello
for tool in wrk ab curl ss; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/deps.sh installs it)"; exit 1; }
done
[[ -f "$load" ]] || { echo "FAIL: no $load"; exit 1; }
py=/usr/bin/python3
[[ -x $py ]] || py=$(command -v python3)

scale=1
[[ "${bin%/}" == */asan/bin ]] && scale=10
scale=${TAPSTACK_E2E_SCALE:-$scale}
small_clients=$((2000 / scale))
large_clients=$((200 / scale))
short_count=$((20000 / scale))
wrk_connections=$((1000 / scale))
ab_requests=$((5000 / scale))
echo "     sizes (1/$scale): $small_clients x 1 KiB, $large_clients x 256 KiB, $short_count short," \
    "wrk $wrk_connections connections, ab -n $ab_requests"

# One client process holds every connection (and wrk its 1,000): the soft limit goes up to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
(($(ulimit -n) >= small_clients + 256)) || { echo "FAIL: RLIMIT_NOFILE $(ulimit -n) too small"; exit 1; }

ns=$(netns_name manycl)
net=10.99.61
host_ip=$net.1
stack_ip=$net.2
# The kernel side keeps its address; each program in turn attaches to the same TAP.
netns_create "$ns" tap0 "$host_ip/24" || { echo "FAIL: cannot create namespace $ns"; exit 1; }

start() {  # start LOG PROGRAM ARGS...: a tapstack program on tap0, waits for its ready line
    local log=$1 program=$2
    shift 2
    netns_spawn "$ns" "$log" "$bin/$program" --tap tap0 --ip "$stack_ip/24" "$@"
    if ! netns_wait_for "$log" '^ready ' 20; then
        echo "FAIL: $program did not print its ready line"
        cat "$log"
        exit 1
    fi
}

# no_half_closed: waits up to 3 s until the kernel has no socket toward the stack in
# CLOSE-WAIT or FIN-WAIT-2 (one side's FIN was acknowledged, the other side's never came);
# prints the ones left.
no_half_closed() {
    local i out
    for ((i = 0; i < 30; i++)); do
        out=$(ip netns exec "$ns" ss -tanH state close-wait state fin-wait-2 "( dst $stack_ip )" 2>&1)
        [[ -z "$out" ]] && return 0
        sleep 0.1
    done
    echo "  $(wc -l <<<"$out") half-closed kernel socket(s) toward $stack_ip, e.g.:"
    head -5 <<<"$out" | sed 's/^/    /'
    return 1
}

# --- 1. echo-server, kernel crowds: many small, then fewer large
start "$work/echo-server.log" echo-server --stats --seed 61
server=$NETNS_LAST_PID

crowd() {  # crowd N BYTES: every one of N clients gets its BYTES back exactly
    local n=$1 bytes=$2 res out=$work/crowd-$1x$2.json
    timeout 150 ip netns exec "$ns" "$py" "$load" crowd "$stack_ip" 7 "$n" "$bytes" \
        --connect-timeout 30 --io-timeout 90 --label "e2e-$n-x-$bytes" >"$out" 2>"$work/crowd-$n.err"
    res=$(tail -1 "$out")
    [[ -n "$res" ]] || { echo "  no result (killed?):"; tail -5 "$work/crowd-$n.err"; return 1; }
    "$py" - "$n" "$res" <<'PY'
import json, sys
n, r = int(sys.argv[1]), json.loads(sys.argv[2])
c = r["counts"]
print(f"     {c['ok']} of {r['clients']} ok, {r['connected_at_once']} connected at once, "
      f"connect {r['connect_phase_s']} s, echo {r['echo_phase_s']} s")
if c["ok"] != n or r["clients"] != n:
    print("  outcomes:", json.dumps({k: r[k] for k in ("counts", "failed_in_phase", "eof_no_data", "first_other")}))
    sys.exit(1)
PY
}
check "$small_clients concurrent kernel clients x 1 KiB: every byte echoed" crowd "$small_clients" 1024
check "$large_clients concurrent kernel clients x 256 KiB: every byte echoed" crowd "$large_clients" 262144
check "echo crowds: no kernel socket left half-closed" no_half_closed
check "echo-server is still running" kill -0 "$server"
netns_stop "$server" TERM
status=$?
check "echo-server exits 0 on SIGTERM" test "$status" -eq 0
opened=$(grep -oE '[0-9]+ passive connection openings' "$work/echo-server.log" | tail -1 | cut -d' ' -f1)
check "echo-server counted $((small_clients + large_clients)) passive opens (saw ${opened:-none})" \
    test "${opened:-0}" -eq $((small_clients + large_clients))

# --- 2. echo-client on tapstack: many short connections to a kernel echo server
netns_spawn "$ns" "$work/kernel-echo.log" "$py" "$load" serve "$host_ip" 7
kecho=$NETNS_LAST_PID
netns_wait_for "$work/kernel-echo.log" '^ready' 10 || { echo "FAIL: the kernel echo server did not start"; cat "$work/kernel-echo.log"; exit 1; }

short() {
    local t0=$SECONDS status took secs
    timeout 120 ip netns exec "$ns" "$bin/echo-client" --tap tap0 --ip "$stack_ip/24" --connect "$host_ip:7" \
        --count "$short_count" --concurrency 200 --bytes 100 --seed 62 >"$work/echo-client.log" 2>&1
    status=$?
    took=$((SECONDS - t0))
    grep '^summary:' "$work/echo-client.log" | sed 's/^/     /'
    echo "     echo-client exit $status after $took s"
    [[ $status -eq 0 ]] || { echo "  echo-client failed:"; grep -m5 '^echo-client:' "$work/echo-client.log"; return 1; }
    grep -q " connections=$short_count ok=$short_count failures=0 bytes_sent=$((short_count * 100)) bytes_echoed=$((short_count * 100)) " \
        "$work/echo-client.log" || { echo "  unexpected summary:"; tail -5 "$work/echo-client.log"; return 1; }
    secs=$(grep -oE ' seconds=[0-9.]+' "$work/echo-client.log" | cut -d= -f2)
    awk -v s="${secs:-999}" 'BEGIN { exit !(s <= 60) }' || { echo "  took ${secs:-?} s, more than 60"; return 1; }
}
check "echo-client: $short_count short connections (200 at a time, 100 B) to a kernel echo server, all echoed within 60 s" short
check "short connections: no kernel socket left half-closed" no_half_closed
netns_stop "$kecho" TERM

# --- 3. and 4. http-hello: wrk keep-alive, then ab's burst and a connect right after it
start "$work/http-hello.log" http-hello --port 80 --seed 63
hello=$NETNS_LAST_PID
url=http://$stack_ip/

keep_alive() {
    # wrk's own timeout (2 s by default) counts slow answers as socket errors: on a loaded
    # machine and a debug build it is raised, the check is about errors, not latency.
    local out=$work/wrk.txt requests
    timeout 60 ip netns exec "$ns" wrk -t2 -c"$wrk_connections" -d5s --timeout 10s "$url" >"$out" 2>&1
    grep -E 'requests in|Requests/sec|Socket errors|Non-2xx' "$out" | sed 's/^ */     /'
    requests=$(grep -oE '^ *[0-9]+ requests in' "$out" | grep -oE '[0-9]+')
    [[ ${requests:-0} -gt 0 ]] || { echo "  no requests counted:"; cat "$out"; return 1; }
    ! grep -qE 'Socket errors|Non-2xx' "$out" || { echo "  wrk saw errors"; return 1; }
}
check "wrk keep-alive, $wrk_connections connections for 5 s: requests served, zero socket errors" keep_alive
check "wrk: no kernel socket left half-closed" no_half_closed

burst() {
    local out=$work/ab.txt t
    timeout 120 ip netns exec "$ns" ab -q -n "$ab_requests" -c 50 "$url" >"$out" 2>&1 ||
        { echo "  ab failed:"; tail -5 "$out"; return 1; }
    grep -E '^(Complete|Failed) requests|^Time taken' "$out" | sed 's/^/     /'
    if ! grep -qE "^Complete requests: +$ab_requests\$" "$out" || ! grep -qE '^Failed requests: +0$' "$out"; then
        echo "  ab did not complete every request"
        return 1
    fi
    # A local port outside the kernel's ephemeral range, which ab never used: a new 4-tuple
    # (one ab used may meet its own TIME-WAIT, which a new SYN may end at once, RFC 6191).
    t=$(ip netns exec "$ns" curl -s -o /dev/null --max-time 20 --local-port 20001 -w '%{time_connect}' "$url") ||
        { echo "  curl failed after the burst (connect time ${t:-none})"; return 1; }
    echo "     connect right after the burst: $t s"
    awk -v t="$t" 'BEGIN { exit !(t < 0.5) }'
}
check "ab -n $ab_requests -c 50, then a new connection connects within 0.5 s" burst
check "ab: no kernel socket left half-closed" no_half_closed

check "http-hello is still running" kill -0 "$hello"
netns_stop "$hello" TERM
status=$?
check "http-hello exits 0 on SIGTERM" test "$status" -eq 0

show_logs() {
    local f
    for f in echo-server.log echo-client.log http-hello.log; do
        echo "--- $f"
        tail -30 "$work/$f" 2>/dev/null
    done
}
e2e_finish show_logs
