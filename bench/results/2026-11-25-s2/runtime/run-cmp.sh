#!/bin/bash
# run-cmp.sh OUTDIR ROUNDS : interleaved rounds of kernel-veth, tap-null, tap-null-offload,
# "basestack" = echo-server built from HEAD ec25a35 (before), "newstack" = HEAD + this change
out=$1; rounds=${2:-3}
TARGETS="kernel-veth tap-null tap-null-offload" MIB=${MIB:-256} RTT=${RTT:-10000} CONNS=${CONNS:-2000} UDP=${UDP:-10000} \
BASESTACK_CMD="/tmp/rttkit/bin-before/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19" \
NEWSTACK_CMD="/tmp/rttkit/bin-rtc/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19" \
timeout 1700 bash /tmp/rttkit/run-anchors.sh "$rounds" "$out"
