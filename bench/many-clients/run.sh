#!/usr/bin/env bash
# Many clients at once, tapstack against Linux in one run (issue 14). Needs root (network
# namespaces), a release build (build/release/bin: echo-server, echo-client, http-hello) and
# installs wrk, nginx-light, apache2-utils, curl, python3 if missing. Every step is bounded in
# time; every namespace and process it starts goes on exit. See README.md for the figures.
#
#     sudo bash bench/many-clients/run.sh                 # full size
#     SMALL_CLIENTS=1000 LARGE_CLIENTS=100 WRK_SECONDS=5 bash bench/many-clients/run.sh
#
# Knobs (environment): BIN, OUT, STEPS, SMALL_CLIENTS, SMALL_BYTES, LARGE_CLIENTS, LARGE_BYTES,
# CONNECT_TIMEOUT, IO_TIMEOUT, CLIENT_TIMEOUT, WRK_CONNECTIONS, WRK_SECONDS, WRK_THREADS,
# SHORT_COUNT, SHORT_CONCURRENCY, SHORT_BYTES, BURST_REQUESTS, BURST_CONCURRENCY, BURST_PROBES,
# BURST_PROBE_PORT.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/netns.sh"

BIN=${BIN:-$root/build/release/bin}
STEPS=${STEPS:-"echo-small echo-large wrk echo-client burst"}
SMALL_CLIENTS=${SMALL_CLIENTS:-10000}
SMALL_BYTES=${SMALL_BYTES:-1024}
LARGE_CLIENTS=${LARGE_CLIENTS:-1000}
LARGE_BYTES=${LARGE_BYTES:-262144}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-30}  # per client connect, s
IO_TIMEOUT=${IO_TIMEOUT:-90}  # per client echo, s
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}  # a whole client run, s
WRK_CONNECTIONS=${WRK_CONNECTIONS:-"10 100 1000"}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_THREADS=${WRK_THREADS:-2}
SHORT_COUNT=${SHORT_COUNT:-20000}
SHORT_CONCURRENCY=${SHORT_CONCURRENCY:-200}
SHORT_BYTES=${SHORT_BYTES:-100}
BURST_REQUESTS=${BURST_REQUESTS:-5000}
BURST_CONCURRENCY=${BURST_CONCURRENCY:-50}
BURST_PROBES=${BURST_PROBES:-5}
BURST_PROBE_PORT=${BURST_PROBE_PORT:-20000}  # probes use local ports from here up
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo nogit)
OUT=${OUT:-$root/bench/results/$(date -u +%Y%m%d-%H%M)-$commit-many-clients}

die() {
    echo "many-clients: $*" >&2
    exit 1
}
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# --- preconditions and packages (the pattern of scripts/deps.sh: dpkg-query, then apt-get)
netns_available || die "needs root, iproute2 and /dev/net/tun"
for p in echo-server echo-client http-hello; do [[ -x "$BIN/$p" ]] || die "no $BIN/$p (build the release preset)"; done
bench_deps() {
    local packages=(wrk nginx-light apache2-utils curl python3 procps) missing=() p status
    for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    # nginx's package would start a system nginx: this benchmark runs its own, in a namespace,
    # so services stay down during the install (policy-rc.d, only if there is none already).
    local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=1
    ((made_policy)) && rm -f "$policy"
    return $rc
}
if [[ "${TAPSTACK_SKIP_DEPS:-0}" != 1 ]]; then bench_deps || die "could not install the packages"; fi
py=/usr/bin/python3
[[ -x $py ]] || py=$(command -v python3)
nginx=$(command -v nginx || echo /usr/sbin/nginx)

mkdir -p "$OUT" || die "cannot make $OUT"
results=$OUT/results.jsonl
: >"$results"
work=$(mktemp -d "${TMPDIR:-/tmp}/many-clients.XXXXXX")
netns_trap
trap 'netns_cleanup; rm -rf "$work"' EXIT
# One client process holds every connection: the soft limit goes up to the hard one.
ulimit -n "$(ulimit -Hn)" || die "cannot raise RLIMIT_NOFILE"
need=$((SMALL_CLIENTS > LARGE_CLIENTS ? SMALL_CLIENTS : LARGE_CLIENTS))
(($(ulimit -n) > need + 64)) || die "RLIMIT_NOFILE $(ulimit -n) is too small for $need clients in one process"
log "output in $OUT (nofile $(ulimit -n))"

