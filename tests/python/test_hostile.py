"""Hostile guests: modules that lie to the generated code (issue 9, item 7).

A regression suite of the hostile-guest probes, written in WAT and generated at test time
(into a temporary directory, with target/release/wasm2py and a sidecar of annotations)
under names no other test module uses:

- `hostile2`: its results are {ptr, len} pairs the caller chooses (past the end of memory,
  lengths of 0xFFFFFFFF, pairs that wrap around 2**32, negative-looking pointers, list
  lengths whose byte size overflows 32 bits, a pair sitting in the last bytes of memory or
  past them); its `bump_alloc` misbehaves on request (the same pointer twice, a pointer
  overlapping the previous input, unaligned, 0, past or straddling the end, a trap,
  growing the memory on every allocation, endless recursion); its `bump_reset` traps on
  request; it grows its memory during a call, up to 4 GiB;
- `hostile2_imports`: host imports with str, bytes and list parameters, to which the guest
  passes pointers and lengths outside its memory, or inside memory it has just grown.

What must happen (SPEC, "Memory protocol" and "Limits and interruption"): the package's own
exceptions (`<Class>Error`, `<Class>Trap`, `<Class>InputError`, `MemoryError` for a
`bump_alloc` that returns 0), never a raw wasmtime error, never a crash, never a read
outside guest memory; the arena is reset after a failed call and the instance stays usable.

Everything here is wasm-only: a native library's pointers are process addresses that
nothing could check. The suite runs on both call paths (CI runs it again with
WASM2PY_FAST_PATH=0 for the public API). Probes that grow memory or overflow the wasm
stack, where a mistake could crash the interpreter (a stale view of a moved memory, a
native stack overflow), run in a subprocess, so that a crash fails the test instead of
ending the run.
"""

from __future__ import annotations

import importlib
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import wasmtime
from conftest import WASM2PY, require

M32 = 0xFFFFFFFF
PAGE = 65536
ARENA = 1024  # where the guests' arenas start; a reset arena's top is back here

# The `bump_alloc` behaviours of `hostile2`, chosen with set_mode().
NORMAL = 0  # a 16-byte aligned bump allocator
SAME = 1  # always 1024: every input lands on the previous one
ZERO = 2  # 0 ("out of memory") for every size
UNALIGNED = 3  # the normal pointer + 3
PAST_END = 4  # the end of memory
STRADDLE = 5  # 8 bytes before the end of memory
WRAPS = 6  # 0xFFFFFFF0: ptr + len wraps around 2**32 to a small number
HIGH = 7  # 0x80000000, negative as an i32
TRAP = 8  # unreachable
OVERLAP = 9  # the previous allocation + 1: overlaps the previous input
GROW = 10  # grows the memory for every allocation and returns the new pages
RECURSE = 11  # recurses until the wasm stack is exhausted

