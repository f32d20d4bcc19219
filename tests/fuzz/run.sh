#!/usr/bin/env bash
# Build one of awsm's libFuzzer targets with clang, ASan and UBSan, and run
# it for a bounded time over a seeded corpus.
#
# usage: run.sh [-t SECONDS] [-o WORKDIR] [TARGET] [-- LIBFUZZER_OPTIONS...]
#
#   TARGET       wasm (default): wm_load, the decoder and validator;
#                compile: the compiler path: decode, validate, compile,
#                load, instantiate and run (fuzz_compile.c);
#                config: awsmrt's configuration parser;
#                request: awsmrt's UDP request parser and reply builder;
#                http: awsmrt's HTTP request path (tests/fuzz/fuzz_*.c)
#   -t SECONDS   how long to fuzz (default $AWSM_FUZZ_SECONDS, else 60)
#   -o WORKDIR   where the binary, corpus and artifacts go (default: a new
#                temporary directory); reusing one keeps the corpus
#
# Seeds: for wasm and compile, the .wasm files wast2json makes from a few core/*.wast
# files of the spec suite ($AWSM_SPECTEST/core, else ../shared/spectest/core
# beside the repository), plus a few hand-made modules; for the others,
# tests/fuzz/seeds/TARGET/.
#
# Exit status: 0 when the fuzzer found nothing, 1 when it found a crash,
# leak, timeout or out-of-memory (the input's path and a hex dump are
# printed), 77 (ctest's skip) when clang or its fuzzer runtime is missing.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${AWSM_FUZZ_SECONDS:-60}
work=""
target=wasm
while [ $# -gt 0 ]; do
    case $1 in
    -t) seconds=$2; shift 2 ;;
    -o) work=$2; shift 2 ;;
    --) shift; break ;;
    wasm|compile|config|request|http) target=$1; shift ;;
    *) echo "usage: $0 [-t SECONDS] [-o WORKDIR] [wasm|compile|config|request|http] [-- LIBFUZZER_OPTIONS...]" >&2
       exit 2 ;;
    esac
done
name=fuzz_$target

skip() {
    echo "$name: SKIPPED: $*" >&2
    exit 77
}

