#!/usr/bin/env bash
# CLI test of `awsm run`: the guest's exit status, traps (status 134, the
# trap's kind and a backtrace with names), clear errors for a missing file,
# a non-wasm file, an unknown import and a missing --dir, --invoke (also
# through a table the compiler knows, in a module compiled in parts), a
# truncated or non-ELF .so, a FIFO or a device as the module, the compile
# cache (the second run of a module does not compile, a truncated entry is
# compiled again), and the
# compiler plugin (LLVM is mapped only to compile; a clear error without it).
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

# A compiled module keeps the metadata and names of its wasm, not its
# code or other custom sections (wasm/module.h: wm_metadata): 1 MiB of
# .debug_info leaves the .so's size alone, and the trap still has names.
{ cat "$tmp/trap.wasm"; printf '\000\214\200\100\013.debug_info'
  head -c 1048576 /dev/zero; } > "$tmp/trapdbg.wasm"
"$TOOL" compile -O0 "$tmp/trap.wasm" -o "$tmp/trap.so"
"$TOOL" compile -O0 "$tmp/trapdbg.wasm" -o "$tmp/trapdbg.so"
run "$tmp/trapdbg.so"
check "1 MiB of debug info: the .so within 4 KiB of the plain one's size, the names kept" \
    eval 'status_is 134 && err_has "0: func 0 inner" && err_has "2: func 2 _start" &&
          [ $(( $(file_size "$tmp/trapdbg.so") - $(file_size "$tmp/trap.so") )) -lt 4096 ]'

wat oob '(module (memory (export "memory") 1)
  (func (export "_start") (drop (i32.load (i32.const 70000)))))'
run "$tmp/oob.wasm"
check "guard-page fault: out of bounds memory access, status 134" \
    eval 'status_is 134 && err_has "out of bounds memory access"'
run --bounds=checked "$tmp/oob.wasm"
check "checked mode: the same trap" \
    eval 'status_is 134 && err_has "out of bounds memory access"'

# A guard-page fault becomes a trap raised outside the signal handler
# (runtime/trap.c: rt_fault_entry), and the unwinder, loaded only then,
# walks from there through the faulting frame into its callers.
wat oobn '(module
  (memory (export "memory") 1)
  (func $inner (param i32) (result i32) (i32.load (local.get 0)))
  (func $outer (result i32) (call $inner (i32.const 70000)))
  (func $_start (export "_start") (drop (call $outer))))' --debug-names
for bounds in guard checked; do
    run --no-cache -O0 --bounds=$bounds "$tmp/oobn.wasm"
    check "fault in a nested call ($bounds): the trap, a backtrace innermost first" \
        eval 'status_is 134 && err_has "trap: out of bounds memory access" &&
              err_has "0: func 0 inner" && err_has "1: func 1 outer" && err_has "2: func 2 _start"'
done

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

# call_indirect through a table the compiler knows, in a module compiled
# in parts: every part that calls through it has the array (one kept).
large_table_wat > "$tmp/table.wat"
wat2wasm "$tmp/table.wat" -o "$tmp/table.wasm"
run --no-cache --invoke chain "$tmp/table.wasm" 7
check "a known table across parts: 40 calls through it from every part" \
    eval 'status_is 0 && out_has "60007"'
run --no-cache --invoke slot "$tmp/table.wasm" 39 1
check "a known table: slot 39 called with its own arguments" \
    eval 'status_is 0 && out_has "1501"'
run --no-cache --invoke slot "$tmp/table.wasm" 40 1
check "a known table: another type traps in the caller (innermost frame)" \
    eval 'status_is 134 && err_has "trap: indirect call type mismatch" &&
          err_has "0: func 42"'
run --no-cache --invoke slot "$tmp/table.wasm" 41 1
check "a known table: a null slot traps" \
    eval 'status_is 134 && err_has "trap: uninitialized element"'
run --no-cache --invoke slot "$tmp/table.wasm" 42 1
check "a known table: past its end traps" \
    eval 'status_is 134 && err_has "trap: undefined element"'

wat vadd '(module (func (export "vadd") (param v128 v128) (result v128)
  (i16x8.add (local.get 0) (local.get 1))))'
run --invoke vadd "$tmp/vadd.wasm" "i16x8 1 2 3 4 5 6 7 -1" "i32x4 1 1 1 0x10000"
check "--invoke with v128 arguments prints the result's i32x4 lanes" \
    eval 'status_is 0 && out_has "i32x4 0x00020002 0x00040004 0x00060006 0x00000007"'
