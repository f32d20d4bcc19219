#!/usr/bin/env bash
# bench/proposals/run.sh - what the proposals past Wasm 2.0 cost, each
# against its Wasm 2.0 peer in the same rounds (issue 14):
#
#   run.sh [--quick] BUILD_DIR          (make bench-proposals [QUICK=1])
#
#   memory64   bench/proposals/kernels.c (freestanding: clang has no wasm64
#              libc here) built for wasm64, every access checked, against
#              the same kernels built for wasm32 under --bounds=guard and
#              --bounds=checked: matmul, sort, stencil, hist
#   atomics    the hist kernel with C11 atomic increments (-matomics, an
#              unshared memory: awsm compiles them as plain accesses)
#              against its plain build
#   tail-call  bench/programs/fib.c (wasi-libc) built with -mtail-call and
#              run with --enable-tail-call against its plain build: what
#              ordinary calls pay in a tail-call module (only functions a
#              tail call can reach or leave are in LLVM's tailcc)
#
# Every variant of a kernel runs once per round, in turn, so that the
# machine's drift hits them alike; the report gives medians over the
# rounds and each variant's ratio to the peer named. Every run must print
# the peer's checksum. Writes bench/results/proposals.md (--quick:
# proposals-quick.md). Exit status 1 if a run failed or disagreed.
set -euo pipefail

quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    shift
fi
build=$(cd "${1:?usage: run.sh [--quick] BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$build/bench-proposals"
awsm="$build/bin/awsm"
mkdir -p "$out/runs"
export AWSM_CACHE_DIR="$out/cache"

if ((quick)); then
    rounds=3 report="$root/bench/results/proposals-quick.md"
    sizes="0:300 1:400000 2:100 3:40000000" fib=34
else
    # w32-guard takes 0.2-0.4 s at these sizes.
    rounds=9 report="$root/bench/results/proposals.md"
    sizes="0:700 1:4000000 2:1000 3:400000000" fib=40
fi
names=(matmul sort stencil hist)

# ===== Build ================================================================
cflags=(-O2 -nostdlib -Wl,--no-entry)
clang --target=wasm32 "${cflags[@]}" "$here/kernels.c" -o "$out/k32.wasm"
clang --target=wasm64 "${cflags[@]}" "$here/kernels.c" -o "$out/k64.wasm"
clang --target=wasm32 "${cflags[@]}" -matomics -mbulk-memory -DATOMIC \
    "$here/kernels.c" -o "$out/katomic.wasm"
clang --target=wasm32-wasi -O2 "$root/bench/programs/fib.c" -o "$out/fib.wasm"
clang --target=wasm32-wasi -O2 -mtail-call "$root/bench/programs/fib.c" -o "$out/fib-tail.wasm"
cc -O2 -Wall "$root/bench/timeit.c" -o "$out/timeit"

# variant NAME: its command (without the size argument) in cmd.
variant() {
    case $1 in
    w32-guard)   cmd=("$awsm" run --bounds=guard --invoke run "$out/k32.wasm") ;;
    w32-checked) cmd=("$awsm" run --bounds=checked --invoke run "$out/k32.wasm") ;;
    w64)         cmd=("$awsm" run --enable-memory64 --invoke run "$out/k64.wasm") ;;
    atomic)      cmd=("$awsm" run --enable-threads --invoke run "$out/katomic.wasm") ;;
    fib)         cmd=("$awsm" run "$out/fib.wasm") ;;
    fib-tail)    cmd=("$awsm" run --enable-tail-call "$out/fib-tail.wasm") ;;
    esac
}

# The rows: a label, the variants (the first is the peer), the arguments.
rows=()
for s in $sizes; do
    k=${s%%:*} n=${s#*:}
    vs="w32-guard w32-checked w64"
    [[ $k == 3 ]] && vs="$vs atomic"
    rows+=("${names[$k]}|$vs|$k $n")
done
rows+=("fib|fib fib-tail|$fib")

status=0
times="$out/runs/times.tsv"
: > "$times"
# One run of every variant first: compiles into the cache, checks output.
for row in "${rows[@]}"; do
    IFS='|' read -r label vs args <<<"$row"
    ref=""
    for v in $vs; do
        variant "$v"
        # shellcheck disable=SC2086  # args are words
        got=$("${cmd[@]}" $args 2>&1) || { echo "FAILED: $label $v: $got"; status=1; }
        [[ -z $ref ]] && ref=$got
        if [[ $got != "$ref" ]]; then
            echo "MISMATCH: $label $v printed '$got', the peer '$ref'"
            status=1
        fi
    done
done
for ((r = 1; r <= rounds; r++)); do
    for row in "${rows[@]}"; do
        IFS='|' read -r label vs args <<<"$row"
        for v in $vs; do
            variant "$v"
            # shellcheck disable=SC2086
            t=$("$out/timeit" "$out/runs/$label.$v.out" "${cmd[@]}" $args) ||
                { echo "FAILED: $label $v (round $r)"; status=1; continue; }
            printf '%s\t%s\t%s\n' "$label" "$v" "$t" >> "$times"
        done
    done
    echo "round $r of $rounds done" >&2
done

# ===== Report ===============================================================
{
    echo "# What the proposals cost (bench/proposals/run.sh)"
    echo
    echo "Medians of $rounds interleaved rounds, wall-clock seconds of a whole"
    echo "\`awsm run\` (compiled code cached), and each variant's ratio to the"
    echo "row's first column, measured in the same rounds."
    echo
    echo "| kernel | variants (median s, ratio to the first) |"
    echo "|---|---|"
    for row in "${rows[@]}"; do
        IFS='|' read -r label vs args <<<"$row"
        line="| $label ($args) |"
        peer=""
        for v in $vs; do
            med=$(awk -F'\t' -v l="$label" -v v="$v" '$1 == l && $2 == v { print $3 }' "$times" |
                  sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
            [[ -z $med ]] && { line="$line $v failed;"; continue; }
            [[ -z $peer ]] && peer=$med
            line="$line $v $(printf '%.3f' "$med") ($(awk -v a="$med" -v b="$peer" 'BEGIN { printf "%.2fx", a / b }'));"
        done
        echo "${line%;} |"
    done
    echo
    echo "- w32-guard / w32-checked: the kernels built for wasm32, run with"
    echo "  --bounds=guard (the guard region) and --bounds=checked; w64: built"
    echo "  for wasm64 (memory64), each access checked against the size"
    echo "  without wrapping; atomic: hist's increments as seq_cst atomics on"
    echo "  an unshared memory; fib-tail: fib.c built with -mtail-call, run"
    echo "  with --enable-tail-call (its escaping functions in tailcc, fib in C)."
    echo "- $(nproc) CPUs, $(uname -m), $(date -u +%Y-%m-%d)."
} > "$report"
cat "$report"
exit $status
