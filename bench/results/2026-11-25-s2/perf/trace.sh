#!/bin/bash
# trace.sh TESTS WRAPPER... : one echo-server in a private namespace, peer-bench TESTS against it
tests=$1; shift
source /tmp/prfkit/netns-lib.sh
nslib_trap
nslib_tap_up prf-tr prftr0 >/dev/null
bin=${BIN:-/work/main/build/h-perf/bin}
nslib_bg prf-tr "$@" $bin/echo-server --tap prftr0 --ip 10.77.0.2/24 ; pid=$NSLIB_LAST_PID
for i in $(seq 1 50); do ip netns exec prf-tr /tmp/prfkit/peer-bench client 10.77.0.2 --tests conn --conns 1 --timeout 1 2>/dev/null | grep -q '"conn_ok":1' && break; sleep 0.1; done
ip netns exec prf-tr /tmp/prfkit/peer-bench client 10.77.0.2 --tests $tests --rtt ${RTT:-5000} --conns ${CONNS:-1000} --mib 16 --udp 5000 --timeout 20
echo
for c in $(pgrep -P $pid); do for g in $(pgrep -P $c); do kill -INT $g; done; kill -INT $c; done; sleep 1; wait $pid
