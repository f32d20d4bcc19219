#!/usr/bin/env bash
# CLI test of `awsmc`: a valid module becomes a shared object carrying the
# awsm_module_v1 descriptor in every mode; bad input and bad usage get a
# clear message and the documented exit status (1 bad input, 2 usage).
#
# usage: awsmc.sh PATH/TO/awsmc
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/awsmc" >&2
    exit 2
fi
TOOL=$1
NAME=awsmc.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

exports_descriptor() { nm -D --defined-only "$1" 2>/dev/null | grep -q ' awsm_module_v1$'; }

wat good '(module
  (memory 1)
  (func (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0)
                     (call 0 (i64.sub (local.get 0) (i64.const 1))))))))'

for mode in "-O0" "-O1" "-O2" "-O3" "--bounds=guard" "--bounds=checked"; do
    rm -f "$tmp/good.so"
    run "$tmp/good.wasm" -o "$tmp/good.so" $mode
    check "$mode: exit 0, silent, .so exports awsm_module_v1" \
        eval 'status_is 0 && no_output && exports_descriptor "$tmp/good.so"'
done

run "$tmp/good.wasm" -o "$tmp/ir.so" --emit-llvm
check "--emit-llvm writes OUT.ll with the functions" \
    eval 'status_is 0 && grep -q "define internal i64 @wasm_f0" "$tmp/ir.so.ll"'
run "$tmp/good.wasm" -o "$tmp/ir.so" --emit-llvm --enable-tail-call
check "--enable-tail-call: an exported function is tailcc" \
    eval 'status_is 0 && grep -q "define internal tailcc i64 @wasm_f0" "$tmp/ir.so.ll"'
# call_indirect through a table whose contents are known looks its callee
# up in the module's own array (compiler/cg_call.c, call_known); through
# a table that changes, in the instance's table with its type check.
wat known '(module
  (type $i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $f $f)
  (func $f (type $i) (local.get 0))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $i) (local.get 0) (local.get 0))))'
run "$tmp/known.wasm" -o "$tmp/known.so" --emit-llvm
check "a known table: call_indirect reads a constant array, not the type ids" \
    eval 'status_is 0 && grep -q "^@awsm_dispatch0_0 = internal constant \[2 x i32\]" "$tmp/known.so.ll" &&
          ! grep -q "%type_id" "$tmp/known.so.ll"'
wat changing '(module
  (type $i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $f $f)
  (func $f (type $i) (local.get 0))
  (func (export "set") (table.set 0 (i32.const 1) (ref.null func)))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $i) (local.get 0) (local.get 0))))'
run "$tmp/changing.wasm" -o "$tmp/changing.so" --emit-llvm
check "a table written by table.set: call_indirect checks the instance's entry" \
    eval 'status_is 0 && ! grep -q "awsm_dispatch" "$tmp/changing.so.ll" &&
          grep -q "%type_id" "$tmp/changing.so.ll"'
# f0 exported, f1 in a table, f2 the target of a return_call, f3 holding
# one, f4 named by ref.func (declared): tailcc; f5, only called
# directly: C.
wat tails '(module
  (type $t (func (result i32)))
  (table 1 funcref) (elem (i32.const 0) $f1) (elem declare func $f4)
  (func $f0 (export "f0") (result i32) (call $f5))
  (func $f1 (result i32) (i32.const 1))
  (func $f2 (result i32) (i32.const 2))
  (func $f3 (result i32) (return_call $f2))
  (func $f4 (result i32) (drop (ref.func $f4)) (call $f3))
  (func $f5 (result i32) (call $f4)))' --enable-tail-call
run "$tmp/tails.wasm" -o "$tmp/tails.so" --emit-llvm --enable-tail-call -O0
tailcc_is() { grep -q "define internal $1[a-z0-9 ()-]*@wasm_f$2(" "$tmp/tails.so.ll"; }
check "--enable-tail-call: only what a tail call can reach or leave is tailcc" \
    eval 'status_is 0 && tailcc_is tailcc 0 && tailcc_is tailcc 1 && tailcc_is tailcc 2 &&
          tailcc_is tailcc 3 && tailcc_is tailcc 4 && ! tailcc_is tailcc 5 && tailcc_is "" 5'

