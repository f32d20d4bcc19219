#!/usr/bin/env bash
# bench/compile/run.sh - compile throughput of awsmc at -O2 on a large
# module, against wasm2c + cc -O2 of the same module, in the same run.
#
#   run.sh BUILD_DIR [N_FUNCTIONS] [RUNS]
#
# awsmc runs twice per round: on every CPU (its default) and with -j 1, so
# the gain of compiling in parts shows against one thread in the same
# run. BASELINE=DIR (a build's bin/ of an older awsmc) adds its row.
# The compilers take turns in each round, so the machine's drift reaches
# them alike. Writes bench/results/compile.md and prints the same table.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [N] [RUNS]}" && pwd)
n=${2:-2500}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../results/compile.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# measure NAME CMD...: one run; appends "seconds peak_kB" to $work/NAME.
measure() {
    local name=$1
    shift
    /usr/bin/time -o "$work/time.out" -f '%e %M' "$@" >/dev/null
    cat "$work/time.out" >> "$work/$name"
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

cat > "$work/w2c.sh" <<EOS
wasm2c "$work/big.wasm" -o "$work/w2c.c" && cc -O2 -c "$work/w2c.c" -o "$work/w2c.o"
EOS
for i in $(seq "$runs"); do
    measure awsmc "$build/bin/awsmc" -O2 "$work/big.wasm" -o "$work/big.so"
    measure awsmc_j1 "$build/bin/awsmc" -O2 -j 1 "$work/big.wasm" -o "$work/big1.so"
    measure w2c bash "$work/w2c.sh"
    [[ -z ${BASELINE:-} ]] || measure baseline "$BASELINE/awsmc" -O2 "$work/big.wasm" -o "$work/big0.so"
done
# The thread count never changes the output.
cmp -s "$work/big.so" "$work/big1.so" || { echo "run.sh: -j 1 and the default differ" >&2; exit 1; }

secs() { awk '{print $1}' "$work/$1" | median; }
peak() { awk '{print $2}' "$work/$1" | median; }
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
row() {     # row LABEL NAME
    local t
    t=$(secs "$2")
    printf '| %s | %.2f | %s | %s | %.0f |\n' "$1" "$t" "$(rate "$bytes" "$t")" \
        "$(rate "$funcs" "$t")" "$(echo "$(peak "$2") / 1024" | bc -l)"
}
awsmc_t=$(secs awsmc)
w2c_t=$(secs w2c)
{
    echo "# Compile throughput"
    echo
    echo "A generated C program of $lines lines ($n functions, bench/compile/gen.c),"
    echo "compiled by clang to wasm32-wasi: $bytes bytes, $funcs functions."
    echo "Median of $runs interleaved runs each, on $(nproc) cores; peak is the"
    echo "median maximum resident set size."
    echo
    echo "| compiler | seconds | wasm bytes/s | functions/s | peak MB |"
    echo "|---|---:|---:|---:|---:|"
    row "awsmc -O2 (every CPU)" awsmc
    row "awsmc -O2 -j 1" awsmc_j1
    [[ -z ${BASELINE:-} ]] || row "baseline awsmc -O2 ($BASELINE)" baseline
    row "wasm2c + cc -O2" w2c
    echo
    printf 'awsmc takes %.2fx the time of wasm2c + cc -O2, and %.2fx its own time on one thread.\n' \
        "$(echo "$awsmc_t / $w2c_t" | bc -l)" "$(echo "$awsmc_t / $(secs awsmc_j1)" | bc -l)"
} | tee "$out"
