#!/usr/bin/env bash
# bench/run.sh - run-time benchmarks: awsm against native code, wasm2c and
# node, on the C programs in bench/programs/.
#
#   run.sh [--quick] BUILD_DIR          (make bench [QUICK=1])
#
# Builds every program natively and to wasm32-wasi (bench/build.mk, into
# BUILD_DIR/bench), runs it under each runtime, checks that every run prints
# exactly what the native build printed, and reports median wall-clock
# times and their ratios to native: a table on stdout, the same in Markdown
# in bench/results/report.md with a chart in report.png (--quick writes
# report-quick.md and report-quick.png: smaller sizes, fewer runs).
#
#   native        the program compiled by cc -O2
#   awsm-guard    BUILD_DIR/bin/awsm run --bounds=guard -O2
#   awsm-checked  BUILD_DIR/bin/awsm run --bounds=checked -O2
#   wasm2c        wasm2c, then cc -O2 with bench/w2c/wasi_shim.c
#   node          node's built-in WASI, bench/node_wasi.mjs
#
# RUNTIMES="wasm2c node" limits the runtimes (native always runs).
# Exit status 0; 1 if any run failed or printed a different checksum.
set -euo pipefail

quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    shift
fi
build=$(cd "${1:?usage: run.sh [--quick] BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$build/bench"                     # build products and run outputs
runtimes="native ${RUNTIMES:-awsm-guard awsm-checked wasm2c node}"
runtimes=$(echo "$runtimes" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | xargs)

if ((quick)); then
    runs=3 limit=30 report="$here/results/report-quick"
else
    runs=5 limit=120 report="$here/results/report"
fi

# The benchmarks: name, wasm module (bench/programs/MODULE.c), full size,
# quick size. Native takes ~0.4 s at the full size, ~0.05 s at the quick
# one (strings less: it runs 15-30 times slower as wasm).
#   strings-bulk  strings.c built with -mbulk-memory; compared with the
#                 native strings, and left out of the geometric means.
#   P-simd        P.c built with -msimd128 (clang auto-vectorises; pixels.c
#                 uses wasm_simd128.h); compared with the native P, left out
#                 of the means; not run under wasm2c, whose 1.0.32 aborts on
#                 SIMD.
#   pixels        SIMD intrinsics (SSE2 natively), whose scalar wasm build
#                 is the plain C fallback: left out of the means too.
#   x25519        RFC 7748's iteration of X25519 n times: 128-bit
#                 multiplies (__multi3 in wasm32).
#   startup       fib(1): a whole run that computes nothing, the fixed cost
#                 of each runtime's process; also left out of the means.
#   sqlite        SQLite 3.53 (bench/sqlite/: the amalgamation from npm's
#                 better-sqlite3, fetched once) running a speedtest1-like
#                 workload on an in-memory database: a real program of
#                 1.2 MB of wasm, reported on its own, left out of the means.
#   lua           the Lua 5.3 interpreter (bench/lua/: sources from npm's
#                 lua-src) on a script of calls, closures, tables, sorting
#                 and string functions: the second real program, also
#                 reported on its own.
benches="
alloc         alloc         16        2
bitcount      bitcount      12000000  1500000
dispatch      dispatch      150000000 20000000
fib           fib           42        38
hashmap       hashmap       1200000   200000
interp        interp        120000    16000
matmul        matmul        1000      480
nbody         nbody         100000    13000
pixels        pixels        2000      250
recurse       recurse       1500      180
sha256        sha256        96        12
sieve         sieve         60000000  10000000
sort          sort          2000000   250000
stencil       stencil       4000      500
strings       strings       3000000   150000
x25519        x25519        8000      1000
strings-bulk  strings-bulk  3000000   150000
hashmap-simd  hashmap-simd  1200000   200000
matmul-simd   matmul-simd   1000      480
nbody-simd    nbody-simd    100000    13000
pixels-simd   pixels-simd   2000      250
sha256-simd   sha256-simd   96        12
sort-simd     sort-simd     2000000   250000
stencil-simd  stencil-simd  4000      500
startup       fib           1         1
sqlite        sqlite        200000    20000
lua           lua           33        27
"
declare -A module full_size quick_size
names=""
while read -r b m f q; do
    [[ -n $b ]] || continue
    names="$names $b" module[$b]=$m full_size[$b]=$f quick_size[$b]=$q
done <<< "$benches"
module_of() { echo "${module[$1]}"; }
size_of() { ((quick)) && echo "${quick_size[$1]}" || echo "${full_size[$1]}"; }
baseline_of() { local b=${1%-bulk}; echo "${b%-simd}"; }  # whose native run it is compared with

load_before=$(cut -d" " -f1-3 /proc/loadavg)
mkdir -p "$out/runs" "$here/results"
times="$out/runs/times.tsv"
failures="$out/runs/failures.txt"
: > "$times"
: > "$failures"

loud() { printf '\n*** %s ***\n\n' "$*" >&2; }
phase() { printf '%s (%ds so far)\n' "$*" "$SECONDS"; }

# --- build ---------------------------------------------------------------

case " $runtimes " in *" awsm-"*)
    [[ -x "$build/bin/awsm" ]] || { loud "no $build/bin/awsm: build it first (make build)"; exit 1; }
