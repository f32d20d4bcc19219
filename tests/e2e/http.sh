#!/bin/bash
# tests/e2e/http.sh BINDIR - awsmrt over HTTP/1.1 end to end, on loopback:
# every status code (200, 400, 404, 405, 408, 413, 429, 431, 500 with the
# exit code, 503 overloaded and shutting down, 504), arguments from the
# query, headers as the environment, keep-alive, pipelining, chunked
# bodies, bodies longer or shorter than announced, slow clients, clients
# gone mid-request or mid-response, 10,000 idle keep-alive connections,
# the connection cap, SLEdge's tenant format, UDP beside HTTP, and a
# graceful shutdown. Raw requests go through httpc.py, the rest through
# curl.
set -u
BIN=$(cd "$1" && pwd)
NAME=e2e-http
TOOL=$BIN/awsmrt
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
. "$HERE/lib.sh"
for t in curl python3; do
    command -v $t >/dev/null || { echo "$NAME: $t not found" >&2; exit 1; }
done
# Debian's python3 (with python3-prometheus-client), whatever else is first
# in PATH.
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
HTTPC="$PY $HERE/httpc.py"

build_apps echo showenv status divzero spin nap flood stdinfib

write_config() {
    cat >"$tmp/modules.json" <<EOF
[
 {"name": "echo", "path": "echo.wasm", "http-port": $(port 0), "argsize": 0},
 {"name": "small", "path": "echo.wasm", "http-port": $(port 0), "http-req-size": 100},
 {"name": "showenv", "path": "showenv.wasm", "http-port": $(port 0), "argsize": 3,
  "env": {"SECRET": "operator"}},
 {"name": "status", "path": "status.wasm", "http-port": $(port 0), "argsize": 1},
 {"name": "divzero", "path": "divzero.wasm", "http-port": $(port 0)},
 {"name": "spin", "path": "spin.wasm", "http-port": $(port 0), "timeout-ms": 300},
 {"name": "nap", "path": "nap.wasm", "http-port": $(port 0), "argsize": 1,
  "max-inflight": 1},
 {"name": "flood", "path": "flood.wasm", "route": "/big", "http-port": $(port 0),
  "argsize": 1, "http-resp-size": 1024, "http-resp-content-type": "application/octet-stream"},
 {"name": "heavy", "path": "echo.wasm", "http-port": $(port 0),
  "expected-execution-us": 10000000, "relative-deadline-us": 1000},
 {"name": "udp", "path": "echo.wasm", "port": $(port 2)},
 {"name": "broken", "path": "missing.wasm", "port": $(port 4), "http-port": $(port 0)},
 {"name": "big4", "path": "echo.wasm", "http-port": $(port 0), "http-req-size": 4000000,
  "http-resp-size": 4000000},
 {"name": "gwu", "port": $(port 1), "replenishment-period-us": 0, "max-budget-us": 0,
  "routes": [
   {"route": "/fib", "request-type": 1, "path": "stdinfib.wasm.so",
    "admissions-percentile": 70, "expected-execution-us": 4000,
    "relative-deadline-us": 16000, "http-resp-content-type": "text/plain"}
  ]}
]
EOF
}

url() { echo "http://127.0.0.1:$(port "${2:-0}")$1"; }

# hreq URL [curl options]: one request; $code, the body in $tmp/out, the
# headers in $tmp/err (for the messages of failing checks).
hreq() {
    local u=$1
    shift
    code=$(curl -s -o "$tmp/out" -D "$tmp/err" -w '%{http_code}' --max-time 20 "$@" "$u")
    status=$?
}
body_is() { [ "$(cat "$tmp/out")" = "$1" ]; }
header_has() { grep -qiF -- "$1" "$tmp/err"; }

# raw PORT TEXT [httpc options]: TEXT (with \r\n escapes) sent as is; what
# came back in $tmp/out.
raw() {
    local p=$1 text=$2
    shift 2
    printf '%s' "$text" | $HTTPC send "$p" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
count_of() { grep -c -- "$1" "$tmp/out"; }

# ===== The configuration ===================================================

bad_config() {
    printf '%s\n' "$1" >"$tmp/bad.json"
    "$BIN/awsmrt" --check "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
bad_config '[{"name": "t", "port": 8080, "routes": [
  {"route": "fib", "path": "x.wasm"}]}]'
