;; startloop: a start function (run while the instance is created, before
;; _start) that never returns.
(module
  (memory (export "memory") 1)
  (func $forever (loop (br 0)))
  (start $forever)
  (func (export "_start")))
