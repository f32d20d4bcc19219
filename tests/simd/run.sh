#!/bin/bash
# tests/simd/run.sh AWSM - real SIMD and atomics programs: each C file here
# is built twice, for wasm32-wasi with clang -O2 -msimd128 and for the host
# with cc -O2 -msse4.1, and the wasm build, run by `AWSM run` in both bounds
# modes, must print exactly what the native build prints:
#
#   kernels.c   intrinsics (simd.h: wasm_simd128.h or SSE4.1): byte search,
#               image blend and blur, swizzle popcount, int16 and float dots
#   autovec.c   plain C loops that clang auto-vectorises
#   atomics.c   C11 atomics built with -matomics -mbulk-memory (the threads
#               proposal's instructions on wasi-libc's unshared memory), run
#               with --enable-threads
#   copyloops.c scalar copy and fill loops and wasi-libc's memcpy, memmove
#               and memset (no SIMD: the loops awsmc gives a memmove or
#               memset fast path) over sizes, alignments and overlaps
#   mul128.c    128-bit multiplies (no SIMD: compiler-rt's products of
#               32-bit halves, which awsmc makes one multiply)
#
# A file may replace the defaults in its first lines: `wasm-flags: ...`
# (clang's), `run-flags: ...` (awsm run's) and `holds: REGEX` (what
# wasm-objdump -d must show). Checks that the wasm builds hold such
# instructions at all (else the test would prove nothing). Prints `N
# passed, N failed`; exits 1 on failures, 77 when clang's wasm32-wasi
# target, wasi-libc or cc is missing.
set -u

AWSM=${1:?usage: run.sh PATH/TO/awsm}
AWSM=$(realpath "$AWSM")
HERE=$(cd "$(dirname "$0")" && pwd)
CLANG=${CLANG:-clang}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AWSM_CACHE_DIR=$tmp/cache

if ! command -v "$CLANG" >/dev/null 2>&1 || ! command -v "$CC" >/dev/null 2>&1 ||
   ! printf '#include <stdio.h>\nint main(void){puts("x");return 0;}\n' |
     "$CLANG" --target=wasm32-wasi -O2 -msimd128 -x c - -o "$tmp/probe.wasm" \
       >/dev/null 2>&1; then
    echo "skip: $CLANG --target=wasm32-wasi (wasi-libc) or $CC is not available"
    exit 77
fi

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    [ -s "$tmp/err" ] && head -10 "$tmp/err" | sed 's/^/#   stderr: /'
    return 0
}

# A setting from the source's header comment (`KEY: value`), or $2.
setting() {
    local v
    v=$(sed -n "1,12s/^.*$1: *//p" "$src" | head -1)
    v=${v%%\*/*}
    v=${v%"${v##*[! ]}"}
    printf '%s' "${v:-$2}"
}

# Does the module hold the instructions it is there for? (wasm-objdump
# when installed.)
holds() {
    command -v wasm-objdump >/dev/null 2>&1 || return 0
    wasm-objdump -d "$1" 2>/dev/null | grep -qE "$2"
}

for src in "$HERE"/*.c; do
    name=$(basename "$src" .c)
    wasm=$tmp/$name.wasm native=$tmp/$name.native
    read -r -a wflags <<<"$(setting wasm-flags -msimd128)"
    read -r -a rflags <<<"$(setting run-flags '')"
    what=$(setting holds ' (v128|i8x16|i16x8|i32x4|f32x4)\.')
    if ! "$CLANG" --target=wasm32-wasi -O2 "${wflags[@]}" -I"$HERE" "$src" -o "$wasm" \
            2>"$tmp/err"; then
        not_ok "$name: clang ${wflags[*]} failed"
        continue
    fi
    if ! "$CC" -O2 -msse4.1 -I"$HERE" "$src" -o "$native" 2>"$tmp/err"; then
        not_ok "$name: $CC -msse4.1 failed"
        continue
    fi
    if holds "$wasm" "$what"; then ok "$name: the wasm build holds /$what/"
    else not_ok "$name: the wasm build holds no /$what/ instruction"; fi
    "$native" >"$tmp/want" 2>"$tmp/err"
    for bounds in guard checked; do
        if timeout 300 "$AWSM" run --bounds=$bounds "${rflags[@]}" "$wasm" \
                >"$tmp/out" 2>"$tmp/err" &&
           cmp -s "$tmp/want" "$tmp/out"; then
            ok "$name ($bounds): the same output as native"
        else
            not_ok "$name ($bounds): output differs from native"
            diff "$tmp/want" "$tmp/out" | head -10 | sed 's/^/#   /'
        fi
    done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
