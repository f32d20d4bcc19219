#!/usr/bin/env bash
# CLI test of udpclient and of the serving benchmark's tools, udp_echo and
# loadgen (built in the same directory), all against udp_echo on ephemeral
# loopback ports:
#   udpclient  replies in order with their round-trip time, comments and
#              blank lines skipped, malformed lines named by file:line with
#              a nonzero status, the 65507-byte limit, a port with nobody
#              listening and a lost reply (--timeout) not stopping the next
#              line, requests on standard input, IPv6, no terminal = --yes,
#              and the y / s / q questions on a pseudo-terminal (script(1));
#   udp_echo   the port on the first line, --reply, --drop, a clean exit on
#              SIGINT and SIGTERM;
#   loadgen    all ok, --expect mismatches as errors, lost replies as
#              timeouts, a vanished server not hanging it, --duration,
#              non-loopback targets refused.
#
# usage: udpclient.sh PATH/TO/udpclient
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/udpclient" >&2
    exit 2
fi
TOOL=$1
NAME=udpclient.sh
BIN=$(dirname "$TOOL")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for t in udp_echo loadgen; do
    if [ ! -x "$BIN/$t" ]; then
        echo "$NAME: $BIN/$t is not built (cmake --build DIR --target udpclient udp_echo loadgen); SKIPPED" >&2
        exit 77
    fi
done