# Copy and fill loops get a memmove or memset fast path when optimising
# (compiler/cg_idiom.c; what it does: tests/spec/idioms.wast); a loop that
# computes what it stores does not, and -O0 leaves all of them alone.
wat idioms '(module
  (memory 1)
  (func (export "copy") (param $d i32) (param $s i32) (param $n i32)
    (block (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (i32.load8_u (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "fill") (param $d i32) (param $n i32)
    (block (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (i32.const 0))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "count") (param $d i32) (param $n i32)
    (block (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (local.get $n))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))))'
fast_paths() { awk -v f="@wasm_f$2(" 'index($0, "define") == 1 { on = index($0, f) > 0 }
                                      on && /call void @llvm\.mem(move|set)/ { n++ }
                                      END { print n + 0 }' "$1"; }
for bounds in guard checked; do
    run "$tmp/idioms.wasm" -o "$tmp/idioms.so" --bounds=$bounds --emit-llvm="$tmp/idioms.ll"
    check "--bounds=$bounds -O2: a copy loop calls memmove, a fill loop memset, a counting loop neither" \
        eval 'status_is 0 && [ "$(fast_paths "$tmp/idioms.ll" 0)" -ge 1 ] &&
              grep -q "call void @llvm.memset" "$tmp/idioms.ll" &&
              [ "$(fast_paths "$tmp/idioms.ll" 1)" -ge 1 ] && [ "$(fast_paths "$tmp/idioms.ll" 2)" -eq 0 ]'
done
run "$tmp/idioms.wasm" -o "$tmp/idioms0.so" -O0 --emit-llvm="$tmp/idioms0.ll"
check "-O0: no fast paths" \
    eval 'status_is 0 && ! grep -q "@llvm.mem\(move\|set\)" "$tmp/idioms0.ll"'

# The stack check comes before the calls, not at entry (compiler/cg_func.c,
# place_stack_check): none in a function that calls nothing, none on
# fac's path without a call, the first block's in a function that calls
# at once, which says so; a loop calling a function without that polls,
# one calling a function with it does not (compiler/cg_poll.c).
wat checks '(module
  (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $fac (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0)
                     (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func $first (param i32) (result i32) (call $leaf (local.get 0)))
  (func (export "calls_leaf") (param $n i32)
    (loop (drop (call $leaf (local.get $n)))
          (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "calls_first") (param $n i32)
    (loop (drop (call $first (local.get $n)))
          (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))'
run "$tmp/checks.wasm" -o "$tmp/checks.so" -O0 --emit-llvm="$tmp/checks.ll"
fn_ir() { awk -v f="@wasm_f$1(" 'index($0, "define") == 1 { on = index($0, f) > 0 } on' "$tmp/checks.ll"; }
# The label of the block each stack check is in ("entry" for the first).
check_blocks() { fn_ir "$1" | awk 'NR == 1 { b = "entry" } /^[a-z_.0-9]+:/ { b = $1; sub(":", "", b) }
                                   /@llvm.stacksave/ { print b }'; }
says_entry_check() {
    local g
    g=$(fn_ir "$1" | head -1 | grep -o '#[0-9]*' | tail -1)
    grep -q "^attributes $g = {.*\"awsm-entry-check\"" "$tmp/checks.ll"
}
check "-O0: no stack check in a leaf, one in each caller, fac's past its test" \
    eval 'status_is 0 && [ -z "$(check_blocks 0)" ] && [ "$(check_blocks 2)" = body ] &&
          [ "$(check_blocks 3)" = body ] && [ "$(check_blocks 1 | wc -l)" -eq 1 ] &&
          ! check_blocks 1 | grep -qx "entry\|body"'
check "only a function whose check is in its first block says so" \
    eval 'says_entry_check 2 && says_entry_check 3 && ! says_entry_check 0 && ! says_entry_check 1'
check "a loop calling the leaf polls; one calling a function checked on entry does not" \
    eval 'fn_ir 3 | grep -q "^poll" && ! fn_ir 4 | grep -q "^poll"'

# A table nothing changes: its size, elements and entries are invariant
# loads (compiler/cg_module.c, plan_tables); an exported one's are not.
# (Its segment's offset comes from an imported global, so that the
# compiler does not know what it holds: call_known would take it.)
for kind in fixed exported; do
    wat "table_$kind" "(module
  (type \$t (func (param i32) (result i32)))
  (import \"env\" \"base\" (global i32))
  (table 2 funcref) (elem (global.get 0) \$a \$b)
  $([ $kind = exported ] && echo '(export "tab" (table 0))')
  (func \$a (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func \$b (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export \"run\") (param i32) (result i32)
    (call_indirect (type \$t) (local.get 0) (i32.and (local.get 0) (i32.const 1)))))"
    run "$tmp/table_$kind.wasm" -o "$tmp/table_$kind.so" -O0 --emit-llvm
done
invariant() { grep -E "%$2 = load [a-z0-9]+, ptr %[0-9a-z_]+, align [0-9]+, !tbaa ![0-9]+, !invariant.load" "$tmp/table_$1.so.ll" >/dev/null; }
check "a table nothing writes: size, elements and entry loads are invariant" \
    eval 'invariant fixed table_size && invariant fixed elems && invariant fixed ref'
check "an exported table: none of them is" \
    eval 'grep -q "%table_size = load" "$tmp/table_exported.so.ll" && ! invariant exported table_size &&
          ! invariant exported elems && ! invariant exported ref'

wat bad '(module (func (result i32) (i32.add (i32.const 1) (f64.const 2))))' --no-check
run "$tmp/bad.wasm" -o "$tmp/bad.so"
check "invalid module: exit 1, names file, offset, func and instruction" \
    eval 'status_is 1 && err_has "bad.wasm: offset 0x" && err_has "func 0" && err_has "i32.add expects i32 but found f64" && [ ! -e "$tmp/bad.so" ]'

printf 'not wasm at all' > "$tmp/junk.wasm"
run "$tmp/junk.wasm" -o "$tmp/junk.so"
check "not a wasm file: exit 1, magic header" \
    eval 'status_is 1 && err_has "magic header not detected"'

head -c $(( $(file_size "$tmp/good.wasm") - 3 )) "$tmp/good.wasm" > "$tmp/cut.wasm"
run "$tmp/cut.wasm" -o "$tmp/cut.so"
check "truncated module: exit 1, unexpected end" \
    eval 'status_is 1 && err_has "unexpected end"'

run "$tmp/missing.wasm" -o "$tmp/m.so"
check "missing input: exit 1, names the file" \
    eval 'status_is 1 && err_has "cannot read" && err_has "missing.wasm"'

run "$tmp/good.wasm" -o "$tmp/no/such/dir/x.so"
check "unwritable output: exit 1 with a message" \
    eval 'status_is 1 && err_has "cannot emit"'

run "$tmp/good.wasm"
check "no -o: usage error, exit 2" eval 'status_is 2 && err_has "no output file"'

run "$tmp/good.wasm" -o "$tmp/x.so" --bounds=loose
check "unknown option: usage error, exit 2" eval 'status_is 2 && err_has "unknown option"'

run --help
check "--help: exit 0, lists the options" eval 'status_is 0 && out_has "--bounds=checked"'

run --version
check "--version: the compiler and the target LLVM tunes for" \
    eval 'status_is 0 && out_has "awsmc " && out_has "target: "'

for j in 0 x 257 -1; do
    run "$tmp/good.wasm" -o "$tmp/x.so" -j "$j"
    check "-j $j: usage error, exit 2, says what -j takes" \
        eval 'status_is 2 && err_has "thread count from 1 to 256"'
done
run "$tmp/good.wasm" -o "$tmp/x.so" --jobs=
check "--jobs= without a count: usage error, exit 2" eval 'status_is 2'

# A module of ~290 KB of code compiles in parts (compiler/cg_module.c).
large_wat > "$tmp/large.wat"
wat2wasm "$tmp/large.wat" -o "$tmp/large.wasm"
run "$tmp/large.wasm" -o "$tmp/large1.so" -j 1
run "$tmp/large.wasm" -o "$tmp/large2.so" --jobs=2
check "a large module: the same .so on 1 and 2 threads, no progress off a terminal" \
    eval 'status_is 0 && no_output && exports_descriptor "$tmp/large2.so" &&
          cmp -s "$tmp/large1.so" "$tmp/large2.so"'
run "$tmp/large.wasm" -o "$tmp/large3.so" --emit-llvm="$tmp/large.ll"
check "--emit-llvm on a large module: part 0 in FILE, part K in FILE.K" \
    eval 'status_is 0 && grep -q "define hidden i32 @wasm_f0" "$tmp/large.ll" &&
          grep -q "declare hidden i32 @wasm_f39" "$tmp/large.ll" &&
          last=$(ls "$tmp"/large.ll.* | sort -t. -k3 -n | tail -1) &&
          grep -q "define hidden i32 @wasm_f39" "$last"'
large_table_wat > "$tmp/table.wat"
wat2wasm "$tmp/table.wat" -o "$tmp/table.wasm"
run "$tmp/table.wasm" -o "$tmp/table.so" --emit-llvm="$tmp/table.ll"
check "a known table called from every part: each part has its array, the .so one" \
    eval 'status_is 0 && [ -e "$tmp/table.ll.1" ] &&
          [ "$(grep -l "^@awsm_dispatch0_0 = linkonce_odr hidden constant" "$tmp"/table.ll* | wc -l)" -gt 1 ] &&
          [ "$(nm "$tmp/table.so" | grep -c " awsm_dispatch0_0$")" -eq 1 ]'
mkdir "$tmp/linkfail"
AWSM_LD=false run "$tmp/large.wasm" -o "$tmp/linkfail/x.so"
check "a failed link: exit 1, says so, and leaves no object file behind" \
    eval 'status_is 1 && err_has "linking" && [ -z "$(ls -A "$tmp/linkfail")" ]'

# awsmc links the compiler itself: it needs no plugin (cache/plugin.h).
rm -f "$tmp/good.so"
AWSM_COMPILER_PLUGIN=$tmp/no-such-plugin.so run "$tmp/good.wasm" -o "$tmp/good.so"
check "standalone: compiles without the compiler plugin" \
    eval 'status_is 0 && no_output && exports_descriptor "$tmp/good.so"'

cli_summary
