#!/bin/bash
# trace.sh TESTS WRAPPER... : one echo-server (BIN/echo-server, extra args ES_ARGS) in a private
# namespace rtt-tr, peer-bench TESTS against it; echo-server's output (--stats) to ES_LOG.
tests=$1; shift
source /tmp/rttkit/netns-lib.sh
nslib_trap
nslib_tap_up rtt-tr rtttr0 >/dev/null
bin=${BIN:?}
nslib_bg rtt-tr "$@" $bin/echo-server --tap rtttr0 --ip 10.77.0.2/24 ${ES_ARGS:-} > ${ES_LOG:-/dev/null} 2>&1; pid=$NSLIB_LAST_PID
for i in $(seq 1 50); do ip netns exec rtt-tr /tmp/rttkit/peer-bench client 10.77.0.2 --tests conn --conns 1 --timeout 1 2>/dev/null | grep -q '"conn_ok":1' && break; sleep 0.1; done
ip netns exec rtt-tr /tmp/rttkit/peer-bench client 10.77.0.2 --tests $tests --rtt ${RTT:-5000} --conns ${CONNS:-1000} --mib ${MIB:-16} --udp 5000 --timeout 20
echo
# stop what we started: the wrapper's (strace's) children and grandchildren, then it
for c in $(pgrep -P $pid); do for g in $(pgrep -P $c); do kill -INT $g; done; kill -INT $c; done; sleep 1; kill -INT $pid 2>/dev/null; wait $pid
