#!/usr/bin/env python3
"""tests/fuzz/diff_compare.py - compare two transcripts of tests/fuzz/diff.sh.

    diff_compare.py REFERENCE.txt OTHER.txt

Lines must be equal, except where the spec lets engines differ: the bits of
a NaN. Scalar NaNs print as "nan" already (and --denan removes most); this
allows what is left, NaNs inside other values: a value's bits may differ
in a 32-bit lane when that lane is an f32 NaN on both sides (SIMD lanes
reinterpreted, f32x4.sub's NaN sign), or in the whole value when both are
f64 NaNs. Prints the first differences and exits 1, else exits 0.
"""
import sys


def f32_nan(x):
    return (x >> 23) & 0xFF == 0xFF and x & 0x7FFFFF != 0


def f64_nan(x):
    return (x >> 52) & 0x7FF == 0x7FF and x & ((1 << 52) - 1) != 0


def value_ok(a, b):
    try:
        x, y = int(a, 16), int(b, 16)
    except ValueError:
        return False
    if f64_nan(x) and f64_nan(y):
        return True
    for shift in range(0, 64, 32):
        lx, ly = (x >> shift) & 0xFFFFFFFF, (y >> shift) & 0xFFFFFFFF
        if lx != ly and not (f32_nan(lx) and f32_nan(ly)):
            return False
    return True


def line_ok(a, b):
    """Does awsm's line b say what node's line a says?"""
    if a == b:
        return True
    # An atomic access both misaligned and out of bounds may trap either
    # way (the proposal names no order): awsm checks alignment first, as
    # the reference interpreter and Wasmtime do, V8 the bounds. Only that
    # way round: awsm's "out of bounds" means aligned.
    if a == "trap memory-oob" and b == "trap unaligned-atomic":
        return True
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb) or not ta or ta[0] not in ("ret", "log", "global"):
        return False
    # ret TYPE BITS TYPE BITS ..., log TYPE BITS, global NAME TYPE BITS
    for i, (x, y) in enumerate(zip(ta, tb)):
        if x != y and not (i > 0 and ta[i - 1] in ("i32", "i64", "f32", "f64")
                           and value_ok(x, y)):
            return False
    return True


def main():
    ref = open(sys.argv[1]).read().splitlines()
    other = open(sys.argv[2]).read().splitlines()
    bad = [i for i in range(max(len(ref), len(other)))
           if i >= len(ref) or i >= len(other) or not line_ok(ref[i], other[i])]
    for i in bad[:4]:
        print("    line %d: node: %s" % (i + 1, ref[i] if i < len(ref) else "(none)"))
        print("    line %d: awsm: %s" % (i + 1, other[i] if i < len(other) else "(none)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
