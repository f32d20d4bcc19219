#!/bin/bash
# scripts/serve-examples.sh BUILD [--once] - the main job: start awsmrt on
# examples/test_modules.json (the example apps, compiled on first load into
# awsm's cache), send it the requests of examples/test_sandboxes.jsondata
# with udpclient and a few HTTP requests with curl, show the replies, then
# keep serving until Ctrl-C. --once stops the server after the replies.
set -u
BUILD=$1
ONCE=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
LOG=$(mktemp "${TMPDIR:-/tmp}/awsmrt-XXXXXX.log")

"$BIN/awsmrt" --host 127.0.0.1 --admin-port 9100 "$ROOT/examples/test_modules.json" \
    2>"$LOG" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -f "$LOG"' EXIT
tail -f "$LOG" --pid=$pid >&2 &
for _ in $(seq 1 1200); do       # the first start compiles the modules
    grep -q "serving" "$LOG" && break
    kill -0 $pid 2>/dev/null || { echo "awsmrt failed to start" >&2; exit 1; }
    sleep 0.1
done
echo "== udpclient --yes examples/test_sandboxes.jsondata"
"$BIN/udpclient" --yes "$ROOT/examples/test_sandboxes.jsondata"
show() {            # show CURL-ARGS...: the command, then the response
    printf '$ curl'
    printf " %q" "$@"
    echo
    curl -s -i --max-time 10 "$@" | tr -d '\r'
    echo
}
echo
echo "== HTTP on 127.0.0.1:8080 (the same modules), the admin port 9100"
show 'http://127.0.0.1:8080/fibonacci?arg=20'
show --data-binary 'hello over HTTP' http://127.0.0.1:8080/echo
show http://127.0.0.1:8080/nowhere
show http://127.0.0.1:9100/readyz
echo "\$ curl -s http://127.0.0.1:9100/metrics | grep 'awsm_http_requests_total.*code=\"200\"'"
curl -s --max-time 10 http://127.0.0.1:9100/metrics | grep 'awsm_http_requests_total.*code="200"'
if [ "$ONCE" = --once ]; then
    exit 0
fi
echo
echo "awsmrt is serving examples/test_modules.json on 127.0.0.1: UDP ports"
echo "10000-10003, HTTP port 8080 (/fibonacci, /echo), admin port 9100."
echo "Send requests from another terminal, e.g.:"
echo "  $BUILD/bin/udpclient examples/test_sandboxes.jsondata"
echo "  curl 'http://127.0.0.1:8080/fibonacci?arg=25'"
echo "Ctrl-C stops it."
wait $pid