HOSTILE2_WAT = r"""
(module
  (memory (export "memory") 1)
  ;; The arena starts at 1024; $last is the previous allocation (for OVERLAP).
  (global $top (mut i32) (i32.const 1024))
  (global $last (mut i32) (i32.const 1023))
  (global $mode (mut i32) (i32.const 0))
  (global $reset_trap (mut i32) (i32.const 0))

  ;; The end of memory in bytes (0 once the memory is 4 GiB).
  (func $end (result i32) (i32.shl (memory.size) (i32.const 16)))
  (func $is (param i32) (result i32) (i32.eq (global.get $mode) (local.get 0)))
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (local.get 0)) (i32.const 1)))

  (func (export "bump_alloc") (param $n i32) (result i32)
    (local $p i32)
    (if (call $is (i32.const 1)) (then (return (i32.const 1024))))
    (if (call $is (i32.const 2)) (then (return (i32.const 0))))
    (if (call $is (i32.const 4)) (then (return (call $end))))
    (if (call $is (i32.const 5)) (then (return (i32.sub (call $end) (i32.const 8)))))
    (if (call $is (i32.const 6)) (then (return (i32.const 0xFFFFFFF0))))
    (if (call $is (i32.const 7)) (then (return (i32.const 0x80000000))))
    (if (call $is (i32.const 8)) (then unreachable))
    (if (call $is (i32.const 11)) (then (return (call $recurse (local.get $n)))))
    (if (call $is (i32.const 10))
      (then
        (local.set $p (call $end))
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1)))
              (i32.const -1))
          (then (return (i32.const 0))))
        (return (local.get $p))))
    (local.set $p (global.get $top))
    (if (call $is (i32.const 9))
      (then (local.set $p (i32.add (global.get $last) (i32.const 1)))))
    (if (call $is (i32.const 3))
      (then (local.set $p (i32.add (local.get $p) (i32.const 3)))))
    (global.set $last (local.get $p))
    (global.set $top (select
      (global.get $top)
      (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 15)) (i32.const -16))
      (i32.gt_u (global.get $top) (i32.add (local.get $p) (local.get $n)))))
    (local.get $p))

  (func (export "bump_reset")
    (if (global.get $reset_trap) (then unreachable))
    (memory.fill (i32.const 1024) (i32.const 0) (i32.sub (global.get $top) (i32.const 1024)))
    (global.set $top (i32.const 1024))
    (global.set $last (i32.const 1023)))

  (func (export "set_mode") (param i32) (global.set $mode (local.get 0)))
  (func (export "set_reset_trap") (param i32) (global.set $reset_trap (local.get 0)))
  (func (export "arena_top") (result i32) (global.get $top))
  (func (export "memory_bytes") (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))

  ;; A result pair {ptr, len} at address 16.
  (func $pair (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (i32.const 16))

  (func (export "echo") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "echo_u64") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "first") (param i32 i32 i32 i32) (result i32)
    (call $pair (local.get 0) (local.get 1)))
  (func (export "second") (param i32 i32 i32 i32) (result i32)
    (call $pair (local.get 2) (local.get 3)))
  (func (export "sum_f64") (param $p i32) (param $n i32) (result f64)
    (local $s f64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (f64.add (local.get $s) (f64.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "trap_now") (param i32 i32) (result i32) unreachable)
  (func (export "recurse") (param i32) (result i32) (call $recurse (local.get 0)))

  ;; Results that lie: the pair the caller asks for, or the pair's address itself.
  (func (export "pair") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_str") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_u16") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_u32") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_u64") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_f64") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "result_at") (param i32) (result i32) (local.get 0))
  ;; The pair is read from the input's own bytes: the caller's data is the lie.
  (func (export "pair_from_input") (param i32 i32) (result i32) (local.get 0))

  ;; Scalar results out of their annotated range: the raw i32/i64 is whatever was passed.
  (func (export "lie_bool") (param i32) (result i32) (local.get 0))
  (func (export "lie_u8") (param i32) (result i32) (local.get 0))
  (func (export "lie_i8") (param i32) (result i32) (local.get 0))
  (func (export "lie_u16") (param i32) (result i32) (local.get 0))
  (func (export "lie_i16") (param i32) (result i32) (local.get 0))
  (func (export "lie_u32") (param i32) (result i32) (local.get 0))
  (func (export "lie_ptr") (param i32) (result i32) (local.get 0))
  (func (export "lie_u64") (param i64) (result i64) (local.get 0))

  ;; Grows the memory by $pages, copies the input to the very end of the grown memory and
  ;; returns it from there: where no view made before the call reaches.
  (func (export "grow_echo") (param $p i32) (param $n i32) (param $pages i32) (result i32)
    (local $at i32)
    (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1)) (then unreachable))
    (local.set $at (i32.sub (call $end) (local.get $n)))
    (memory.copy (local.get $at) (local.get $p) (local.get $n))
    (call $pair (local.get $at) (local.get $n)))

  ;; Grows the memory to 65536 pages (4 GiB; unreachable if refused), copies the input to
  ;; just below the top 16 bytes and returns it through a pair in the last 8 bytes.
  (func (export "grow_to_4g") (param $p i32) (param $n i32) (result i32)
    (local $at i32)
    (if (i32.eq (memory.grow (i32.sub (i32.const 65536) (memory.size))) (i32.const -1))
      (then unreachable))
    (local.set $at (i32.sub (i32.const 0xFFFFFFF0) (local.get $n)))
    (memory.copy (local.get $at) (local.get $p) (local.get $n))
    (i32.store (i32.const 0xFFFFFFF8) (local.get $at))
    (i32.store (i32.const 0xFFFFFFFC) (local.get $n))
    (i32.const 0xFFFFFFF8))
)
"""