esac
phase "building the benchmark programs into $out"
make -s -C "$root" -f bench/build.mk OUT="$out" -j "$(nproc)"
export AWSM_CACHE_DIR="$out/awsm-cache"  # compiled modules, kept between runs

# --- running -------------------------------------------------------------

command_for() {          # command_for RUNTIME BENCH: sets the array cmd
    local m
    m=$(module_of "$2")
    case $1 in
    native)       cmd=("$out/native/$m") ;;
    awsm-guard)   cmd=("$build/bin/awsm" run --bounds=guard -O2 "$out/wasm/$m.wasm") ;;
    awsm-checked) cmd=("$build/bin/awsm" run --bounds=checked -O2 "$out/wasm/$m.wasm") ;;
    wasm2c)       cmd=("$out/w2c/$m/run") ;;
    node)         cmd=(node --no-warnings --no-turbo-fast-api-calls "$here/node_wasi.mjs"
                       "$out/wasm/$m.wasm") ;;
    *)            loud "unknown runtime $1"; exit 1 ;;
    esac
}

failed() { grep -qx "$1 $2 .*" "$failures"; }

# run_one RUNTIME BENCH: one timed run; prints the seconds, or records a
# failure (bad exit status, time-out, output other than native's).
run_one() {
    local rt=$1 b=$2 res status=0 got want why size
    local log="$out/runs/$b.$rt.out" ref="$out/runs/$(baseline_of "$b").native.out"
    command_for "$rt" "$b"
    size=$(size_of "$b")
    res=$("$out/timeit" -t "$limit" "$log" "${cmd[@]}" "$size") || status=$?
    if ((status != 0)); then
        ((status == 124)) && why="timed out after ${limit}s" || why="exit status $status"
        loud "FAILED: $b under $rt: $why ($(printf '%q ' "${cmd[@]}")$size)"
        echo "$b $rt $why" >> "$failures"
        return 1
    fi
    if [[ $log != "$ref" ]] && ! cmp -s "$log" "$ref"; then
        got=$(head -c 300 "$log") want=$(head -c 300 "$ref")
        loud "CHECKSUM MISMATCH: $b under $rt printed '$got', native printed '$want'"
        echo "$b $rt checksum mismatch" >> "$failures"
        return 1
    fi
    echo "$res"
}

# Fill awsm's compile cache first, $(nproc) modules at a time: one untimed
# run of each module (at the quick size, which is enough to compile it), so
# that the timed runs load the compiled module from the cache. A module
# that fails here fails again, loudly, in its timed runs.
fill_awsm_cache() {
    local b rt seen=" "
    for b in $names; do
        [[ $seen == *" $(module_of "$b") "* ]] && continue
        seen="$seen$(module_of "$b") "
        for rt in $runtimes; do
            [[ $rt == awsm-* ]] || continue
            command_for "$rt" "$b"
            "${cmd[@]}" "$(quick=1 size_of "$b")" > /dev/null 2>&1 &
            while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
        done
    done
    wait || true
}
case " $runtimes " in *" awsm-"*)
    phase "compiling the modules into awsm's cache ($AWSM_CACHE_DIR)"
    fill_awsm_cache