# The network: namespace "cl" holds the clients and the TAP (kernel 10.99.71.1, tapstack
# .2); namespace "lx" is the Linux anchor, reached from "cl" over a veth (10.99.72.1 -> .2).
tap_host=10.99.71.1
tap_stack=10.99.71.2
veth_cl=10.99.72.1
veth_lx=10.99.72.2
cl= lx=
net_up() {
    cl=$(netns_name mc-cl)
    lx=$(netns_name mc-lx)
    netns_create "$cl" tap0 "$tap_host/24" || die "cannot create namespace $cl"
    ip netns add "$lx" || die "cannot create namespace $lx"
    NETNS_NAMES+=("$lx")
    ip -n "$lx" link set lo up
    ip -n "$cl" link add vcl type veth peer name vlx netns "$lx" || die "cannot make the veth pair"
    ip -n "$cl" addr add "$veth_cl/24" dev vcl
    ip -n "$lx" addr add "$veth_lx/24" dev vlx
    ip -n "$cl" link set vcl up
    ip -n "$lx" link set vlx up
}
net_down() { netns_cleanup; }

emit() { echo "$1" >>"$results"; }  # one JSON object per line
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# kernel_tcp_bytes NS: the TCP buffer memory the kernel holds for NS's sockets, bytes: the sum
# over its sockets of rmem_alloc + wmem_queued + fwd_alloc (ss -m: skmem r, w, f).
kernel_tcp_bytes() {
    ip netns exec "$1" ss -tmnaH 2>/dev/null | awk '{
        if (match($0, /skmem:\([^)]*\)/)) {
            n = split(substr($0, RSTART + 7, RLENGTH - 8), f, ",")
            for (i = 1; i <= n; i++) {
                if (f[i] ~ /^r[0-9]/) s += substr(f[i], 2)
                else if (f[i] ~ /^w[0-9]/) s += substr(f[i], 2)
                else if (f[i] ~ /^f[0-9]/) s += substr(f[i], 2)
            }
        }
    } END { print s + 0 }'
}

# sample_kernel_mem NS FILE: kernel_tcp_bytes NS every 0.5 s, the highest so far in FILE.
# Prints the sampler's PID.
sample_kernel_mem() {
    local ns=$1 file=$2
    (
        peak=0
        while :; do
            v=$(kernel_tcp_bytes "$ns")
            ((v > peak)) && peak=$v && echo "$peak" >"$file"
            sleep 0.5
        done
    ) >/dev/null 2>&1 &
    echo $!
}

