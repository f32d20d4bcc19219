#!/bin/bash
# tests/wasi/run.sh AWSM - the WASI conformance tests: builds each C
# program here with clang --target=wasm32-wasi (Debian's wasi-libc) and
# runs it with `AWSM run`, in a fresh directory tree per run:
#
#   ROOT/outside.txt   "SECRET", and ROOT/outdir/: outside the preopen
#                      (escape.c lists the symlinks planted inside)
#   ROOT/sandbox/      preopened as /sandbox (guest fd 3)
#   ROOT/second/       preopened as /second (fd 4) where a test asks
#
# Checks each program's exit status and output ("not ok" lines fail), and
# after the escape test that nothing outside the sandbox changed.
# Prints `N passed, N failed`; exits 1 on failures, 77 when clang or
# wasi-libc is missing.
set -u

AWSM=${1:?usage: run.sh PATH/TO/awsm}
AWSM=$(realpath "$AWSM")
HERE=$(cd "$(dirname "$0")" && pwd)
CLANG=${CLANG:-clang}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AWSM_CACHE_DIR=$tmp/cache
ROOT=$tmp/root
BUILD=$tmp/build
mkdir -p "$BUILD"

if ! command -v "$CLANG" >/dev/null 2>&1 ||
   ! printf '#include <stdio.h>\nint main(void){puts("x");return 0;}\n' |
     "$CLANG" --target=wasm32-wasi -O2 -x c - -o "$BUILD/probe.wasm" \
       >/dev/null 2>&1; then
    echo "skip: $CLANG --target=wasm32-wasi with wasi-libc is not available"
    exit 77
fi

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    [ -s "$tmp/out" ] && grep -v '^ok' "$tmp/out" | head -20 | sed 's/^/#   /'
    [ -s "$tmp/err" ] && head -10 "$tmp/err" | sed 's/^/#   stderr: /'
    return 0
}

fresh_tree() {
    rm -rf "$ROOT"
    mkdir -p "$ROOT/sandbox/sub" "$ROOT/outdir" "$ROOT/second"
    echo SECRET > "$ROOT/outside.txt"
    echo inner > "$ROOT/sandbox/sub/inner.txt"
    ln -s /etc "$ROOT/sandbox/hostlink"
    ln -s ../outside.txt "$ROOT/sandbox/hostup"
    ln -s /proc/self/root "$ROOT/sandbox/hostproc"
    ln -s ../created_outside.txt "$ROOT/sandbox/dangle"
    ln -s "$ROOT/created_abs.txt" "$ROOT/sandbox/dangleabs"
}

# run NAME [awsm run options] -- [guest args]: stdout in $tmp/out,
# stderr in $tmp/err, exit status in $rc. Stdin is $tmp/in.
run() {
    local name=$1 opts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    fresh_tree
    (cd "$ROOT" && timeout 300 "$AWSM" run --dir "$ROOT/sandbox::/sandbox" \
        "${opts[@]}" "$BUILD/$name.wasm" "$@") \
        < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
    rc=$?
}

# The program passed: the status expected, no failed check, and its final
# tally (DONE() in check.h), so a guest that stops early fails.
check_run() {
    local what=$1 want=$2
    if [ "$rc" -ne "$want" ]; then
        not_ok "$what: exit status $rc, expected $want"
    elif grep -q '^not ok' "$tmp/out"; then
        not_ok "$what: failed checks"
    elif ! grep -qE '^# [1-9][0-9]* passed, 0 failed$' "$tmp/out"; then
        not_ok "$what: no final tally (\"# N passed, 0 failed\"): the guest stopped early"
    else
        ok "$what"
    fi
}

: > "$tmp/in"
programs="args_env clock_random files escape poll fds exit stdin"
for p in $programs; do
    if "$CLANG" --target=wasm32-wasi -O2 -Wall -Wno-unused-result \
         -o "$BUILD/$p.wasm" "$HERE/$p.c" 2> "$tmp/err"; then
        ok "build $p"
    else
        : > "$tmp/out"
        not_ok "build $p"
    fi
done

for bounds in guard checked; do
    B=--bounds=$bounds
    run args_env "$B" --env ALPHA=one --env BETA= --env GAMMA=x=y -- \
        first "second arg" "" "ünï"
    check_run "args_env ($bounds)" 0
    run files "$B"
    check_run "files ($bounds)" 0
    grep -q '^# gathered write ok$' "$tmp/out" &&
        ok "gathered write reached stdout ($bounds)" ||
        not_ok "gathered write reached stdout ($bounds)"

    run escape "$B"
    check_run "escape ($bounds)" 0
    outside_ok=1
    [ "$(cat "$ROOT/outside.txt")" = SECRET ] || outside_ok=0
    [ -d "$ROOT/outdir" ] || outside_ok=0
    for f in newdir newdir2 newdir3 stolen.txt hl newlink created.txt \
             created_outside.txt created_abs.txt; do
        [ -e "$ROOT/$f" ] || [ -L "$ROOT/$f" ] && outside_ok=0
    done
    [ -e "$ROOT/sandbox/abs" ] || [ -L "$ROOT/sandbox/abs" ] && outside_ok=0
    [ -e "$ROOT/sandbox/got.txt" ] && outside_ok=0
    [ -f "$ROOT/sandbox/sub/inner.txt" ] || outside_ok=0
    [ "$(ls "$ROOT")" = "$(printf 'outdir\noutside.txt\nsandbox\nsecond')" ] ||
        outside_ok=0
    [ $outside_ok = 1 ] && ok "nothing outside the sandbox changed ($bounds)" ||
        not_ok "nothing outside the sandbox changed ($bounds)"
done

run clock_random
check_run clock_random 0
run poll
check_run poll 0
run fds --dir "$ROOT/second::/second"
check_run fds 0
[ "$(cat "$ROOT/second/hello.txt" 2>/dev/null)" = "hello second" ] &&
    ok "second preopen written" || not_ok "second preopen written"

for mode in exit42:42 raw3:3 return5:5 zero:0; do
    run exit -- "${mode%%:*}"
    want=${mode##*:}
    if [ "$rc" -eq "$want" ] && grep -q '^before exit$' "$tmp/out" &&
       ! grep -q 'after exit' "$tmp/out"; then
        ok "exit ${mode%%:*} gives $want"
    else
        not_ok "exit ${mode%%:*} gives $want (got $rc)"
    fi
done
run exit -- trap
[ "$rc" -eq 134 ] && grep -q 'trap' "$tmp/err" && ok "a trap is not an exit" ||
    not_ok "a trap is not an exit (got $rc)"

printf 'hello\nworld\n' > "$tmp/in"
run stdin
check_run stdin 0
[ "$(grep -v '^ok\|^#' "$tmp/out")" = "$(printf 'HELLO\nWORLD')" ] &&
    ok "stdin echoed" || not_ok "stdin echoed"
: > "$tmp/in"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
