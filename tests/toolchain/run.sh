#!/bin/bash
# tests/toolchain/run.sh AWSM - modules from a second toolchain: Debian's
# emscripten (3.1.6, its own musl and libc++, `-sSTANDALONE_WASM`), next to
# tests/wasi's clang + wasi-libc. Builds each program here into a temporary
# directory, runs it with `AWSM run` (compile cache in that directory too)
# and checks status, output and the files it leaves:
#
#   hello.cpp         arguments, environment, stdin; C++ static constructors
#   files.c           a preopened directory: create, write, read back, stat,
#                     list, rename, remove; a second preopen
#   clock_random.c    realtime, monotonic and CPU-time clocks; random_get
#   exit.c            return, exit, proc_exit, abort, a trap and its backtrace
#   exceptions.cpp    C++ exceptions (em++ -fwasm-exceptions: the legacy
#                     exception-handling proposal, awsm --enable=exceptions),
#                     against the same program built with the host's g++
#
# One line per check, then `N passed, N failed`. Exit 0 when all pass, 1
# otherwise, 77 (skipped) when emcc or em++ is not installed (Debian package
# emscripten; scripts/setup.sh installs it) or wat2wasm is missing.
set -u

AWSM=${1:?usage: run.sh PATH/TO/awsm}
AWSM=$(realpath "$AWSM")
HERE=$(cd "$(dirname "$0")" && pwd)
EMCC=${EMCC:-emcc}
EMXX=${EMXX:-em++}

if ! command -v "$EMCC" >/dev/null 2>&1 || ! command -v "$EMXX" >/dev/null 2>&1; then
    echo "toolchain: $EMCC/$EMXX not found (Debian package emscripten); SKIPPED" >&2
    exit 77
fi

# shellcheck disable=SC2034  # both read by lib.sh
TOOL=$AWSM NAME=toolchain
# shellcheck source=tests/cli/lib.sh
. "$HERE/../cli/lib.sh"         # run, check, status_is, err_has; $tmp

export AWSM_CACHE_DIR=$tmp/cache
BUILD=$tmp/build
ROOT=$tmp/root
mkdir -p "$BUILD"

# -sSTANDALONE_WASM: a module that imports wasi_snapshot_preview1 only,
# with no JavaScript. emcc 3.1.6 still checks every undefined symbol
# against its JavaScript library, which lacks some WASI calls the programs
# make directly (path_open, random_get, ...): ERROR_ON_UNDEFINED_SYMBOLS=0
# lets those through as the imports they are declared to be, and the
# "imports" check below fails on anything else that slipped through (for
# instance emscripten's env.__syscall_* for stat or mkdir).
EMFLAGS=(-sSTANDALONE_WASM -sERROR_ON_UNDEFINED_SYMBOLS=0
         -sWARN_ON_UNDEFINED_SYMBOLS=0 -Wall)

# out_is TEXT: stdout is TEXT and a newline, exactly; else show the diff.
out_is() {
    printf '%s\n' "$1" >"$tmp/want"
    diff -u "$tmp/want" "$tmp/out" >"$tmp/diff" && return 0
    sed -n '3,$s/^/#   /p' "$tmp/diff"
    return 1
}
status_out() { status_is "$1" && out_is "$2"; }

# Every import is from wasi_snapshot_preview1 (and there is one at least).
wasi_imports_only() {
    wasm-objdump -x -j Import "$1" >"$tmp/out" 2>"$tmp/err" || return 1
    grep -q ' <- wasi_snapshot_preview1\.' "$tmp/out" &&
        ! grep ' <- ' "$tmp/out" | grep -v ' <- wasi_snapshot_preview1\.'
}

# --- build ---------------------------------------------------------------
status=0
build() {      # build NAME COMPILER SOURCE FLAGS...
    local name=$1 cc=$2 src=$3
    shift 3
    "$cc" "${EMFLAGS[@]}" "$@" "$HERE/$src" -o "$BUILD/$name.wasm" \
        >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ "$status" -eq 0 ] && [ -s "$BUILD/$name.wasm" ]
}
check "build hello.cpp (em++ -O2)" build hello "$EMXX" hello.cpp -O2
check "build files.c (emcc -O2)" build files "$EMCC" files.c -O2
check "build clock_random.c (emcc -O2)" build clock_random "$EMCC" clock_random.c -O2
# -O1 keeps binaryen from inlining the functions the backtrace should name.
check "build exit.c (emcc -O1 --profiling-funcs)" \
    build exit "$EMCC" exit.c -O1 --profiling-funcs
check "build exceptions.cpp (em++ -O2 -fwasm-exceptions)" \
    build exceptions "$EMXX" exceptions.cpp -O2 -fwasm-exceptions

programs="hello files clock_random exit exceptions"
for p in $programs; do
    check "$p.wasm imports only wasi_snapshot_preview1" \
        wasi_imports_only "$BUILD/$p.wasm"
