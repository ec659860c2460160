#!/usr/bin/env bash
# run-anchors.sh -- build the anchor tools and measure every anchor, interleaved, RUNS rounds.
#
# Usage (as root, from anywhere):
#   bash ../shared/bench-anchors/run-anchors.sh [RUNS] [OUTDIR]          # default RUNS=3, OUTDIR=results/latest beside the script
# Environment knobs (all optional):
#   MIB=256 RTT=20000 CONNS=2000 UDP=20000   peer-bench counts per run
#   TARGETS="kernel-veth iperf3-veth tap-null tap-null-offload lwip tap-raw"   which anchors to run
#   NEWSTACK_CMD='build/stack --tap {TAP}'   adds target "newstack": the command is started inside the
#                                            TAP namespace exactly like lwip-tap-server ({TAP} is replaced
#                                            by the TAP name; it must claim 10.77.0.2/24 and serve TCP echo 7,
#                                            discard 9, [source 19], UDP echo 7) and measured in the same rounds.
# Output: OUTDIR/raw.jsonl (one JSON line per measurement) and OUTDIR/summary.md (medians), also printed.
#
# Topology (netns-lib.sh): rtt-va 10.78.0.1 <-veth-> rtt-vb 10.78.0.2 (kernel<->kernel),
#                          rtt-tap: TAP rtttap0, kernel 10.77.0.1/24, stack under test 10.77.0.2.
# Every run is bounded (per-test timeouts in peer-bench + `timeout` around each step); all namespaces,
# devices and background processes are removed by the EXIT trap.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
RUNS=${1:-3}
OUT=${2:-results/latest}
MIB=${MIB:-256}; RTT=${RTT:-20000}; CONNS=${CONNS:-2000}; UDP=${UDP:-20000}
TARGETS=${TARGETS:-"kernel-veth iperf3-veth tap-null tap-null-offload lwip tap-raw"}
[ -n "${BASESTACK_CMD:-}" ] && TARGETS="$TARGETS basestack"
[ -n "${NEWSTACK_CMD:-}" ] && TARGETS="$TARGETS newstack"
mkdir -p "$OUT"
RAW="$OUT/raw.jsonl"
: > "$RAW"

source ./netns-lib.sh
nslib_trap

echo "== build"
gcc -O2 -Wall -o peer-bench peer-bench.c || exit 1
gcc -O2 -Wall -o tap-loop tap-loop.c || exit 1
gcc -O2 -Wall $(pkg-config --cflags lwip) -o lwip-tap-server lwip-tap-server.c $(pkg-config --libs lwip) -lpthread -rdynamic || exit 1

echo "== topology"
nslib_veth_up rtt-va rtt-vb || exit 1
nslib_tap_up rtt-tap rtttap0 || exit 1
for ns in rtt-va rtt-tap; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1; done

PB="./peer-bench client"
PBARGS="--mib $MIB --rtt $RTT --conns $CONNS --udp $UDP --timeout 20"

emit() {  # emit TARGET RUN JSON : tag a JSON object line and append it to raw.jsonl
  local t=$1 r=$2 j=$3
  [ -z "$j" ] && j='{}'
  echo "{\"target\":\"$t\",\"run\":$r,${j#\{}" | tee -a "$RAW"
}

wait_ready() {  # wait_ready NS ADDR : until a TCP connect to ADDR:7 works (max ~5 s)
  local i
  for i in $(seq 1 50); do
    ip netns exec "$1" ./peer-bench client "$2" --tests conn --conns 1 --timeout 1 2>/dev/null | grep -q '"conn_ok":1' && return 0
    sleep 0.1
  done
  echo "server at $2 did not come up" >&2; return 1
}

fresh_tap() {  # recreate the TAP (flushes neighbours / offload state left by the previous target)
  nslib_tap_add rtt-tap rtttap0
}

