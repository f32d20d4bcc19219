#!/usr/bin/env bash
# CLI test of `awsm run`: the guest's exit status, traps (status 134, the
# trap's kind and a backtrace with names), clear errors for a missing file,
# a non-wasm file, an unknown import and a missing --dir, --invoke, and the
# compile cache (the second run of a module does not compile).
#
# usage: run.sh PATH/TO/awsm
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/awsm" >&2
    exit 2
fi
TOOL=$1
NAME=run.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export AWSM_CACHE_DIR="$tmp/cache"

# run ARGS...: `awsm run ARGS...`, keeping output and status.
run() {
    "$TOOL" run "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

wat exit7 '(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))'
run "$tmp/exit7.wasm"
check "proc_exit(7): exit status 7, silent" eval 'status_is 7 && no_output'

wat ret '(module (memory (export "memory") 1) (func (export "_start")))'
run "$tmp/ret.wasm"
check "_start returns: exit status 0" status_is 0

wat trap '(module
  (memory (export "memory") 1)
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $outer (result i32) (call $inner (i32.const 0)))
  (func $_start (export "_start") (drop (call $outer))))' --debug-names
run --no-cache -O0 "$tmp/trap.wasm"
check "trap: status 134, kind, backtrace names innermost first" \
    eval 'status_is 134 && err_has "trap: integer divide by zero" && err_has "0: func 0 inner" && err_has "1: func 1 outer" && err_has "2: func 2 _start"'

wat oob '(module (memory (export "memory") 1)
  (func (export "_start") (drop (i32.load (i32.const 70000)))))'
run "$tmp/oob.wasm"
check "guard-page fault: out of bounds memory access, status 134" \
    eval 'status_is 134 && err_has "out of bounds memory access"'
run --bounds=checked "$tmp/oob.wasm"
check "checked mode: the same trap" \
    eval 'status_is 134 && err_has "out of bounds memory access"'

wat rec '(module (memory (export "memory") 1)
  (func $f (export "_start") (call $f)))'
run "$tmp/rec.wasm"
check "infinite recursion: call stack exhausted" \
    eval 'status_is 134 && err_has "call stack exhausted"'

wat import '(module (import "env" "foo" (func (param i32)))
  (func (export "_start")))'
run "$tmp/import.wasm"
check "unknown import: exit 1, names it with its type" \
    eval 'status_is 1 && err_has "unknown import" && err_has "env" && err_has "foo" && err_has "i32"'

run "$tmp/nothere.wasm"
check "missing file: exit 1, names it" eval 'status_is 1 && err_has "nothere.wasm"'

printf 'hello' > "$tmp/text.wasm"
run "$tmp/text.wasm"
check "non-wasm file: exit 1, says so" eval 'status_is 1 && err_has "not a wasm"'

run --dir "$tmp/no-such-dir" "$tmp/ret.wasm"
check "missing --dir: exit 1, names it" eval 'status_is 1 && err_has "no-such-dir"'

wat add '(module (func (export "add") (param i32 i32) (result i32)
  (i32.add (local.get 0) (local.get 1))))'
run --invoke add "$tmp/add.wasm" 40 2
check "--invoke add 40 2 prints 42" eval 'status_is 0 && out_has "42"'

rm -rf "$AWSM_CACHE_DIR"
run "$tmp/ret.wasm"
first=$(ls "$AWSM_CACHE_DIR"/*.so 2>/dev/null | wc -l)
stamp=$(stat -c %Y.%i "$AWSM_CACHE_DIR"/*.so 2>/dev/null)
sleep 1
run "$tmp/ret.wasm"
check "compile cache: one entry after the first run, reused by the second" \
    eval 'status_is 0 && [ "$first" -eq 1 ] && [ "$(stat -c %Y.%i "$AWSM_CACHE_DIR"/*.so)" = "$stamp" ]'

run -O1 "$tmp/ret.wasm"
check "other options: another cache entry" \
    eval '[ "$(ls "$AWSM_CACHE_DIR"/*.so | wc -l)" -eq 2 ]'

cli_summary
