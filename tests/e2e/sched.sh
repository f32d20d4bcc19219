#!/bin/bash
# tests/e2e/sched.sh BINDIR - awsmrt's scheduler end to end, on loopback:
# a looping guest does not starve short requests on the same (only)
# worker; EDF runs the request with the earlier deadline first where FIFO
# keeps arrival order; admission control rejects under overload and
# admits again after; an idle worker steals from a busy one.
# ctest runs it alone (RUN_SERIAL): it compares throughputs.
set -u
BIN=$(cd "$1" && pwd)
NAME=e2e-sched
TOOL=$BIN/awsmrt
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
. "$HERE/lib.sh"

build_apps echo fib spin

write_config() {
    cat >"$tmp/modules.json" <<EOF
[
 {"name": "echo", "path": "echo.wasm", "port": $(port 0), "argsize": 0},
 {"name": "spin", "path": "spin.wasm", "port": $(port 1), "argsize": 0,
  "timeout-ms": 2500},
 {"name": "lax", "path": "fib.wasm", "port": $(port 2), "argsize": 1,
  "relative-deadline-us": 2000000},
 {"name": "tight", "path": "fib.wasm", "port": $(port 3), "argsize": 1,
  "relative-deadline-us": 30000},
 {"name": "fib", "path": "fib.wasm", "port": $(port 4), "argsize": 1,
  "relative-deadline-us": 20000, "max-inflight": 4096}
]
EOF
}

field() { sed -n "s/\(^\|.* \)$1=\([0-9.]*\).*/\2/p" "$2"; }
int() { printf '%.0f' "$1"; }

# ===== Starvation: one worker, a looping guest, a stream of short ones ====