run_target() {  # run_target TARGET RUN
  local t=$1 r=$2 j pid
  case "$t" in
    kernel-veth)
      nslib_bg rtt-vb ./peer-bench serve 10.78.0.2; pid=$NSLIB_LAST_PID
      wait_ready rtt-va 10.78.0.2
      j=$(timeout 150 ip netns exec rtt-va $PB 10.78.0.2 $PBARGS --label "$t")
      emit "$t" "$r" "$j"
      nslib_stop_pid "$pid" ;;
    iperf3-veth)
      local fwd rev
      nslib_bg rtt-vb iperf3 -s -B 10.78.0.2 -p 5201 -1 >/dev/null; pid=$NSLIB_LAST_PID; sleep 0.3
      fwd=$(timeout 30 ip netns exec rtt-va iperf3 -c 10.78.0.2 -p 5201 -t 4 -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null)
      nslib_stop_pid "$pid"
      nslib_bg rtt-vb iperf3 -s -B 10.78.0.2 -p 5201 -1 >/dev/null; pid=$NSLIB_LAST_PID; sleep 0.3
      rev=$(timeout 30 ip netns exec rtt-va iperf3 -c 10.78.0.2 -p 5201 -t 4 -R -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null)
      nslib_stop_pid "$pid"
      emit "$t" "$r" "{\"bulk_gbps\":${fwd:-null},\"sink_gbps\":${rev:-null}}" ;;
    tap-null|tap-null-offload)
      fresh_tap
      ip -n rtt-tap neigh replace 10.77.0.2 lladdr 02:00:00:77:00:02 dev rtttap0 nud permanent
      local opt=""; [ "$t" = tap-null-offload ] && opt=--offload
      nslib_bg rtt-tap ./tap-loop rtttap0 stack $opt --seconds 170 > "$OUT/.tap-loop.json"; pid=$NSLIB_LAST_PID
      wait_ready rtt-tap 10.77.0.2
      j=$(timeout 150 ip netns exec rtt-tap $PB 10.77.0.2 $PBARGS --tests bulk,rtt,conn,udp --label "$t")
      nslib_stop_pid "$pid"
      emit "$t" "$r" "$j"
      emit "$t-loopstats" "$r" "$(cat "$OUT/.tap-loop.json")" ;;
    lwip)
      fresh_tap
      nslib_bg rtt-tap ./lwip-tap-server rtttap0 170; pid=$NSLIB_LAST_PID
      wait_ready rtt-tap 10.77.0.2
      j=$(timeout 150 ip netns exec rtt-tap $PB 10.77.0.2 $PBARGS --label "$t")
      emit "$t" "$r" "$j"
      nslib_stop_pid "$pid" ;;
    newstack)
      fresh_tap
      nslib_bg rtt-tap bash -c "exec ${NEWSTACK_CMD//\{TAP\}/rtttap0}"; pid=$NSLIB_LAST_PID
      wait_ready rtt-tap 10.77.0.2
      j=$(timeout 150 ip netns exec rtt-tap $PB 10.77.0.2 $PBARGS --label "$t")
      emit "$t" "$r" "$j"
      nslib_stop_pid "$pid" ;;
    basestack)
      fresh_tap
      nslib_bg rtt-tap bash -c "exec ${BASESTACK_CMD//\{TAP\}/rtttap0}"; pid=$NSLIB_LAST_PID
      wait_ready rtt-tap 10.77.0.2
      j=$(timeout 150 ip netns exec rtt-tap $PB 10.77.0.2 $PBARGS --label "$t")
      emit "$t" "$r" "$j"
      nslib_stop_pid "$pid" ;;
    tap-raw)
      # kernel -> TAP reader: UDP flood (1472-byte and 18-byte payloads = 1514/60-byte frames), count only
      local sz f
      for sz in 1472 18; do
        fresh_tap
        ip -n rtt-tap neigh replace 10.77.0.2 lladdr 02:00:00:77:00:02 dev rtttap0 nud permanent
        nslib_bg rtt-tap ./tap-loop rtttap0 count --seconds 20 > "$OUT/.tap-count.json"; pid=$NSLIB_LAST_PID
        sleep 0.3
        f=$(timeout 30 ip netns exec rtt-tap ./peer-bench udpflood 10.77.0.2 9 2000000 $sz 5)
        wait "$pid" 2>/dev/null; nslib_forget "$pid"
        emit "tap-raw-rx-$sz" "$r" "$(cat "$OUT/.tap-count.json")"
        emit "tap-raw-rx-$sz-sender" "$r" "$f"
      done
      # TAP writer -> kernel: prebuilt UDP frames to 10.77.0.1:9 (no listener; kernel drops them)
      for sz in 1472 18; do
        fresh_tap
        emit "tap-raw-tx-$sz" "$r" "$(timeout 30 ip netns exec rtt-tap ./tap-loop rtttap0 tx --frames 1000000 --size $sz --seconds 5)"
      done ;;
  esac
}

for r in $(seq 1 "$RUNS"); do
  for t in $TARGETS; do
    echo "== run $r/$RUNS: $t" >&2
    run_target "$t" "$r"
  done
done
rm -f "$OUT/.tap-loop.json" "$OUT/.tap-count.json"

python3 - "$RAW" > "$OUT/summary.md" <<'EOF'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(t, k):
    v = [r[k] for r in rows if r.get("target") == t and isinstance(r.get(k), (int, float))]
    return (statistics.median(v), len(v)) if v else (None, 0)
def f(x, nd=2):
    return "-" if x[0] is None else f"{x[0]:.{nd}f} (n={x[1]})"
targets = []
for r in rows:
    if r["target"] not in targets: targets.append(r["target"])
print("| target | bulk send Gbit/s | sink Gbit/s | TCP RTT p50/p99 us | conn/s | UDP RTT p50/p99 us |")
print("|---|---|---|---|---|---|")
for t in targets:
    if t.startswith("tap-raw") or t.endswith("loopstats"): continue
    p50, p99, u50, u99 = med(t,"tcp_rtt_p50_us"), med(t,"tcp_rtt_p99_us"), med(t,"udp_rtt_p50_us"), med(t,"udp_rtt_p99_us")
    rtt = "-" if p50[0] is None else f"{p50[0]:.1f} / {p99[0]:.1f}"
    urtt = "-" if u50[0] is None else f"{u50[0]:.1f} / {u99[0]:.1f}"
    c = med(t, "conn_per_s")
    print(f"| {t} | {f(med(t,'bulk_gbps'))} | {f(med(t,'sink_gbps'))} | {rtt} | {'-' if c[0] is None else f'{c[0]:.0f}'} | {urtt} |")
print()
print("| raw TAP loop | frames/s | Gbit/s (frame bytes) | runs |")
print("|---|---|---|---|")
for t in targets:
    if t.startswith("tap-raw") and not t.endswith("sender"):
        fps = med(t, "rx_fps") if "rx" in t else med(t, "fps")
        g = med(t, "rx_gbps") if "rx" in t else med(t, "gbps")
        print(f"| {t} | {fps[0]:.0f} | {g[0]:.2f} | {fps[1]} |" if fps[0] else f"| {t} | - | - | 0 |")
for t in targets:
    if t.endswith("loopstats"):
        print(f"\n{t}: max frame {med(t,'rx_max_frame')[0]}, frames>1514 {med(t,'rx_frames_gt_1514')[0]}, GSO frames {med(t,'rx_gso')[0]} (median per run)")
EOF
echo
cat "$OUT/summary.md"
