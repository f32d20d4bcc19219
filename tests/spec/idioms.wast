;; tests/spec/idioms.wast - copy and fill loops, which awsmc gives a memmove
;; or memset fast path when optimising (compiler/cg_idiom.c). Whatever path
;; runs, the result is the loop's own: overlapping copies that replicate
;; bytes stay so, and a trap leaves memory exactly as the loop would have
;; left it, including a trap in the last trip after a fast path copied the
;; others. After "init", the byte at i is (7 * i + 3) mod 256.
(module
  (memory 1)
  (func (export "init")
    (local $i i32)
    (loop
      (i32.store8 (local.get $i) (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)))
      (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                       (i32.const 65536)))))
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
  ;; wasi-libc's byte loop: pointers up, count down to zero
  (func (export "copy8") (param $d i32) (param $s i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (i32.load8_u (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  ;; the same with the accesses' offsets
  (func (export "copy8_off") (param $d i32) (param $s i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 offset=4 (local.get $d) (i32.load8_u offset=8 (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  ;; a call in the loop (inlined, its entry check stays: not a copy loop)
  (func $get (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "copy8_call") (param $d i32) (param $s i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (call $get (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  ;; backwards: d[n] = s[n] for n from n-1 down to 0
  (func (export "copy8_down") (param $d i32) (param $s i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.store8 (i32.add (local.get $d) (local.get $n))
                    (i32.load8_u (i32.add (local.get $s) (local.get $n))))
        (br_if 0 (local.get $n)))))
  ;; pointers down: *d-- = *s-- while n-- (through address 0, d wraps)
  (func (export "copy8_back") (param $d i32) (param $s i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store8 (local.get $d) (i32.load8_u (local.get $s)))
        (local.set $d (i32.sub (local.get $d) (i32.const 1)))
        (local.set $s (i32.sub (local.get $s) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  ;; words of 8 bytes, indexed (i << 3), i up to n
  (func (export "copy64") (param $d i32) (param $s i32) (param $n i32)
    (local $i i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i64.store (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))
                   (i64.load (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const 3)))))
        (br_if 0 (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                           (local.get $n))))))
  ;; wasi-libc's memcpy between buffers of different alignment: words
  ;; shifted together, the last one carried to the next trip; dest byte k
  ;; is source byte k + 1. copy_shift_k starts from a constant instead of
  ;; the word before (no memmove can do that first word).
  (func $shift (param $d i32) (param $s i32) (param $n i32) (param $w i32)
    (local $x i32)
    (loop
      (local.set $x (i32.load offset=4 (local.get $s)))
      (i32.store (local.get $d) (i32.or (i32.shr_u (local.get $w) (i32.const 8))
                                        (i32.shl (local.get $x) (i32.const 24))))
      (local.set $w (local.get $x))
      (local.set $d (i32.add (local.get $d) (i32.const 4)))
      (local.set $s (i32.add (local.get $s) (i32.const 4)))
      (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "copy_shift") (param $d i32) (param $s i32) (param $n i32)
    (call $shift (local.get $d) (local.get $s) (local.get $n) (i32.load (local.get $s))))
  (func (export "copy_shift_k") (param $d i32) (param $s i32) (param $n i32)
    (call $shift (local.get $d) (local.get $s) (local.get $n) (i32.const 0x11223344)))
  ;; n words of 4 bytes, all v
  (func (export "fill32") (param $d i32) (param $v i32) (param $n i32)
    (local $i i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store (i32.add (local.get $d) (i32.mul (local.get $i) (i32.const 4))) (local.get $v))
        (br_if 0 (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                           (local.get $n))))))
)

(invoke "init")
;; Disjoint, forwards and with offsets.
(invoke "copy8" (i32.const 5000) (i32.const 1000) (i32.const 300))
(assert_return (invoke "byte" (i32.const 5000)) (i32.const 91))
(assert_return (invoke "byte" (i32.const 5299)) (i32.const 136))
(assert_return (invoke "byte" (i32.const 5300)) (i32.const 239))
(invoke "copy8_off" (i32.const 11000) (i32.const 1500) (i32.const 300))
(assert_return (invoke "byte" (i32.const 11004)) (i32.const 63))
(assert_return (invoke "byte" (i32.const 11303)) (i32.const 108))
(invoke "copy8_call" (i32.const 12000) (i32.const 1000) (i32.const 300))
(assert_return (invoke "byte" (i32.const 12000)) (i32.const 91))
(assert_return (invoke "byte" (i32.const 12299)) (i32.const 136))
;; A destination one past the source replicates the first byte.
(invoke "copy8" (i32.const 2001) (i32.const 2000) (i32.const 300))
(assert_return (invoke "byte" (i32.const 2001)) (i32.const 179))
(assert_return (invoke "byte" (i32.const 2300)) (i32.const 179))
;; Below the source, forwards: a memmove.
(invoke "copy8" (i32.const 3000) (i32.const 3003) (i32.const 300))
(assert_return (invoke "byte" (i32.const 3000)) (i32.const 32))
(assert_return (invoke "byte" (i32.const 3299)) (i32.const 77))
;; Above the source, backwards: a memmove.
(invoke "copy8_down" (i32.const 4005) (i32.const 4000) (i32.const 300))
(assert_return (invoke "byte" (i32.const 4005)) (i32.const 99))
(assert_return (invoke "byte" (i32.const 4304)) (i32.const 144))
;; Below the source, backwards: the last byte replicated.
(invoke "copy8_down" (i32.const 5999) (i32.const 6000) (i32.const 300))
(assert_return (invoke "byte" (i32.const 5999)) (i32.const 64))
(assert_return (invoke "byte" (i32.const 6298)) (i32.const 64))
(assert_return (invoke "byte" (i32.const 6299)) (i32.const 64))
;; Fills: one byte repeated, and a word that is not.
(invoke "fill32" (i32.const 9000) (i32.const 0x41414141) (i32.const 50))
(assert_return (invoke "byte" (i32.const 9000)) (i32.const 0x41))
(assert_return (invoke "byte" (i32.const 9199)) (i32.const 0x41))
(assert_return (invoke "byte" (i32.const 9200)) (i32.const 147))
(invoke "fill32" (i32.const 9300) (i32.const 0x01020304) (i32.const 50))
(assert_return (invoke "byte" (i32.const 9300)) (i32.const 4))
(assert_return (invoke "byte" (i32.const 9301)) (i32.const 3))
(assert_return (invoke "byte" (i32.const 9498)) (i32.const 2))
(assert_return (invoke "byte" (i32.const 9499)) (i32.const 1))

;; Off the end of memory in the middle: the bytes before the fault are copied.
(invoke "init")
(assert_trap (invoke "copy8" (i32.const 65500) (i32.const 100) (i32.const 100))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 65500)) (i32.const 191))
(assert_return (invoke "byte" (i32.const 65535)) (i32.const 180))
;; Only the last trip's store is out of bounds (it straddles the end):
;; the 19 words before it are copied, and it writes nothing.
(invoke "init")
(assert_trap (invoke "copy64" (i32.const 65380) (i32.const 7000) (i32.const 20))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 65380)) (i32.const 107))
(assert_return (invoke "byte" (i32.const 65531)) (i32.const 140))
(assert_return (invoke "byte" (i32.const 65532)) (i32.const 231))
(assert_return (invoke "byte" (i32.const 65535)) (i32.const 252))
;; Only the last trip's load is.
(assert_trap (invoke "copy64" (i32.const 8000) (i32.const 65380) (i32.const 20))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 8000)) (i32.const 107))
(assert_return (invoke "byte" (i32.const 8151)) (i32.const 140))
(assert_return (invoke "byte" (i32.const 8152)) (i32.const 235))
;; A fill whose last word straddles the end.
(assert_trap (invoke "fill32" (i32.const 65418) (i32.const 0x55555555) (i32.const 30))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 65417)) (i32.const 110))
(assert_return (invoke "byte" (i32.const 65418)) (i32.const 0x55))
(assert_return (invoke "byte" (i32.const 65533)) (i32.const 0x55))
(assert_return (invoke "byte" (i32.const 65534)) (i32.const 245))
(assert_return (invoke "byte" (i32.const 65535)) (i32.const 252))
;; Downwards through address 0: bytes 10 .. 0 are copied, then d wraps.
(invoke "init")
(assert_trap (invoke "copy8_back" (i32.const 10) (i32.const 1000) (i32.const 100))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 10)) (i32.const 91))
(assert_return (invoke "byte" (i32.const 0)) (i32.const 21))
(assert_return (invoke "byte" (i32.const 11)) (i32.const 80))
;; A destination whose 32-bit address wraps to 0: the first store traps.
(invoke "init")
(assert_trap (invoke "copy8" (i32.const -2) (i32.const 100) (i32.const 10))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 0)) (i32.const 3))
(assert_return (invoke "byte" (i32.const 7)) (i32.const 52))
;; Shifted words (the expected bytes come from a model of the loop in
;; Python, the same rules). Disjoint:
(invoke "init")
(invoke "copy_shift" (i32.const 20000) (i32.const 10001) (i32.const 50))
(assert_return (invoke "byte" (i32.const 20000)) (i32.const 129))
(assert_return (invoke "byte" (i32.const 20003)) (i32.const 150))
(assert_return (invoke "byte" (i32.const 20004)) (i32.const 157))
(assert_return (invoke "byte" (i32.const 20199)) (i32.const 242))
(assert_return (invoke "byte" (i32.const 20200)) (i32.const 91))
;; a first word that is not the one before the source:
(invoke "copy_shift_k" (i32.const 21000) (i32.const 12000) (i32.const 50))
(assert_return (invoke "byte" (i32.const 21000)) (i32.const 0x33))
(assert_return (invoke "byte" (i32.const 21001)) (i32.const 0x22))
(assert_return (invoke "byte" (i32.const 21002)) (i32.const 0x11))
(assert_return (invoke "byte" (i32.const 21003)) (i32.const 63))
(assert_return (invoke "byte" (i32.const 21004)) (i32.const 70))
(assert_return (invoke "byte" (i32.const 21199)) (i32.const 155))
;; overlapping, the destination 6 bytes up: trips read what earlier ones wrote.
(invoke "copy_shift" (i32.const 13006) (i32.const 13000) (i32.const 50))
(assert_return (invoke "byte" (i32.const 13006)) (i32.const 130))
(assert_return (invoke "byte" (i32.const 13010)) (i32.const 158))
(assert_return (invoke "byte" (i32.const 13013)) (i32.const 144))
(assert_return (invoke "byte" (i32.const 13100)) (i32.const 20))
(assert_return (invoke "byte" (i32.const 13205)) (i32.const 208))
;; again with a count the unrolled loop takes whole (no first trips apart)
(invoke "copy_shift" (i32.const 15006) (i32.const 15000) (i32.const 48))
(assert_return (invoke "byte" (i32.const 15013)) (i32.const 64))
(assert_return (invoke "byte" (i32.const 15101)) (i32.const 168))
(assert_return (invoke "byte" (i32.const 15197)) (i32.const 72))
;; the bytes the last trip takes from its carried phi (unrolled by 8 words,
;; where that trip starts at 20168, or not)
(assert_return (invoke "byte" (i32.const 20168)) (i32.const 25))
(assert_return (invoke "byte" (i32.const 20170)) (i32.const 39))
(assert_return (invoke "byte" (i32.const 20196)) (i32.const 221))
(assert_return (invoke "byte" (i32.const 20198)) (i32.const 235))
;; the last store straddles the end of memory; then the last load does.
(invoke "init")
(assert_trap (invoke "copy_shift" (i32.const 65458) (i32.const 30000) (i32.const 20))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 65458)) (i32.const 90))
(assert_return (invoke "byte" (i32.const 65533)) (i32.const 103))
(assert_return (invoke "byte" (i32.const 65534)) (i32.const 245))
(assert_return (invoke "byte" (i32.const 65535)) (i32.const 252))
(assert_trap (invoke "copy_shift" (i32.const 40000) (i32.const 65454) (i32.const 20))
             "out of bounds memory access")
(assert_return (invoke "byte" (i32.const 40000)) (i32.const 204))
(assert_return (invoke "byte" (i32.const 40075)) (i32.const 82))
(assert_return (invoke "byte" (i32.const 40076)) (i32.const 215))
(assert_return (invoke "byte" (i32.const 40079)) (i32.const 236))
