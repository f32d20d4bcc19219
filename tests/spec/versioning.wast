;; tests/spec/versioning.wast - loops that awsmc versions when optimising
;; (compiler/cg_idiom.c, version_loop): when a loop's trips are counted on
;; entry and all its accesses are inside the memory, a clone with ordinary
;; accesses runs (vectorised where LLVM can); else the loop as it was.
;; Either way the results, and the state a trap leaves, are the loop's own:
;; a trap in the middle (out of bounds, an address that would wrap, a
;; division by zero inside the clone) leaves every earlier trip's stores
;; and globals and none of the later ones.
(module
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "g") (result i32) (global.get $g))
  (func (export "f64") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "i32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))

  ;; a[i] = i / 2 for i in [0, n) (n >= 1): a computed store
  (func (export "ramp") (param $p i32) (param $n i32)
    (local $i i32)
    (loop
      (f64.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3)))
                 (f64.mul (f64.convert_i32_s (local.get $i)) (f64.const 0.5)))
      (br_if 0 (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n)))))

  ;; the same through a store's offset, counted down to zero
  (func (export "ramp_off") (param $p i32) (param $n i32)
    (local $i i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (f64.store offset=16 (local.get $p)
                   (f64.mul (f64.convert_i32_s (local.get $i)) (f64.const 0.5)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))

  ;; the sum of a[0 .. n): loads only, the reduction leaves the loop
  (func (export "sum") (param $p i32) (param $n i32) (result f64)
    (local $i i32) (local $s f64)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $s (f64.add (local.get $s)
          (f64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))))))
        (br_if 0 (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                           (local.get $n)))))
    (local.get $s))

  ;; d[j] = (s[j - 1] + s[j] + s[j + 1]) / 4 for j in [1, n - 1)
  (func (export "smooth") (param $d i32) (param $s i32) (param $n i32)
    (local $j i32) (local $a i32)
    (local.set $j (i32.const 1))
    (block
      (br_if 0 (i32.le_s (local.get $n) (i32.const 2)))
      (loop
        (local.set $a (i32.shl (local.get $j) (i32.const 3)))
        (f64.store (i32.add (local.get $d) (local.get $a))
          (f64.mul (f64.const 0.25)
            (f64.add (f64.add (f64.load offset=0 (i32.sub (i32.add (local.get $s) (local.get $a)) (i32.const 8)))
                              (f64.load (i32.add (local.get $s) (local.get $a))))
                     (f64.load offset=8 (i32.add (local.get $s) (local.get $a))))))
        (br_if 0 (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                           (i32.sub (local.get $n) (i32.const 1)))))))

  ;; y[i] += a * x[i] over i32s; x and y may overlap, and then each trip
  ;; sees what the trips before it stored
  (func (export "axpy") (param $k i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $o i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (i32.store (i32.add (local.get $y) (local.get $o))
          (i32.add (i32.load (i32.add (local.get $y) (local.get $o)))
                   (i32.mul (local.get $k) (i32.load (i32.add (local.get $x) (local.get $o))))))
        (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n))))))

  ;; backwards: a[i] = 3 i + 1 for i from n - 1 down to 0
  (func (export "down") (param $p i32) (param $n i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.store (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2)))
                   (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1)))
        (br_if 0 (local.get $n)))))

  ;; a signed index from -n up to n - 1 (n >= 1), addresses p + 4 (i + n)
  (func (export "signed") (param $p i32) (param $n i32)
    (local $i i32)
    (local.set $i (i32.sub (i32.const 0) (local.get $n)))
    (loop
      (i32.store (i32.add (local.get $p)
                          (i32.shl (i32.add (local.get $i) (local.get $n)) (i32.const 2)))
                 (local.get $i))
      (br_if 0 (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n)))))

  ;; each trip counts in $g, then stores 1000 / (z - i): at i = z (the
  ;; clone runs: every access is in bounds) a division by zero traps with
  ;; $g counted and the trips before stored
  (func (export "divs") (param $p i32) (param $n i32) (param $z i32)
    (local $i i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i32.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))
                   (i32.div_s (i32.const 1000) (i32.sub (local.get $z) (local.get $i))))
        (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n))))))

  ;; m[c] += a[i]: an invariant address, which a[i] may be
  (func (export "acc") (param $p i32) (param $c i32) (param $n i32)
    (local $i i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (i32.store (local.get $c)
          (i32.add (i32.load (local.get $c))
                   (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))))
        (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n))))))

  ;; the exit in the middle of the trip (a header too large for LLVM to
  ;; rotate): q[i] = mix(p[i]), and unless i = n - 1, q[i + 1] = -1 (which
  ;; the next trip overwrites); the last trip stores no q[n]
  (func (export "mid") (param $p i32) (param $q i32) (param $n i32)
    (local $i i32) (local $x i32)
    (loop
      (local.set $x (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (local.set $x (i32.mul (local.get $x) (i32.const 0x9e3779b1)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))
      (i32.store (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))) (local.get $x))
      (if (i32.ne (local.get $i) (i32.sub (local.get $n) (i32.const 1)))
        (then
          (i32.store offset=4 (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2)))
                     (i32.const -1))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br 1)))))

  ;; a second counter that starts off its pattern: j = 4 i + 50000 at
  ;; every trip but the first, where it is $j0
  (func (export "skew") (param $j0 i32) (param $n i32)
    (local $i i32) (local $j i32)
    (local.set $j (local.get $j0))
    (loop
      (i32.store (local.get $j) (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 10)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $j (i32.add (i32.shl (local.get $i) (i32.const 2)) (i32.const 50000)))
      (br_if 0 (i32.ne (local.get $i) (local.get $n)))))

  ;; v[i] = v[i] + w[i] over i32x4 lanes, 16 bytes a trip
  (func (export "vadd") (param $v i32) (param $w i32) (param $n i32)
    (local $i i32) (local $o i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $o (i32.shl (local.get $i) (i32.const 4)))
        (v128.store (i32.add (local.get $v) (local.get $o))
          (i32x4.add (v128.load (i32.add (local.get $v) (local.get $o)))
                     (v128.load (i32.add (local.get $w) (local.get $o)))))
        (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                         (local.get $n)))))))

