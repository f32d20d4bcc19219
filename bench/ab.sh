#!/usr/bin/env bash
# bench/ab.sh - before/after: the bench programs under two awsm builds,
# runs interleaved (A, B, A, B, ...), so that this shared machine's drift
# falls on both alike.
#
#   ab.sh [--rounds N] [--quick] OLD_BUILD NEW_BUILD [PROGRAM...] [-- AWSM_RUN_FLAGS...]
#
# Each build's own bin/awsm runs the wasm of NEW_BUILD/bench/wasm (make
# bench builds it) at bench/run.sh's size, compiled once beforehand into
# a cache of its own (each build with its own compiler), then timed
# N rounds (default 3) of wall-clock each. Prints per program the median
# of each build and NEW/OLD (below 1: faster). Flags after "--" go to both
# `awsm run`s (--bounds=checked, --enable-tail-call, -O0...). PROGRAM
# defaults to every scalar one. Exit status 1 when a run fails or the two
# print different output.
set -euo pipefail

rounds=3 quick=0
while [[ ${1:-} == --* && ${1:-} != -- ]]; do
    case $1 in
    --rounds) rounds=${2:?--rounds N}; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
old=$(cd "${1:?usage: ab.sh [--rounds N] [--quick] OLD_BUILD NEW_BUILD [PROGRAM...] [-- FLAGS...]}" && pwd)
new=$(cd "${2:?usage: ab.sh [--rounds N] [--quick] OLD_BUILD NEW_BUILD [PROGRAM...] [-- FLAGS...]}" && pwd)
shift 2
here=$(cd "$(dirname "$0")" && pwd)
progs=() flags=()
while [[ $# -gt 0 && $1 != -- ]]; do progs+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift && flags=("$@")

# The sizes are bench/run.sh's: name, module, full size, quick size.
declare -A size
while read -r b m f q; do
    [[ -n $b && $b == "$m" ]] || continue
    size[$b]=$((quick ? q : f))
    [[ ${#progs[@]} -gt 0 || $b == *-simd || $b == startup ]] || defaults+=("$b")
done < <(sed -n '/^benches="/,/^"/p' "$here/run.sh" | sed '1d;$d')
[[ ${#progs[@]} -gt 0 ]] || progs=("${defaults[@]}")
wasm=$new/bench/wasm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {             # run SIDE PROGRAM: seconds on stdout, output in $work
    local dir=$old
    [[ $1 == new ]] && dir=$new
    local t0 t1
    t0=$(date +%s.%N)
    AWSM_CACHE_DIR=$work/cache-$1 "$dir/bin/awsm" run "${flags[@]}" "$wasm/$2.wasm" \
        "${size[$2]}" >"$work/$1.$2.out" 2>&1 || { echo "ab.sh: $1 $2 failed:" >&2;
        cat "$work/$1.$2.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

for p in "${progs[@]}"; do
    [[ -n ${size[$p]:-} && -f $wasm/$p.wasm ]] ||
        { echo "ab.sh: no program $p (make bench builds $wasm)" >&2; exit 2; }
    for side in old new; do            # compile into each cache first
        AWSM_CACHE_DIR=$work/cache-$side "$([[ $side == old ]] && echo "$old" || echo "$new")/bin/awsm" \
            run "${flags[@]}" "$wasm/$p.wasm" 1 >/dev/null 2>&1 || true
    done
done
for ((r = 0; r < rounds; r++)); do
    for p in "${progs[@]}"; do
        for side in old new; do
            echo "$p $side $(run "$side" "$p")" >>"$work/times"
        done
        cmp -s "$work/old.$p.out" "$work/new.$p.out" ||
            { echo "ab.sh: $p prints differently under the two builds" >&2; exit 1; }
    done
done
printf '%-10s %9s %9s %8s\n' program old new new/old
awk '{ t[$1 " " $2] = t[$1 " " $2] " " $3; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
     function median(s,    a, k, i, j, x) {
         k = split(s, a, " ")
         for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
         return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
     }
     END { for (i = 0; i < n; i++) { p = order[i]; o = median(t[p " old"]); w = median(t[p " new"])
             printf "%-10s %8.3fs %8.3fs %8.3f\n", p, o, w, w / o } }' "$work/times"