run --invoke vadd "$tmp/vadd.wasm" "i16x8 1 2" "i32x4 1 1 1 1"
check "--invoke with a short v128: exit 2, shows the notation" \
    eval 'status_is 2 && err_has "i32x4 1 2 3 4"'

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

if [ "$(uname -m)" = x86_64 ]; then     # an option of LLVM's x86 back end
    AWSM_LLVM_ARGS=-x86-asm-syntax=intel run -O1 "$tmp/ret.wasm"
    check "other AWSM_LLVM_ARGS: another cache entry" \
        eval 'status_is 0 && [ "$(ls "$AWSM_CACHE_DIR"/*.so | wc -l)" -eq 3 ]'
fi

# ----- module files that are not complete shared objects or modules --------
# A truncated .so would fault (SIGBUS) in dlopen; a FIFO would block; a
# device would be read until memory runs out: each is a clear error.

"$TOOL" compile "$tmp/ret.wasm" -o "$tmp/ret.so" >"$tmp/out" 2>"$tmp/err"
head -c $(($(stat -c %s "$tmp/ret.so") / 2)) "$tmp/ret.so" >"$tmp/cut.so"
run "$tmp/cut.so"
check "truncated .so: exit 1, says truncated, no crash" \
    eval 'status_is 1 && err_has "cut.so: truncated shared object: " && err_has "recompile it with awsmc"'
cp "$tmp/text.wasm" "$tmp/text.so"
run "$tmp/text.so"
check "non-ELF .so: exit 1, says so" \
    eval 'status_is 1 && err_has "text.so: not an ELF shared object"'
mkfifo "$tmp/fifo.wasm" "$tmp/fifo.so"
timeout 20 "$TOOL" run "$tmp/fifo.wasm" >"$tmp/out" 2>"$tmp/err"
status=$?
check "FIFO as a .wasm: exit 1 at once, not a regular file" \
    eval 'status_is 1 && err_has "fifo.wasm: not a regular file (a FIFO)"'
timeout 20 "$TOOL" run "$tmp/fifo.so" >"$tmp/out" 2>"$tmp/err"
status=$?
check "FIFO as a .so: exit 1 at once, not a regular file" \
    eval 'status_is 1 && err_has "fifo.so: not a regular file (a FIFO)"'
ln -s /dev/zero "$tmp/zero.wasm"
timeout 20 "$TOOL" run "$tmp/zero.wasm" >"$tmp/out" 2>"$tmp/err"
status=$?
check "/dev/zero as a .wasm: exit 1 at once, a character device" \
    eval 'status_is 1 && err_has "zero.wasm: not a regular file (a character device)"'