;; in bounds: the clone runs
(invoke "ramp" (i32.const 1024) (i32.const 1000))
(assert_return (invoke "f64" (i32.const 1024)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 1032)) (f64.const 0.5))
(assert_return (invoke "f64" (i32.const 9016)) (f64.const 499.5))
(assert_return (invoke "f64" (i32.const 9024)) (f64.const 0))
(assert_return (invoke "sum" (i32.const 1024) (i32.const 1000)) (f64.const 249750))
(assert_return (invoke "sum" (i32.const 1024) (i32.const 1)) (f64.const 0))
(assert_return (invoke "sum" (i32.const 1024) (i32.const 0)) (f64.const 0))
;; one trip
(invoke "ramp" (i32.const 20000) (i32.const 1))
(assert_return (invoke "f64" (i32.const 20000)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 20008)) (f64.const 0))
(invoke "ramp_off" (i32.const 20000) (i32.const 3))
(assert_return (invoke "f64" (i32.const 20016)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 20024)) (f64.const 0.5))
(assert_return (invoke "f64" (i32.const 20032)) (f64.const 1))
(assert_return (invoke "f64" (i32.const 20040)) (f64.const 0))

;; a stencil in bounds
(invoke "smooth" (i32.const 10000) (i32.const 1024) (i32.const 1000))
(assert_return (invoke "f64" (i32.const 10000)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 10008)) (f64.const 0.375))
(assert_return (invoke "f64" (i32.const 17984)) (f64.const 374.25))
(assert_return (invoke "f64" (i32.const 17992)) (f64.const 0))
;; and in place, where each trip reads what the one before stored
(invoke "smooth" (i32.const 1024) (i32.const 1024) (i32.const 4))
(assert_return (invoke "f64" (i32.const 1032)) (f64.const 0.375))
(assert_return (invoke "f64" (i32.const 1040)) (f64.const 0.71875))
(assert_return (invoke "f64" (i32.const 1048)) (f64.const 1.5))