# --- echo: N concurrent clients, BYTES each, against tapstack and against Linux
client_crowd() {  # client_crowd LABEL HOST N BYTES -> JSON on stdout
    timeout "$CLIENT_TIMEOUT" ip netns exec "$cl" "$py" "$here/echo_load.py" crowd "$2" 7 "$3" "$4" \
        --connect-timeout "$CONNECT_TIMEOUT" --io-timeout "$IO_TIMEOUT" --label "$1" 2>"$work/client-$1.err" |
        tail -1
}
echo_round() {  # echo_round FIGURE N BYTES
    local figure=$1 n=$2 bytes=$3 pid base hwm res stats kbase kpeak sampler
    net_up
    log "$figure: tapstack echo-server, $n clients x $bytes B"
    netns_spawn "$cl" "$work/$figure-server.log" "$BIN/echo-server" --tap tap0 --ip "$tap_stack/24" --stats
    pid=$NETNS_LAST_PID
    netns_wait_for "$work/$figure-server.log" '^ready ' 10 || die "echo-server did not start: $(cat "$work/$figure-server.log")"
    base=$(kib "$pid" VmRSS)
    res=$(client_crowd "$figure-tapstack" "$tap_stack" "$n" "$bytes")
    hwm=$(kib "$pid" VmHWM)
    netns_stop "$pid" TERM
    cp "$work/$figure-server.log" "$OUT/$figure-tapstack-server.log"
    stats=$("$py" "$here/summarize.py" --stats-json "$work/$figure-server.log")
    [[ -n "$res" ]] || res='{"killed": true}'
    emit "{\"figure\": \"$figure\", \"target\": \"tapstack\", \"clients\": $n, \"bytes_each\": $bytes, \"server_base_rss_kib\": $base, \"server_peak_rss_kib\": $hwm, \"server_stats\": $stats, \"client\": $res}"
    log "$figure: tapstack done: $(head -c 300 <<<"$res")"

    log "$figure: Linux (python asyncio echo over a veth), $n clients x $bytes B"
    netns_spawn "$lx" "$work/$figure-linux.log" "$py" "$here/echo_load.py" serve "$veth_lx" 7
    pid=$NETNS_LAST_PID
    netns_wait_for "$work/$figure-linux.log" '^ready' 10 || die "the kernel echo server did not start"
    base=$(kib "$pid" VmRSS)
    kbase=$(kernel_tcp_bytes "$lx")
    echo "$kbase" >"$work/kpeak"
    sampler=$(sample_kernel_mem "$lx" "$work/kpeak")
    NETNS_PIDS+=("$sampler")  # stopped on exit too
    res=$(client_crowd "$figure-linux" "$veth_lx" "$n" "$bytes")
    hwm=$(kib "$pid" VmHWM)
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    kpeak=$(cat "$work/kpeak")
    netns_stop "$pid" TERM
    [[ -n "$res" ]] || res='{"killed": true}'
    emit "{\"figure\": \"$figure\", \"target\": \"linux\", \"clients\": $n, \"bytes_each\": $bytes, \"server_base_rss_kib\": $base, \"server_peak_rss_kib\": $hwm, \"kernel_tcp_base_kib\": $((kbase / 1024)), \"kernel_tcp_peak_kib\": $((kpeak / 1024)), \"client\": $res}"
    log "$figure: Linux done: $(head -c 300 <<<"$res")"
    net_down
}