done
modules=()
for p in $programs; do modules+=("$BUILD/$p.wasm"); done
run validate "${modules[@]}"
check "awsm validate refuses exceptions.wasm without --enable=exceptions" \
    err_has "the exception-handling proposal is not enabled"
run validate --enable=exceptions "${modules[@]}"
check "awsm validate --enable=exceptions accepts the five modules" status_is 0

# --- hello: arguments, environment, stdin ----------------------------------
printf 'abc def\nMixed Case 123\nno newline at end' >"$tmp/in"
for bounds in guard checked; do
    run run --bounds=$bounds --env "GREETING=hi there" --env EMPTY= \
        --env A=b=c "$BUILD/hello.wasm" one "two words" "" "ünï" <"$tmp/in"
    check "hello: args, env and stdin ($bounds)" status_out 0 "\
hello from emscripten, 4 args
argv[0] ends in hello.wasm: yes
arg 1: [one] 3 bytes
arg 2: [two words] 9 bytes
arg 3: [] 0 bytes
arg 4: [ünï] 5 bytes
GREETING=hi there
MISSING=(unset)
environ: 3 entries
env [A=b=c]
env [EMPTY=]
env [GREETING=hi there]
stdin: ABC DEF
stdin: MIXED CASE 123
stdin: NO NEWLINE AT END
stdin lines: 3"
done
run run "$BUILD/hello.wasm" </dev/null
check "hello: no args, no env, empty stdin" status_out 0 "\
hello from emscripten, 0 args
argv[0] ends in hello.wasm: yes
GREETING=(unset)
MISSING=(unset)
environ: 0 entries
stdin lines: 0"

# --- files: two preopened directories ----------------------------------------
fresh_tree() {
    rm -rf "$ROOT"
    mkdir -p "$ROOT/sandbox" "$ROOT/other"
    printf 'first line\nsecond line\n' >"$ROOT/sandbox/input.txt"
}
files_want="\
preopen 3: /sandbox, directory
preopen 4: /other, directory
open input.txt: 0
input: first line
input: second line
input at eof: yes
fclose: 0
mkdir made: 0
mkdir made again: errno 20 (exist)
create made/out.txt: 0
writev: 18
lseek 0: 0
read: 18 \"hello, emscripten\"
read at eof: 0
pwrite at 7: 0, 10 bytes
tell after pwrite: 0, 18
write tail: 4
pread at 0: 0, 22 bytes
hello, EMSCRIPTEN
bye
fd_filestat_get: 0, regular file, size 22
fd_filestat_set_size 18: 0
size now 18
lseek end: 18
close: 0
fd_write on the closed fd: errno 8 (badf)
stat made/out.txt: regular file, size 18
stat made: directory
create made/big.bin: 0
big.bin written: 1048576 bytes
big.bin read: 1048576 bytes, same bytes
stat made/big.bin: regular file, size 1048576
mkdir made/many: 0
created 20 files in made/many
ls made/many: $(printf 'file-%02d.txt ' $(seq 0 19) | sed 's/ $//')
ls made: big.bin many/ out.txt
rmdir made/many (not empty): errno 55 (notempty)
removed 20 files
rmdir made/many: 0
rename made/out.txt made/kept.txt: 0
stat made/out.txt: errno 44 (noent)
stat made/kept.txt: regular file, size 18
create made/kept.txt exclusively: errno 20 (exist)
unlink made/big.bin: 0
unlink made/big.bin again: errno 44 (noent)
open missing.txt: errno 44 (noent)
open made/kept.txt as a directory: errno 54 (notdir)
open ../escape.txt: errno 76 (notcapable)
rmdir made (not empty): errno 55 (notempty)
ls made: kept.txt
ls .: input.txt made/
create /other/note.txt: 0
fclose note: 0"

tree_is_left() {     # what files.c leaves, and nothing else
    [ "$(cd "$ROOT" && find . | LC_ALL=C sort | tr '\n' ' ')" = \
      ". ./other ./other/note.txt ./sandbox ./sandbox/input.txt ./sandbox/made ./sandbox/made/kept.txt " ] &&
    [ "$(cat "$ROOT/sandbox/made/kept.txt")" = "hello, EMSCRIPTEN" ] &&
    [ "$(wc -c <"$ROOT/sandbox/made/kept.txt")" -eq 18 ] &&
    [ "$(cat "$ROOT/other/note.txt")" = "a note" ] &&
    [ "$(cat "$ROOT/sandbox/input.txt")" = "$(printf 'first line\nsecond line')" ]
}
for bounds in guard checked; do
    fresh_tree
    run run --bounds=$bounds --dir "$ROOT/sandbox::/sandbox" \
        --dir "$ROOT/other::/other" "$BUILD/files.wasm" </dev/null
    check "files: output ($bounds)" status_out 0 "$files_want"
    check "files: the host tree afterwards ($bounds)" tree_is_left
done