;; the ramp's end runs past the memory's: trips 0 .. 9 store, trip 10 traps
(assert_trap (invoke "ramp" (i32.const 65456) (i32.const 12)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 65456)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 65528)) (f64.const 4.5))
(assert_trap (invoke "ramp_off" (i32.const 65440) (i32.const 12)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 65528)) (f64.const 4.5))
(assert_trap (invoke "sum" (i32.const 65000) (i32.const 100)) "out of bounds memory access")
;; only the last trip's access is past the end
(assert_trap (invoke "ramp" (i32.const 65464) (i32.const 10)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 65528)) (f64.const 4))
(assert_trap (invoke "sum" (i32.const 65464) (i32.const 10)) "out of bounds memory access")
(assert_return (invoke "sum" (i32.const 65464) (i32.const 9)) (f64.const 18))
(assert_trap (invoke "smooth" (i32.const 1024) (i32.const 65448) (i32.const 12)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 1096)) (f64.const 2.625))
(assert_return (invoke "f64" (i32.const 1104)) (f64.const 5))
;; the same where the last trip falls in the vectorised part of the
;; clone (16 trips): the trips before it store all the same
(assert_trap (invoke "smooth" (i32.const 1024) (i32.const 65400) (i32.const 18)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 1144)) (f64.const 2.625))
(assert_return (invoke "f64" (i32.const 1152)) (f64.const 8))
(assert_trap (invoke "ramp" (i32.const 65416) (i32.const 16)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 65528)) (f64.const 7))
(invoke "ramp" (i32.const 65456) (i32.const 10))
;; an address that would wrap through 2^32 traps at once, and 0 stays 0
(assert_trap (invoke "ramp" (i32.const 0xfffffff0) (i32.const 4)) "out of bounds memory access")
(assert_return (invoke "f64" (i32.const 0)) (f64.const 0))
(assert_return (invoke "f64" (i32.const 8)) (f64.const 0))
(assert_trap (invoke "signed" (i32.const 0xfffffff8) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "i32" (i32.const 0)) (i32.const 0))

;; overlapping i32 arrays: y = x + 4 bytes, so trip i reads trip i-1's y
(invoke "down" (i32.const 30000) (i32.const 8))
(assert_return (invoke "i32" (i32.const 30000)) (i32.const 1))
(assert_return (invoke "i32" (i32.const 30028)) (i32.const 22))
(invoke "axpy" (i32.const 2) (i32.const 30000) (i32.const 30004) (i32.const 7))
(assert_return (invoke "i32" (i32.const 30000)) (i32.const 1))
(assert_return (invoke "i32" (i32.const 30004)) (i32.const 6))
(assert_return (invoke "i32" (i32.const 30008)) (i32.const 19))
(assert_return (invoke "i32" (i32.const 30012)) (i32.const 48))
(assert_return (invoke "i32" (i32.const 30016)) (i32.const 109))
(assert_return (invoke "i32" (i32.const 30020)) (i32.const 234))
(assert_return (invoke "i32" (i32.const 30024)) (i32.const 487))
(assert_return (invoke "i32" (i32.const 30028)) (i32.const 996))
;; and disjoint ones, many trips
(invoke "down" (i32.const 40000) (i32.const 3000))
(invoke "axpy" (i32.const -1) (i32.const 40000) (i32.const 52000) (i32.const 3000))
(assert_return (invoke "i32" (i32.const 52000)) (i32.const -1))
(assert_return (invoke "i32" (i32.const 63996)) (i32.const -8998))
;; past the end, backwards: the first trip (the highest address) traps
(assert_trap (invoke "down" (i32.const 65532) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "i32" (i32.const 65532)) (i32.const 0x40120000))  ;; 4.5's high word

;; signed indices
(invoke "signed" (i32.const 20000) (i32.const 3))
(assert_return (invoke "i32" (i32.const 20000)) (i32.const -3))
(assert_return (invoke "i32" (i32.const 20012)) (i32.const 0))
(assert_return (invoke "i32" (i32.const 20020)) (i32.const 2))
(assert_return (invoke "i32" (i32.const 20024)) (i32.const 0))

