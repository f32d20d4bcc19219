#!/bin/bash
# tests/e2e/run.sh BINDIR - awsmrt end to end, on loopback only: start it on
# free ports with the example apps and the test apps (tests/e2e/apps), send
# requests with udpclient and loadgen, and check the replies: correct
# results under concurrency, timeouts that do not stall others, traps,
# stack overflow and memory exhaustion answered with errors while the next
# request succeeds, bad requests and bad configurations, no growth in
# memory over 10,000 requests, a clean shutdown on SIGTERM.
set -u
BIN=$(cd "$1" && pwd)
NAME=e2e
TOOL=$BIN/awsmrt
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"

. "$HERE/lib.sh"

# ===== Modules and configuration ===========================================

for src in "$ROOT"/examples/*.c "$HERE"/apps/*.c; do
    flags=()
    [ "$(basename "$src")" = tailcall.c ] && flags=(-mtail-call)
    clang --target=wasm32-wasi -O2 "${flags[@]}" "$src" -o "$tmp/$(basename "$src" .c).wasm" ||
        exit 1
done
for w in deep startloop; do
    wat2wasm "$HERE/apps/$w.wat" -o "$tmp/$w.wasm" || exit 1
done
wat2wasm --enable-exceptions "$HERE/apps/throws.wat" -o "$tmp/throws.wasm" || exit 1
for m in forever loop multi; do
    python3 "$HERE/apps/wide.py" $m >"$tmp/wide$m.wat" &&
        wat2wasm "$tmp/wide$m.wat" -o "$tmp/wide$m.wasm" || exit 1
done
mkdir -p "$tmp/data"
printf 'one two\nthree\n' >"$tmp/data/words.txt"

write_config() {
    cat >"$tmp/modules.json" <<EOF
[
 {"name": "fib", "path": "fib.wasm", "port": $(port 0), "argsize": 1, "active": "yes"},
 {"name": "bitcount", "path": "bitcount.wasm", "port": $(port 1), "argsize": 1, "active": true},
 {"name": "echo", "path": "echo.wasm", "port": $(port 2), "argsize": 0, "active": "yes"},
 {"name": "wc", "path": "wc.wasm", "port": $(port 3), "argsize": 4, "active": "yes",
  "dirs": ["data::/data"]},
 {"name": "spin", "path": "spin.wasm", "port": $(port 4), "argsize": 0, "active": "yes",
  "timeout-ms": 1000},
 {"name": "divzero", "path": "divzero.wasm", "port": $(port 5), "argsize": 2, "active": "yes"},
 {"name": "deep", "path": "deep.wasm", "port": $(port 6), "argsize": 0, "active": "yes",
  "stack-size": 262144},
 {"name": "hog", "path": "hog.wasm", "port": $(port 7), "argsize": 0, "active": "yes",
  "max-memory-pages": 64},
 {"name": "status", "path": "status.wasm", "port": $(port 8), "argsize": 1, "active": "yes"},
 {"name": "nap", "path": "nap.wasm", "port": $(port 9), "argsize": 1, "active": "yes"},
 {"name": "counter", "path": "counter.wasm", "port": $(port 10), "argsize": 0, "active": "yes"},
 {"name": "startloop", "path": "startloop.wasm", "port": $(port 11), "timeout-ms": 500},
 {"name": "wide", "path": "wideforever.wasm", "port": $(port 12), "argsize": 0},
 {"name": "wideloop", "path": "wideloop.wasm", "port": $(port 13), "timeout-ms": 300},
 {"name": "widemulti", "path": "widemulti.wasm", "port": $(port 14), "argsize": 0},
 {"name": "tailcall", "path": "tailcall.wasm", "port": $(port 15), "argsize": 1,
  "features": ["tail-call"]},
 {"name": "throws", "path": "throws.wasm", "port": $(port 16), "argsize": 1,
  "features": ["exceptions"]},
 {"name": "off", "path": "fib.wasm", "port": $(port 0), "active": "no"}
]
EOF
}

# ===== Start-up ===========================================================

start_server --workers 1 --quantum-us 2000 --log-level debug
check "starts and reports what it serves" grep -q "serving 17 modules" "$tmp/server.log"

# ===== Correct replies ====================================================

ask "$(port 0)" '{"module":"fib","args":["20"]}'
check "fib(20) = 6765" has '"status":"ok","exit_code":0,"stdout":"6765\n"'
ask "$(port 1)" '{"module":"bitcount","args":[1000]}'
check "bitcount with a numeric argument" has '"status":"ok"'
ask "$(port 2)" '{"module":"echo","stdin":"h\u00e9llo\nworld\n"}'
check "echo returns stdin as stdout" has '"stdout":"héllo\nworld\n"'
ask "$(port 3)" '{"module":"wc","args":["/data/words.txt"]}'
check "wc reads a preopened file" has '"stdout":"2 3 14 /data/words.txt\n"'
ask "$(port 3)" '{"module":"wc","args":["/etc/passwd"]}'
check "wc cannot leave its preopened directory" has '"exit_code":1'
ask "$(port 15)" '{"module":"tailcall","args":["1000000"]}'
check "a module of the tail-call proposal: a million tail calls, printf through WASI" \
    has '"status":"ok","exit_code":0,"stdout":"2000000\n"'
ask "$(port 8)" '{"module":"status","args":["7"]}'
check "main's return value is exit_code" has '"status":"ok","exit_code":7,"stdout":"exiting with 7\n"'
ask "$(port 10)" '{"module":"counter"}'
ask "$(port 10)" '{"module":"counter"}'
check "a fresh sandbox per request (no state kept)" has '"stdout":"1 1\n"'

ask "$(port 16)" '{"module":"throws","args":["x"]}'
check "a module of the exception-handling proposal throws and catches" \
    has '"status":"ok","exit_code":0,"stdout":"caught 42\n"'

# ===== Guests that fail ===================================================

ask "$(port 5)" '{"module":"divzero"}'
check "a trap is an error reply" has '"error":"trap: integer divide by zero"'
check "output before a trap is kept" has '"stdout":"dividing by 0\n"'
ask "$(port 5)" '{"module":"divzero","args":["x"]}'
check "the next request to a trapping module succeeds" has '"status":"ok","exit_code":100'
ask "$(port 16)" '{"module":"throws"}'
check "an exception past _start is an error reply" has '"error":"trap: uncaught exception"'
check "... with the output before it" has '"stdout":"caught 42\n"'
ask "$(port 6)" '{"module":"deep"}'
check "stack overflow is an error reply" has '"error":"trap: call stack exhausted"'
ask "$(port 12)" '{"module":"wide"}'
check "... also with frames larger than a page (stacks have no guard page)" \
    has '"error":"trap: call stack exhausted"'
ask "$(port 14)" '{"module":"widemulti"}'
check "... and with eight results (an out-pointer: vmctx stays the first argument)" \
    has '"error":"trap: call stack exhausted"'
ask "$(port 13)" '{"module":"wideloop"}'
check "... and such frames allocated while interrupts arrive are no overflow" \
    has '"error":"timeout after 300 ms"'
ask "$(port 7)" '{"module":"hog"}'
check "memory exhaustion is an error reply" has '"error":"trap: unreachable"'
check "... and the guest said why" has 'out of memory after'
ask "$(port 0)" '{"module":"fib","args":["10"]}'
check "the server still serves after all of them" has '"stdout":"55\n"'

# ===== Timeouts and preemption (one worker) ===============================

"$BIN/udpclient" --yes --timeout 10000 - >"$tmp/spin.out" 2>&1 <<EOF &
127.0.0.1:$(port 4)\${"module":"spin"}
EOF
spinner=$!
sleep 0.2
"$BIN/loadgen" --target "127.0.0.1:$(port 0)" --payload '{"module":"fib","args":["15"]}' \
    --concurrency 4 --requests 200 --timeout 2000 --expect '"stdout":"610\n"' \
    >"$tmp/out" 2>"$tmp/err"
status=$?
check "requests are answered while a guest spins on the only worker" grep -q ' ok=200 ' "$tmp/out"
p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' "$tmp/out")
check "... promptly (p99 under 200 ms: $p99 us)" [ "${p99:-999999999}" -lt 200000 ]
wait $spinner
reply=$(sed -n 's/^.*<- [0-9.]* ms //p' "$tmp/spin.out")
check "the spinning guest is stopped at its deadline" has '"error":"timeout after 1000 ms"'
ask "$(port 11)" '{"module":"startloop"}'
check "a start function that never returns is stopped at its deadline" \
    has '"error":"timeout after 500 ms"'
ask "$(port 9)" '{"module":"nap","args":["100"]}'
check "a sleeping guest wakes up" has '"stdout":"slept enough\n"'

# ===== Bad requests =======================================================

ask "$(port 0)" '{"module":"fib","args":["1"'
check "malformed JSON" has '"error":"malformed request: '
ask "$(port 0)" '["fib"]'
check "not an object" has '"error":"malformed request: expected a JSON object"'
ask "$(port 0)" '{"module":"nosuch"}'
check "unknown module" has '"error":"unknown module: nosuch"'
ask "$(port 0)" '{"module":"echo"}'
check "a module on another port" has "is served on port $(port 2), not $(port 0)"
ask "$(port 0)" '{"module":"fib","args":["1","2"]}'
check "too many arguments" has '"error":"too many arguments: 2 > argsize 1"'
ask "$(port 0)" '{"module":"fib","args":[{}]}'
check "a bad argument" has '"error":"malformed request: \"args\"[0] must be a string or a number"'
big="{\"module\":\"echo\",\"stdin\":\"$(head -c 40000 /dev/zero | tr '\0' 'a')\"}"
ask "$(port 2)" "$big"
check "an oversized request" has "\"error\":\"request too large: ${#big} bytes > 32768\""

ask "$(port 0)" '{"module":"fib","args":["12"]}'
check "serving goes on after bad requests" has '"stdout":"144\n"'

# ===== Concurrency across modules =========================================

stop_server
# In the sanitizer build, freed memory waits in ASan's quarantine (256 MB
# by default), so RSS grows with every request freed until it is full: a
# small quarantine for this server, whose RSS is measured below.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 \
    start_server --workers 2 --log-level info
: >"$tmp/loads"
loaders=
load() {            # load PORT-OFFSET PAYLOAD EXPECTED-SUBSTRING
    "$BIN/loadgen" --target "127.0.0.1:$(port "$1")" --payload "$2" \
        --concurrency 32 --requests 500 --timeout 5000 --expect "$3" \
        >>"$tmp/loads" 2>/dev/null &
    loaders="$loaders $!"
}
load 0 '{"module":"fib","args":["18"]}' '"stdout":"2584\n"'
load 2 '{"module":"echo","stdin":"ping"}' '"stdout":"ping"'
load 3 '{"module":"wc","args":["/data/words.txt"]}' '"stdout":"2 3 14 /data/words.txt\n"'
load 8 '{"module":"status","args":["3"]}' '"exit_code":3,'
wait $loaders
cp "$tmp/loads" "$tmp/out"
status=0
check "2,000 concurrent requests on 4 modules all answered correctly" \
    [ "$(grep -c ' ok=500 errors=0 ' "$tmp/loads")" -eq 4 ]

# ===== Memory across 10,000 requests ======================================

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
"$BIN/loadgen" --target "127.0.0.1:$(port 2)" --payload '{"module":"echo","stdin":"x"}' \
    --concurrency 16 --requests 2000 --timeout 5000 >/dev/null 2>&1
before=$(rss)
"$BIN/loadgen" --target "127.0.0.1:$(port 2)" --payload '{"module":"echo","stdin":"x"}' \
    --concurrency 16 --requests 10000 --timeout 5000 >"$tmp/out" 2>"$tmp/err"
after=$(rss)
check "10,000 more requests answered" grep -q ' ok=10000 ' "$tmp/out"
check "RSS does not grow over them (${before} kB -> ${after} kB)" \
    [ $((after - before)) -lt 8192 ]

# ===== Overload ===========================================================

stop_server
start_server --workers 1 --max-queued 2 --log-level info
for i in 1 2; do
    "$BIN/udpclient" --yes --timeout 10000 - >"$tmp/busy$i.out" 2>&1 <<EOF &
127.0.0.1:$(port 9)\${"module":"nap","args":["800"]}
EOF
    eval "busy$i=\$!"
done
wait_inflight 2
ask "$(port 2)" '{"module":"echo","stdin":"x"}'
check "over --max-queued: an explicit overload error" \
    has '"error":"overloaded: 2 requests in flight, try again"'
wait $busy1 $busy2
cat "$tmp/busy1.out" "$tmp/busy2.out" >"$tmp/out"
check "... while the requests in flight finish" [ "$(grep -c 'slept enough' "$tmp/out")" -eq 2 ]
ask "$(port 2)" '{"module":"echo","stdin":"x"}'
check "... and then new ones are taken again" has '"stdout":"x"'

# ===== Shutdown ===========================================================

"$BIN/udpclient" --yes --timeout 10000 - >"$tmp/nap.out" 2>&1 <<EOF &
127.0.0.1:$(port 9)\${"module":"nap","args":["500"]}
EOF
napper=$!
wait_inflight 1
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
wait $napper
check "SIGTERM: exit status 0" [ "$status" -eq 0 ]
check "SIGTERM: the request in flight is answered" grep -q 'slept enough' "$tmp/nap.out"
cat "$tmp/server.log" >>"$tmp/servers.log"
cp "$tmp/servers.log" "$tmp/err"
: >"$tmp/out"
check "no sanitizer or crash reports in the servers' logs" \
    eval '! grep -qE "Sanitizer|runtime error|Segmentation|Aborted" "$tmp/servers.log"'

# ===== Bad configurations =================================================

cfg_fails() {       # cfg_fails NAME JSON EXPECTED-MESSAGE
    printf '%s\n' "$2" >"$tmp/bad.json"
    "$BIN/awsmrt" --check "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
    status=$?
    expected=$3
    check "bad config: $1" eval '[ $status -eq 1 ] && grep -qF -- "$expected" "$tmp/err"'
}
cp "$tmp/fib.wasm" "$tmp/ok.wasm"
cfg_fails "port out of range" '[{"name":"a","path":"ok.wasm","port":1},
 {"name":"fib",
  "path":"ok.wasm",
  "port": 70000}]' 'bad.json:4: module "fib": "port" must be an integer 1-65535'
cfg_fails "not JSON" '{"name": "a", "path": }' 'bad.json:1: '
cfg_fails "missing path" '{"name":"a","port":1}' 'bad.json:1: module "a": missing "path"'
cfg_fails "duplicate name" '{"name":"a","path":"ok.wasm","port":1}
{"name":"a","path":"ok.wasm","port":2}' 'bad.json:2: module "a": name already used by the module at line 1'
cfg_fails "duplicate port" '{"name":"a","path":"ok.wasm","port":1}
{"name":"b","path":"ok.wasm","port":1}' 'bad.json:2: module "b": port 1 already used by module "a"'
cfg_fails "bad active" '{"name":"a","path":"ok.wasm","port":1,"active":"maybe"}' \
    '"active" must be "yes", "no", true or false'
cfg_fails "dense-memory without a small max-memory-pages" \
    '{"name":"a","path":"ok.wasm","port":1,"dense-memory":true,"max-memory-pages":2048}' \
    '"dense-memory" needs "max-memory-pages" of 1 to 1024 (64 MiB)'
cfg_fails "missing module file" '{"name":"a","path":"nope.wasm","port":1}' \
    'bad.json:1: module "a": '
printf 'not wasm' >"$tmp/junk.wasm"
cfg_fails "not a wasm file" '{"name":"a","path":"junk.wasm","port":1}' 'junk.wasm'
cfg_fails "empty" '' 'no modules registered'
cfg_fails "an unknown proposal in features" \
    '{"name":"a","path":"ok.wasm","port":1,"features":["tail-calls"]}' \
    '"features"[0]: not a proposal awsmrt knows'
# A WASI command whose global is an extended constant expression.
wat extconst '(module (global $g i32 (i32.add (i32.const 40) (i32.const 2)))
  (func (export "_start") (if (i32.ne (global.get $g) (i32.const 42)) (then unreachable))))' \
  --enable-extended-const
cfg_fails "extended constants without \"features\"" \
    '{"name":"a","path":"extconst.wasm","port":1}' \
    'the extended-const proposal is not enabled'
printf '{"name":"a","path":"extconst.wasm","port":1,"features":["extended-const"]}\n' >"$tmp/ext.json"
"$BIN/awsmrt" --check "$tmp/ext.json" >"$tmp/out" 2>"$tmp/err"
status=$?
check "extended constants with \"features\": [\"extended-const\"]" \
    eval '[ $status -eq 0 ] && grep -q "1 module, configuration and modules OK" "$tmp/out"'
printf '{"name":"a","path":"ok.wasm","port":1,"argsize":1,"active":"yes"}\n{"name":"b","path":"ok.wasm","port":2,"active":"no"}\n' >"$tmp/old.json"
"$BIN/awsmrt" --check "$tmp/old.json" >"$tmp/out" 2>"$tmp/err"
status=$?
check "the original format (objects one after another) is accepted" \
    eval '[ $status -eq 0 ] && grep -q "2 modules, configuration and modules OK" "$tmp/out"'
printf '{"name":"a","path":"ok.wasm","port":1,"prot":2}\n' >"$tmp/warn.json"
"$BIN/awsmrt" --check "$tmp/warn.json" >"$tmp/out" 2>"$tmp/err"
status=$?
check "unknown key: a warning, not an error" eval '[ $status -eq 0 ] &&
    grep -qF "warn.json:1: module \"a\": unknown key \"prot\" (ignored)" "$tmp/err"'

# Modules load in parallel, a thread per core: with an empty cache, three
# entries of one module (compiled by several threads at once, each into a
# temporary file of its own) and another one.
printf '[{"name":"a","path":"fib.wasm","port":1},{"name":"b","path":"fib.wasm","port":2},
 {"name":"c","path":"fib.wasm","port":3},{"name":"d","path":"echo.wasm","port":4}]\n' >"$tmp/par.json"
AWSM_CACHE_DIR=$tmp/cache-par "$BIN/awsmrt" --check "$tmp/par.json" >"$tmp/out" 2>"$tmp/err"
status=$?
check "modules compiled in parallel, one of them by two threads at once" \
    eval '[ $status -eq 0 ] && grep -q "4 modules, configuration and modules OK" "$tmp/out"'
check "... each compile in the log with its time" \
    eval '[ "$(grep -c "module \"[a-d]\": compiled [^ ]*/[a-z]*.wasm in [0-9.]* s" "$tmp/err")" -ge 2 ]'