# --- clocks and random -------------------------------------------------------
clock_checks="\
ok - realtime resolution in (0, 1 ms]
ok - monotonic resolution in (0, 1 ms]
ok - realtime is after 2020
ok - gettimeofday agrees with clock_gettime
ok - time agrees with clock_gettime
ok - monotonic never goes back in 100000 reads
ok - monotonic advances 50 ms within 5 s of realtime
ok - realtime advances 40 ms..5 s while monotonic advances 50 ms
ok - process CPU time advances while spinning
ok - nanosleep returns 0
ok - clock_time_get(monotonic) agrees with clock_gettime
ok - clock_time_get(realtime) agrees with clock_gettime
ok - clock_time_get of an unknown clock is EINVAL
ok - random_get returns 0
ok - random bytes are not all zero
ok - two calls give different bytes
ok - random_get of 0 bytes returns 0
ok - random_get of 64 KiB
ok - 64 KiB of random bytes hold all 256 values
ok - 48%..52% of the random bits are set
ok - the last bytes of the 64 KiB were written"
clock_ok() {
    status_is 0 || return 1
    grep -v '^realtime \|^random ' "$tmp/out" >"$tmp/checks"
    printf '%s\n' "$clock_checks" | diff -u - "$tmp/checks" | sed -n '3,$s/^/#   /p'
    printf '%s\n' "$clock_checks" | cmp -s - "$tmp/checks"
}
near_host_time() {   # the guest's realtime within 60 s of the host's
    local guest host
    guest=$(sed -n 's/^realtime \([0-9]*\)$/\1/p' "$tmp/out")
    host=$(date +%s)
    [ -n "$guest" ] && [ $((host - guest)) -ge -60 ] && [ $((host - guest)) -le 60 ]
}
run run "$BUILD/clock_random.wasm" </dev/null
check "clock_random: the guest's 21 checks" clock_ok
check "clock_random: realtime matches the host's clock" near_host_time
first_random=$(sed -n 's/^random //p' "$tmp/out")
run run "$BUILD/clock_random.wasm" </dev/null
second_random=$(sed -n 's/^random //p' "$tmp/out")
differs() {
    [ ${#first_random} -eq 32 ] && [ ${#second_random} -eq 32 ] &&
        [ "$first_random" != "$second_random" ] && return 0
    echo "#   first run: '$first_random', second run: '$second_random'"
    return 1
}
check "clock_random: random bytes differ between runs" differs

# --- exit status -------------------------------------------------------------
for t in "return 0:0:before return, atexit ran" \
         "return 3:3:before return, atexit ran" \
         "exit 42:42:before exit, atexit ran" \
         "exit 0:0:before exit, atexit ran" \
         "proc_exit 7:7:before proc_exit (flushed by hand)" \
         "abort:1:before abort"; do
    args=${t%%:*}
    rest=${t#*:}
    # shellcheck disable=SC2086
    run run "$BUILD/exit.wasm" $args </dev/null
    check "exit: $args gives ${rest%%:*}" status_out "${rest%%:*}" "${rest#*:}"
done
run run "$BUILD/exit.wasm" trap </dev/null
trapped() {
    status_is 134 && out_is "before trap" &&
        err_has "exit.wasm: trap: integer divide by zero"
}
check "exit: a division by zero traps (134)" trapped
backtrace() {
    trapped &&
        grep -Eq '^ +0: func [0-9]+ divide$' "$tmp/err" &&
        grep -Eq '^ +1: func [0-9]+ compute_quotient$' "$tmp/err" &&
        grep -Eq '^ +2: func [0-9]+ main$' "$tmp/err"
}
# awsmc -O0: its -O2 inlines divide and compute_quotient into main.
run run -O0 "$BUILD/exit.wasm" trap </dev/null
check "exit: the trap's backtrace names divide, compute_quotient, main (-O0)" backtrace

# --- C++ exceptions, against the host's g++ build of the same program -------
native_exceptions() {
    g++ -O2 "$HERE/exceptions.cpp" -o "$BUILD/exceptions.native" 2>"$tmp/err" &&
        "$BUILD/exceptions.native" >"$BUILD/exceptions.want" &&
        grep -q '^sum 1666749999, destructors 5$' "$BUILD/exceptions.want"
}
check "exceptions: the native build runs" native_exceptions
same_as_native() {
    status_is 0 && diff -u "$BUILD/exceptions.want" "$tmp/out" >"$tmp/diff" && return 0
    sed -n '3,$s/^/#   /p' "$tmp/diff"
    return 1
}
for bounds in guard checked; do
    run run --bounds=$bounds --enable=exceptions "$BUILD/exceptions.wasm" </dev/null
    check "exceptions: output as the native build's ($bounds)" same_as_native
done
run run --enable=exceptions "$BUILD/exceptions.wasm" uncaught </dev/null
uncaught() {
    status_is 134 && out_is "throwing past main" &&
        err_has "exceptions.wasm: trap: uncaught exception"
}
check "exceptions: one thrown past main is an uncaught exception (134)" uncaught

cli_summary