check "config: a route must start with /, said with its line" \
    eval 'status_is 1 && err_has "bad.json:2: module \"tfib\": \"route\" must start with '"'"'/'"'"'"'
bad_config '[{"name": "t", "port": 8080, "routes": [
  {"route": "/a", "path": "x.wasm"},
  {"route": "/a", "path": "y.wasm"}]}]'
check "config: a route served twice on one port" \
    eval 'status_is 1 && err_has "bad.json:3: module \"t/a\": route /a on HTTP port 8080 already served by module \"t/a\" (line 2)"'
bad_config '[{"name": "t", "port": 8080, "routes": [
  {"route": "/a", "path": "x.wasm",
   "port": 9}]}]'
check "config: a route has no port of its own" \
    eval 'status_is 1 && err_has "bad.json:3: module \"t/a\": a route has no \"port\" of its own"'
bad_config '[{"name": "t", "port": 8080, "routes": []}]'
check "config: a tenant needs routes" \
    eval 'status_is 1 && err_has "bad.json:1: module \"t\": \"routes\" must be a non-empty array"'
bad_config '[{"name": "m", "path": "x.wasm"}]'
check "config: a module needs a UDP or an HTTP port" \
    eval 'status_is 1 && err_has "missing \"port\" (UDP) or \"http-port\""'
bad_config '[{"name": "m", "path": "x.wasm", "http-port": 8080, "http-req-size": -1}]'
check "config: a bad body limit" eval 'status_is 1 && err_has "\"http-req-size\" must be an integer"'
bad_config '[{"name": "a b", "path": "x.wasm", "http-port": 8080}]'
check "config: a name that is no route needs a \"route\"" \
    eval 'status_is 1 && err_has "\"/a b\" is no route (spaces, '"'"'?'"'"' or '"'"'#'"'"'): give the module a \"route\""'
bad_config '[{"name": "m", "path": "missing.wasm", "port": 8080, "http-req-size": 10}]'
check "config: HTTP keys without an http-port are warnings" \
    err_has 'bad.json:1: module "m": "http-req-size" without an "http-port" (ignored)'

# ===== Requests ============================================================

start_server --workers 2 --admission --log-level debug --http-request-timeout-ms 800 \
    --http-idle-timeout-ms 1500 --max-connections 10010 --access-log
cp "$tmp/server.log" "$tmp/err"
check "SLEdge's unused keys are warnings with their line" \
    eval 'err_has "modules.json:21: module \"gwu/fib\": not used by awsmrt: \"request-type\"" &&
          err_has "modules.json:19: module \"gwu\": not used by awsmrt: \"max-budget-us\""'
check "SLEdge's NAME.wasm.so: NAME.wasm beside it is compiled instead, with a warning" \
    err_has 'modules.json:21: module "gwu/fib": "path": compiling stdinfib.wasm, found beside the .so named'

hreq "$(url /echo)" --data-binary 'hello'
check "200: the body is stdin, stdout the response" \
    eval '[ "$code" = 200 ] && body_is hello && header_has "Content-Type: text/plain"'
hreq "$(url '/showenv?args=a,b&arg=c%20d+e&other=1')" -H 'X-Test: yes' -H 'Secret: evil' \
    -H 'X-Test: again' -H 'X_Test: spoofed'
check "GET: ?args=a,b and arg= are the arguments, percent-decoded" \
    eval 'out_has "argv[1]=a" && out_has "argv[2]=b" && out_has "argv[3]=c d e"'
check "... headers are HTTP_* variables, repeated ones joined" \
    eval 'out_has "HTTP_X_TEST=yes, again" && out_has "HTTP_SECRET=evil"'
check "... and a name with '_' (X_Test) is left out: it cannot pass for another" \
    eval '! out_has spoofed'
check "... beside CGI's REQUEST_METHOD, QUERY_STRING and the module's env" \
    eval 'out_has "REQUEST_METHOD=GET" && out_has "QUERY_STRING=args=a,b&arg=c%20d+e&other=1" && out_has "SECRET=operator" && out_has "stdin=0"'
hreq "$(url '/showenv?args=1,2,3,4')"
check "400: more arguments than argsize" \
    eval '[ "$code" = 400 ] && out_has "too many arguments: more than argsize 3"'
