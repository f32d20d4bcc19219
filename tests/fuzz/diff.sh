#!/usr/bin/env bash
# tests/fuzz/diff.sh - differential fuzzing of awsm against V8 (node).
#
#   diff.sh [--awsm DIFF_AWSM] [-o WORKDIR] [-j JOBS] [--gen ttf|precise] FIRST COUNT
#
# For each seed FIRST .. FIRST+COUNT-1: random bytes from the seed (Python's
# random.Random(seed), 1-12 KB), turned by binaryen's `wasm-opt -ttf` into
# a valid module with Wasm 2.0's features (SIMD included) and with NaNs
# removed (--denan: their payloads are the engine's choice; binaryen 108
# leaves SIMD lanes to tests/fuzz/diff_rewrite.py), every global exported;
# then tests/fuzz/diff_node.mjs runs every export under node, diff_awsm runs
# them under awsm in four configurations (guard and checked, -O0 and -O2),
# and each awsm transcript must equal node's line for line: results bit
# for bit, logged values, trap classes, globals and memory at the end
# (tests/fuzz/diff_compare.py: NaN bits may differ where the spec allows).
#
# DIFF_FEATURES adds binaryen's flags for proposals past Wasm 2.0 (e.g.
# --enable-threads: atomics and shared memories; diff_awsm accepts every
# proposal awsm has), DIFF_NODE_FLAGS node's (--experimental-wasm-memory64;
# binaryen 108's generator makes no 64-bit or second memory, though).
#
# --gen precise makes the modules with tests/fuzz/diff_precise.py instead:
# small ones full of what precise traps are about (stores and loads at the
# edge of memory, globals set around them, explicit traps), which
# binaryen's generator rarely makes.
#
# A mismatch keeps the module and both transcripts in WORKDIR/seed-N/ and
# prints how to reproduce it (`diff.sh N 1` builds the same module);
# DIFF_KEEP=1 keeps every seed's files. Exit status 0 when every seed
# agreed, 1 when any did not (or a tool failed on one), 77 when binaryen
# or node is missing (ctest's skip; in CI the test counts it as a
# failure).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
awsm=$root/build/bin/diff_awsm
work=""
jobs=$(nproc)
max_bytes=${DIFF_MAX_BYTES:-12000}
gen=ttf
configs="guard:0 guard:2 checked:0 checked:2"
features="--enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals
          --enable-bulk-memory --enable-multivalue --enable-simd ${DIFF_FEATURES:-}"
# DIFF_FEATURES: binaryen's flags for proposals past Wasm 2.0
# (--enable-threads: atomics, shared memories); wabt takes the same names.
wabt_features=${DIFF_FEATURES:-}

# One seed: the worker the main loop runs in parallel (diff.sh --one SEED).
# The module of one seed, into $d/module.wasm: from binaryen (ttf) or from
# diff_precise.py (precise).
make_module() {
    local seed=$1 d=$2
    if [[ $gen == precise ]]; then
        if ! python3 "$here/diff_precise.py" "$seed" "$d/module.wat" 2>"$d/gen.err" ||
           ! wat2wasm "$d/module.wat" -o "$d/module.wasm" 2>>"$d/gen.err"; then
            echo "seed $seed: diff_precise.py failed: $(head -c 300 "$d/gen.err")"
            return 1
        fi
        return 0
    fi
    python3 -c "import random, sys
r = random.Random($seed)
sys.stdout.buffer.write(r.randbytes(r.randint(1000, $max_bytes)))" >"$d/input.bin"
    # shellcheck disable=SC2086
    if ! wasm-opt -ttf "$d/input.bin" --denan $features -o "$d/module.wasm" 2>"$d/wasm-opt.err" ||
       ! [[ -s $d/module.wasm ]]; then
        echo "seed $seed: wasm-opt failed: $(head -c 300 "$d/wasm-opt.err")"
        return 1
    fi
    # Through the text format (wabt): export the globals, zero the NaN
    # lanes of SIMD float results (diff_rewrite.py).
    # shellcheck disable=SC2086  # wabt's flags for DIFF_FEATURES, as words
    if ! wasm2wat $wabt_features "$d/module.wasm" -o "$d/ttf.wat" 2>"$d/wabt.err" ||
       ! python3 "$here/diff_rewrite.py" "$d/ttf.wat" "$d/module.wat" 2>>"$d/wabt.err" ||
       ! wat2wasm $wabt_features "$d/module.wat" -o "$d/module.wasm" 2>>"$d/wabt.err"; then
        echo "seed $seed: rewriting the module failed: $(head -c 300 "$d/wabt.err")"
        return 1
    fi
}