start_server --workers 1
short() {           # short OUT: 0.5 s of echo requests, 4 in flight
    "$BIN/loadgen" --target "127.0.0.1:$(port 0)" --payload '{"module":"echo","stdin":"x"}' \
        --concurrency 4 --duration 0.5 --timeout 3000 --expect '"stdout":"x"' \
        >"$1" 2>/dev/null
}
# Throughput on this shared machine swings several-fold from one second to
# the next (other guests' CPU steal), so each side is the median of several
# short phases, alone and beside taking turns: three phases alone, then
# three beside one looping guest (it runs to its 2.5 s deadline), per
# round. A scheduler that starves the short requests loses every phase.
starve_round() {    # starve_round N
    local phase spinner
    for phase in 1 2 3; do
        short "$tmp/alone$1.$phase"
    done
    "$BIN/udpclient" --yes --timeout 10000 - >"$tmp/spin$1" 2>&1 <<EOF &
127.0.0.1:$(port 1)\${"module":"spin"}
EOF
    spinner=$!
    sleep 0.2
    for phase in 1 2 3; do
        short "$tmp/beside$1.$phase"
    done
    wait $spinner
}
median() {          # median FIELD FILE...: over the phases, as an integer
    local f=$1
    shift
    for file in "$@"; do int "$(field "$f" "$file")"; echo; done |
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# The p99 bound is four quanta on top of the p99 alone: in the sanitizer
# build on a busy machine the short requests' p99 alone, with no guest
# looping, has been 9-35 ms (median 12.5 ms).
starve_judge() {
    alone=$(median rps "$tmp"/alone?.?)
    beside=$(median rps "$tmp"/beside?.?)
    p99_alone=$(median p99_us "$tmp"/alone?.?)
    p99_beside=$(median p99_us "$tmp"/beside?.?)
    [ $((beside * 2)) -ge "$alone" ] && [ "$p99_beside" -lt $((p99_alone + 20000)) ]
}
starve_round 1
starve_round 2
# Two more rounds if the machine was busy meanwhile: bounded, and the
# checks below judge every phase run.
if ! starve_judge; then
    starve_round 3
    starve_round 4
    starve_judge
fi
cat "$tmp"/alone?.? "$tmp"/beside?.? >"$tmp/out"
cp "$tmp/server.log" "$tmp/err"
check "starvation: beside a looping guest, short requests keep half their throughput (median $beside vs $alone req/s alone)" \
    [ $((beside * 2)) -ge "$alone" ]
check "... and their p99 stays within four quanta of their p99 alone (median ${p99_beside} vs ${p99_alone} us, quantum 5000 us)" \
    [ "$p99_beside" -lt $((p99_alone + 20000)) ]
cat "$tmp/spin1" >"$tmp/out"
check "... while the looping guest still runs to its deadline" \
    grep -q '"error":"timeout after 2500 ms"' "$tmp/spin1"
stop_server

# ===== EDF against FIFO ====================================================
#
# One worker and a long quantum (no demotion): 24 requests of "lax"
# (deadline 2 s), each a fib(30) of a few ms, and 10 ms later 6 of "tight"
# (30 ms). EDF runs the tight ones as soon as they arrive, ahead of the
# lax ones still queued; FIFO runs them after every lax one.

order() {           # order POLICY: the burst; tight_max and lax_max in us
    start_server --workers 1 --quantum-us 500000 --scheduler "$1"
    "$BIN/loadgen" --target "127.0.0.1:$(port 2)" --payload '{"module":"lax","args":["30"]}' \
        --concurrency 24 --requests 24 --timeout 10000 --expect '"stdout":"832040\n"' \
        >"$tmp/lax.$1" 2>/dev/null &
    local lax=$!
    sleep 0.01
    "$BIN/loadgen" --target "127.0.0.1:$(port 3)" --payload '{"module":"tight","args":["30"]}' \
        --concurrency 6 --requests 6 --timeout 10000 --expect '"stdout":"832040\n"' \
        >"$tmp/tight.$1" 2>/dev/null
    wait $lax
    stop_server
    lax_max=$(int "$(field max_us "$tmp/lax.$1")")
    tight_max=$(int "$(field max_us "$tmp/tight.$1")")
    lax_p50=$(int "$(field p50_us "$tmp/lax.$1")")
    tight_p50=$(int "$(field p50_us "$tmp/tight.$1")")
    cat "$tmp/lax.$1" "$tmp/tight.$1" >"$tmp/out"
}
order edf
check "EDF: all 30 answered" eval '[ "$(grep -c " ok=\(24\|6\) errors=0 " "$tmp/out")" -eq 2 ]'
check "EDF: the tight-deadline requests finish before the lax ones (${tight_max} < ${lax_max} us)" \
    [ "$tight_max" -lt "$lax_max" ]
order fifo
# Within the run, as EDF's check is: a second server run is no reference
# when other tests load the machine meanwhile.
check "FIFO: arrival order, the tight ones wait behind the lax ones (median ${tight_p50} us, the lax ones' ${lax_p50} us)" \
    [ "$tight_p50" -gt "$lax_p50" ]

# ===== Admission control ===================================================

start_server --workers 1 --admission --log-level debug
"$BIN/loadgen" --target "127.0.0.1:$(port 4)" --payload '{"module":"fib","args":["27"]}' \
    --concurrency 1 --requests 40 --timeout 5000 --expect '"status":"ok"' >"$tmp/out" 2>&1
check "admission: requests one at a time are all admitted" grep -q ' ok=40 errors=0 ' "$tmp/out"
"$BIN/loadgen" --target "127.0.0.1:$(port 4)" --payload '{"module":"fib","args":["27"]}' \
    --concurrency 64 --requests 640 --timeout 5000 --expect '"status":"ok"' >"$tmp/out" 2>&1
ok=$(field ok "$tmp/out") errors=$(field errors "$tmp/out")
check "admission: 64 at once overload one worker: some are admitted ($ok)" [ "${ok:-0}" -gt 0 ]
check "... and the rest rejected at once ($errors)" [ "${errors:-0}" -gt 0 ]
cp "$tmp/server.log" "$tmp/err"
check "... with the reason and its inputs in the log" \
    grep -q 'overloaded: not admitted: module "fib" needs about' "$tmp/server.log"
check "... and each decision at debug level" grep -q 'module "fib": admitted: estimate ' "$tmp/server.log"
ask "$(port 4)" '{"module":"fib","args":["27"]}'
check "admission: after the burst a request is admitted again" has '"status":"ok","exit_code":0,"stdout":"196418\n"'
ask "$(port 0)" '{"module":"echo","stdin":"y"}'
check "... and other modules were never refused" has '"stdout":"y"'
stop_server

# ===== Balance: an idle worker steals ======================================
#
# Datagrams from one socket all reach the same worker (SO_REUSEPORT hashes
# the source address), so the other worker only gets work by stealing.

start_server --workers 2
exec 3<>"/dev/udp/127.0.0.1/$(port 2)"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do
    printf '%s' '{"module":"lax","args":["30"]}' >&3
done
exec 3>&-
sleep 1
kill -USR1 "$pid"
sleep 0.3
cp "$tmp/server.log" "$tmp/out"
steals=$(sed -n 's/.*SIGUSR1: .* \([0-9]*\) steals.*/\1/p' "$tmp/server.log")
check "balance: 12 requests from one socket all run" grep -q 'SIGUSR1: 0 in flight, 12 requests run' "$tmp/server.log"
check "... and the idle worker stole some of them ($steals)" [ "${steals:-0}" -gt 0 ]
stop_server

no_crash_reports
cli_summary