hreq "$(url '/showenv?arg=%zz')"
check "400: bad percent-encoding" eval '[ "$code" = 400 ] && out_has "malformed query"'
hreq "$(url '/status?arg=3')"
check "500 on a non-zero exit, the code in X-Awsm-Exit-Code" \
    eval '[ "$code" = 500 ] && header_has "X-Awsm-Exit-Code: 3" && body_is "the guest exited with code 3"'
hreq "$(url /divzero)"
check "500 on a trap, saying which" \
    eval '[ "$code" = 500 ] && body_is "trap: integer divide by zero"'
hreq "$(url /spin)"
check "504 at the deadline" eval '[ "$code" = 504 ] && body_is "timeout after 300 ms"'
hreq "$(url /nowhere)"
check "404 for an unknown route" eval '[ "$code" = 404 ] && body_is "no route /nowhere on this port"'
raw "$(port 0)" 'GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\nDELETE /echo HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnext' --wait 1
check "404 and 405 without a body keep the connection: the next request is served" \
    eval 'out_has "HTTP/1.1 404 Not Found" && out_has "HTTP/1.1 405 Method Not Allowed" && out_has "HTTP/1.1 200 OK" && grep -q "^next" "$tmp/out" && grep -q "^\[open\]" "$tmp/out"'
hreq "$(url /echo)" -X DELETE
check "405 for a method other than GET, HEAD and POST" \
    eval '[ "$code" = 405 ] && header_has "Allow: GET, HEAD, POST" && body_is "method DELETE not allowed: GET, HEAD or POST"'