;; a division by zero in trip 5: $g counts 6 trips, trips 0 .. 4 stored
(assert_trap (invoke "divs" (i32.const 24000) (i32.const 100) (i32.const 5)) "integer divide by zero")
(assert_return (invoke "g") (i32.const 6))
(assert_return (invoke "i32" (i32.const 24000)) (i32.const 200))
(assert_return (invoke "i32" (i32.const 24016)) (i32.const 1000))
(assert_return (invoke "i32" (i32.const 24020)) (i32.const 0))
(invoke "divs" (i32.const 24000) (i32.const 4) (i32.const 100))
(assert_return (invoke "g") (i32.const 10))
(assert_return (invoke "i32" (i32.const 24012)) (i32.const 10))
;; out of bounds at trip 3: $g counts 4 trips
(assert_trap (invoke "divs" (i32.const 65524) (i32.const 8) (i32.const 100)) "out of bounds memory access")
(assert_return (invoke "g") (i32.const 14))
(assert_return (invoke "i32" (i32.const 65532)) (i32.const 10))

;; an invariant address inside what the loop reads: a[2] = 19 becomes
;; 19 + 1, 20 + 6, then 26 + itself, then 52 + 48
(invoke "acc" (i32.const 30000) (i32.const 30008) (i32.const 4))
(assert_return (invoke "i32" (i32.const 30008)) (i32.const 100))
(invoke "acc" (i32.const 40000) (i32.const 100) (i32.const 3000))
(assert_return (invoke "i32" (i32.const 100)) (i32.const 13498500))
;; two trips add the 10s divs stored, the third traps
(assert_trap (invoke "acc" (i32.const 65528) (i32.const 100) (i32.const 4)) "out of bounds memory access")
(assert_return (invoke "i32" (i32.const 100)) (i32.const 13498520))

;; v128: in bounds, then the last 16 bytes past the end
(invoke "vadd" (i32.const 40000) (i32.const 40000) (i32.const 4))
(assert_return (invoke "i32" (i32.const 40000)) (i32.const 2))
(assert_return (invoke "i32" (i32.const 40060)) (i32.const 92))
(assert_return (invoke "i32" (i32.const 40064)) (i32.const 49))
(assert_trap (invoke "vadd" (i32.const 65504) (i32.const 40000) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "i32" (i32.const 65504)) (i32.const 2))

;; an exit mid-trip: in bounds (the clone), then with q[n], which the loop
;; never stores, past the end (no trap)
(invoke "down" (i32.const 56000) (i32.const 8))
(invoke "mid" (i32.const 56000) (i32.const 60000) (i32.const 8))
(assert_return (invoke "i32" (i32.const 60000)) (i32.const 0x152de224))
(assert_return (invoke "i32" (i32.const 60004)) (i32.const 0xe473c538))
(assert_return (invoke "i32" (i32.const 60028)) (i32.const 0x71b43d75))
(assert_return (invoke "i32" (i32.const 60032)) (i32.const -6025))  ;; axpy's y[2008]
(invoke "mid" (i32.const 56000) (i32.const 65504) (i32.const 8))
(assert_return (invoke "i32" (i32.const 65504)) (i32.const 0x152de224))
(assert_return (invoke "i32" (i32.const 65528)) (i32.const 0x4822fd95))
(assert_return (invoke "i32" (i32.const 65532)) (i32.const 0x71b43d75))
(assert_trap (invoke "mid" (i32.const 56000) (i32.const 65508) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "i32" (i32.const 65532)) (i32.const 0x4822fd95))

;; the first trip's j is its own
(invoke "skew" (i32.const 50100) (i32.const 4))
(assert_return (invoke "i32" (i32.const 50100)) (i32.const 10))
(assert_return (invoke "i32" (i32.const 50000)) (i32.const 7501))
(assert_return (invoke "i32" (i32.const 50004)) (i32.const 20))
(assert_return (invoke "i32" (i32.const 50012)) (i32.const 40))
(assert_return (invoke "i32" (i32.const 50016)) (i32.const 7513))
(invoke "skew" (i32.const 50000) (i32.const 4))
(assert_return (invoke "i32" (i32.const 50000)) (i32.const 10))