# --- wrk keep-alive: http-hello against nginx (one worker)
nginx_up() {  # nginx_up BODY_BYTES: nginx in "lx" serving a body of that many bytes at /
    local conf=$work/nginx
    mkdir -p "$conf/www" "$conf/tmp"
    head -c "$1" /dev/zero | tr '\0' 'x' >"$conf/www/index.html"
    cat >"$conf/nginx.conf" <<EOF
user root;
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    server_tokens off;
    etag off;
    keepalive_requests 100000000;
    default_type text/html;
    client_body_temp_path $conf/tmp/body;
    proxy_temp_path $conf/tmp/proxy;
    fastcgi_temp_path $conf/tmp/fastcgi;
    uwsgi_temp_path $conf/tmp/uwsgi;
    scgi_temp_path $conf/tmp/scgi;
    server {
        listen $veth_lx:80 backlog=4096;
        root $conf/www;
    }
}
EOF
    netns_spawn "$lx" "$work/nginx.log" "$nginx" -c "$conf/nginx.conf" -p "$conf"
    NGINX_PID=$NETNS_LAST_PID
    local i
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$cl" curl -s -o /dev/null --max-time 1 "http://$veth_lx/" && return 0
        sleep 0.1
    done
    die "nginx did not start: $(cat "$work/nginx.log" "$conf/error.log" 2>/dev/null)"
}
response_size() {  # response_size URL: header + body bytes of one GET
    ip netns exec "$cl" curl -s -o /dev/null --max-time 5 -w '%{size_header} %{size_download}' "$1" |
        awk '{print $1 + $2}'
}
hello_up() {
    netns_spawn "$cl" "$work/http-hello.log" "$BIN/http-hello" --tap tap0 --ip "$tap_stack/24" --port 80
    HELLO_PID=$NETNS_LAST_PID
    netns_wait_for "$work/http-hello.log" '^ready ' 10 || die "http-hello did not start: $(cat "$work/http-hello.log")"
}
# nginx answering with exactly http-hello's response size (headers + body): the header size
# is measured, the body padded to match.
nginx_matched() {
    local want=$1 hdr body
    nginx_up 100
    hdr=$(ip netns exec "$cl" curl -s -o /dev/null --max-time 5 -w '%{size_header}' "http://$veth_lx/")
    body=$((want - hdr))
    head -c "$body" /dev/zero | tr '\0' 'x' >"$work/nginx/www/index.html"
    NGINX_SIZE=$(response_size "http://$veth_lx/")
}
wrk_json() {  # wrk output on stdin -> JSON fields
    "$py" "$here/summarize.py" --wrk-json
}
wrk_step() {
    local c target url out size
    net_up
    hello_up
    size=$(response_size "http://$tap_stack/")
    nginx_matched "$size"
    log "wrk: http-hello response $size B, nginx response $NGINX_SIZE B"
    for c in $WRK_CONNECTIONS; do
        for target in tapstack linux; do
            [[ $target == tapstack ]] && url=http://$tap_stack/ || url=http://$veth_lx/
            local threads=$WRK_THREADS
            ((threads > c)) && threads=$c
            out=$work/wrk-$target-$c.txt
            timeout $((WRK_SECONDS + 30)) ip netns exec "$cl" wrk -t"$threads" -c"$c" -d"${WRK_SECONDS}s" --latency "$url" \
                >"$out" 2>&1
            cp "$out" "$OUT/"
            emit "{\"figure\": \"wrk\", \"target\": \"$target\", \"connections\": $c, \"seconds\": $WRK_SECONDS, \"response_bytes\": $([[ $target == tapstack ]] && echo "$size" || echo "$NGINX_SIZE"), $(wrk_json <"$out")}"
            log "wrk $target c=$c: $(grep -E 'Requests/sec|Socket errors' "$out" | tr '\n' ' ')"
            sleep 2
        done
    done
    kill -0 "$HELLO_PID" 2>/dev/null && hello_alive=true || hello_alive=false
    emit "{\"figure\": \"wrk-server\", \"target\": \"tapstack\", \"alive_after\": $hello_alive, \"server_peak_rss_kib\": $(kib "$HELLO_PID" VmHWM)}"
    emit "{\"figure\": \"wrk-server\", \"target\": \"linux\", \"alive_after\": true, \"server_peak_rss_kib\": $(($(kib "$NGINX_PID" VmHWM) + $(kib "$(pgrep -P "$NGINX_PID" | head -1)" VmHWM)))}"
    net_down
}

# --- echo-client on tapstack: many short connections to a kernel echo server
echo_client_step() {
    local out status
    net_up
    netns_spawn "$cl" "$work/kecho-tap.log" "$py" "$here/echo_load.py" serve "$tap_host" 7
    netns_wait_for "$work/kecho-tap.log" '^ready' 10 || die "kernel echo server did not start"
    log "echo-client: $SHORT_COUNT connections, $SHORT_CONCURRENCY at a time, $SHORT_BYTES B, tapstack as the client"
    out=$work/echo-client.log
    local t0=$SECONDS
    timeout "$CLIENT_TIMEOUT" ip netns exec "$cl" "$BIN/echo-client" --tap tap0 --ip "$tap_stack/24" \
        --connect "$tap_host:7" --count "$SHORT_COUNT" --concurrency "$SHORT_CONCURRENCY" --bytes "$SHORT_BYTES" \
        >"$out" 2>&1
    status=$?
    cp "$out" "$OUT/echo-client.log"
    emit "{\"figure\": \"short\", \"target\": \"tapstack\", \"exit\": $status, \"elapsed_s\": $((SECONDS - t0)), $("$py" "$here/summarize.py" --echo-client-json <"$out")}"
    log "echo-client: $(grep '^summary:' "$out") $(grep -m1 '^echo-client:' "$out")"

    netns_spawn "$lx" "$work/kecho-lx.log" "$py" "$here/echo_load.py" serve "$veth_lx" 7
    netns_wait_for "$work/kecho-lx.log" '^ready' 10 || die "kernel echo server did not start"
    log "short connections: the same from Linux (python asyncio client over a veth)"
    local res
    res=$(timeout "$CLIENT_TIMEOUT" ip netns exec "$cl" "$py" "$here/echo_load.py" short "$veth_lx" 7 \
        "$SHORT_COUNT" "$SHORT_CONCURRENCY" "$SHORT_BYTES" --connect-timeout 10 --io-timeout 30 --label short-linux | tail -1)
    [[ -n "$res" ]] || res='{"killed": true}'
    emit "{\"figure\": \"short\", \"target\": \"linux\", \"client\": $res}"
    log "short Linux: $(head -c 300 <<<"$res")"
    net_down
}