HOSTILE2_SIGNATURES = """\
set_mode(mode: u32)
set_reset_trap(on: bool)
arena_top() -> u32
memory_bytes() -> u64
echo(data: bytes) -> bytes
echo_u64(xs: list[u64]) -> list[u64]
first(a: bytes, b: bytes) -> bytes
second(a: bytes, b: bytes) -> bytes
sum_f64(xs: list[f64]) -> f64
trap_now(data: bytes) -> bytes
recurse(n: u32) -> u32
pair(ptr: ptr, len: u32) -> bytes
pair_str(ptr: ptr, len: u32) -> str
pair_u16(ptr: ptr, count: u32) -> list[u16]
pair_u32(ptr: ptr, count: u32) -> list[u32]
pair_u64(ptr: ptr, count: u32) -> list[u64]
pair_f64(ptr: ptr, count: u32) -> list[f64]
result_at(where: ptr) -> bytes
pair_from_input(data: bytes) -> bytes
lie_bool(v: u32) -> bool
lie_u8(v: u32) -> u8
lie_i8(v: u32) -> i8
lie_u16(v: u32) -> u16
lie_i16(v: u32) -> i16
lie_u32(v: u32) -> u32
lie_ptr(v: u32) -> ptr
lie_u64(v: u64) -> u64
grow_echo(data: bytes, pages: u32) -> bytes
grow_to_4g(data: bytes) -> bytes
"""

IMPORTS_WAT = r"""
(module
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "blob" (func $blob (param i32 i32) (result i32)))
  (import "env" "nums" (func $nums (param i32 i32) (result i32)))
  (import "env" "wide" (func $wide (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "grown")
  (func (export "log_at") (param i32 i32) (call $log (local.get 0) (local.get 1)))
  (func (export "blob_at") (param i32 i32) (result i32) (call $blob (local.get 0) (local.get 1)))
  (func (export "nums_at") (param i32 i32) (result i32) (call $nums (local.get 0) (local.get 1)))
  (func (export "wide_at") (param i32 i32) (result i32) (call $wide (local.get 0) (local.get 1)))
  (func (export "memory_bytes") (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
  ;; Grows the memory by $pages (unreachable if refused), copies "grown" to its last 5
  ;; bytes and passes them from there to env.log, then to env.blob.
  (func (export "grow_then_log") (param $pages i32) (result i32)
    (local $at i32)
    (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1)) (then unreachable))
    (local.set $at (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 5)))
    (memory.copy (local.get $at) (i32.const 32) (i32.const 5))
    (call $log (local.get $at) (i32.const 5))
    (call $blob (local.get $at) (i32.const 5)))
)
"""

IMPORTS_SIGNATURES = """\
import env.log(msg: str)
import env.blob(data: bytes) -> u32
import env.nums(xs: list[u32]) -> u32
import env.wide(xs: list[u64]) -> u32
log_at(ptr: ptr, len: u32)
blob_at(ptr: ptr, len: u32) -> u32
nums_at(ptr: ptr, count: u32) -> u32
wide_at(ptr: ptr, count: u32) -> u32
memory_bytes() -> u64
grow_then_log(pages: u32) -> u32
"""


