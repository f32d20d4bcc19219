#!/bin/bash
# tests/e2e/lb.sh BINDIR - the standard deployment end to end, on loopback:
# HAProxy with deploy/haproxy.cfg as it ships in front of three awsmrt
# nodes; a few thousand echo requests go through it while one node is
# sent SIGTERM. Every request must be answered correctly, the drained node
# must get none after it first answered 503 on /readyz (the moment
# HAProxy can know; 10 ms of slack for requests already on their way), and
# it must exit 0.
set -u
BIN=$(cd "$1" && pwd)
NAME=e2e-lb
TOOL=$BIN/awsmrt
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
. "$HERE/lib.sh"
command -v haproxy >/dev/null || { echo "$NAME: haproxy not found (scripts/setup.sh)" >&2; exit 1; }
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
HTTPC="$PY $HERE/httpc.py"
REQUESTS=${LB_REQUESTS:-6000}

build_apps echo

# Node i (1-3): HTTP on port(i), admin on port(10 + i).
write_node() {
    cat >"$tmp/node$1.json" <<EOF
[{"name": "echo", "path": "echo.wasm", "http-port": $(port "$1")}]
EOF
}
nodes=()
# start_node I: 0 once serving, 1 if its ports were taken, else exit.
start_node() {
    write_node "$1"
    : >"$tmp/node$1.log"            # not a previous attempt's "serving"
    "$BIN/awsmrt" --workers 1 --admin-port "$(port $((10 + $1)))" --drain-delay-ms 1000 \
        --access-log "$tmp/node$1.json" 2>"$tmp/node$1.log" &
    nodes[$1]=$!
    for _ in $(seq 1 300); do
        grep -q serving "$tmp/node$1.log" && return 0
        kill -0 "${nodes[$1]}" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "cannot bind" "$tmp/node$1.log" && return 1
    echo "$NAME: node $1 did not start:" >&2
    cat "$tmp/node$1.log" >&2
    exit 1
}
# Below the ephemeral range (32768-), where clients' ports are.
start_nodes() {
    for attempt in 1 2 3 4 5; do
        base=$((20000 + RANDOM % 12000))
        local ok=1
        for i in 1 2 3; do start_node $i || { ok=0; break; }; done
        [ $ok -eq 1 ] && return 0
        for n in "${nodes[@]}"; do kill "$n" 2>/dev/null; wait "$n" 2>/dev/null; done
        nodes=()
    done
    echo "$NAME: no free ports" >&2
    exit 1
}
lb=
cleanup() {
    [ -n "$lb" ] && kill "$lb" 2>/dev/null
    for n in "${nodes[@]}"; do kill "$n" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

start_nodes
export AWSM_LB_BIND=127.0.0.1:$(port 0)
for i in 1 2 3; do
    export AWSM_NODE$i=127.0.0.1:$(port $i) AWSM_ADMIN$i=$(port $((10 + i)))
done
haproxy -f "$ROOT/deploy/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
lb=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 --data x "http://$AWSM_LB_BIND/echo" && break
    kill -0 $lb 2>/dev/null || { echo "$NAME: haproxy did not start:" >&2;
                                 cat "$tmp/haproxy.log" >&2; exit 1; }
    sleep 0.1
done
sleep 0.5       # every node seen up (rise 2 at 200 ms)

served() { cat "$tmp"/node[123].log | grep -c "access: http"; }
probes=$(served)
$HTTPC load "$(port 0)" "$REQUESTS" 8 /echo >"$tmp/load.out" 2>&1 &
loader=$!
# SIGTERM node 2 a quarter of the way through.
while [ $(( $(served) - probes )) -lt $((REQUESTS / 4)) ] && kill -0 $loader 2>/dev/null; do
    sleep 0.05
done
served_before=$(grep -c "access: http" "$tmp/node2.log")
kill -TERM "${nodes[2]}"
wait "${nodes[2]}"
node2_status=$?
wait $loader
cp "$tmp/load.out" "$tmp/out"
cp "$tmp/haproxy.log" "$tmp/err"
check "every one of $REQUESTS requests through HAProxy answered correctly" \
    grep -q "^sent=$REQUESTS ok=$REQUESTS$" "$tmp/out"
c1=$(grep -c "access: http" "$tmp/node1.log")
c2=$(grep -c "access: http" "$tmp/node2.log")
c3=$(grep -c "access: http" "$tmp/node3.log")
echo "# requests per node: $c1 $c2 $c3 (node 2 had served $served_before at SIGTERM;" \
     "$probes probe(s) before the load)"
check "all three nodes served ($c1, $c2, $c3)" \
    eval '[ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] && [ "$c3" -gt 0 ] && [ $((c1 + c2 + c3 - probes)) -eq "$REQUESTS" ]'
# ms of the day of a log line's HH:MM:SS.mmm
ms_of() { awk -F'[:. ]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'; }
told=$(grep -m1 "/readyz: answered 503" "$tmp/node2.log" | ms_of)
last=$(grep "access: http" "$tmp/node2.log" | tail -n 1 | ms_of)
cp "$tmp/node2.log" "$tmp/err"
# A request HAProxy dispatched while the check's 503 was on its way still
# arrives: 10 ms of slack on loopback.
check "the drained node got no request after its first 503 on /readyz (last $((last - told)) ms after it)" \
    eval '[ -n "$told" ] && [ -n "$last" ] && [ "$last" -le $((told + 10)) ]'
check "... and exited 0" [ "$node2_status" -eq 0 ]
cat "$tmp/node1.log" "$tmp/node2.log" "$tmp/node3.log" >"$tmp/servers.log"
no_crash_reports
cli_summary