# Every server started here is stopped on the way out, whatever happens.
servers=()
cleanup() {
    local p
    for p in "${servers[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# Every tool runs under a time limit, so a bug is a failure, not a hang.
run() {
    timeout 30 "$TOOL" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
loadgen() {
    timeout 30 "$BIN/loadgen" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# start_echo NAME [udp_echo options]: start a server; its port in $port,
# its pid in $pid, its messages in $tmp/NAME.log. Returns 1 if it did not
# print a port within 5 s.
start_echo() {
    local name=$1 i
    shift
    "$BIN/udp_echo" "$@" >"$tmp/$name.port" 2>"$tmp/$name.log" &
    pid=$!
    servers+=("$pid")
    for i in $(seq 50); do
        [ -s "$tmp/$name.port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    port=$(head -n 1 "$tmp/$name.port")
    [[ "$port" =~ ^[0-9]+$ ]]
}

# stop_echo PID SIGNAL: stop a server and wait for it; its status in $status.
stop_echo() {
    kill -"$2" "$1"
    wait "$1"
    status=$?
}

# The value of KEY in loadgen's key=value line.
kv() { grep -o "\\b$1=[^ ]*" "$tmp/out" | head -n 1 | cut -d= -f2; }
kv_is() { [ "$(kv "$1")" = "$2" ]; }

# out_order A B ...: the replies <- ... A, <- ... B appear in this order.
out_order() {
    local got want
    got=$(sed -n 's/^<- [0-9]*\.[0-9][0-9][0-9] ms //p' "$tmp/out" | tr '\n' ' ')
    want="$* "
    [ "$got" = "$want" ]
}

# ===== udp_echo ==========================================================

start_echo echo
check "udp_echo --port 0: prints the bound port first" \
    eval '[ "$port" -gt 0 ] && grep -q "listening on 127.0.0.1:$port" "$tmp/echo.log"'
echo_port=$port

# A port that was just in use and is now free: nobody listens there.
start_echo gone
gone_port=$port
stop_echo "$pid" TERM
check "udp_echo: SIGTERM stops it cleanly (status 0)" \
    eval 'status_is 0 && grep -q "stopped by SIGTERM" "$tmp/gone.log"'

# ===== udpclient: sending, order, comments ===============================

cat >"$tmp/req.txt" <<EOF
; a comment: 127.0.0.1:$echo_port\$commented-out
127.0.0.1:$echo_port\${"module":"fib","args":["10"]}

   ; an indented comment
127.0.0.1:$echo_port\$second
127.0.0.1:$echo_port\$third
EOF
run --yes "$tmp/req.txt"
check "--yes: every request answered, in order, status 0" \
    eval 'status_is 0 && out_order "{\"module\":\"fib\",\"args\":[\"10\"]}" second third'
check "each request shown with file:line and address" \
    eval 'out_has "$tmp/req.txt:2 -> 127.0.0.1:$echo_port {\"module\"" && out_has "$tmp/req.txt:6 -> 127.0.0.1:$echo_port third"'
check "each reply with its round-trip time in ms" \
    eval '[ "$(grep -cE "^<- [0-9]+\.[0-9]{3} ms " "$tmp/out")" -eq 3 ]'
check "comments and blank lines are not sent" \
    eval '! out_has commented-out && ! out_has "indented comment" && err_has "3 sent, 3 answered"'

# ===== udpclient: malformed lines ========================================

big=$(head -c 65508 /dev/zero | tr '\0' 'x')
cat >"$tmp/bad.txt" <<EOF
127.0.0.1:$echo_port\$first
no dollar sign here
127.0.0.1:99999\$bad-port
300.1.2.3:80\$bad-ip
localhost:$echo_port\$a-name
[::1:$echo_port\$bad-v6
127.0.0.1:$echo_port\$
127.0.0.1:$echo_port\$${big}
127.0.0.1:$echo_port\$${big:1}
127.0.0.1:$echo_port\$last
EOF
run -y "$tmp/bad.txt"
check "malformed lines: named by file:line, status 1" \
    eval 'status_is 1 && err_has "$tmp/bad.txt:2: expected IP:PORT\$JSON" && err_has "$tmp/bad.txt:3: " && err_has "$tmp/bad.txt:4: " && err_has "$tmp/bad.txt:5: " && err_has "$tmp/bad.txt:6: " && err_has "$tmp/bad.txt:7: "'
check "malformed lines: what is wrong is said" \
    eval 'err_has "bad port" && err_has "bad IPv4 address" && err_has "empty request"'
check "a 65508-byte request is refused, a 65507-byte one goes" \
    eval 'err_has "$tmp/bad.txt:8: request is 65508 bytes; a UDP datagram holds at most 65507" && ! err_has "$tmp/bad.txt:9:" && awk "/^<- .* ms x+\$/ && length(\$NF) == 65507 {f = 1} END {exit !f}" "$tmp/out"'
check "malformed lines are skipped, the others still go" \
    eval 'grep -q "^<- .* ms first$" "$tmp/out" && grep -q "^<- .* ms last$" "$tmp/out" && err_has "3 sent, 3 answered" && err_has "7 malformed lines"'

# ===== udpclient: no reply ===============================================

printf '127.0.0.1:%s$nobody-home\n127.0.0.1:%s$after\n' "$gone_port" "$echo_port" >"$tmp/gone.txt"
start=$SECONDS
run --yes --timeout 300 "$tmp/gone.txt"
check "nobody listening: a clear line, the next request still goes, status 1" \
    eval 'status_is 1 && err_has "$tmp/gone.txt:1: no reply" && grep -q "^<- .* ms after$" "$tmp/out" && [ $((SECONDS - start)) -le 3 ]'

start_echo drop --drop 2
printf '127.0.0.1:%s$one\n127.0.0.1:%s$two\n127.0.0.1:%s$three\n' "$port" "$port" "$port" >"$tmp/drop.txt"
run --yes --timeout=300 "$tmp/drop.txt"
check "lost reply: a timeout line after --timeout 300, the next request still goes" \
    eval 'status_is 1 && err_has "$tmp/drop.txt:2: timeout: no reply from 127.0.0.1:$port within 300 ms" && out_order one three && err_has "1 timed out"'

# ===== udpclient: standard input, IPv6, no terminal ======================

run --yes - <"$tmp/req.txt"
check "- reads the requests from standard input" \
    eval 'status_is 0 && out_has "<stdin>:5 -> 127.0.0.1:$echo_port second" && out_order "{\"module\":\"fib\",\"args\":[\"10\"]}" second third'

run "$tmp/req.txt" </dev/null
check "FILE with standard input not a terminal: sends all, says so" \
    eval 'status_is 0 && err_has "no terminal to ask on" && err_has "3 sent, 3 answered"'

if command -v setsid >/dev/null 2>&1; then
    status=0
    setsid -w timeout 30 "$TOOL" - <"$tmp/req.txt" >"$tmp/out" 2>"$tmp/err" || status=$?
    check "- without a controlling terminal: sends all, says so" \
        eval 'status_is 0 && err_has "no terminal to ask on" && err_has "3 sent, 3 answered"'
else
    echo "ok - - without a controlling terminal # SKIP no setsid"
fi

if start_echo echo6 --ipv6; then
    printf '[::1]:%s$over-ipv6\n' "$port" >"$tmp/v6.txt"
    run --yes "$tmp/v6.txt"
    check "[::1]:PORT requests" \
        eval 'status_is 0 && out_has "-> [::1]:$port over-ipv6" && out_order over-ipv6'
else
    echo "ok - [::1]:PORT requests # SKIP no IPv6 loopback"
fi

# ===== udpclient: asking on a terminal ===================================

# script(1) gives udpclient a pseudo-terminal; its output comes back with
# CR LF line ends, the typed answers echoed, and a reply on the line of
# the question before it.
ask() {
    local answers=$1
    shift
    printf '%b' "$answers" | timeout 30 script -qec "$*" /dev/null >"$tmp/tty" 2>&1
    status=$?
    # each prompt on a line of its own, so replies start their lines
    tr -d '\r' <"$tmp/tty" |
        sed 's/send? \[y\]es \/ \[s\]kip \/ \[q\]uit /&\n/g' >"$tmp/out"
    : >"$tmp/err"
}
if command -v script >/dev/null 2>&1; then
    printf '127.0.0.1:%s$q-one\n127.0.0.1:%s$q-two\n127.0.0.1:%s$q-three\n127.0.0.1:%s$q-four\n' \
        "$echo_port" "$echo_port" "$echo_port" "$echo_port" >"$tmp/ask.txt"
    ask 's\nwhat\n\nq\n' "'$TOOL' '$tmp/ask.txt'"
    check "terminal: s skips, a bad answer asks again, Enter sends, q quits" \
        eval 'status_is 0 && [ "$(grep -c "send? \[y\]es / \[s\]kip / \[q\]uit" "$tmp/out")" -eq 4 ] && out_has "please answer" && out_order q-two && out_has "ask.txt:3 -> " && ! out_has "ask.txt:4 -> " && out_has "1 sent, 1 answered, 1 skipped"'
    ask 'y\ns\ny\nyes\n' "'$TOOL' - < '$tmp/ask.txt'"
    check "terminal with - : answers come from /dev/tty, requests from stdin" \
        eval 'status_is 0 && out_order q-one q-three q-four && out_has "3 sent, 3 answered, 1 skipped"'
else
    echo "ok - terminal questions # SKIP no script(1)"
fi

# ===== udpclient: usage ==================================================

run
check "no file: usage error, status 2" eval 'status_is 2 && err_has "no request file"'
run --timeout 0 "$tmp/req.txt"
check "--timeout 0: usage error, status 2" eval 'status_is 2 && err_has "bad --timeout"'
run --yes "$tmp/does-not-exist.txt"
check "a missing file: status 2, named" eval 'status_is 2 && err_has "cannot open $tmp/does-not-exist.txt"'

# ===== loadgen ===========================================================

payload='{"module":"fib","args":["10"]}'
loadgen --target "127.0.0.1:$echo_port" --payload "$payload" --concurrency 4 --requests 2000
check "loadgen against udp_echo: 2000 requests, all ok, status 0" \
    eval 'status_is 0 && kv_is requests 2000 && kv_is ok 2000 && kv_is errors 0 && kv_is timeouts 0'
check "loadgen: one machine-readable line with rps and latencies" \
    eval '[ "$(wc -l <"$tmp/out")" -eq 1 ] && [ "$(kv rps)" -gt 0 ] && grep -qE "p50_us=[0-9.]+ p90_us=[0-9.]+ p99_us=[0-9.]+ max_us=[0-9.]+" "$tmp/out"'

start_echo fixed --reply '{"status":"ok","exit_code":0,"stdout":"55\n"}'
fixed_port=$port
loadgen -t "127.0.0.1:$fixed_port" -p "$payload" -c 8 -n 500 --expect '"status":"ok"'
check "udp_echo --reply, loadgen --expect matching: all ok" \
    eval 'status_is 0 && kv_is ok 500 && kv_is errors 0'
loadgen -t "127.0.0.1:$fixed_port" -p "$payload" -c 8 -n 500 --expect '"status":"error"'
check "loadgen --expect not matching: counted as errors, status 1" \
    eval 'status_is 1 && kv_is ok 0 && kv_is errors 500 && err_has "first reply without"'

start_echo lossy --drop 2
loadgen -t "127.0.0.1:$port" -p "$payload" -c 1 -n 10 --timeout 200
check "loadgen: lost replies are timeouts, the rest ok" \
    eval 'status_is 1 && kv_is requests 10 && kv_is ok 5 && kv_is timeouts 5'
loadgen -t "127.0.0.1:$port" -p "$payload" -c 1 -n 10 --timeout 200 --deadline-us 100000
check "loadgen --deadline-us: lost replies are missed, prompt ones are not" \
    eval 'kv_is ok 5 && kv_is missed 5'
loadgen -t "127.0.0.1:$port" -p "$payload" -c 1 -n 10 --timeout 200 --deadline-us 1
check "loadgen --deadline-us 1: every reply is late, so all are missed" \
    eval 'kv_is ok 5 && kv_is missed 10'

stop_echo "$pid" INT
check "udp_echo: SIGINT stops it cleanly with its counts" \
    eval 'status_is 0 && grep -q "stopped by SIGINT: 30 datagrams received, 15 answered, 15 left unanswered" "$tmp/lossy.log"'
loadgen -t "127.0.0.1:$port" -p "$payload" -c 4 -n 40 --timeout 200
check "loadgen: the server gone: every request refused or timed out, no hang" \
    eval 'status_is 1 && kv_is requests 40 && kv_is ok 0 && [ $(( $(kv refused) + $(kv timeouts) )) -eq 40 ]'

start=$SECONDS
loadgen -t "127.0.0.1:$echo_port" -p "$payload" -c 2 --duration 0.3
check "loadgen --duration 0.3: ends on time, sends something" \
    eval 'status_is 0 && [ "$(kv requests)" -gt 0 ] && [ $((SECONDS - start)) -le 3 ]'

loadgen -t "127.0.0.1:$echo_port" -p "$payload" -c 4 -n 100 --source 127.0.0.7
check "loadgen --source 127.0.0.7: sends from another loopback address" \
    eval 'status_is 0 && kv_is ok 100'
loadgen -t "127.0.0.1:$echo_port" -p "$payload" -n 1 --source 192.0.2.1
check "loadgen --source: only loopback addresses" \
    eval 'status_is 2 && err_has "bad --source"'
loadgen -t "[::1]:1" -p x -n 1 --timeout 100
check "loadgen: [::1] is loopback" eval 'status_is 1 && kv_is requests 1'
loadgen -t "192.0.2.1:$echo_port" -p "$payload"
check "loadgen: a non-loopback target is refused, nothing sent" \
    eval 'status_is 2 && err_has "may only target loopback" && [ ! -s "$tmp/out" ]'
loadgen -t "127.0.0.1:$echo_port"
check "loadgen: --payload is required" eval 'status_is 2 && err_has "--payload TEXT is required"'

cli_summary