check "... one cache entry per module, no temporary file left" \
    eval '[ "$(ls "$tmp/cache-par" | grep -c "\.so$")" -eq 2 ] && [ "$(ls "$tmp/cache-par" | wc -l)" -eq 2 ]'

# A large module compiles in parts, and the log shows each part done.
large_wat _start > "$tmp/large.wat"
wat2wasm "$tmp/large.wat" -o "$tmp/large.wasm" || exit 1
printf '[{"name":"big","path":"large.wasm","port":1}]\n' >"$tmp/big.json"
AWSM_CACHE_DIR=$tmp/cache-big "$BIN/awsmrt" --check "$tmp/big.json" >"$tmp/out" 2>"$tmp/err"
status=$?
parts=$(sed -n 's/.*module "big": compiling [^ ]*large.wasm: [0-9]* of \([0-9]*\) parts done.*/\1/p' "$tmp/err" | sort -u)
check "a large module compiles in parts, each part done in the log" \
    eval '[ $status -eq 0 ] && grep -q "1 module, configuration and modules OK" "$tmp/out" &&
          [ "${parts:-0}" -ge 2 ] &&
          [ "$(grep -c "module \"big\": compiling [^ ]*large.wasm: [0-9]* of $parts parts done" "$tmp/err")" -eq "$parts" ]'

cli_summary
