#!/usr/bin/env bash
# bench/serve/run.sh - the serving benchmark (make bench-serve [QUICK=1]):
#
#   run.sh [--quick] BUILD_DIR
#
#   1. sandbox life cycle: `awsmrt --bench`, in-process (no network): a
#      fresh sandbox (stack, WASI context, instance, linear memory), a
#      trivial _start (examples/echo.c with empty stdin), teardown;
#      median and p99 in microseconds;
#   2. throughput and latency on loopback at several concurrency levels:
#      loadgen against awsmrt serving echo, and against udp_echo, a native
#      C UDP server answering at once (the physical limit), in the same
#      run, alternating;
#   3. memory per idle sandbox and the most sandboxes alive at once: N
#      requests to a module that sleeps (parked sandboxes), awsmrt's RSS
#      and mappings while they wait against before;
#   4. starvation: on one worker, short requests alone and beside 1 and 4
#      guests that loop until their deadline (interleaved rounds);
#   5. EDF against FIFO on SLEdge's bimodal workload: short requests with a
#      tight deadline beside long ones with a lax one, on one worker; the
#      fraction of each that misses its deadline;
#   6. HTTP: wrk (http.sh) against http_echo, a native HTTP/1.1 server on
#      the same parser and event loop answering at once, and, when this
#      build's awsmrt accepts an HTTP module ("http-port"), against awsmrt
#      serving echo at /echo, alternating, keep-alive on and off.
#
# BASELINE=DIR (a build's bin/ of an older awsmrt) adds its throughput to
# section 2, measured in the same rounds.
#
# Writes bench/results/serve.md (serve-quick.md with --quick).
set -euo pipefail

quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    shift
fi
build=$(cd "${1:?usage: run.sh [--quick] BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$build/bin
out=$build/bench-serve
mkdir -p "$out"
export AWSM_CACHE_DIR=$out/cache
if ((quick)); then
    cycles=5000 requests=5000 levels="1 16" idle_counts="200" secs=1 rounds=1
    report=$here/../results/serve-quick.md
else
    cycles=50000 requests=30000 levels="1 4 16 64" idle_counts="1000 10000 100000" secs=3 rounds=2
    report=$here/../results/serve.md
fi
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null || true

for app in echo fib; do
    clang --target=wasm32-wasi -O2 "$root/examples/$app.c" -o "$out/$app.wasm"
done
for app in nap spin; do
    clang --target=wasm32-wasi -O2 "$root/tests/e2e/apps/$app.c" -o "$out/$app.wasm"
done
base=$((30000 + RANDOM % 20000))
cat >"$out/modules.json" <<EOF
[{"name": "echo", "path": "echo.wasm", "port": $base, "argsize": 0},
 {"name": "nap", "path": "nap.wasm", "port": $((base + 1)), "argsize": 1, "timeout-ms": 60000,
  "max-inflight": 200000, "max-memory-pages": 16, "dense-memory": true},
 {"name": "spin", "path": "spin.wasm", "port": $((base + 2)), "argsize": 0, "timeout-ms": $((secs * 1000 + 1500))},
 {"name": "short", "path": "fib.wasm", "port": $((base + 3)), "argsize": 1, "relative-deadline-us": 5000},
 {"name": "long", "path": "fib.wasm", "port": $((base + 4)), "argsize": 1, "relative-deadline-us": 100000}]
EOF
# The baseline gets the echo module alone, on its own port.
cat >"$out/baseline.json" <<EOF
[{"name": "echo", "path": "echo.wasm", "port": $((base + 10)), "argsize": 0}]
EOF
workers=$(nproc)

server_pid=
stop() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
trap stop EXIT

# ===== 1. Sandbox life cycle ==============================================

echo "== sandbox life cycle ($cycles sandboxes, 1 worker)" >&2
"$bin/awsmrt" --workers 1 --check "$out/modules.json" >/dev/null   # compile once
lifecycle=$("$bin/awsmrt" --workers 1 --bench "echo:$cycles" "$out/modules.json")
echo "$lifecycle" >&2

# ===== 2. Throughput and latency ==========================================

"$bin/awsmrt" --max-queued 8192 --log-level warn --host 127.0.0.1 "$out/modules.json" \
    2>"$out/server.log" &
server_pid=$!
baseline_pid=
targets="awsmrt:$base udp_echo:PORT"
if [[ -n ${BASELINE:-} ]]; then
    "$BASELINE/awsmrt" --max-queued 8192 --log-level warn --host 127.0.0.1 \
        "$out/baseline.json" 2>"$out/baseline.log" &
    baseline_pid=$!
    targets="awsmrt:$base baseline:$((base + 10)) udp_echo:PORT"
fi
"$bin/udp_echo" --reply '{"status":"ok","exit_code":0,"stdout":"ping","stderr":"","truncated":false,"time_us":5}' \
    >"$out/echo.port" 2>/dev/null &
echo_pid=$!
trap 'stop; kill $echo_pid $baseline_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -s $out/echo.port ]] && break; sleep 0.1; done
echo_port=$(head -n 1 "$out/echo.port")
targets=${targets/PORT/$echo_port}
sleep 1
payload='{"module":"echo","stdin":"ping"}'
field() { sed -n "s/\(^\|.* \)$1=\([0-9.]*\).*/\2/p" <<<"$2"; }
rows=
for c in $levels; do
    for target in $targets; do
        name=${target%%:*}
        line=$("$bin/loadgen" --target "127.0.0.1:${target#*:}" --payload "$payload" \
               --concurrency "$c" --requests "$requests" --timeout 5000 \
               --expect '"stdout":"ping"' 2>/dev/null || true)
        echo "$name c=$c $line" >&2
        eval "${name}_$c=\"\$line\""
    done
    a=awsmrt_$c e=udp_echo_$c
    ar=$(field rps "${!a}") er=$(field rps "${!e}")
    rows+="| $c | $ar | $(field p50_us "${!a}") | $(field p99_us "${!a}") | $(field ok "${!a}")/$requests "
    rows+="| $er | $(field p50_us "${!e}") | $(field p99_us "${!e}") "
    rows+="| $(awk -v a="$ar" -v e="$er" 'BEGIN { printf "%.2f", (e > 0 ? a / e : 0) }') |"
    if [[ -n $baseline_pid ]]; then
        b=baseline_$c
        br=$(field rps "${!b}")
        rows+=" $br | $(field p99_us "${!b}") | $(awk -v a="$br" -v e="$er" 'BEGIN { printf "%.2f", (e > 0 ? a / e : 0) }') |"
    fi
    rows+=$'\n'
done
kill $echo_pid $baseline_pid 2>/dev/null || true

# ===== 3. Idle sandboxes ==================================================

stop
"$bin/awsmrt" --max-queued 200000 --max-inflight 200000 --log-level warn "$out/modules.json" \
    2>"$out/server.log" &
server_pid=$!
sleep 1
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
maps() { wc -l <"/proc/$server_pid/maps"; }
idle_rows=
map_limit=$(cat /proc/sys/vm/max_map_count)
mper=0
for n in $idle_counts; do
    # Predicted from the mappings each sandbox took at the smaller count.
    need=$(awk -v m="$mper" -v n="$n" 'BEGIN { printf "%d", m * n + 2000 }')
    if ((need > map_limit)); then
        echo "idle: $n sandboxes not measured: vm.max_map_count is $map_limit" >&2
        idle_rows+="| $n | - | - | - | - | not measured: vm.max_map_count $map_limit < $need ($mper mappings per sandbox) |"$'\n'
        continue
    fi
    before=$(rss) maps_before=$(maps)
    # loadgen keeps at most 4,096 in flight, and one loopback address has
    # ~28,000 ports: one loadgen per 4,000 sandboxes, from 127.0.0.1-8.
    ms=$((6000 + n / 5)) lgs= left=$n i=0
    while ((left > 0)); do
        k=$((left > 4000 ? 4000 : left))
        "$bin/loadgen" --target "127.0.0.1:$((base + 1))" --payload "{\"module\":\"nap\",\"args\":[\"$ms\"]}" \
            --source "127.0.0.$((i % 8 + 1))" --concurrency "$k" --requests "$k" \
            --timeout $((ms + 30000)) --expect 'slept enough' >"$out/idle.$i.txt" 2>/dev/null &
        lgs+=" $!"
        left=$((left - k)) i=$((i + 1))
        ((i % 4 == 0)) && sleep 0.5
    done
    # The most seen while they sleep, sampled until the first wakes (each
    # on its own: a run may need no new mappings, reusing the last one's).
    during=0 maps_during=0
    end=$(( $(date +%s%N) + (ms - 1500) * 1000000 ))
    while (( $(date +%s%N) < end )); do
        r=$(rss) m=$(maps)
        ((m > maps_during)) && maps_during=$m
        ((r > during)) && during=$r
        sleep 0.5
    done
    wait $lgs || true
    ok=0
    for f in "$out"/idle.*.txt; do ok=$((ok + $(field ok "$(cat "$f")"))); done
    rm -f "$out"/idle.*.txt
    per=$(awk -v a="$before" -v b="$during" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
    mper=$(awk -v a="$maps_before" -v b="$maps_during" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
    echo "idle: $n sleeping sandboxes: RSS $before kB -> $during kB, $per kB each, maps $maps_before -> $maps_during ($mper each), $ok answered" >&2
    idle_rows+="| $n | $before | $during | $per | $maps_before -> $maps_during ($mper each) | $ok/$n |"$'\n'
done
stop

# ===== 4. Starvation ======================================================

# short_run N: $secs s of echo requests, 4 in flight, beside N guests that
# loop until their deadline, on one worker.
short_run() {
    local n=$1 spinners=
    for _ in $(seq 1 "$n"); do
        "$bin/loadgen" --target "127.0.0.1:$((base + 2))" --payload '{"module":"spin"}' \
            --concurrency 1 --requests 1 --timeout 20000 >/dev/null 2>&1 &
        spinners+=" $!"
    done
    ((n > 0)) && sleep 0.3
    "$bin/loadgen" --target "127.0.0.1:$base" --payload '{"module":"echo","stdin":"x"}' \
        --concurrency 4 --duration "$secs" --timeout 5000 --expect '"stdout":"x"' 2>/dev/null || true
    [[ -z $spinners ]] || wait $spinners
}
"$bin/awsmrt" --workers 1 --log-level warn "$out/modules.json" 2>"$out/server.log" &
server_pid=$!
sleep 1
starve_rows=
for round in $(seq 1 "$rounds"); do
    for n in 0 1 4; do
        line=$(short_run "$n")
        echo "starvation round $round, beside $n looping: $line" >&2
        eval "starve_${n}_$round=\"\$line\""
    done
done
for n in 0 1 4; do
    for round in $(seq 1 "$rounds"); do
        v=starve_${n}_$round a=starve_0_$round
        r=$(field rps "${!v}") r0=$(field rps "${!a}")
        starve_rows+="| $n | $round | $r | $(awk -v a="$r" -v e="$r0" 'BEGIN { printf "%.2f", (e > 0 ? a / e : 0) }') | $(field p50_us "${!v}") | $(field p99_us "${!v}") |"$'\n'
    done
done
stop

# ===== 5. EDF against FIFO: the bimodal workload ==========================

# Short: fib(20), deadline 5 ms, 4 in flight. Long: fib(31), a few ms,
# deadline 100 ms, 4 in flight. One worker, $secs s per run.
miss() {
    awk -v m="$(field missed "$1")" -v n="$(field requests "$1")" \
        'BEGIN { printf "%.1f%%", (n > 0 ? 100 * m / n : 0) }'
}
bimodal_rows=
for round in $(seq 1 "$rounds"); do
    for policy in edf fifo; do
        "$bin/awsmrt" --workers 1 --scheduler "$policy" --log-level warn "$out/modules.json" \
            2>"$out/server.log" &
        server_pid=$!
        sleep 1
        "$bin/loadgen" --target "127.0.0.1:$((base + 4))" --payload '{"module":"long","args":["31"]}' \
            --concurrency 4 --duration "$secs" --timeout 5000 --deadline-us 100000 \
            --expect '"status":"ok"' >"$out/long.txt" 2>/dev/null &
        lg=$!
        short=$("$bin/loadgen" --target "127.0.0.1:$((base + 3))" --payload '{"module":"short","args":["20"]}' \
            --concurrency 4 --duration "$secs" --timeout 5000 --deadline-us 5000 \
            --expect '"status":"ok"' 2>/dev/null || true)
        wait $lg || true
        long=$(cat "$out/long.txt")
        stop
        echo "bimodal $policy round $round: short $short; long $long" >&2
        bimodal_rows+="| $policy | $round | $(field requests "$short") | $(miss "$short") | $(field p99_us "$short") | $(field requests "$long") | $(miss "$long") | $(field p99_us "$long") |"$'\n'
    done
done

# ===== 6. HTTP ============================================================

# http_echo (one loop per thread, as awsmrt has one per worker) and, if
# `awsmrt --check` accepts an HTTP module, awsmrt serving echo at /echo;
# the same POST of "ping" to both (http.sh).
http_port=$((base + 20))
cat >"$out/http.json" <<EOF
[{"name": "echo", "path": "echo.wasm", "http-port": $http_port, "port": $((http_port + 1))}]
EOF
rm -f "$out/http_echo.port"
"$bin/http_echo" --threads "$workers" --body ping >"$out/http_echo.port" 2>"$out/http_echo.log" &
http_echo_pid=$!
trap 'stop; kill $http_echo_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -s $out/http_echo.port ]] && break; sleep 0.1; done
http_targets=("http_echo=http://127.0.0.1:$(head -n 1 "$out/http_echo.port")/echo")
if "$bin/awsmrt" --check "$out/http.json" >/dev/null 2>&1; then
    "$bin/awsmrt" --log-level warn --host 127.0.0.1 "$out/http.json" 2>"$out/server.log" &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 -X POST --data-binary ping \
            "http://127.0.0.1:$http_port/echo" && break
        sleep 0.1
    done
    http_targets+=("awsmrt=http://127.0.0.1:$http_port/echo")
    http_note="awsmrt: $workers worker(s), examples/echo.c at /echo (the request body is its stdin)"
else
    http_note="awsmrt: no HTTP front end in this build"
fi
echo "== HTTP: ${http_targets[*]}; $http_note" >&2
http_rows=$(QUICK=$quick HTTP_SECS=$secs HTTP_ROUNDS=$rounds HTTP_LEVELS="$levels" \
            "$here/http.sh" "${http_targets[@]}") || http_rows="http.sh failed: see its messages"
echo "$http_rows" >&2

# The cost of a request to awsmrt itself: its CPU time (user + system,
# /proc/PID/stat) over a run at 16 in flight, per request, for the same
# module over UDP (loadgen) and over HTTP (wrk), keep-alive on and off.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
cost_rows=
if [[ -n ${server_pid:-} ]]; then
    tick_us=$((1000000 / $(getconf CLK_TCK)))
    cost() {            # cost NAME COMMAND...: one row; COMMAND prints requests=N
        local t0 t1 line n
        t0=$(cpu_ticks)
        line=$("${@:2}" 2>/dev/null || true)
        t1=$(cpu_ticks)
        n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line" | head -n 1)
        cost_rows+="| $1 | ${n:-0} | $(awk -v t=$((t1 - t0)) -v u=$tick_us -v n="${n:-0}" \
            'BEGIN { printf "%.1f", (n > 0 ? t * u / n : 0) }') |"$'\n'
    }
    wrk_run() {         # wrk_run [HEADER]: 16 connections, requests=N
        wrk -t2 -c16 -d"${secs}s" -s "$here/http.lua" ${1:+-H "$1"} \
            "http://127.0.0.1:$http_port/echo" | grep '^result'
    }
    cost "UDP (loadgen)" "$bin/loadgen" --target "127.0.0.1:$((http_port + 1))" \
        --payload "$payload" --concurrency 16 --requests $((requests * 2)) --timeout 5000 \
        --expect '"stdout":"ping"'
    cost "HTTP, keep-alive (wrk)" wrk_run
    cost "HTTP, a connection per request (wrk)" wrk_run "Connection: close"
    echo "$cost_rows" >&2
fi
stop
kill $http_echo_pid 2>/dev/null || true
wait $http_echo_pid 2>/dev/null || true

# ===== Report =============================================================

{
    echo "# Serving benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- awsm: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- . ':!bench/results' || echo ' + uncommitted changes')"
    echo "- awsmrt: $workers worker(s) (one per core) in sections 2 and 3, one in 4 and 5; default quantum (5 ms); loadgen: one thread, one socket per request in flight"
    [[ -z ${BASELINE:-} ]] || echo "- baseline (section 2): $BASELINE/awsmrt"
    echo
    echo "## Sandbox life cycle"
    echo
    echo "In-process (\`awsmrt --bench echo:$cycles\`, one worker): from a worker"
    echo "picking the sandbox up to the end of its teardown: stack from the pool,"
    echo "WASI context, instance with a fresh linear memory (a pooled, zeroed"
    echo "reservation), _start of examples/echo.c with empty stdin, teardown."
    echo "Sandboxes are queued 256 at a time, as a busy worker's queue holds them."
    echo
    echo "| sandboxes | median | p99 | min |"
    echo "|---:|---:|---:|---:|"
    echo "| $(field sandboxes "$lifecycle") | $(field median_us "$lifecycle") us | $(field p99_us "$lifecycle") us | $(field min_us "$lifecycle") us |"
    echo
    echo "## Requests on loopback"
    echo
    echo "$requests requests per row, \`{\"module\":\"echo\",\"stdin\":\"ping\"}\`, every reply"
    echo "checked. udp_echo answers each datagram at once with a fixed reply of"
    echo "the same shape: the physical limit of the network path and of loadgen."
    echo
    if [[ -n $baseline_pid ]]; then
        echo "| concurrency | awsmrt req/s | p50 us | p99 us | ok | udp_echo req/s | p50 us | p99 us | awsmrt / udp_echo | baseline req/s | p99 us | baseline / udp_echo |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    else
        echo "| concurrency | awsmrt req/s | p50 us | p99 us | ok | udp_echo req/s | p50 us | p99 us | awsmrt / udp_echo |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    fi
    printf '%s' "$rows"
    echo
    echo "## Idle sandboxes"
    echo
    echo "N requests to a module that sleeps 6 s + N/5 ms (poll_oneoff), with"
    echo "\"max-memory-pages\": 16 and \"dense-memory\": its memory is a slot of a"
    echo "shared slab. Every sandbox is alive and parked at once. awsmrt's resident"
    echo "memory and mappings (/proc/PID/maps lines) before, and the most of"
    echo "each seen while they sleep (sampled every 0.5 s)."
    echo
    echo "| sandboxes alive | RSS before (kB) | RSS while parked (kB) | per sandbox (kB) | mappings | answered |"
    echo "|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$idle_rows"
    echo
    echo "## Starvation"
    echo
    echo "One worker; $secs s of echo requests (4 in flight) alone and beside N"
    echo "guests that loop until their deadline, rounds interleaved."
    echo
    echo "| looping guests | round | short req/s | vs alone | p50 us | p99 us |"
    echo "|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$starve_rows"
    echo
    echo "## EDF and FIFO: the bimodal workload"
    echo
    echo "One worker; short requests (fib(20), relative deadline 5 ms, 4 in"
    echo "flight) beside long ones (fib(31), deadline 100 ms, 4 in flight) for"
    echo "$secs s; a request misses when it is not answered ok within its deadline"
    echo "(loadgen --deadline-us)."
    echo
    echo "| scheduler | round | short requests | short missed | short p99 us | long requests | long missed | long p99 us |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$bimodal_rows"
    echo
    echo "## HTTP"
    echo
    echo "wrk (\`bench/serve/http.sh\`, one thread per connection up to 2), $secs s per run,"
    echo "$rounds round(s), the targets alternating; every request a POST of \"ping\"."
    echo "http_echo ($workers thread(s)) is a native HTTP/1.1 server on the same parser"
    echo "(http_parser) and event loop (libuv) as awsmrt, answering at once with"
    echo "\"ping\": the physical limit of the path. errors: replies with a status"
    echo "over 399 and socket errors, as wrk counts them."
    echo
    echo "- $http_note"
    printf '%s\n' "$http_rows"
    echo
    if [[ -n $cost_rows ]]; then
        echo "### Cost per request: UDP and HTTP"
        echo
        echo "awsmrt's own CPU time (user + system) over a run at 16 in flight,"
        echo "divided by the requests answered: the same module (echo) over UDP"
        echo "and over HTTP, in the same process."
        echo
        echo "| protocol | requests | awsmrt CPU us per request |"
        echo "|---|---:|---:|"
        printf '%s' "$cost_rows"
        echo
    fi
    echo "## Notes"
    echo
    cat "$here/notes.md"
} >"$report"
cat "$report"
