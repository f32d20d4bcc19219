#!/usr/bin/env bash
# bench/compile/run.sh - compile throughput of awsmc at -O2 on a large
# module, against wasm2c + cc -O2 of the same module, in the same run.
#
#   run.sh BUILD_DIR [N_FUNCTIONS] [RUNS]
#
# Writes bench/results/compile.md and prints the same table.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [N] [RUNS]}" && pwd)
n=${2:-2500}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../results/compile.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_cmd() {      # time_cmd CMD...: seconds for one run
    local t0 t1
    t0=$(now); "$@" >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc -l
}

cc -O2 -o "$work/gen" "$here/gen.c"
"$work/gen" "$n" > "$work/big.c"
lines=$(wc -l < "$work/big.c")
# Two steps, so clang's driver does not run wasm-opt (which would inline
# the whole program into one function and change the module's shape).
clang --target=wasm32-wasi -O2 -c "$work/big.c" -o "$work/big.o"
clang --target=wasm32-wasi "$work/big.o" -o "$work/big.wasm"
bytes=$(stat -c %s "$work/big.wasm")
funcs=$(wasm-objdump -h "$work/big.wasm" | awk '/ Code /{print $NF}' | sed 's/count://')

awsmc_t=$(for i in $(seq "$runs"); do
    time_cmd "$build/bin/awsmc" -O2 "$work/big.wasm" -o "$work/big.so"
done | median)
w2c() { wasm2c "$work/big.wasm" -o "$work/w2c.c" && cc -O2 -c "$work/w2c.c" -o "$work/w2c.o"; }
w2c_t=$(for i in $(seq "$runs"); do time_cmd w2c; done | median)

rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
{
    echo "# Compile throughput"
    echo
    echo "A generated C program of $lines lines ($n functions, bench/compile/gen.c),"
    echo "compiled by clang to wasm32-wasi: $bytes bytes, $funcs functions."
    echo "Median of $runs runs each, measured in the same run on $(nproc) cores."
    echo
    echo "| compiler | seconds | wasm bytes/s | functions/s |"
    echo "|---|---:|---:|---:|"
    printf '| awsmc -O2 | %.2f | %s | %s |\n' "$awsmc_t" "$(rate "$bytes" "$awsmc_t")" "$(rate "$funcs" "$awsmc_t")"
    printf '| wasm2c + cc -O2 | %.2f | %s | %s |\n' "$w2c_t" "$(rate "$bytes" "$w2c_t")" "$(rate "$funcs" "$w2c_t")"
    echo
    printf 'awsmc takes %.2fx the time of wasm2c + cc -O2.\n' "$(echo "$awsmc_t / $w2c_t" | bc -l)"
} | tee "$out"
