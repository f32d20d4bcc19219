;; throws: exception handling in a sandbox (awsmrt "features":
;; ["exceptions"]). _start throws 42 through a call and catches it; when
;; the value arrived it prints "caught 42", then, as "throws" was asked
;; with no arguments, throws again past _start: the reply is the trap
;; "uncaught exception" with the output so far.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "caught 42\n")
  (tag $e (param i32))
  (func $boom (param i32) (throw $e (local.get 0)))
  (func (export "_start")
    (try (result i32)
      (do (call $boom (i32.const 42)) (i32.const 0))
      (catch $e))
    (if (i32.ne (i32.const 42)) (then unreachable))
    ;; iovec at 0: {16, 10}; written count at 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; argc at 32: only argv[0] means no arguments
    (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
    (if (i32.le_u (i32.load (i32.const 32)) (i32.const 1))
      (then (call $boom (i32.const 7))))))