cc=${AWSM_FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found (set AWSM_FUZZ_CC)"

if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/awsm-fuzz.XXXXXX")
fi
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts" || exit 1
rm -f "$work"/artifacts/*
work=$(cd "$work" && pwd)

# Does this clang have the libFuzzer runtime?
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$work/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" \
    >/dev/null 2>&1 || skip "$cc has no libFuzzer runtime (-fsanitize=fuzzer)"

# What each target is built from, beyond its own tests/fuzz/fuzz_TARGET.c.
case $target in
wasm)    srcs=("$root"/wasm/*.c) libs=() max_len=() ;;
compile) srcs=("$root"/wasm/*.c "$root"/compiler/*.c "$root"/runtime/*.c "$root/wast/spectest.c")
         libs=(nettle) max_len=(-max_len=65536) ;;
config)  srcs=("$root/server/config.c" "$root"/wasm/*.c) libs=(jansson) max_len=(-max_len=4096) ;;
request) srcs=("$root/server/config.c" "$root/server/request.c" "$root"/wasm/*.c) libs=(jansson)
         max_len=(-max_len=4096) ;;
http)    srcs=("$root/server/config.c" "$root/server/request.c" "$root/server/http.c"
               "$root"/wasm/*.c)
         libs=(jansson libuv) max_len=(-max_len=8192) ;;
esac
cflags=() ldflags=()
if [ ${#libs[@]} -gt 0 ]; then
    pkg-config --exists "${libs[@]}" || skip "pkg-config cannot find ${libs[*]}"
    read -r -a cflags <<<"$(pkg-config --cflags "${libs[@]}")"
    read -r -a ldflags <<<"$(pkg-config --libs "${libs[@]}")"
fi
[ "$target" = http ] && ldflags+=(-lhttp_parser)
if [ "$target" = compile ]; then
    command -v llvm-config-19 >/dev/null 2>&1 || skip "llvm-config-19 not found"
    cflags+=(-isystem "$(llvm-config-19 --includedir)" -I"$work/generated")
    bash "$root/scripts/llvm-pipeline.sh" "$work/generated/compiler/cg_pipeline.h" || exit 1
    read -r -a llvm_libs <<<"$(llvm-config-19 --ldflags --libs core native passes target | tr "\n" " ")"
    ldflags+=("${llvm_libs[@]}" -ldl -lpthread)
fi

echo "$name: building with $cc in $work"
if ! "$cc" -std=gnu17 -g -O1 -Wall -Wextra -Wno-unused-parameter \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer -I"$root" "${cflags[@]}" \
        "${srcs[@]}" "$here/$name.c" -o "$work/$name" "${ldflags[@]}"; then
    echo "$name: FAILED to build the fuzz target" >&2
    exit 1
fi

# ----- seeds ---------------------------------------------------------------
if [ "$target" != wasm ] && [ "$target" != compile ]; then
    cp "$here/seeds/$target"/* "$work/corpus/"
else
    suite=""
    if [ -n "${AWSM_SPECTEST:-}" ] && [ -d "$AWSM_SPECTEST/core" ]; then
        suite=$AWSM_SPECTEST/core
    elif [ -d "$root/../shared/spectest/core" ]; then
        suite=$(cd "$root/../shared/spectest/core" && pwd)
    fi
    if [ -n "$suite" ] && command -v wast2json >/dev/null 2>&1; then
        for f in binary binary-leb128 custom block br_table call_indirect data \
                 elem global if loop memory select table ref_func bulk \
                 unreached-invalid local_get simd_const simd_lane; do
            [ -f "$suite/$f.wast" ] || continue
            mkdir -p "$work/seeds/$f"
            wast2json --enable-all "$suite/$f.wast" -o "$work/seeds/$f/$f.json" \
                >/dev/null 2>&1 ||
            wast2json "$suite/$f.wast" -o "$work/seeds/$f/$f.json" >/dev/null 2>&1 ||
                true
        done
        find "$work/seeds" -name '*.wasm' -exec cp {} "$work/corpus/" \;
        echo "$name: seeded from $suite"
    else
        echo "$name: no spec suite or wast2json; hand-made seeds only"
    fi
    # An empty module, and one exporting `i32 add(i32, i32)`.
    printf '\0asm\1\0\0\0' > "$work/corpus/seed-empty.wasm"
    printf '\0asm\1\0\0\0\1\7\1\140\2\177\177\1\177\3\2\1\0\7\7\1\3add\0\0\n\11\1\7\0\40\0\40\1\152\13' \
        > "$work/corpus/seed-add.wasm"
fi
echo "$name: $(ls "$work/corpus" | wc -l) corpus files"

# ----- fuzz ----------------------------------------------------------------
echo "$name: fuzzing for ${seconds}s"
"$work/$name" -max_total_time="$seconds" "${max_len[@]}" -rss_limit_mb=2048 -timeout=10 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" \
    > "$work/fuzz.log" 2>&1
rc=$?

found=$(find "$work/artifacts" -type f | sort)
if [ $rc -eq 0 ] && [ -z "$found" ]; then
    grep -E '^(Done|stat::)' "$work/fuzz.log"
    echo "$name: nothing found (log: $work/fuzz.log)"
    exit 0
fi
# The sanitizer's or libFuzzer's report, with its stack.
first=$(grep -n -m1 -E '^==[0-9]+==|runtime error:|ERROR: libFuzzer|ALARM:' \
        "$work/fuzz.log" | cut -d: -f1)
if [ -n "$first" ]; then
    tail -n "+$first" "$work/fuzz.log" | head -n 60
else
    tail -n 40 "$work/fuzz.log"
fi
echo "$name: FAILED (libFuzzer exit status $rc; log: $work/fuzz.log)"
for f in $found; do
    echo "$name: crash input: $f ($(wc -c < "$f") bytes)"
    od -A x -t x1z -v "$f" | head -n 32
    echo "$name: reproduce: $work/$name $f"
done
exit 1