# --- a connect right after a burst of short connections (ab, no keep-alive)
burst_step() {
    local target url i t worst ab_out times port
    net_up
    hello_up
    nginx_matched "$(response_size "http://$tap_stack/")"
    for target in tapstack linux; do
        [[ $target == tapstack ]] && url=http://$tap_stack/ || url=http://$veth_lx/
        ab_out=$work/ab-$target.txt
        log "burst: ab -n $BURST_REQUESTS -c $BURST_CONCURRENCY against $target"
        # ab's own defaults otherwise (its -s 30: it gives up when nothing answers for 30 s).
        local t0=$SECONDS
        timeout 300 ip netns exec "$cl" ab -q -n "$BURST_REQUESTS" -c "$BURST_CONCURRENCY" "$url" >"$ab_out" 2>&1
        local ab_wall=$((SECONDS - t0))
        cp "$ab_out" "$OUT/"
        times=()
        worst=0
        for ((i = 0; i < BURST_PROBES; i++)); do
            # A local port outside the kernel's ephemeral range, which ab never used: each probe
            # is a new 4-tuple (a port ab used may meet its own TIME-WAIT, which RFC 6191 lets
            # a new SYN end at once, and hide the wait).
            # (Linux's probes use other ports: the tapstack probes' own TIME-WAITs hold theirs.)
            port=$((BURST_PROBE_PORT + i))
            [[ $target == linux ]] && port=$((port + 100))
            t=$(ip netns exec "$cl" curl -s -o /dev/null --max-time 90 --local-port "$port" -w '%{time_connect}' "$url") ||
                t=90  # no connection at all: counted as the bound
            times+=("$t")
            worst=$(awk -v a="$worst" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
            sleep 0.2
        done
        emit "{\"figure\": \"burst\", \"target\": \"$target\", \"ab_wall_s\": $ab_wall, \"ab\": $("$py" "$here/summarize.py" --ab-json <"$ab_out"), \"connect_s\": [$(
            IFS=,
            echo "${times[*]}"
        )], \"worst_connect_s\": $worst}"
        log "burst $target: connect times ${times[*]} s"
    done
    net_down
}

uname -r >"$OUT/kernel.txt"
emit "{\"figure\": \"run\", \"commit\": \"$commit\", \"date\": \"$(date -u +%FT%TZ)\", \"kernel\": \"$(uname -r)\", \"cpus\": $(nproc), \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"small\": [$SMALL_CLIENTS, $SMALL_BYTES], \"large\": [$LARGE_CLIENTS, $LARGE_BYTES], \"wrk_seconds\": $WRK_SECONDS}"
for step in $STEPS; do
    case $step in
    echo-small) echo_round echo-small "$SMALL_CLIENTS" "$SMALL_BYTES" ;;
    echo-large) echo_round echo-large "$LARGE_CLIENTS" "$LARGE_BYTES" ;;
    wrk) wrk_step ;;
    echo-client) echo_client_step ;;
    burst) burst_step ;;
    *) die "unknown step $step" ;;
    esac
done
"$py" "$here/summarize.py" --markdown "$results" >"$OUT/summary.md"
cat "$OUT/summary.md"
log "done: $results, $OUT/summary.md"