esac

# Per program, with its other builds (P-simd, P-bulk: compared with P's
# native run and with P's own build): an untimed native run, whose output
# is the reference (the other runtimes keep nothing between runs), then
# $runs timed rounds, every build under every runtime in each, so that
# drift in the machine hits all of them alike and a build is compared
# with times of the same rounds.
phase "running, $runs rounds"
for base in $names; do
    [[ $base == "$(baseline_of "$base")" ]] || continue
    group=$base
    for v in $names; do
        [[ $v != "$base" && $(baseline_of "$v") == "$base" ]] && group+=" $v"
    done
    printf '%-26s' "$group"
    [[ $runtimes == *native* ]] && { run_one native "$base" > /dev/null || true; }
    if failed "$base" native; then
        echo " no baseline"
        continue
    fi
    for i in $(seq "$runs"); do
        for b in $group; do
            rts=$runtimes
            [[ $b != "$base" ]] && rts=${rts/native/}
            [[ $b == *-simd ]] && rts=${rts/wasm2c/}
            for rt in $rts; do
                failed "$b" "$rt" && continue
                t=$(run_one "$rt" "$b") && echo "$b $rt $t" >> "$times"
            done
        done
        printf ' .'
    done
    echo
done
phase "done running"

# --- report --------------------------------------------------------------

medians="$out/runs/medians.tsv"     # bench runtime median-seconds
sort -k1,1 -k2,2 -k3,3g "$times" | awk '
    function flush() { print key, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2); n = 0 }
    $1 " " $2 != key { if (n) flush(); key = $1 " " $2 }
    { v[++n] = $3 }
    END { if (n) flush() }' > "$medians"

# The awk programs below share these: t[bench, runtime] = median seconds,
# base(b) = the bench whose native time b is compared with, core(b) = b
# counts in the geometric means.
awk_common='
    { t[$1, $2] = $3 }
    function base(b) { sub(/-(bulk|simd)$/, "", b); return b }
    function core(b) { return b !~ /-(bulk|simd)$/ && b != "startup" && b != "pixels" && b != "sqlite" && b != "lua" }
'

# table FORMAT: the results, FORMAT "md" or "txt". A cell is the median in
# seconds and its ratio to native; the last row is the geometric mean of the
# ratios over the core benchmarks.
table() {
    awk -v fmt="$1" -v names="$names" -v runtimes="$runtimes" -v benches="$benches" \
        -v quick="$quick" -v failfile="$failures" "$awk_common"'
    BEGIN {
        nb = split(names, B, " "); nr = split(runtimes, R, " ")
        nl = split(benches, L, "\n")
        for (i = 1; i <= nl; i++) if (split(L[i], f, " ") == 4) size[f[1]] = quick ? f[4] : f[3]
        while ((getline line < failfile) > 0) { split(line, f, " "); bad[f[1], f[2]] = 1 }
    }
    function cell(s) { return fmt == "md" ? "| " s " " : sprintf("%-16s", s) }
    function end() { return fmt == "md" ? "|" : "" }
    END {
        head = cell("benchmark") cell("size")
        for (j = 1; j <= nr; j++) head = head cell(R[j])
        print head end()
        if (fmt == "md") {
            line = "|---|---:"; for (j = 1; j <= nr; j++) line = line "|---:"; print line "|"
        }
        for (i = 1; i <= nb; i++) {
            b = B[i]; row = cell(b) cell(size[b])
            for (j = 1; j <= nr; j++) {
                rt = R[j]
                if (rt == "native" && b != base(b)) s = "(as " base(b) ")"
                else if (bad[b, rt]) s = "FAILED"
                else if (!((b, rt) in t)) s = "-"
                else if (rt == "native") s = sprintf("%.3f s", t[b, rt])
                else {
                    ratio = t[b, rt] / t[base(b), "native"]
                    s = sprintf("%.3f s %.2fx", t[b, rt], ratio)
                    if (core(b)) { lsum[rt] += log(ratio); cnt[rt]++ }
                }
                row = row cell(s)
            }
            print row end()
            if (!core(b)) continue
            ncore++
        }
        row = cell(fmt == "md" ? "**geomean**" : "geomean") cell("")
        for (j = 1; j <= nr; j++) {
            rt = R[j]
            if (rt == "native") s = "1.00x"
            else if (!cnt[rt]) s = "-"
            else {
                s = sprintf("%.2fx", exp(lsum[rt] / cnt[rt]))
                if (cnt[rt] < ncore) s = s sprintf(" (%d of %d)", cnt[rt], ncore)
                if (fmt == "md") s = "**" s "**"
            }
            row = row cell(s)
        }
        print row end()
    }' "$medians"
}

