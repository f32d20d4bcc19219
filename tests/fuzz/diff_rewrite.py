#!/usr/bin/env python3
"""tests/fuzz/diff_rewrite.py - prepare a module of binaryen's for
tests/fuzz/diff.sh, in wabt's text format (wasm2wat's flat output):

    diff_rewrite.py IN.wat OUT.wat

- Every global but the v128 ones (JS cannot read those) is exported as
  "global$N$TYPE", so that both sides can show them.
- The NaN lanes of every SIMD float operation that may make a NaN are set
  to zero, as binaryen's --denan does for scalars (its version 108 leaves
  v128 alone): the spec lets engines pick such a NaN's sign and payload,
  and a lane read as an integer (extract_lane, a store) would carry that
  choice into addresses and memory. Each such instruction is followed by
  a call of a function appended here, which keeps the lanes equal to
  themselves: (v128.and x (f32x4.eq x x)).
"""
import re
import sys

# SIMD float operations whose result may be a NaN of the engine's choosing.
NAN_OPS = re.compile(r"^(\s*)(f32x4|f64x2)\.(add|sub|mul|div|min|max|pmin|pmax|sqrt|"
                     r"ceil|floor|trunc|nearest|demote_f64x2_zero|promote_low_f32x4)$")


def main():
    text = open(sys.argv[1]).read()
    nfuncs = (len(re.findall(r"\(import \"[^\"]*\" \"[^\"]*\" \(func", text))
              + len(re.findall(r"^  \(func \(;\d+;\)", text, re.M)))
    denan = {"f32x4": nfuncs, "f64x2": nfuncs + 1}
    # f32x4.demote_f64x2_zero makes f32 lanes, f64x2.promote_low_f32x4 f64 ones.
    shape_of_result = {"demote_f64x2_zero": "f32x4", "promote_low_f32x4": "f64x2"}
    lines = []
    for line in text.split("\n"):
        lines.append(line)
        m = NAN_OPS.match(line)
        if m:
            shape = shape_of_result.get(m.group(3), m.group(2))
            lines.append("%scall %d" % (m.group(1), denan[shape]))
    text = "\n".join(lines)

    globs = re.findall(r"\(global \(;(\d+);\) (?:\(mut )?(\w+)", text)
    extra = "".join("\n  (export \"global$%s$%s\" (global %s))" % (n, t, n)
                    for n, t in globs if t != "v128")
    for shape in ("f32x4", "f64x2"):
        extra += ("\n  (func (param v128) (result v128)"
                  " (v128.and (local.get 0) (%s.eq (local.get 0) (local.get 0))))" % shape)
    end = text.rstrip().rfind(")")
    open(sys.argv[2], "w").write(text[:end] + extra + text[end:])


if __name__ == "__main__":
    main()