;; the bounds are the memory's size at entry: after memory.grow the same
;; ramp runs into the second page
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(invoke "ramp" (i32.const 65456) (i32.const 12))
(assert_return (invoke "f64" (i32.const 65536)) (f64.const 5))
(assert_return (invoke "f64" (i32.const 65544)) (f64.const 5.5))
(assert_return (invoke "sum" (i32.const 65456) (i32.const 12)) (f64.const 33))


;; An i32 index counted up to 0 over constant bases, as clang writes a
;; loop over global arrays: indvars widens it to i64 and each address
;; becomes (i + C) & 0xfffffff8 (or & 0xfffffffc), its exit test
;; (i & 0xfffffff8) != 0. Versioned like any counted loop; the clone's
;; exit says its trip count outright, so it is vectorised.
(module
  (type $v (func))
  (memory 1)
  (func (export "init") (local $i i32)
    (loop $l
      (i32.store (local.get $i) (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 65536)))))
  ;; c[i] = a[i] * b[i] + c[i] over three arrays: clang's code for
  ;; int a[N], b[N], c[N] (N = 4096; two elements a trip)
  (func (export "kern") (type $v)
    (local i32 i32)
    i32.const -16384
    local.set 0
    loop  ;; label = @1
      local.get 0
      i32.const 52816
      i32.add
      local.tee 1
      local.get 0
      i32.const 36432
      i32.add
      i32.load
      local.get 0
      i32.const 20048
      i32.add
      i32.load
      i32.mul
      local.get 1
      i32.load
      i32.add
      i32.store
      local.get 0
      i32.const 52820
      i32.add
      local.tee 1
      local.get 0
      i32.const 36436
      i32.add
      i32.load
      local.get 0
      i32.const 20052
      i32.add
      i32.load
      i32.mul
      local.get 1
      i32.load
      i32.add
      i32.store
      local.get 0
      i32.const 8
      i32.add
      local.tee 0
      br_if 0 (;@1;)
    end)
  ;; the same with c's last 1024 bytes past the memory's end
  (func (export "kern_past") (type $v)
    (local i32 i32)
    i32.const -16384
    local.set 0
    loop  ;; label = @1
      local.get 0
      i32.const 66560
      i32.add
      local.tee 1
      local.get 0
      i32.const 36432
      i32.add
      i32.load
      local.get 0
      i32.const 20048
      i32.add
      i32.load
      i32.mul
      local.get 1
      i32.load
      i32.add
      i32.store
      local.get 0
      i32.const 66564
      i32.add
      local.tee 1
      local.get 0
      i32.const 36436
      i32.add
      i32.load
      local.get 0
      i32.const 20052
      i32.add
      i32.load
      i32.mul
      local.get 1
      i32.load
      i32.add
      i32.store
      local.get 0
      i32.const 8
      i32.add
      local.tee 0
      br_if 0 (;@1;)
    end)
  (func (export "sum") (param $from i32) (param $to i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31))
                             (i32.load (local.get $from))))
      (local.set $from (i32.add (local.get $from) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $from) (local.get $to))))
    (local.get $s))
  ;; a load of an aligned slot, (i + 8196) & -8, i stepping by 4: the
  ;; mask is the program's, and the slots are not (i + 8196)'s
  (func (export "aligned") (result i32)
    (local $i i32) (local $s i32)
    (local.set $i (i32.const -4096))
    (loop $l
      (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 3))
                             (i32.load (i32.and (i32.add (local.get $i) (i32.const 8196))
                                                (i32.const -8)))))
      (local.tee $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l))
    (local.get $s))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))
(invoke "init")
(invoke "kern")
(invoke "kern")
(assert_return (invoke "sum" (i32.const 36432) (i32.const 52816)) (i32.const -1393664000))
(assert_return (invoke "sum" (i32.const 0) (i32.const 65536)) (i32.const 723779584))
(assert_return (invoke "aligned") (i32.const 118077440))
(assert_trap (invoke "kern_past") "out of bounds memory access")
(assert_return (invoke "sum" (i32.const 50176) (i32.const 65536)) (i32.const 483036320))
(assert_return (invoke "grow") (i32.const 1))
(invoke "kern_past")
(assert_return (invoke "sum" (i32.const 50176) (i32.const 82944)) (i32.const 535088288))
