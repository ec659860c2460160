#!/usr/bin/env bash
# scripts/demo.sh [--keep] -- builds echo-server (release), starts it on a TAP device inside a
# fresh network namespace, and talks to it from the kernel's side: ping, UDP echo, TCP echo,
# daytime and chargen.
# --keep leaves the namespace and the server running and prints how to reach and remove them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h | --help) echo "usage: scripts/demo.sh [--keep]"; exit 0 ;;
        *) echo "demo.sh: unknown option '$arg' (usage: scripts/demo.sh [--keep])" >&2; exit 2 ;;
    esac
done

source "$root/scripts/netns.sh"
if ! netns_available; then
    echo "demo.sh: needs root, iproute2 and /dev/net/tun (it creates a network namespace)" >&2
    exit 1
fi

echo "== building echo-server (release)"
bash "$root/scripts/build.sh" release --target echo-server
server_bin=$root/build/release/bin/echo-server

ns=$(netns_name demo)
host_ip=10.99.0.1
stack_ip=10.99.0.2
log=$(mktemp "${TMPDIR:-/tmp}/tapstack-demo.XXXXXX.log")
pcap=${log%.log}.pcap
netns_trap

echo "== namespace $ns with tap0; kernel side $host_ip/24, tapstack $stack_ip/24"
netns_create "$ns" tap0
netns_spawn "$ns" "$log" "$server_bin" --tap tap0 --ip "$stack_ip/24" --host-ip "$host_ip/24" --pcap "$pcap" --stats
server=$NETNS_LAST_PID
if ! netns_wait_for "$log" '^ready ' 10; then
    echo "echo-server did not start:" >&2
    cat "$log" >&2
    exit 1
fi
grep '^ready ' "$log"

echo
echo "== ping -c 3 $stack_ip"
netns_exec "$ns" ping -c 3 -i 0.3 -W 2 "$stack_ip"

echo
echo "== UDP echo (port 7) with socat"
reply=$(printf 'hello over UDP\n' | netns_exec "$ns" socat -T 3 -t 3 - "UDP:$stack_ip:7")
echo "sent: hello over UDP"
echo "got:  $reply"
[[ "$reply" == "hello over UDP" ]] || { echo "UDP echo FAILED" >&2; exit 1; }

echo
echo "== TCP echo (port 7) with socat"
tcp_reply=$(printf 'hello over TCP\n' | timeout 10 ip netns exec "$ns" socat -T 3 - "TCP:$stack_ip:7,connect-timeout=3" 2>&1) || true
echo "sent: hello over TCP"
echo "got:  $tcp_reply"
[[ "$tcp_reply" == "hello over TCP" ]] || { echo "TCP echo FAILED" >&2; exit 1; }

echo
echo "== TCP daytime (port 13): the server sends the time and closes first"
netns_exec "$ns" socat -T 3 - "TCP:$stack_ip:13,connect-timeout=3" </dev/null || { echo "TCP daytime FAILED" >&2; exit 1; }

echo
echo "== TCP chargen (port 19): the first 3 lines"
timeout 5 ip netns exec "$ns" socat -T 3 -u "TCP:$stack_ip:19,connect-timeout=3" - 2>/dev/null | head -3 || true

if ((keep)); then
    trap - EXIT INT TERM
    cat <<MSG

== left running (--keep)
echo-server PID $server in namespace $ns, log $log, capture $pcap
talk to it:
    ip netns exec $ns ping $stack_ip
    ip netns exec $ns socat - UDP:$stack_ip:7
    ip netns exec $ns socat - TCP:$stack_ip:7
    ip netns exec $ns socat - TCP:$stack_ip:13     # daytime
    ip netns exec $ns tcpdump -ni tap0
    kill -USR1 $server       # print the stack's counters to $log
tear it down:
    kill $server; ip netns del $ns
MSG
    exit 0
fi

echo
echo "== stopping (SIGTERM)"
netns_stop "$server" TERM
echo "counters printed by echo-server --stats:"
sed -n '/^ready /,$p' "$log" | tail -n +2
echo "capture: $pcap ($(tshark -r "$pcap" 2>/dev/null | wc -l) frames)"
