#!/bin/bash
# run2.sh OUTDIR ROUNDS : tap-null, base (HEAD before this session), new with --offload off
out=$1; rounds=${2:-3}
TARGETS=tap-null MIB=${MIB:-32} RTT=${RTT:-10000} CONNS=${CONNS:-2000} UDP=${UDP:-10000} \
BASESTACK_CMD="/tmp/prfkit/bin-base/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19" \
NEWSTACK_CMD="/tmp/prfkit/bin-new/echo-server --tap {TAP} --ip 10.77.0.2/24 --port 7 --discard-port 9 --chargen-port 19 --offload off" \
timeout 1500 bash /tmp/prfkit/run-anchors.sh "$rounds" "$out" 2>&1 | tail -9
