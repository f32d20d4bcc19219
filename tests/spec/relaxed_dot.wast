;; The relaxed-simd dot products, in place of the suite's
;; relaxed_dot_product.wast: that copy also holds the withdrawn
;; f32x4.relaxed_dot_bf16x8_add_f32x4, which wabt 1.0.32's wast2json cannot
;; parse, and writes the i32 results of the add variant as f32x4. wast2json
;; 1.0.32 knows the two instructions by their earlier names,
;; i16x8.dot_i8x16_i7x16_s and i32x4.dot_i8x16_i7x16_add_s (the same
;; opcodes, 0xfd 0x112 and 0x113).
(module
  (func (export "dot") (param v128 v128) (result v128)
    (i16x8.dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func (export "dot_add") (param v128 v128 v128) (result v128)
    (i32x4.dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))

;; Lane pairs: 0*0+1*1, 2*2+3*3, ...
(assert_return (invoke "dot" (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                             (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
               (v128.const i16x8 1 13 41 85 145 221 313 421))
;; The extremes of the first operand times 127: -128*127*2, 127*127*2.
(assert_return (invoke "dot" (v128.const i8x16 -128 -128 127 127 0 0 0 0 0 0 0 0 0 0 0 0)
                             (v128.const i8x16 127 127 127 127 0 0 0 0 0 0 0 0 0 0 0 0))
               (v128.const i16x8 -32512 32258 0 0 0 0 0 0))
;; Negative second operands (inside i7's range): 5*-3 + -7*-2.
(assert_return (invoke "dot" (v128.const i8x16 5 -7 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
                             (v128.const i8x16 -3 -2 0 0 0 0 0 0 0 0 0 0 0 0 0 0))
               (v128.const i16x8 -1 0 0 0 0 0 0 0))
;; Groups of four, plus the accumulator: [14, 126, 366, 734] + [0, 1, 2, 3].
(assert_return (invoke "dot_add" (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                                 (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                                 (v128.const i32x4 0 1 2 3))
               (v128.const i32x4 14 127 368 737))
;; [-65024, 64516, 0, 0] + [1, 2, 3, 4].
(assert_return (invoke "dot_add" (v128.const i8x16 -128 -128 -128 -128 127 127 127 127 0 0 0 0 0 0 0 0)
                                 (v128.const i8x16 127 127 127 127 127 127 127 127 0 0 0 0 0 0 0 0)
                                 (v128.const i32x4 1 2 3 4))
               (v128.const i32x4 -65023 64518 3 4))
;; The accumulator wraps: 0x7fffffff + 1*1.
(assert_return (invoke "dot_add" (v128.const i8x16 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
                                 (v128.const i8x16 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
                                 (v128.const i32x4 0x7fffffff 0 0 0))
               (v128.const i32x4 0x80000000 0 0 0))