# bulk_table: strings against strings-bulk per wasm runtime, Markdown.
bulk_table() {
    awk -v runtimes="$runtimes" "$awk_common"'
    END {
        print "| runtime | strings (wasi-libc loops) | strings-bulk (memory.copy/fill) | speed-up |"
        print "|---|---:|---:|---:|"
        n = split(runtimes, R, " "); nat = t["strings", "native"]
        for (j = 1; j <= n; j++) {
            rt = R[j]
            if (rt == "native" || !(("strings", rt) in t) || !(("strings-bulk", rt) in t)) continue
            a = t["strings", rt]; b = t["strings-bulk", rt]
            printf "| %s | %.3f s (%.2fx native) | %.3f s (%.2fx native) | %.2fx |\n",
                rt, a, a / nat, b, b / nat, a / b
        }
    }' "$medians"
}

# simd_table: each P against P-simd per wasm runtime, Markdown.
simd_table() {
    awk -v runtimes="$runtimes" -v names="$names" "$awk_common"'
    END {
        print "| benchmark | runtime | scalar build | -msimd128 build | speed-up |"
        print "|---|---|---:|---:|---:|"
        nb = split(names, B, " "); nr = split(runtimes, R, " ")
        for (i = 1; i <= nb; i++) {
            if (B[i] !~ /-simd$/) continue
            s = B[i]; b = base(s); nat = t[b, "native"]
            for (j = 1; j <= nr; j++) {
                rt = R[j]
                if (rt == "native" || !((b, rt) in t) || !((s, rt) in t)) continue
                printf "| %s | %s | %.3f s (%.2fx native) | %.3f s (%.2fx native) | %.2fx |\n",
                    b, rt, t[b, rt], t[b, rt] / nat, t[s, rt], t[s, rt] / nat, t[b, rt] / t[s, rt]
            }
        }
    }' "$medians"
}

simd_ops() {             # simd_ops FILE.wasm: how many SIMD instructions
    wasm-objdump -d "$1" | grep -cE ' (v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.' || true
}

bulk_ops() {             # bulk_ops FILE.wasm: "N memory.copy, M memory.fill"
    local d
    d=$(wasm-objdump -d "$1")
    echo "$(grep -c 'memory\.copy' <<< "$d" || true) memory.copy," \
         "$(grep -c 'memory\.fill' <<< "$d" || true) memory.fill"
}

