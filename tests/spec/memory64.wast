;; 64-bit memories beyond proposals/memory64: sizes past 4 GiB, addresses
;; and offsets whose sum passes 2^64, bulk operations with i64 lengths,
;; i64 data segment offsets and memory.init destinations, and imports that
;; match only 64-bit memories.

(module $big
  (memory (export "m") i64 1 200000)
  (data (i64.const 0x10) "sixty-four")
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "v128") (param i64) (result i32) (i8x16.extract_lane_u 0 (v128.load (local.get 0))))
  (data $d "passive")
)

(register "big" $big)
;; Offsets wabt's text format cannot write: far (i32.load8_u
;; offset=0xffffffffffffffff) and g4 (i32.load offset=0x100000000), on
;; $big's memory.
(module $offsets binary
  "\00asm\01\00\00\00"
  "\01\06\01\60\01\7e\01\7f"
  "\02\0a\01\03big\01m\02\04\01"
  "\03\03\02\00\00"
  "\07\0c\02\03far\00\00\02g4\00\01"
  "\0a\1e\02"
  "\10\00\20\00\2d\00\ff\ff\ff\ff\ff\ff\ff\ff\ff\01\0b"
  "\0b\00\20\00\28\02\80\80\80\80\10\0b"
)

(assert_return (invoke $big "load8" (i64.const 0x10)) (i32.const 0x73))
(assert_return (invoke $big "size") (i64.const 1))

;; index + offset past 2^64 never wraps into the memory.
(assert_trap (invoke $offsets "far" (i64.const 1)) "out of bounds memory access")
(assert_trap (invoke $offsets "far" (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke $big "load" (i64.const 0xfffffffffffffff8)) "out of bounds memory access")
(assert_trap (invoke $big "load" (i64.const 0x100000000)) "out of bounds memory access")
(assert_trap (invoke $big "load" (i64.const 65529)) "out of bounds memory access")
(assert_return (invoke $big "load" (i64.const 65528)) (i64.const 0))
(assert_trap (invoke $big "v128" (i64.const 65521)) "out of bounds memory access")
(assert_trap (invoke $offsets "g4" (i64.const 0)) "out of bounds memory access")

;; Bulk operations: a length or address past the memory (or past 2^64)
;; traps before writing.
(assert_trap (invoke $big "fill" (i64.const 0x10) (i32.const 0) (i64.const 0xffffffffffffffff))
             "out of bounds memory access")
(assert_trap (invoke $big "fill" (i64.const 0xffffffffffffffff) (i32.const 0) (i64.const 2))
             "out of bounds memory access")
(assert_return (invoke $big "load8" (i64.const 0x10)) (i32.const 0x73))
(assert_trap (invoke $big "copy" (i64.const 0) (i64.const 0x10) (i64.const 0xfffffffffffffff0))
             "out of bounds memory access")
(invoke $big "copy" (i64.const 0x100) (i64.const 0x10) (i64.const 3))
(assert_return (invoke $big "load8" (i64.const 0x102)) (i32.const 0x78))
(assert_trap (invoke $big "init" (i64.const 0xfffffffffffffffe) (i32.const 0) (i32.const 3))
             "out of bounds memory access")
(invoke $big "init" (i64.const 0x200) (i32.const 1) (i32.const 3))
(assert_return (invoke $big "load8" (i64.const 0x200)) (i32.const 0x61))

;; Past 4 GiB: 70,000 pages (4.3 GiB) more, and accesses beyond 2^32.
(assert_return (invoke $big "grow" (i64.const 70000)) (i64.const 1))
(assert_return (invoke $big "size") (i64.const 70001))
(invoke $big "store" (i64.const 0x100000008) (i64.const 0x1122334455667788))
(assert_return (invoke $big "load" (i64.const 0x100000008)) (i64.const 0x1122334455667788))
(assert_return (invoke $offsets "g4" (i64.const 8)) (i32.const 0x55667788))
(assert_return (invoke $big "load8" (i64.const 0x1_1170_ffff)) (i32.const 0))
(assert_trap (invoke $big "load8" (i64.const 0x1_1171_0000)) "out of bounds memory access")
;; A grow past what awsm gives a memory (8 GiB) or past 2^48 pages fails.
(assert_return (invoke $big "grow" (i64.const 100000)) (i64.const -1))
(assert_return (invoke $big "grow" (i64.const 0x1000000000000)) (i64.const -1))
(assert_return (invoke $big "grow" (i64.const -1)) (i64.const -1))
(assert_return (invoke $big "size") (i64.const 70001))

;; 64-bit memories import and export only as such.
(module $M (memory (export "m") i64 1))
(register "M" $M)
(module (import "M" "m" (memory i64 1)))
(assert_unlinkable (module (import "M" "m" (memory 1))) "incompatible import type")
(assert_unlinkable (module (import "spectest" "memory" (memory i64 1))) "incompatible import type")

;; A data segment past a 64-bit memory fails instantiation.
(assert_trap (module (memory i64 1) (data (i64.const 65536) "x")) "out of bounds memory access")
(assert_trap (module (memory i64 1) (data (i64.const -1) "x")) "out of bounds memory access")
(assert_invalid (module (memory i64 1) (data (i32.const 0) "x")) "type mismatch")
