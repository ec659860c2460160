#!/usr/bin/env bash
# End to end over HTTP: curl in the kernel's namespace fetches http-hello's page (status 200,
# the expected body), twice over one keep-alive connection (one SYN in the capture), gets 404
# for another path, and the capture is clean in tshark. Usage: test_http_hello.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: test_http_hello.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

e2e_setup http-hello http-hello
command -v curl >/dev/null || { echo "FAIL: curl not installed"; exit 1; }

ns=$(netns_name http)

net=10.99.41
stack_ip=$net.2

usage_errors() {
    local out status
    out=$("$bin/http-hello" --tap tap0 --ip "$stack_ip/24" --port 70000 2>&1)
    status=$?
    [[ $status -eq 2 && $(wc -l <<<"$out") -eq 1 && "$out" == "http-hello: bad --port '70000': "* ]] ||
        { echo "  status $status, output: $out"; return 1; }
    out=$("$bin/http-hello" --tap tap0 2>&1)
    status=$?
    [[ $status -eq 2 && "$out" == "http-hello: missing --ip"* ]] || { echo "  status $status, output: $out"; return 1; }
    "$bin/http-hello" --help | grep -q -- '--port'
}
check "http-hello --help works; bad input is one line and exit 2" usage_errors

netns_create "$ns" tap0 || { echo "FAIL: cannot create namespace $ns"; exit 1; }
netns_spawn "$ns" "$work/server.log" "$bin/http-hello" --tap tap0 --ip "$stack_ip/24" \
    --host-ip "$net.1/24" --port 8080 --pcap "$work/capture.pcap" --seed 41
server=$NETNS_LAST_PID
if ! netns_wait_for "$work/server.log" '^ready ' 10; then
    echo "FAIL: http-hello did not print its ready line"
    cat "$work/server.log"
    exit 1
fi

curl_ns() { timeout 30 ip netns exec "$ns" curl --max-time 10 -sS "$@"; }
url=http://$stack_ip:8080

one_page() {
    local code
    code=$(curl_ns -o "$work/page.html" -w '%{http_code}' "$url/") || return 1
    [[ "$code" == 200 ]] || { echo "  status $code"; return 1; }
    grep -q '<h1>Hello from tapstack</h1>' "$work/page.html" || { echo "  body:"; cat "$work/page.html"; return 1; }
}
check "curl GET / returns 200 and the greeting page" one_page

keep_alive() {
    # Two URLs on one command line: curl reuses the connection if the server keeps it open.
    # Per transfer: status, new connections made, and the server's request count.
    curl_ns -D "$work/headers.txt" -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$url/" "$url/index.html" \
        >"$work/ka.txt" 2>&1 || { cat "$work/ka.txt"; return 1; }
    local lines
    lines=$(tr '\n' ' ' <"$work/ka.txt")
    [[ "$lines" == "200 1 200 0 " ]] || { echo "  expected '200 1 200 0 ', got '$lines'"; return 1; }
    grep -qi '^X-Request-On-Connection: 2' "$work/headers.txt" ||
        { echo "  the second response was not the second request on its connection:"; cat "$work/headers.txt"; return 1; }
}
check "two GETs on one keep-alive connection: 200 both, one connect, request #2 on it" keep_alive

not_found() {
    local code
    code=$(curl_ns -o /dev/null -w '%{http_code}' "$url/no/such/page") || return 1
    [[ "$code" == 404 ]] || { echo "  status $code"; return 1; }
}
check "curl GET /no/such/page returns 404" not_found

head_request() {
    local out
    out=$(curl_ns -I "$url/") || return 1
    grep -q '^HTTP/1.1 200' <<<"$out" && grep -qi '^Content-Length: [1-9]' <<<"$out" ||
        { echo "  $out"; return 1; }
}
check "curl -I (HEAD /) returns 200 with Content-Length" head_request

check "http-hello is still running" kill -0 "$server"
netns_stop "$server" TERM
status=$?
check "http-hello exits 0 on SIGTERM" test "$status" -eq 0

pcap=$work/capture.pcap
if command -v tshark >/dev/null; then
    topts=(-n -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE)
    syns() { tshark "${topts[@]}" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==8080" 2>/dev/null | wc -l; }
    # one_page, keep_alive (one connection for two requests), not_found, head_request
    check "the capture shows 4 connections for 5 requests (keep-alive reused one)" test "$(syns)" -eq 4
    check "the capture has 5 HTTP responses from the stack" \
        test "$(tshark "${topts[@]}" -Y "http.response && ip.src==$stack_ip" 2>/dev/null | wc -l)" -eq 5
    clean() {
        local out
        out=$(tshark "${topts[@]}" -Y "tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment || _ws.malformed || (tcp.checksum.status==0 && !(ip.src!=$stack_ip && tcp.checksum==0xffff))" 2>/dev/null) ||
            { echo "  tshark failed"; return 1; }
        [[ -z "$out" ]] || { echo "$out" | head | sed 's/^/    /'; return 1; }
    }
    check "tshark finds no lost, malformed or badly checksummed segment" clean
else
    echo "FAIL - tshark not installed"
    failures=$((failures + 1))
fi

show_logs() {
    echo "--- http-hello log"
    cat "$work/server.log"
}
e2e_finish show_logs