machine_info() {
    local cpu rev
    cpu=$(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
    rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$root" diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || rev="$rev + uncommitted changes"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $cpu, $(uname -sr); load average" \
         "before the run $load_before, after it $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- awsm: $rev (build: $build)"
    echo "- cc: $(cc --version | head -1)"
    echo "- clang: $(clang --version | head -1)," \
         "wasi-libc $(dpkg-query -W -f '${Version}' wasi-libc 2>/dev/null || echo '?')"
    echo "- wasm2c: $(wasm2c --version)"
    echo "- node: $(node --version)"
}

chart() {                # chart: $report.png, ratio to native, log scale
    local data="$out/runs/chart.dat"
    awk -v names="$names" -v runtimes="$runtimes" "$awk_common"'
    END {
        nb = split(names, B, " "); nr = split(runtimes, R, " ")
        head = "benchmark"; for (j = 2; j <= nr; j++) head = head " " R[j]; print head
        for (i = 1; i <= nb; i++) {
            b = B[i]; row = b
            if (b == "startup") continue
            for (j = 2; j <= nr; j++) {
                r = ((b, R[j]) in t) && t[base(b), "native"] ? t[b, R[j]] / t[base(b), "native"] : "?"
                if (r != "?" && core(b)) { lsum[j] += log(r); cnt[j]++ }
                row = row " " r
            }
            print row
        }
        row = "geomean"
        for (j = 2; j <= nr; j++) row = row " " (cnt[j] ? exp(lsum[j] / cnt[j]) : "?")
        print row
    }' "$medians" > "$data"
    gnuplot -c "$here/report.gp" "$data" "$report.png" "$(wc -w <<< "$runtimes")" \
        "median of $runs runs$( ((quick)) && echo ', --quick sizes')"
}

{
    echo "# Run-time benchmarks$( ((quick)) && echo ' (quick)')"
    echo
    machine_info
    echo
    echo "Median wall-clock time of $runs runs of each benchmark and its ratio to"
    echo "the native build (cc -O2); lower is better. Every run's output was"
    echo "checked against the native build's. Each round runs every runtime on"
    echo "a program and on its other builds (P-simd, P-bulk) in turn, so those are"
    echo "compared with native and scalar times of the same rounds. The geometric"
    echo "means leave out strings-bulk, startup, pixels, sqlite, lua and the -simd builds."
    echo
    table md
    echo
    echo "- **native**: cc -O2. **wasm2c**: wasm2c $(wasm2c --version), the C compiled by cc -O2"
    echo "  with the wasm2c runtime (guard pages for bounds) and bench/w2c/wasi_shim.c."
    echo "- **awsm-guard / awsm-checked**: \`awsm run --bounds=guard|checked -O2\`. A run"
    echo "  before the timed ones compiles each module into awsm's cache, so compile time"
    echo "  is excluded; what is timed includes awsm's process start-up, loading the"
    echo "  cached shared object (dlopen), instantiation and WASI set-up. awsm run's code"
    echo "  has no interrupt polls at loop headers (nothing interrupts it); awsmrt's has."
    echo "- **node**: node's built-in WASI (bench/node_wasi.mjs). Its times include node's"
    echo "  start-up and V8's compilation of the module (Liftoff, then TurboFan tier-up"
    echo "  while running), since node keeps no compiled code between runs."
    echo "- **startup** is fib(1): a complete run that computes nothing, i.e. the fixed"
    echo "  cost of each runtime's process. It is part of every other time in its column."
    echo "- Times are wall-clock (bench/timeit.c: monotonic clock around fork/exec/wait)."
    echo "  The machine is a shared VM: when anything else runs (see the load averages),"
    echo "  single runs vary by a third or more; the medians absorb part of that."
    echo
    echo "## Notes on particular benchmarks"
    echo
    echo "- **fib, recurse**: gcc -O2 inlines the recursion into itself several levels"
    echo "  deep; the wasm2c build goes through the same gcc and gets the same. The wasm"
    echo "  comes from clang, which does not; awsmc inlines a small self-recursive"
    echo "  function into itself up to 4 levels per frame (docs/ARCHITECTURE.md), and"
    echo "  keeps one stack-limit compare per level, placed before the calls: fib's"
    echo "  n < 2 path is a compare and a return."
    echo "- **sqlite**: SQLite itself, compiled whole by clang and by gcc (-O2) from the"
    echo "  amalgamation; awsmc compiles its 1.2 MB module in parts on every CPU. It is"
    echo "  the issue's real-program goal (at most 1.2x native), apart from the means."
    echo "- **lua**: the Lua 5.3 interpreter, the second real program (0.56 MB of wasm,"
    echo "  compiled in parts too). Its wasm build has no setjmp (wasi-libc here has"
    echo "  none): a Lua error would abort, and the script raises none."
    echo "- **bitcount**: clang recognises Kernighan's loop as a population count and emits"
    echo "  \`i32.popcnt\`, which the runtimes turn into a popcnt instruction (wasm2c: a"
    echo "  libgcc call); the native gcc build runs the loop. Hence ratios below 1."
    echo "- **stencil**: native gcc and awsm vectorize the sweep (awsm in both modes: the"
    echo "  loop is versioned on one bounds test for all its trips); wasm2c's memory"
    echo "  accessors keep gcc from it."
    echo "- **x25519**: 64 x 64 -> 128-bit multiplies, which wasm32 has not: clang calls"
    echo "  compiler-rt's __multi3 (products of 32-bit halves), which awsmc turns back"
    echo "  into one multiply; its results still go through the shadow stack."
    echo "- **startup**: awsm's fixed cost (~2.3 ms against the native program's ~1 ms;"
    echo "  ~75 ms while \`awsm run\` linked libLLVM, ~4.4 ms while it hashed with"
    echo "  libcrypto) is the dynamic loader, the cached object's dlopen, the host id"
    echo "  (CPUID, 5 us a call on this VM), instantiation and WASI set-up."
    echo "- **Noise**: this VM's native times move by up to a third between runs of the"
    echo "  same program even on an idle machine (other tenants); compare columns of"
    echo "  one run, and treat single-benchmark differences under ~20% as noise (e.g."
    echo "  awsm guard and checked run identical code on fib and recurse)."
    echo
    echo "## memcpy/memset: wasi-libc loops against bulk memory"
    echo
    echo "Debian's wasi-libc is built without bulk memory, so its memcpy, memmove and"
    echo "memset are C loops, and every wasm runtime runs them as such. strings-bulk is"
    echo "the same strings.c compiled with \`-mbulk-memory\`: the calls in the program's"
    echo "own code become memory.copy / memory.fill, which a runtime can turn into the"
    echo "host's memmove / memset (libc's own internal calls, as in printf, stay loops)."
    echo "wasm-objdump counts: strings.wasm $(bulk_ops "$out/wasm/strings.wasm");"
    echo "strings-bulk.wasm $(bulk_ops "$out/wasm/strings-bulk.wasm")."
    echo
    bulk_table
    echo
    echo "## SIMD: the same programs built with -msimd128"
    echo
    echo "P-simd is P.c compiled with \`-O2 -msimd128\`: clang's loop and SLP"
    echo "vectorisers emit 128-bit SIMD where they can (wasm-objdump counts of SIMD"
    echo "instructions:$(for b in $names; do [[ $b == *-simd ]] &&
        printf ' %s %s,' "${b%-simd}" "$(simd_ops "$out/wasm/$(module_of "$b").wasm")"; done | sed 's/,$//'))."
    echo "Compared with the scalar build of the same program, which awsm's LLVM may"
    echo "vectorise itself, at the host's full vector width: LLVM widens a scalar"
    echo "loop to 256 or 512 bits but never 128-bit vector code, which is why a"
    echo "SIMD build can lose to its scalar build under awsm --bounds=guard"
    echo "(stencil); with bounds checks, which stop LLVM's own vectorisation, the"
    echo "SIMD build wins."
    echo
    simd_table
    echo
    echo "![ratio to native per benchmark and runtime]($(basename "$report").png)"
    if [[ -s $failures ]]; then
        echo
        echo "## Failures"
        echo
        sed 's/^/- /' "$failures"
    fi
} > "$report.md"
chart

echo
table txt
echo
phase "report: $report.md, $report.png"
if [[ -s $failures ]]; then
    loud "$(wc -l < "$failures") benchmark(s) FAILED: $(paste -sd ';' "$failures" | sed 's/;/; /g')"
    exit 1
fi
