# tests/cli/lib.sh - helpers for the CLI tests, sourced after TOOL (the
# binary under test) and NAME (the script's name, for messages) are set.
# Gives run/check, the predicates below, wat (build a module with wat2wasm)
# and $tmp (removed at exit). The script ends with cli_summary.

if ! command -v wat2wasm >/dev/null 2>&1; then
    echo "$NAME: wat2wasm not found (Debian package wabt); SKIPPED" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/awsm-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# run ARGS...: run $TOOL, keeping stdout, stderr and the exit status.
run() {
    "$TOOL" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# check NAME COMMAND...: one check; on failure show what awsm said.
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok - $name"
        passed=$((passed + 1))
    else
        echo "not ok - $name"
        echo "#   exit status: $status"
        [ ! -f "$tmp/out" ] || sed 's/^/#   stdout: /' "$tmp/out"
        [ ! -f "$tmp/err" ] || sed 's/^/#   stderr: /' "$tmp/err"
        failed=$((failed + 1))
    fi
}

status_is() { [ "$status" -eq "$1" ]; }
no_output() { [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
err_lines() { [ "$(wc -l <"$tmp/err")" -eq "$1" ]; }

# wat NAME TEXT [wat2wasm options]: build $tmp/NAME.wasm.
wat() {
    local name=$1 text=$2
    shift 2
    printf '%s\n' "$text" >"$tmp/$name.wat"
    if ! wat2wasm "$@" "$tmp/$name.wat" -o "$tmp/$name.wasm" 2>"$tmp/wat2wasm.err"; then
        echo "$NAME: wat2wasm failed on $name:" >&2
        cat "$tmp/wat2wasm.err" >&2
        exit 1
    fi
}

# large_wat [_start]: a module with ~290 KB of code, so compiled in parts
# (compiler/cg_module.c): 40 functions f0..f39 (i32) -> i32 of 600
# operations each, each calling the next; with an argument, also an
# exported _start calling f0 (a WASI command for awsmrt).
large_wat() {
    awk -v start="${1:-}" 'BEGIN {
        print "(module"
        for (f = 0; f < 40; f++) {
            printf "(func $f%d (export \"f%d\") (param i32) (result i32)\n", f, f
            for (k = 0; k < 600; k++)
                printf "(local.set 0 (i32.rotl (i32.xor (local.get 0) (i32.const %d)) (i32.const %d)))\n", f * 100003 + k * 7919, (f + k) % 31 + 1
            if (f < 39)
                printf "(call $f%d (local.get 0)))\n", f + 1
            else
                print "(local.get 0))"
        }
        if (start != "")
            print "(func (export \"_start\") (drop (call $f0 (i32.const 1))))"
        print ")"
    }'
}

# large_table_wat: a module compiled in parts whose functions call each
# other through a table the compiler knows (compiler/cg_call.c,
# call_known): f0..f39 (param x k) add 1500 to x and call slot k + 1
# with k + 1, f39 returns x; slot 40 holds a function of another type,
# slot 41 is null. Exported: "chain" (x) = f0(x, 0) = x + 60000, and
# "slot" (i, x) calling slot i with x and 39 (slot 39 returns x + 1500).
large_table_wat() {
    awk 'BEGIN {
        print "(module"
        print "(type $t (func (param i32 i32) (result i32)))"
        print "(table 42 funcref)"
        printf "(elem (i32.const 0) func"
        for (f = 0; f < 40; f++)
            printf " $f%d", f
        print " $other)"
        for (f = 0; f < 40; f++) {
            printf "(func $f%d (type $t)\n", f
            for (k = 0; k < 1500; k++)
                print "(local.set 0 (i32.add (local.get 0) (i32.const 1)))"
            if (f < 39)
                print "(call_indirect (type $t) (local.get 0) (i32.add (local.get 1) (i32.const 1)) (i32.add (local.get 1) (i32.const 1))))"
            else
                print "(local.get 0))"
        }
        print "(func $other (param i32) (result i32) (local.get 0))"
        print "(func (export \"chain\") (param i32) (result i32)"
        print "  (call_indirect (type $t) (local.get 0) (i32.const 0) (i32.const 0)))"
        print "(func (export \"slot\") (param i32 i32) (result i32)"
        print "  (call_indirect (type $t) (local.get 1) (i32.const 39) (local.get 0)))"
        print ")"
    }'
}

# The first "offset 0x..." of stderr as a decimal number, or -1.
err_offset() {
    local hex
    hex=$(grep -o 'offset 0x[0-9a-fA-F]*' "$tmp/err" | head -n 1 | sed 's/offset 0x//')
    if [ -z "$hex" ]; then echo -1; else echo $((16#$hex)); fi
}

file_size() { wc -c <"$1" | tr -d ' '; }

cli_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
