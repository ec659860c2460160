#!/usr/bin/env bash
# 1,000 concurrent kernel clients (python3 asyncio) against echo-server's TCP echo on one
# listener: all 1,000 connections are open at the same time, then each sends its own message
# and must get exactly that back. echo-server runs with raised limits (--max-connections) and
# small buffers (--tcp-buffer, their maximum). Usage: test_tcp_concurrent.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_tcp_concurrent.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup tcp-concurrent echo-server

ns=$(netns_name tcpconc)

net=10.99.51
stack_ip=$net.2
clients=${TAPSTACK_CONCURRENT_CLIENTS:-1000}

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
netns_spawn "$ns" "$work/server.log" "$bin/echo-server" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --max-connections 2048 --tcp-buffer 16384 --seed 51 --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: echo-server did not print its ready line"
    cat "$work/server.log"
    exit 1
fi

concurrent() {
    ulimit -n 8192
    timeout 150 ip netns exec "$ns" /usr/bin/python3 - "$stack_ip" "$clients" <<'PY'
import asyncio, os, sys, time
host, n = sys.argv[1], int(sys.argv[2])

async def main():
    t0 = time.monotonic()
    conns = await asyncio.gather(*(asyncio.wait_for(asyncio.open_connection(host, 7), 60) for _ in range(n)),
                                 return_exceptions=True)
    failed = [c for c in conns if isinstance(c, BaseException)]
    if failed:
        print(f"  {len(failed)} of {n} connects failed, e.g. {failed[0]!r}")
        return 1
    t1 = time.monotonic()
    print(f"     {n} connections open at once after {t1 - t0:.2f} s")

    async def exchange(i, reader, writer):
        msg = f"client {i:04d} ".encode() + os.urandom(1000 + i % 500)
        writer.write(msg)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(len(msg)), 60)
        writer.close()
        await writer.wait_closed()
        return got == msg

    results = await asyncio.gather(*(exchange(i, r, w) for i, (r, w) in enumerate(conns)), return_exceptions=True)
    good = sum(1 for r in results if r is True)
    errors = [r for r in results if isinstance(r, BaseException)]
    print(f"     {good} of {n} echoed exactly, in {time.monotonic() - t1:.2f} s")
    if errors:
        print(f"  {len(errors)} failed, e.g. {errors[0]!r}")
    return 0 if good == n else 1

sys.exit(asyncio.run(main()))
PY
}
check "$clients concurrent kernel clients on one listener all get their bytes back" concurrent

after() {  # the server still serves one more client after the crowd
    local got
    got=$(printf 'still here\n' | timeout 10 ip netns exec "$ns" socat -T 5 - "TCP:$stack_ip:7,connect-timeout=5")
    [[ "$got" == "still here" ]] || { echo "  got '$got'"; return 1; }
}
check "echo still works afterwards" after

netns_stop "$server" TERM
status=$?
check "echo-server exits 0 on SIGTERM" test "$status" -eq 0
opened=$(grep -oE '[0-9]+ passive connection openings' "$work/server.log" | tail -1 | cut -d' ' -f1)
check "the stack counted at least $((clients + 1)) passive opens (saw ${opened:-none})" test "${opened:-0}" -ge $((clients + 1))

show_logs() {
    echo "--- echo-server log"
    tail -40 "$work/server.log"
}
e2e_finish show_logs