def generate(work: Path, name: str, wat: str, signatures: str):
    (work / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (work / f"{name}.wasm2py").write_text(signatures)
    result = subprocess.run(
        [str(require(WASM2PY, "wasm2py binary")), "gen", str(work / f"{name}.wasm"), "-o", str(work / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(work / name))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(work / name))


@pytest.fixture(scope="module")
def h2(tmp_path_factory):
    """The generated `hostile2` package."""
    return generate(tmp_path_factory.mktemp("hostile2"), "hostile2", HOSTILE2_WAT, HOSTILE2_SIGNATURES)


@pytest.fixture(scope="module")
def h2i(tmp_path_factory):
    """The generated `hostile2_imports` package."""
    return generate(
        tmp_path_factory.mktemp("hostile2_imports"), "hostile2_imports", IMPORTS_WAT, IMPORTS_SIGNATURES
    )


@pytest.fixture
def guest(h2):
    """A fresh Hostile2: every test starts with a well-behaved allocator and one page."""
    instance = h2.Hostile2()
    assert instance.backend == "wasm"
    return instance


def run_isolated(package, script: str) -> str:
    """Runs `script` in a new interpreter, with the package imported as `pkg` and
    WASM2PY_FAST_PATH inherited (the same call path as this run). A crash (a signal, a
    non-zero exit) fails the test; returns what the script printed."""
    root = Path(package.__file__).resolve().parents[1]
    prologue = textwrap.dedent(
        f"""\
        import importlib, os, sys
        sys.path.insert(0, {str(root)!r})
        import {package.__name__} as pkg
        wanted = os.environ.get("WASM2PY_FAST_PATH", "1") != "0"
        assert importlib.import_module("{package.__name__}._wasm").FAST_PATH is wanted
        M32 = 0xFFFFFFFF

        def expect(kind, call):
            try:
                call()
            except kind as error:
                return error
            raise AssertionError(f"no {{kind.__name__}}")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"exit status {result.returncode} (negative: killed by that signal)\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert result.stdout.endswith("ok\n"), result.stdout
    return result.stdout


def assert_package_error(h2, error: BaseException) -> None:
    assert isinstance(error, h2.Hostile2Error)
    assert not isinstance(error, (wasmtime.WasmtimeError, wasmtime.Trap))


def assert_usable(guest) -> None:
    """The arena was reset after what went before, and a normal call works."""
    guest.set_mode(NORMAL)
    guest.set_reset_trap(False)
    assert guest.echo(b"still usable") == b"still usable"
    assert guest.first(b"one", b"two") == b"one"
    assert guest.arena_top() == ARENA


# ---- the call path -----------------------------------------------------------------------


def test_the_call_path_is_the_one_the_environment_asks_for(h2, h2i, guest):
    wanted = os.environ.get("WASM2PY_FAST_PATH", "1") != "0"
    for package in (h2, h2i):
        assert importlib.import_module(f"{package.__name__}._wasm").FAST_PATH is wanted
    assert type(guest).__name__.endswith("WasmFast") is wanted


# ---- result pairs that lie -----------------------------------------------------------------

# (data pointer, length in bytes) outside a one-page (64 KiB) memory.
PAIRS_OUTSIDE = {
    "past-the-end": (PAGE - 36, 100),
    "one-past-the-end": (PAGE - 1, 2),
    "empty-beyond-the-end": (PAGE + 1, 0),
    "length-ffffffff": (128, M32),
    "length-ffffffff-at-0": (0, M32),
    "wraps-to-0x10": (0xFFFFFFF0, 0x20),
    "wraps-to-0": (1, M32),
    "wraps-from-the-middle": (0x80000000, 0x80000010),
    "negative-pointer": (0x80000000, 4),
    "pointer-minus-4": (0xFFFFFFFC, 4),
    "pointer-ffffffff": (M32, 1),
}


@pytest.mark.parametrize("method", ["pair", "pair_str"])
@pytest.mark.parametrize(("ptr", "length"), list(PAIRS_OUTSIDE.values()), ids=list(PAIRS_OUTSIDE))
def test_a_result_outside_memory_raises_the_package_error(h2, guest, method, ptr, length):
    with pytest.raises(h2.Hostile2Error) as caught:
        getattr(guest, method)(ptr, length)
    assert_package_error(h2, caught.value)
    assert not isinstance(caught.value, ValueError)  # not a refused input
    assert str(caught.value).startswith(f"{method}:")
    assert "outside" in str(caught.value)
    assert guest.arena_top() == ARENA
    assert_usable(guest)


@pytest.mark.parametrize(
    ("ptr", "length", "expected"),
    [
        (0, 0, b""),
        (PAGE, 0, b""),  # empty, exactly at the end
        (PAGE - 1, 1, b"\0"),  # the last byte
        (16, 8, struct.pack("<II", 16, 8)),  # the pair's own bytes
    ],
)
def test_a_result_at_the_edges_of_memory_is_read(guest, ptr, length, expected):
    assert guest.pair(ptr, length) == expected
    assert guest.pair_str(ptr, length) == expected.decode()
    assert_usable(guest)


# (method, data pointer, count): count * itemsize overflows 32 bits, or runs past the end.
LISTS_OUTSIDE = {
    "u16-wraps-to-2": ("pair_u16", 128, 0x80000001),
    "u32-wraps-to-4": ("pair_u32", 128, 0x40000001),
    "u64-wraps-to-8": ("pair_u64", 128, 0x20000001),
    "f64-wraps-to-8": ("pair_f64", 128, 0x20000001),
    "u64-wraps-to-0": ("pair_u64", 128, 0x20000000),
    "u64-count-ffffffff": ("pair_u64", 128, M32),
    "u32-count-ffffffff": ("pair_u32", 0, M32),
    "u64-one-past-the-end": ("pair_u64", PAGE - 7, 1),
    "u64-just-too-many": ("pair_u64", 128, (PAGE - 128) // 8 + 1),
    "u16-negative-pointer": ("pair_u16", 0xFFFFFFFE, 1),
}


@pytest.mark.parametrize(
    ("method", "ptr", "count"), list(LISTS_OUTSIDE.values()), ids=list(LISTS_OUTSIDE)
)
def test_a_list_result_whose_size_overflows_raises_the_package_error(h2, guest, method, ptr, count):
    with pytest.raises(h2.Hostile2Error) as caught:
        getattr(guest, method)(ptr, count)
    assert_package_error(h2, caught.value)
    assert not isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{method}:")
    assert_usable(guest)


def test_a_list_result_up_to_the_last_item_is_read(guest):
    assert guest.pair_u64(PAGE - 8, 1) == [0]
    assert guest.pair_u64(128, (PAGE - 128) // 8) == [0] * ((PAGE - 128) // 8)
    assert guest.pair_u16(PAGE - 2, 1) == [0]
    assert guest.pair_f64(16, 1) == [struct.unpack("<d", struct.pack("<II", 16, 1))[0]]
    assert_usable(guest)


# Where the pair itself sits: partly or wholly past the end, or where result + 8 wraps.
PAIR_ADDRESSES_OUTSIDE = {
    "last-7-bytes": PAGE - 7,
    "last-4-bytes": PAGE - 4,
    "last-byte": PAGE - 1,
    "at-the-end": PAGE,
    "negative": 0x80000000,
    "plus-8-wraps-to-4": 0xFFFFFFFC,
    "plus-8-wraps-to-0": 0xFFFFFFF8,
    "ffffffff": M32,
}


@pytest.mark.parametrize("where", list(PAIR_ADDRESSES_OUTSIDE.values()), ids=list(PAIR_ADDRESSES_OUTSIDE))
def test_a_pair_outside_memory_raises_the_package_error(h2, guest, where):
    with pytest.raises(h2.Hostile2Error) as caught:
        guest.result_at(where)
    assert_package_error(h2, caught.value)
    assert not isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("result_at:")
    assert_usable(guest)


def test_a_pair_in_the_last_8_bytes_is_read(guest):
    assert guest.result_at(PAGE - 8) == b""  # zeroed memory: {0, 0}


def test_a_null_pair_is_a_refused_input(h2, guest):
    with pytest.raises(h2.Hostile2InputError):
        guest.result_at(0)
    assert_usable(guest)


@pytest.mark.parametrize(
    "pair",
    [(0, M32), (ARENA, PAGE), (0xFFFFFFF8, 0x10), (PAGE - 4, 8), (0x80000000, 1)],
    ids=["ffffffff", "past-the-end", "wraps", "straddles", "negative"],
)
def test_a_pair_read_from_the_callers_own_input_is_checked(h2, guest, pair):
    # The guest returns the input's address as the pair: the caller's bytes are the lie.
    with pytest.raises(h2.Hostile2Error) as caught:
        guest.pair_from_input(struct.pack("<II", *pair))
    assert_package_error(h2, caught.value)
    assert_usable(guest)
    # ...and a truthful one reads what it says: the input is at the arena's start.
    assert guest.pair_from_input(struct.pack("<II", ARENA + 8, 4) + b"abcd") == b"abcd"


def test_scalar_results_out_of_their_range_are_cut_to_it(guest):
    """An i32 result annotated narrower is truncated to the type (and sign-extended for
    the signed ones), as the native ABI does; a bool is any non-zero value."""
    for raw in (0, 1, 2, 0x7F, 0x80, 0xFF, 0x1FF, 0x8000, 0xFFFF, 0x18000, 0x80000000, M32):
        assert guest.lie_bool(raw) is (raw != 0)
        assert guest.lie_u8(raw) == raw & 0xFF
        assert guest.lie_i8(raw) == ((raw + 0x80) & 0xFF) - 0x80
        assert guest.lie_u16(raw) == raw & 0xFFFF
        assert guest.lie_i16(raw) == ((raw + 0x8000) & 0xFFFF) - 0x8000
        assert guest.lie_u32(raw) == raw
        assert guest.lie_ptr(raw) == raw
    assert guest.lie_u64(2**64 - 1) == 2**64 - 1
    assert guest.lie_u64(2**63) == 2**63


# ---- bump_alloc that lies ------------------------------------------------------------------


def test_the_same_pointer_twice_overwrites_the_first_input(guest):
    guest.set_mode(SAME)
    # Both inputs are written at 1024, the second over the first.
    assert guest.first(b"AAAAAAAA", b"bbb") == b"bbbAAAAA"
    assert guest.second(b"AAAAAAAA", b"bbb") == b"bbb"
    assert guest.first(b"a", b"longer") == b"l"
    assert guest.echo(b"hello") == b"hello"
    assert_usable(guest)


def test_a_pointer_overlapping_the_previous_input(guest):
    guest.set_mode(OVERLAP)
    # The second input starts one byte into the first.
    assert guest.first(b"AAAAAAAA", b"bbb") == b"AbbbAAAA"
    assert guest.second(b"AAAAAAAA", b"bbb") == b"bbb"
    assert guest.echo_u64([1, 2**64 - 1]) == [1, 2**64 - 1]
    assert_usable(guest)


def test_an_unaligned_pointer_is_accepted(guest):
    # wasm has no alignment faults and the host copies bytes: an unaligned arena costs the
    # guest speed, never correctness (the protocol asks for 16-byte alignment).
    guest.set_mode(UNALIGNED)
    assert guest.echo(b"hello world!") == b"hello world!"
    assert guest.sum_f64([1.5, 2.5, 3.0]) == 7.0
    assert guest.echo_u64([1, 2**64 - 1, 3]) == [1, 2**64 - 1, 3]
    assert guest.first(b"AAAAAAAA", b"bbb") == b"AAAAAAAA"
    assert_usable(guest)


@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.echo(b"hello"),
        lambda g: g.first(b"a", b"b"),
        lambda g: g.sum_f64([1.0]),
        lambda g: g.echo_u64([1, 2]),
    ],
    ids=["bytes", "two-inputs", "list-f64", "list-u64"],
)
def test_a_null_allocation_for_a_nonzero_size_is_a_memory_error(guest, call):
    guest.set_mode(ZERO)
    with pytest.raises(MemoryError):
        call(guest)
    assert guest.arena_top() == ARENA
    assert guest.echo(b"") == b""  # 0 for 0 bytes is no error
    assert_usable(guest)


@pytest.mark.parametrize("mode", [PAST_END, STRADDLE, WRAPS, HIGH], ids=["past-the-end", "straddles", "wraps", "negative"])
@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.echo(b"x" * 32),
        lambda g: g.first(b"y" * 8, b"x" * 32),
        lambda g: g.sum_f64([1.0, 2.0]),
        lambda g: g.echo_u64([1] * 4),
    ],
    ids=["bytes", "second-input", "list-f64", "list-u64"],
)
def test_an_allocation_outside_memory_raises_the_package_error(h2, guest, mode, call):
    guest.set_mode(mode)
    with pytest.raises(h2.Hostile2Error) as caught:
        call(guest)
    assert_package_error(h2, caught.value)
    assert not isinstance(caught.value, ValueError)
    assert "outside" in str(caught.value)
    assert guest.arena_top() == ARENA
    assert_usable(guest)


def test_a_trap_in_bump_alloc_is_the_package_trap(h2, guest):
    guest.set_mode(TRAP)
    for call in (lambda: guest.echo(b"x"), lambda: guest.sum_f64([1.0]), lambda: guest.echo(b"")):
        with pytest.raises(h2.Hostile2Trap) as caught:
            call()
        assert_package_error(h2, caught.value)
        assert "bump_alloc" in str(caught.value)
        assert "unreachable" in caught.value.message
    assert_usable(guest)


# ---- bump_reset that traps ---------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.echo(b"fine"),  # the call itself succeeded
        lambda g: g.trap_now(b"x"),  # the call trapped
        lambda g: g.pair(PAGE, 1),  # the result was outside memory
        lambda g: g.result_at(0),  # the guest refused the input
    ],
    ids=["after-success", "after-trap", "after-bad-result", "after-refusal"],
)
def test_a_trap_in_bump_reset_is_the_package_trap(h2, guest, call):
    guest.set_reset_trap(True)
    for _ in range(3):  # and again: the arena was not reset, nothing breaks
        with pytest.raises(h2.Hostile2Trap) as caught:
            call(guest)
        assert_package_error(h2, caught.value)
        assert caught.value.function == "bump_reset"
        assert "unreachable" in caught.value.message
    assert guest.lie_u32(7) == 7  # calls that do not use the arena still work
    assert_usable(guest)


# ---- memory that grows during a call (in a subprocess: a stale view could crash) ----------


def test_a_result_in_memory_grown_during_the_call_is_read(h2):
    run_isolated(
        h2,
        """
        g = pkg.Hostile2()
        data = bytes(range(256)) * 3
        assert g.echo(data) == data  # the view of one page is made here
        for pages in (1, 16, 1000):
            before = g.memory_bytes()
            assert g.grow_echo(data, pages) == data
            assert g.memory_bytes() == before + pages * 65536
        assert g.pair(g.memory_bytes() - 8, 8) == data[-8:]
        error = expect(pkg.Hostile2Error, lambda: g.pair(g.memory_bytes() - 8, 9))
        assert "outside" in str(error)
        # More than 4 GiB in all: memory.grow returns -1 and the guest traps.
        error = expect(pkg.Hostile2Trap, lambda: g.grow_echo(data, 70000))
        assert "unreachable" in error.message
        assert g.echo(b"abc") == b"abc"
        assert g.arena_top() == 1024
        print("ok")
        """,
    )


def test_a_bump_alloc_that_grows_memory_for_every_input(h2):
    run_isolated(
        h2,
        """
        g = pkg.Hostile2()
        assert g.echo(b"abc") == b"abc"
        g.set_mode(10)  # GROW: every input in pages grown for it
        a, b = b"A" * 70000, b"b" * 3
        before = g.memory_bytes()
        assert g.first(a, b) == a
        assert g.second(a, b) == b
        assert g.memory_bytes() == before + 2 * (2 + 1) * 65536
        assert g.echo(b"x" * 100) == b"x" * 100
        assert g.sum_f64([1.5, 2.5]) == 4.0
        assert g.echo_u64([1, 2**64 - 1]) == [1, 2**64 - 1]
        g.set_mode(0)
        assert g.echo(b"abc") == b"abc"
        assert g.arena_top() == 1024
        print("ok")
        """,
    )


def test_growing_memory_to_4_gib_works_or_fails_with_the_package_error(h2):
    # wasmtime reserves a 32-bit memory's 4 GiB of address space up front and commits it
    # lazily: the guest touches a few pages at the top, so this takes no real memory.
    out = run_isolated(
        h2,
        """
        g = pkg.Hostile2()
        assert g.echo(b"abc") == b"abc"
        try:
            top = g.grow_to_4g(b"top of memory")
        except pkg.Hostile2Trap as error:  # memory.grow refused: the guest traps
            assert "unreachable" in error.message
            print("refused")
        else:
            print("grown")
            assert top == b"top of memory"
            assert g.memory_bytes() == 1 << 32
            # The pair in the last 8 bytes, and the data of a negative-looking pointer:
            # both inside a 4 GiB memory.
            assert g.result_at(0xFFFFFFF8) == b"top of memory"
            assert g.pair(0xFFFFFFFC, 4) == (13).to_bytes(4, "little")
            assert g.pair(0xFFFFFFFF, 1) == b"\\0"
            assert g.pair(0, 0) == b""
            # Still nothing past 2**32, however it wraps.
            for call in (
                lambda: g.pair(0xFFFFFFF0, 0x20),
                lambda: g.pair(0xFFFFFFFF, 2),
                lambda: g.pair(2, M32),  # 1, M32 would be all of memory but the first byte
                lambda: g.pair_u64(8, 0x20000000),
                lambda: g.pair_u32(0xFFFFFFFC, 2),
                lambda: g.result_at(0xFFFFFFFC),
                lambda: g.result_at(0xFFFFFFF9),
            ):
                error = expect(pkg.Hostile2Error, call)
                assert not isinstance(error, ValueError) and "outside" in str(error)
            # A bump_alloc that cannot grow the memory any more returns 0.
            g.set_mode(10)
            expect(MemoryError, lambda: g.echo(b"abc"))
            g.set_mode(0)
            assert g.grow_echo(b"xyz", 0) == b"xyz"  # from the very top
        assert g.echo(b"abc") == b"abc"
        assert g.arena_top() == 1024
        print("ok")
        """,
    )
    assert "grown" in out or "refused" in out


# ---- the wasm stack overflows (in a subprocess: a native stack overflow is a crash) -------


def test_endless_recursion_is_the_package_trap(h2):
    run_isolated(
        h2,
        """
        g = pkg.Hostile2()
        for _ in range(3):
            error = expect(pkg.Hostile2Trap, lambda: g.recurse(1))
            assert error.function == "recurse"
        g.set_mode(11)  # RECURSE: bump_alloc recurses until the stack is exhausted
        error = expect(pkg.Hostile2Trap, lambda: g.echo(b"abc"))
        assert "bump_alloc" in str(error)
        g.set_mode(0)
        assert g.echo(b"abc") == b"abc"
        assert g.arena_top() == 1024
        print("ok")
        """,
    )


# ---- host-import arguments that lie --------------------------------------------------------


@pytest.fixture
def host(h2i):
    """A new Hostile2Imports whose host functions record what they receive: (instance,
    the list of (import, argument))."""
    calls = []

    def recorder(key):
        def record(value):
            calls.append((key, value))
            return len(value)

        return record

    imports = {key: recorder(key) for key in ("env.log", "env.blob", "env.nums", "env.wide")}
    instance = h2i.Hostile2Imports(imports=imports)
    assert instance.backend == "wasm"
    return instance, calls


def assert_host_usable(instance, calls) -> None:
    calls.clear()
    instance.log_at(32, 5)
    assert instance.blob_at(32, 5) == 5
    assert calls == [("env.log", "grown"), ("env.blob", b"grown")]


# (method, its import, pointer, length or count)
HOST_ARGUMENTS_OUTSIDE = {
    "str-past-the-end": ("log_at", "env.log", PAGE - 6, 100),
    "str-empty-beyond-the-end": ("log_at", "env.log", PAGE + 1, 0),
    "str-wraps": ("log_at", "env.log", 0xFFFFFFF0, 0x20),
    "str-length-ffffffff": ("log_at", "env.log", 1, M32),
    "str-negative-pointer": ("log_at", "env.log", 0x80000000, 4),
    "bytes-past-the-end": ("blob_at", "env.blob", PAGE - 6, 100),
    "bytes-length-ffffffff": ("blob_at", "env.blob", 0, M32),
    "bytes-wraps": ("blob_at", "env.blob", 0xFFFFFFF0, 0x20),
    "bytes-pointer-minus-4": ("blob_at", "env.blob", 0xFFFFFFFC, 4),
    "u32-list-wraps-to-4": ("nums_at", "env.nums", 128, 0x40000001),
    "u32-list-count-ffffffff": ("nums_at", "env.nums", 128, M32),
    "u32-list-straddles": ("nums_at", "env.nums", PAGE - 3, 1),
    "u32-list-pointer-ffffffff": ("nums_at", "env.nums", M32, 1),
    "u64-list-wraps-to-8": ("wide_at", "env.wide", 128, 0x20000001),
    "u64-list-wraps-to-0": ("wide_at", "env.wide", 0xFFFFFFF8, 1),
    "u64-list-straddles": ("wide_at", "env.wide", PAGE - 7, 1),
}


@pytest.mark.parametrize(
    ("method", "key", "ptr", "length"),
    list(HOST_ARGUMENTS_OUTSIDE.values()),
    ids=list(HOST_ARGUMENTS_OUTSIDE),
)
def test_a_host_argument_outside_memory_raises_the_package_error(h2i, host, method, key, ptr, length):
    instance, calls = host
    with pytest.raises(h2i.Hostile2ImportsError) as caught:
        getattr(instance, method)(ptr, length)
    assert not isinstance(caught.value, (wasmtime.WasmtimeError, wasmtime.Trap))
    assert str(caught.value).startswith(f"{key}:")
    assert "outside" in str(caught.value)
    assert calls == []  # the host function never ran
    assert_host_usable(instance, calls)


def test_host_arguments_at_the_edges_of_memory_arrive(host):
    instance, calls = host
    instance.log_at(PAGE, 0)
    assert instance.blob_at(PAGE - 1, 1) == 1
    assert instance.nums_at(PAGE - 4, 1) == 1
    assert instance.wide_at(PAGE - 8, 1) == 1
    assert calls == [("env.log", ""), ("env.blob", b"\0"), ("env.nums", [0]), ("env.wide", [0])]
    assert_host_usable(instance, calls)


def test_host_arguments_in_memory_grown_during_the_call_arrive(h2i):
    run_isolated(
        h2i,
        """
        calls = []

        def recorder(key):
            def record(value):
                calls.append((key, value))
                return len(value)

            return record

        imports = {key: recorder(key) for key in ("env.log", "env.blob", "env.nums", "env.wide")}
        h = pkg.Hostile2Imports(imports=imports)
        h.log_at(32, 5)  # the view of one page is made here
        for pages in (1, 1000):
            calls.clear()
            assert h.grow_then_log(pages) == 5
            assert calls == [("env.log", "grown"), ("env.blob", b"grown")]
        # To 4 GiB: works, or the guest traps when memory.grow is refused.
        calls.clear()
        try:
            assert h.grow_then_log(65536 - h.memory_bytes() // 65536) == 5
        except pkg.Hostile2ImportsTrap as error:
            assert "unreachable" in error.message
            print("refused")
        else:
            print("grown")
            assert calls == [("env.log", "grown"), ("env.blob", b"grown")]
            calls.clear()
            h.log_at(0xFFFFFFFB, 5)
            assert h.wide_at(0xFFFFFFF8, 1) == 1
            assert calls == [("env.log", "grown"), ("env.wide", [int.from_bytes(b"\\0\\0\\0grown", "little")])]
            calls.clear()
            for call in (
                lambda: h.log_at(0xFFFFFFFB, 6),
                lambda: h.blob_at(0xFFFFFFF0, 0x20),
                lambda: h.nums_at(0xFFFFFFFD, 1),
                lambda: h.wide_at(8, 0x20000000),
            ):
                error = expect(pkg.Hostile2ImportsError, call)
                assert "outside" in str(error)
            assert calls == []
        calls.clear()
        h.log_at(32, 5)
        assert calls == [("env.log", "grown")]
        print("ok")
        """,
    )
