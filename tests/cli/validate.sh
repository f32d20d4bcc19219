#!/usr/bin/env bash
# CLI test of `awsm validate` (and the top-level usage): exit codes and
# messages as documented in wasm/module.h ("offset 0x...: func N: ...").
#
# usage: validate.sh PATH/TO/awsm
#
# Needs wabt's wat2wasm to build the test modules; exits 77 (skipped)
# without it. Prints "ok - NAME" or "not ok - NAME" per check, then
# "N passed, N failed"; exits 1 if any check failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/awsm" >&2
    exit 2
fi
AWSM=$1

TOOL=$AWSM
NAME=validate.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ----- modules ------------------------------------------------------------

wat good '(module
  (memory 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "load") (param i32) (result i32)
    local.get 0 i32.load))'

# i32.add applied to an f64: a type error in the only function.
wat add_f64 '(module (func (result i32) f64.const 1 i32.const 2 i32.add))' --no-check

# The body leaves an f64 where the function returns i32.
wat result_f64 '(module (func (result i32) f64.const 1))' --no-check

# Function 1 is the bad one; function 0 is fine.
wat second_bad '(module
  (func (result i32) i32.const 1)
  (func (result i32) i64.const 1 i32.const 2 i32.add))' --no-check

# ----- checks -------------------------------------------------------------

run validate "$tmp/good.wasm"
check "valid module: exit 0" status_is 0
check "valid module: no output" no_output

run validate "$tmp/good.wasm" "$tmp/good.wasm"
check "two valid modules: exit 0, no output" eval 'status_is 0 && no_output'

run validate "$tmp/add_f64.wasm"
check "i32.add on f64: exit 1" status_is 1
check "i32.add on f64: message names the file" err_has "$tmp/add_f64.wasm: offset 0x"
check "i32.add on f64: message names func 0" err_has "func 0: "
check "i32.add on f64: message names i32.add" err_has "i32.add"
# The instruction is the module's second-to-last byte (then `end`).
add_at=$(($(file_size "$tmp/add_f64.wasm") - 2))
check "i32.add on f64: offset is the instruction's ($(printf '0x%x' $add_at))" \
    eval '[ "$(err_offset)" -eq '$add_at' ]'
check "i32.add on f64: one line on stderr, none on stdout" \
    eval 'err_lines 1 && [ ! -s "$tmp/out" ]'

run validate "$tmp/result_f64.wasm"
check "f64 result for i32: exit 1" status_is 1
check "f64 result for i32: offset and func 0" eval 'err_has "offset 0x" && err_has "func 0: "'

run validate "$tmp/second_bad.wasm"
check "second function bad: exit 1" status_is 1
check "second function bad: message names func 1" err_has "func 1: "

# Truncated: the valid module cut in the middle of its code section.
good_size=$(file_size "$tmp/good.wasm")
head -c $((good_size - 5)) "$tmp/good.wasm" >"$tmp/truncated.wasm"
run validate "$tmp/truncated.wasm"
check "truncated module: exit 1" status_is 1
check "truncated module: message names file and offset" \
    err_has "$tmp/truncated.wasm: offset 0x"
check "truncated module: offset within the file" \
    eval '[ "$(err_offset)" -ge 0 ] && [ "$(err_offset)" -le $((good_size - 5)) ]'

printf 'this is not wasm' >"$tmp/garbage.wasm"
run validate "$tmp/garbage.wasm"
check "garbage file: exit 1" status_is 1
check "garbage file: bad magic at offset 0x0" err_has "$tmp/garbage.wasm: offset 0x0:"

: >"$tmp/empty.wasm"
run validate "$tmp/empty.wasm"
check "empty file: exit 1 with an offset" eval 'status_is 1 && err_has "offset 0x0:"'

run validate "$tmp/missing.wasm"
check "missing file: exit 1" status_is 1
check "missing file: message names the file and the reason" \
    err_has "awsm: cannot read $tmp/missing.wasm: No such file or directory"

run validate "$tmp"
check "directory: exit 1 with a message" eval 'status_is 1 && err_has "cannot read $tmp"'

run validate "$tmp/good.wasm" "$tmp/missing.wasm" "$tmp/add_f64.wasm" "$tmp/good.wasm"
check "mixed files: exit 1" status_is 1
check "mixed files: one line per bad file" err_lines 2
check "mixed files: the good one is not named" eval '! err_has "good.wasm"'

# ----- usage --------------------------------------------------------------

run validate
check "validate without files: usage error, exit 2" eval 'status_is 2 && [ -s "$tmp/err" ]'

run validate --bogus "$tmp/good.wasm"
check "validate with an unknown option: exit 2" status_is 2

# Extended constant expressions: invalid in Wasm 2.0, valid when asked.
wat extconst '(module (global (export "g") i32 (i32.add (i32.const 40) (i32.const 2)))
  (func (export "get") (result i32) global.get 0))' --enable-extended-const
run validate "$tmp/extconst.wasm"
check "extended const without the flag: exit 1" status_is 1
check "... the message names the proposal and the flag" \
    err_has "i32.add: the extended-const proposal is not enabled (--enable-extended-const)"
run validate --enable-extended-const "$tmp/extconst.wasm"
check "extended const with --enable-extended-const: valid" eval 'status_is 0 && no_output'
run validate --enable-nosuch "$tmp/extconst.wasm"
check "an unknown proposal: usage error" eval 'status_is 2 && err_has "unknown option"'
run validate --enable=tail-call,extended-const "$tmp/extconst.wasm"
check "--enable=NAME,NAME: both on, valid" eval 'status_is 0 && no_output'
run validate --enable=tail-call "$tmp/extconst.wasm"
check "--enable=NAME of another proposal: still invalid" status_is 1
for bad in --enable=extended-const,nosuch --enable= --enable=extended-const, --enable=,tail-call; do
    run validate "$bad" "$tmp/extconst.wasm"
    check "$bad: usage error naming it" eval "status_is 2 && err_has \"'$bad'\""
done
run validate --enable=relaxed-simd "$tmp/good.wasm"
check "--enable=relaxed-simd (always on) is accepted" eval 'status_is 0 && no_output'
run run --enable-extended-const --invoke get "$tmp/extconst.wasm"
check "awsm run --enable-extended-const: the global's value" eval 'status_is 0 && out_has 42'
run run --invoke get "$tmp/extconst.wasm"
check "awsm run without the flag refuses the module, also once cached" \
    eval 'status_is 1 && err_has "extended-const proposal is not enabled"'

run frobnicate
check "unknown command: exit 2 and named" eval 'status_is 2 && err_has "frobnicate"'

run
check "no arguments: usage on stderr, exit 2" eval 'status_is 2 && err_has "usage"'

run --help
check "--help: exit 0, lists validate and wast" \
    eval 'status_is 0 && out_has "validate" && out_has "wast"'

run help
check "help: exit 0" status_is 0

run --version
check "--version: prints the version" eval 'status_is 0 && out_has "awsm 0.1.0"'

cli_summary