one() {
    local seed=$1 d=$work/seed-$1
    mkdir -p "$d"
    make_module "$seed" "$d" || return 1
    # shellcheck disable=SC2086  # V8 flags for DIFF_NODE_FLAGS, as words
    if ! timeout 60 node ${DIFF_NODE_FLAGS:-} "$here/diff_node.mjs" "$d/module.wasm" >"$d/node.txt" 2>"$d/node.err"; then
        echo "seed $seed: node failed: $(head -c 300 "$d/node.err")"
        return 1
    fi
    local status=0
    # shellcheck disable=SC2086
    timeout 300 "$awsm" "$d/module.wasm" $configs >"$d/awsm.txt" 2>"$d/awsm.err" || status=$?
    if ((status != 0)); then
        echo "seed $seed: diff_awsm exit status $status: $(grep -m 1 error "$d/awsm.txt")$(tail -c 300 "$d/awsm.err")"
        return 1
    fi
    local c bad=0
    for c in $configs; do
        local name="${c%%:*} -O${c#*:}"
        sed -n "/^== $name\$/,/^== /p" "$d/awsm.txt" | sed '1d;/^== /d' >"$d/awsm-${c/:/-O}.txt"
        if ! python3 "$here/diff_compare.py" "$d/node.txt" "$d/awsm-${c/:/-O}.txt" \
                >"$d/diff-${c/:/-O}.txt"; then
            echo "seed $seed: awsm $name differs from node:"
            cat "$d/diff-${c/:/-O}.txt"
            bad=1
        fi
    done
    if ((bad)); then
        echo "    (kept in $d; reproduce: $0 $seed 1)"
        return 1
    fi
    [[ -n ${DIFF_KEEP:-} ]] || rm -rf "$d"
}

if [[ ${1:-} == --one ]]; then
    awsm=$2 work=$3 gen=$4
    one "$5"
    exit
fi
while [[ $# -gt 0 ]]; do
    case $1 in
    --awsm) awsm=$2; shift 2 ;;
    -o) work=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    -*) echo "usage: $0 [--awsm DIFF_AWSM] [-o WORKDIR] [-j JOBS] [--gen ttf|precise] FIRST COUNT" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [[ $# -ne 2 ]]; then
    echo "usage: $0 [--awsm DIFF_AWSM] [-o WORKDIR] [-j JOBS] [--gen ttf|precise] FIRST COUNT" >&2
    exit 2
fi
first=$1 count=$2
for tool in wasm-opt wasm2wat wat2wasm node python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "*** SKIPPED: $tool is missing (scripts/setup.sh installs it) ***" >&2
        exit 77
    fi
done
if [[ ! -x $awsm ]]; then
    echo "diff.sh: no $awsm (build diff_awsm first)" >&2
    exit 2
fi
[[ -n $work ]] || work=$(mktemp -d)
mkdir -p "$work"
work=$(cd "$work" && pwd)
awsm=$(cd "$(dirname "$awsm")" && pwd)/$(basename "$awsm")

start=$SECONDS
seq "$first" $((first + count - 1)) |
    xargs -P "$jobs" -n 1 bash "$0" --one "$awsm" "$work" "$gen" >"$work/report.txt"
status=$?
failed=$(grep -o '^seed [0-9]*' "$work/report.txt" | sort -u | wc -l)
cat "$work/report.txt"
echo "diff.sh: seeds $first..$((first + count - 1)) ($gen): $((count - failed)) of $count modules agree with node in all of: $configs ($((SECONDS - start)) s, $jobs jobs)"
((status == 0 && failed == 0))