rm -rf "$AWSM_CACHE_DIR"
run "$tmp/ret.wasm"
entry=$(ls "$AWSM_CACHE_DIR"/*.so)
full=$(stat -c %s "$entry")
truncate -s $((full / 2)) "$entry"
run "$tmp/ret.wasm"
check "truncated cache entry: compiled again, runs" \
    eval 'status_is 0 && [ "$(stat -c %s "$entry")" -eq "$full" ]'

# ----- the compiler is a plugin, loaded only to compile --------------------
# (cache/plugin.h): awsm does not link LLVM; a cache hit maps neither the
# plugin nor LLVM and works without them; a miss loads the plugin, found
# next to the executable (../lib/) or through $AWSM_COMPILER_PLUGIN.

PLUGIN=$(cd "$(dirname "$TOOL")/.." && pwd)/lib/libawsm_compiler.so
NONE=$tmp/no-such-dir/libawsm_compiler.so

run_ld() {      # run_ld ARGS...: `awsm run ARGS...`, $tmp/ld.* lists the libraries
    rm -f "$tmp"/ld.*
    LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" run "$@"
}
mapped() { cat "$tmp"/ld.* 2>/dev/null | grep -q -- "$1"; }

check "awsm does not link libLLVM" eval '! ldd "$TOOL" | grep -q libLLVM'

rm -rf "$AWSM_CACHE_DIR"
wat hello '(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))'
run_ld "$tmp/hello.wasm"
check "cache miss: loads the compiler plugin (and LLVM), runs" \
    eval 'status_is 0 && out_has hello && mapped libawsm_compiler.so && mapped libLLVM'
run_ld "$tmp/hello.wasm"
check "cache hit: maps neither the plugin nor LLVM" \
    eval 'status_is 0 && out_has hello && mapped "$AWSM_CACHE_DIR/" && ! mapped libawsm_compiler && ! mapped libLLVM'

AWSM_COMPILER_PLUGIN=$NONE run "$tmp/hello.wasm"
check "cache hit without the compiler: runs" eval 'status_is 0 && out_has hello'
AWSM_COMPILER_PLUGIN=$NONE run -O3 "$tmp/hello.wasm"
check "cache miss without the compiler: exit 1, names it and the variable" \
    eval 'status_is 1 && err_has "hello.wasm: cannot load the compiler" && err_has "$NONE" && err_has AWSM_COMPILER_PLUGIN && err_lines 1'
AWSM_COMPILER_PLUGIN=$NONE run --no-cache "$tmp/hello.wasm"
check "--no-cache without the compiler: exit 1, the same message" \
    eval 'status_is 1 && err_has "cannot load the compiler"'
AWSM_COMPILER_PLUGIN=$NONE run "$tmp/text.wasm"
check "a bad module without the compiler: says what is wrong with it" \
    eval 'status_is 1 && err_has "not a wasm" && ! err_has "compiler"'
wat invalid '(module (func (result i32) (i32.add (i32.const 1) (f64.const 2))))' --no-check
AWSM_COMPILER_PLUGIN=$NONE run "$tmp/invalid.wasm"
check "an invalid module without the compiler: the validation error" \
    eval 'status_is 1 && err_has "i32.add expects i32" && ! err_has "compiler"'
AWSM_COMPILER_PLUGIN=$PLUGIN run --no-cache -O1 "$tmp/hello.wasm"
check "AWSM_COMPILER_PLUGIN names the plugin: --no-cache compiles and runs" \
    eval 'status_is 0 && out_has hello'

"$TOOL" compile "$tmp/hello.wasm" -o "$tmp/hello.so" >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm compile: loads the plugin, writes the .so" \
    eval 'status_is 0 && no_output && [ -s "$tmp/hello.so" ]'
AWSM_COMPILER_PLUGIN=$NONE run_ld "$tmp/hello.so"
check "running a .so without the compiler: no LLVM mapped" \
    eval 'status_is 0 && out_has hello && mapped hello.so && ! mapped libLLVM'
AWSM_COMPILER_PLUGIN=$NONE "$TOOL" compile "$tmp/hello.wasm" -o "$tmp/x.so" \
    >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm compile without the compiler: exit 1, clear error" \
    eval 'status_is 1 && err_has "cannot load the compiler" && [ ! -e "$tmp/x.so" ]'
AWSM_COMPILER_PLUGIN=$NONE "$TOOL" wast "$tmp/none.wast" >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm wast without the compiler: exit 1, clear error" \
    eval 'status_is 1 && err_has "awsm wast: cannot load the compiler"'
AWSM_COMPILER_PLUGIN=$NONE "$TOOL" validate "$tmp/hello.wasm" >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm validate without the compiler: works" eval 'status_is 0 && no_output'
AWSM_COMPILER_PLUGIN=$tmp/hello.so run --no-cache "$tmp/hello.wasm"
check "a shared object that is not the compiler: refused, says so" \
    eval 'status_is 1 && err_has "is not an awsm compiler"'

# Found relative to the executable: a copy of awsm with no ../lib/ has no
# compiler; next to a copy of the plugin in ../lib/ it compiles again.
mkdir -p "$tmp/inst/bin" "$tmp/inst/lib"
cp "$TOOL" "$tmp/inst/bin/awsm"
"$tmp/inst/bin/awsm" run -O0 "$tmp/hello.wasm" >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm elsewhere without ../lib: the error names ../lib/libawsm_compiler.so" \
    eval 'status_is 1 && err_has "$tmp/inst/lib/libawsm_compiler.so"'
cp "$PLUGIN" "$tmp/inst/lib/"
"$tmp/inst/bin/awsm" run -O0 "$tmp/hello.wasm" >"$tmp/out" 2>"$tmp/err"
status=$?
check "awsm elsewhere with ../lib/libawsm_compiler.so: compiles and runs" \
    eval 'status_is 0 && out_has hello'

# The key's host id names the CPU the kernel reports (x86: CPUID).
"$TOOL" --version >"$tmp/out" 2>"$tmp/err"
status=$?
if grep -q '^vendor_id' /proc/cpuinfo 2>/dev/null; then
    cpu() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | sed 's/.*:[[:space:]]*//'; }
    want="$(cpu vendor_id) family $(cpu 'cpu family') model $(cpu model) stepping $(cpu stepping)"
    check "--version: the host id names this CPU ($want)" \
        eval 'status_is 0 && out_has "host: " && out_has "$want cpuid "'
fi

cli_summary