hreq "$(url '/showenv?arg=h')"
get_len=$(sed -n 's/^Content-Length: \([0-9]*\).*/\1/ip' "$tmp/err")
# headers_only: $tmp/out (what curl -I wrote) ends with the headers' end.
headers_only() { [ "$(tail -c 4 "$tmp/out" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]; }
hreq "$(url '/showenv?arg=h')" -I
check "HEAD: the guest runs (REQUEST_METHOD=HEAD, one byte more than GET's $get_len), and the response has its length without the body" \
    eval '[ "$code" = 200 ] && [ -n "$get_len" ] && header_has "Content-Length: $((get_len + 1))" && headers_only && ! out_has "argv[1]=h"'
raw "$(port 0)" 'HEAD /nowhere HTTP/1.1\r\nHost: t\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n\r\n' --wait 1
check "... an error to a HEAD has no body either, and the connection goes on" \
    eval 'out_has "HTTP/1.1 404 Not Found" && ! out_has "no route" && out_has "HTTP/1.1 200 OK"'
check "every response has a Date (RFC 9110's IMF-fixdate)" \
    eval 'grep -qE "^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT" "$tmp/out"'
head -c 200 /dev/zero | tr '\0' x >"$tmp/200"
hreq "$(url /small)" --data-binary "@$tmp/200"
check "413 for a body over the route's limit, from Content-Length" \
    eval '[ "$code" = 413 ] && body_is "body of 200 bytes is larger than the route'"'"'s limit of 100"'
hreq "$(url /small)" --data-binary "@$tmp/200" -H 'Transfer-Encoding: chunked'
check "413 for a chunked body over the limit" \
    eval '[ "$code" = 413 ] && body_is "body larger than the route'"'"'s limit of 100 bytes"'
hreq "$(url /echo)" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' y)"
check "431 for headers over 16 KiB" \
    eval '[ "$code" = 431 ] && body_is "request line and headers larger than 16384 bytes"'
hreq "$(url /heavy)"
check "429 when admission control rejects (SLEdge's expected-execution-us)" \
    eval '[ "$code" = 429 ] && out_has "not admitted" && header_has "Retry-After: 1"'
hreq "$(url '/big?arg=1')"
check "500 for a response over the route's http-resp-size" \
    eval '[ "$code" = 500 ] && out_has "larger than the route'"'"'s limit of 1024 bytes"'
curl -s -o "$tmp/nap.out" -w '%{http_code}' "$(url '/nap?arg=1500')" >"$tmp/nap.code" &
napper=$!
wait_inflight 1
hreq "$(url '/nap?arg=1')"
check "503 past the route's max-inflight" \
    eval '[ "$code" = 503 ] && out_has "overloaded: module \"nap\" has 1 requests in flight"'
wait $napper
check "... while the one in flight finishes" \
    eval '[ "$(cat "$tmp/nap.code")" = 200 ] && grep -q "slept enough" "$tmp/nap.out"'
hreq "$(url /fib 1)" --data-binary 10
check "SLEdge tenant: POST the body to TENANT's port and route" eval '[ "$code" = 200 ] && body_is 55'
ask "$(port 2)" '{"module":"udp","stdin":"datagram"}'
check "UDP goes on beside HTTP" has '"stdout":"datagram"'
hreq "$(url /broken)"
check "503 for a route whose module failed to load (the others are served)" \
    eval '[ "$code" = 503 ] && body_is "module \"broken\" is not available: it failed to load (the server'"'"'s log says why)"'
ask "$(port 4)" '{"module":"broken"}'
check "... and an error reply over UDP" has 'is not available: it failed to load'
cp "$tmp/server.log" "$tmp/err"
check "... the log says why, with its line" \
    err_has 'modules.json:16: module "broken": cannot open'

# ===== The admin port ======================================================

$HTTPC metrics "$(port 19)" >"$tmp/out" 2>"$tmp/err"
check "/metrics parses as Prometheus text (prometheus_client)" \
    eval '[ $? -eq 0 ] && out_has "awsm_ready{} 1"'
m() { grep -qxF -- "$1" "$tmp/out"; }
check "... responses by route and code" \
    eval 'm "awsm_http_requests_total{code=\"200\",module=\"gwu/fib\",route=\"/fib\"} 1" &&
          m "awsm_http_requests_total{code=\"504\",module=\"spin\",route=\"/spin\"} 1" &&
          m "awsm_http_requests_total{code=\"413\",module=\"small\",route=\"/small\"} 2" &&
          m "awsm_http_requests_total{code=\"404\",module=\"\",route=\"\"} 3"'
check "... sandboxes by how they ended, UDP replies, admission rejections" \
    eval 'm "awsm_sandboxes_total{end=\"trap\",module=\"divzero\",route=\"/divzero\"} 1" &&
          m "awsm_sandboxes_total{end=\"exit\",module=\"status\",route=\"/status\"} 1" &&
          m "awsm_udp_replies_total{module=\"udp\",route=\"\",status=\"ok\"} 1" &&
          m "awsm_admission_rejections_total{module=\"heavy\",route=\"/heavy\"} 1"'
check "... queue and run histograms" \
    eval 'm "awsm_run_seconds_count{module=\"nap\",route=\"/nap\"} 1" &&
          m "awsm_run_seconds_bucket{le=\"1\",module=\"nap\",route=\"/nap\"} 0" &&
          m "awsm_run_seconds_bucket{le=\"2.5\",module=\"nap\",route=\"/nap\"} 1" &&
          grep -q "^awsm_queue_wait_seconds_count{module=\"echo\",route=\"/echo\"} [1-9]" "$tmp/out"'
check "... the server's gauges" \
    eval 'm "awsm_workers{} 2" && grep -q "^awsm_worker_busy_seconds_total{worker=\"1\"} " "$tmp/out" &&
          grep -q "^awsm_memory_budget_bytes{} [1-9]" "$tmp/out" && m "awsm_inflight{} 0"'
hreq "http://127.0.0.1:$(port 19)/healthz"
check "/healthz: 200" eval '[ "$code" = 200 ] && body_is ok'
hreq "http://127.0.0.1:$(port 19)/healthz" -I
check "... and to a HEAD (load balancers' checks), without the body" \
    eval '[ "$code" = 200 ] && header_has "Content-Length: 3" && headers_only'
hreq "http://127.0.0.1:$(port 19)/readyz"
check "/readyz: 200 while serving" eval '[ "$code" = 200 ] && body_is ready'
hreq "http://127.0.0.1:$(port 19)/other"
check "the admin port: 404 elsewhere" eval '[ "$code" = 404 ]'
cp "$tmp/server.log" "$tmp/err"
check "--access-log: one line per request, with its route, status and times" \
    eval 'grep -q "access: http 127.0.0.1:[0-9]* \"GET /spin\" 504 .* route spin queue [0-9]* us run [0-9]* us sandbox [1-9]" "$tmp/err" &&
          grep -q "access: udp 127.0.0.1:[0-9]* module udp ok .* sandbox [1-9]" "$tmp/err"'

# ===== The protocol ========================================================

curl -sv "$(url /echo)" "$(url /status)" -o /dev/null -o /dev/null >"$tmp/out" 2>&1
check "keep-alive: a second request reuses the connection" \
    grep -q "Re-using existing connection" "$tmp/out"
raw "$(port 0)" 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirstPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecondGET /status?arg=0 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' --wait 5
check "pipelining: three requests in one packet, answered in order" \
    eval '[ "$(count_of "HTTP/1.1 200 OK")" -eq 3 ] && tr -d "\r" <"$tmp/out" | tr "\n" " " | grep -q "first.*second.*exiting with 0"'
check "... and Connection: close is honoured" grep -q '^\[closed\]' "$tmp/out"
raw "$(port 0)" 'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nchun\r\n3\r\nked\r\n0\r\n\r\n'
check "a chunked body arrives whole" eval 'out_has "HTTP/1.1 200 OK" && out_has chunked'
raw "$(port 0)" 'POST /showenv HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nX-Head: h\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: tttttttttttttttttttttttttttttt\r\n\r\n'
check "trailers after a chunked body are ignored (not in the environment)" \
    eval 'out_has "HTTP/1.1 200 OK" && out_has "HTTP_X_HEAD=h" && out_has "stdin=3" && ! out_has TRAILER'
raw "$(port 0)" 'GET /nap?arg=300 HTTP/1.1\r\nHost: t\r\n\r\n' --half-close
check "a client that half-closes after its request still gets the response" \
    eval 'out_has "HTTP/1.1 200 OK" && out_has "slept enough" && grep -q "^\[closed\]" "$tmp/out"'
raw "$(port 0)" 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nhello world'
check "a body longer than announced: the request gets what was announced" \
    eval 'out_has "Content-Length: 3" && grep -q "^hel" "$tmp/out"'
check "... the rest is a malformed request: 400 and closed" \
    eval 'out_has "HTTP/1.1 400 Bad Request" && grep -q "^\[closed\]" "$tmp/out"'
raw "$(port 0)" 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc'
check "a body shorter than announced: 408 when the request timeout ends" \
    eval 'out_has "HTTP/1.1 408 Request Timeout" && out_has "not received whole within 800 ms"'
raw "$(port 0)" 'GARBAGE\r\n\r\n'
check "400 for a malformed request line, and closed" \
    eval 'out_has "HTTP/1.1 400 Bad Request" && grep -q "^\[closed\]" "$tmp/out"'
raw "$(port 0)" 'GET /echo HTTP/1.0\r\n\r\n'
check "HTTP/1.0 without keep-alive: answered and closed" \
    eval 'out_has "HTTP/1.1 200 OK" && out_has "Connection: close" && grep -q "^\[closed\]" "$tmp/out"'
raw "$(port 0)" 'GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\nX-Slower: 2\r\nX-Slowest: 3\r\n\r\n' \
    --chunks 12 --delay 0.15
check "slowloris: headers dribbled past the request timeout get 408" \
    eval 'out_has "HTTP/1.1 408 Request Timeout" && grep -q "^\[closed\]" "$tmp/out"'
raw "$(port 0)" 'GET /echo HTTP/1.1\r\nHost: t\r\n\r\n' --wait 4
check "an idle keep-alive connection is closed after the idle timeout" \
    eval 'out_has "HTTP/1.1 200 OK" && grep -q "^\[closed\]" "$tmp/out"'
big=$(head -c 5000 /dev/zero | tr '\0' z)
t0=$(date +%s%N)
hreq "$(url /echo)" --data-binary "$big"
t1=$(date +%s%N)
check "Expect: 100-continue is answered (a 5000-byte body in $(( (t1 - t0) / 1000000 )) ms)" \
    eval '[ "$code" = 200 ] && [ "$(wc -c <"$tmp/out")" -eq 5000 ] && [ $(( (t1 - t0) / 1000000 )) -lt 900 ]'
raw "$(port 0)" 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npart' --quit
raw "$(port 0)" 'GET /nap?arg=300 HTTP/1.1\r\nHost: t\r\n\r\n' --quit
sleep 0.6
hreq "$(url /echo)" --data-binary 'still here'
check "clients gone mid-request and mid-response: the server goes on" \
    eval '[ "$code" = 200 ] && body_is "still here"'

# ===== Many connections ====================================================

stop_server
start_server --workers 2 --max-connections 10010
$HTTPC idle "$(port 0)" 10000 /echo >"$tmp/out" 2>"$tmp/err"
check "10,000 idle keep-alive connections, each answered" grep -q '^idle=10000 ok=10000$' "$tmp/out"
check "... and a new one is still served" grep -q '^fresh=200$' "$tmp/out"
stop_server

start_server --workers 1 --max-connections 20
$HTTPC idle "$(port 0)" 20 /echo >"$tmp/out" 2>"$tmp/err"
check "the connection cap: a connection past --max-connections gets a 503" \
    eval 'grep -q "^idle=20 ok=20$" "$tmp/out" && grep -q "^fresh=503$" "$tmp/out"'
$HTTPC idle "$(port 0)" 20 /echo --then "http://127.0.0.1:$(port 19)/healthz" >"$tmp/out" 2>"$tmp/err"
check "... while the admin port still answers (its connections are not capped)" \
    grep -q "^then=200$" "$tmp/out"
stop_server

# ===== Bytes held for clients ==============================================

start_server --workers 1 --http-buffer-mb 1
head -c 2000000 /dev/zero | tr '\0' b >"$tmp/2mb"
hreq "$(url /big4)" --data-binary "@$tmp/2mb"
check "--http-buffer-mb: a body past what the server holds for clients gets a 503" \
    eval '[ "$code" = 503 ] && out_has "held in memory past the server'"'"'s limit of 1 MiB"'
head -c 500000 /dev/zero | tr '\0' b >"$tmp/halfmb"
hreq "$(url /big4)" --data-binary "@$tmp/halfmb"
check "... one within it is served" eval '[ "$code" = 200 ] && [ "$(wc -c <"$tmp/out")" -eq 500000 ]'

# ===== Graceful shutdown ===================================================

curl -s -D "$tmp/napd.h" -o "$tmp/nap.out" -w '%{http_code}' "$(url '/nap?arg=800')" \
    >"$tmp/nap.code" &
napper=$!
printf 'GET /echo HTTP/1.1\r\nHost: t\r\n\r\n' |
    $HTTPC send "$(port 0)" --wait 10 >"$tmp/idle.out" 2>&1 &
idler=$!
wait_inflight 1
sleep 0.2                   # the idle connection has had its answer
t0=$(date +%s%N)
kill -TERM "$pid"
sleep 0.1
hreq "$(url /echo)" --data-binary 'late'
refused=$status
wait $idler
t1=$(date +%s%N)
wait "$pid"
status=$?
pid=
wait $napper
cp "$tmp/idle.out" "$tmp/out"
check "SIGTERM: idle keep-alive connections are closed at once ($(( (t1 - t0) / 1000000 )) ms)" \
    eval 'grep -q "^\[closed\]" "$tmp/out" && [ $(( (t1 - t0) / 1000000 )) -lt 3000 ]'
check "... new connections are refused" [ "$refused" -eq 7 ]
cp "$tmp/napd.h" "$tmp/err"
check "... the request in flight is answered, with Connection: close" \
    eval '[ "$(cat "$tmp/nap.code")" = 200 ] && header_has "Connection: close"'
check "... and awsmrt exits 0" [ "$status" -eq 0 ]

# ===== Drain delay: not ready first, then not accepting ====================

start_server --workers 1 --drain-delay-ms 1500
kill -TERM "$pid"
sleep 0.2
hreq "http://127.0.0.1:$(port 19)/readyz"
check "--drain-delay-ms: /readyz says 503 at once" eval '[ "$code" = 503 ] && body_is draining'
hreq "$(url /echo)" --data-binary 'during'
check "... while requests are still answered (with Connection: close)" \
    eval '[ "$code" = 200 ] && body_is during && header_has "Connection: close"'
sleep 1.8
hreq "$(url /echo)" --data-binary 'after'
check "... and refused once the delay is over" [ "$status" -eq 7 ]
wait "$pid"
status=$?
pid=
check "... then awsmrt exits 0" [ "$status" -eq 0 ]

no_crash_reports
cli_summary
