;; hostcalls: a guest that calls functions of its host (host imports from module "env"),
;; written in the WebAssembly text format. No WASI. Annotations, for the exports and for
;; the imports, are in the sidecar hostcalls.wasm2py; guests/wat/build.sh compiles this
;; file to guests/out/hostcalls.wasm.
;;
;; It follows the wasm2py memory protocol with a minimal bump arena: bump_alloc hands out
;; 16-byte aligned blocks from address 16 up (0 is the out-of-memory answer), growing the
;; memory as needed, and bump_reset zeroes what was handed out and starts again.
(module
  ;; ---- host imports -------------------------------------------------------------------
  ;; log(msg: str): a str lowered to (ptr, len) in this module's memory
  (import "env" "log" (func $log (param i32 i32)))
  ;; host_add(a: u32, b: u32) -> u32
  (import "env" "host_add" (func $host_add (param i32 i32) (result i32)))
  ;; host_scale(x: f64, k: f64) -> f64
  (import "env" "host_scale" (func $host_scale (param f64 f64) (result f64)))
  ;; host_big(v: u64) -> u64
  (import "env" "host_big" (func $host_big (param i64) (result i64)))
  ;; host_check(data: bytes) -> bool
  (import "env" "host_check" (func $host_check (param i32 i32) (result i32)))
  ;; host_neg(v: i32) -> i32
  (import "env" "host_neg" (func $host_neg (param i32) (result i32)))
  ;; not annotated: the host gets and returns its core types
  (import "env" "unannotated" (func $unannotated (param i32 i64) (result i32)))

  (memory (export "memory") 1)

  ;; ---- the arena: [$base, $top) is in use ---------------------------------------------
  (global $base i32 (i32.const 16))
  (global $top (mut i32) (i32.const 16))

  ;; A zeroed, 16-byte aligned block of $size bytes (16 for 0, so blocks are distinct);
  ;; 0 when it does not fit in 4 GiB or memory.grow fails.
  (func (export "bump_alloc") (param $size i32) (result i32)
    (local $n i32) (local $p i32) (local $end i32) (local $have i64)
    (if (i32.gt_u (local.get $size) (i32.const 0xfffffff0))
      (then (return (i32.const 0))))
    (local.set $n (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -16)))
    (if (i32.eqz (local.get $n))
      (then (local.set $n (i32.const 16))))
    (local.set $p (global.get $top))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.lt_u (local.get $end) (local.get $p)) ;; wrapped around 4 GiB
      (then (return (i32.const 0))))
    ;; Grow so that [0, end) is inside the memory (64-bit: 65536 pages overflow 32 bits).
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (i64.extend_i32_u (local.get $end)) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (i64.extend_i32_u (local.get $end)) (local.get $have))
                             (i64.const 65535))
                    (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $top (local.get $end))
    (local.get $p))

  ;; Zeroes everything handed out since the last reset and frees it.
  (func (export "bump_reset")
    (memory.fill (global.get $base) (i32.const 0)
                 (i32.sub (global.get $top) (global.get $base)))
    (global.set $top (global.get $base)))

  ;; ---- exports that call the host -----------------------------------------------------
  (func (export "add_via_host") (param $a i32) (param $b i32) (result i32)
    (call $host_add (local.get $a) (local.get $b)))

  ;; Passes its (ptr, len) on to log unchanged.
  (func (export "log_text") (param $ptr i32) (param $len i32)
    (call $log (local.get $ptr) (local.get $len)))

  (func (export "scale_via_host") (param $x f64) (param $k f64) (result f64)
    (call $host_scale (local.get $x) (local.get $k)))

  (func (export "big_via_host") (param $v i64) (result i64)
    (call $host_big (local.get $v)))

  (func (export "check_via_host") (param $ptr i32) (param $len i32) (result i32)
    (call $host_check (local.get $ptr) (local.get $len)))

  (func (export "neg_via_host") (param $v i32) (result i32)
    (call $host_neg (local.get $v)))

  (func (export "call_unannotated") (param $a i32) (param $b i64) (result i32)
    (call $unannotated (local.get $a) (local.get $b)))

  ;; The sum (mod 2^32) of host_add(i, 1) for i = 0 .. n-1: n guest -> host round trips.
  (func (export "call_host_n") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum
          (i32.add (local.get $sum) (call $host_add (local.get $i) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  ;; No host call: the baseline for call_host_n and add_via_host.
  (func (export "plain_add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))
)
