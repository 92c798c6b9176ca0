"""Behaviour only the wasm backend can have: traps and the arena seen from outside.

These tests use only the wasm backend on purpose. Native code runs without a sandbox: a
trap there (a Rust panic with panic = "abort", __builtin_trap) ends the whole process, and
a native arena is plain process memory that Python cannot inspect safely. The wasm backend
exposes each thread's store through the instance's `_state()` (see the generated
_wasm.py), which these tests use to look at the guest's linear memory.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import threading
import zlib

import pytest
import wasmtime
from conftest import WASM2PY, require

M32 = 0xFFFFFFFF


# ---- traps -----------------------------------------------------------------------------


def test_divide_by_zero_raises_trap_naming_the_function(wasm_backend, packages):
    fib_module = packages("fib")
    fib = wasm_backend("fib")
    with pytest.raises(fib_module.FibTrap) as caught:
        fib.divide(1, 0)
    trap = caught.value
    assert isinstance(trap, fib_module.FibError)
    assert trap.function == "divide"
    assert "unreachable" in trap.message  # Rust's panic is an `unreachable` on wasm
    assert str(trap).startswith("divide")
    assert fib.divide(7, 2) == 3  # the instance still works
    assert fib.gcd(12, 18) == 6


def test_parse_u32_of_non_digits_raises_trap(wasm_backend, packages):
    textkit_module = packages("textkit")
    textkit = wasm_backend("textkit")
    for text in ("x", "", "12a", "4294967296"):  # the last one overflows u32
        with pytest.raises(textkit_module.TextkitTrap) as caught:
            textkit.parse_u32(text)
        assert caught.value.function == "parse_u32"
        assert "unreachable" in caught.value.message
        assert textkit.parse_u32("42") == 42


def test_a_trap_is_not_an_input_error(wasm_backend, packages):
    textkit_module = packages("textkit")
    with pytest.raises(textkit_module.TextkitError) as caught:
        wasm_backend("textkit").parse_u32("nope")
    assert not isinstance(caught.value, ValueError)


def test_many_traps_in_a_row_leave_the_instance_usable(wasm_backend, packages):
    fib_module = packages("fib")
    fib = wasm_backend("fib")
    for a in range(50):
        with pytest.raises(fib_module.FibTrap):
            fib.divide(a, 0)
        assert fib.divide(a, 1) == a


def test_deep_recursion_is_fine(wasm_backend):
    # fibonacci recurses n deep; far from the wasm stack limit (stack overflow is not
    # tested: that depends on wasmtime's stack configuration).
    assert wasm_backend("fib").fibonacci(27) == 196418
    assert wasm_backend("cfib").fibonacci_c(27) == 196418


# ---- the arena is reset after every call -----------------------------------------------

SECRET = bytes(range(1, 256)) * 4  # no zero byte: a wiped arena cannot look like it


def arena_base(instance) -> int:
    """The first address bump_alloc hands out on this thread, after a reset."""
    state = instance._state()
    state.reset()
    base = state.alloc(0) & M32
    state.reset()
    assert base != 0
    return base


def assert_arena_reset(instance, base: int, span: int) -> None:
    """bump_alloc starts again at base, and the span bytes from it are zero."""
    state = instance._state()
    assert state.alloc(0) & M32 == base, "the arena was not reset"
    state.reset()
    used = state.memory_now()[base : base + span].tobytes()
    assert used == bytes(span), "the arena was not wiped"


def calls_and_outcomes(packages):
    """(guest, [(call, expected outcome)]): successful calls, refused inputs and traps."""
    textkit = packages("textkit")
    cfib = packages("cfib")
    numkit = packages("numkit")
    text = SECRET.decode("latin-1")
    return {
        "textkit": [
            (lambda t: t.sha256(SECRET), hashlib.sha256(SECRET).digest()),
            (lambda t: t.upper(text), text.upper()),
            (lambda t: t.reverse(SECRET), SECRET[::-1]),
            (lambda t: t.scale([1.5] * 100, 2.0), [3.0] * 100),
            (lambda t: t.fixed16(SECRET), textkit.TextkitInputError),
            (lambda t: t.parse_u32(text), textkit.TextkitTrap),
            (lambda t: t.count_char(text, ord("a")), 4),
        ],
        "cfib": [
            (lambda c: c.crc32(SECRET), zlib.crc32(SECRET)),
            (lambda c: c.rot13(text), None),
            (lambda c: c.xor_bytes(SECRET, SECRET), bytes(len(SECRET))),
            (lambda c: c.xor_bytes(SECRET, b"x"), cfib.CfibInputError),
            (lambda c: c.sum_i32(list(SECRET)), sum(SECRET)),
        ],
        "numkit": [
            (lambda n: n.prefix_sums(list(SECRET)), None),
            (lambda n: n.minmax_i8([]), numkit.NumkitInputError),
            (lambda n: n.minmax_i8([x - 128 for x in SECRET]), [-127, 127]),
            (lambda n: n.sum_u16(list(SECRET)), sum(SECRET)),
        ],
        "rust_user": [
            (lambda r: r.shout(text), None),
            (lambda r: r.evens(list(SECRET)), [x for x in SECRET if x % 2 == 0]),
            (lambda r: r.checksum(SECRET), None),
            (
                lambda r: r.checksum(bytes(2 << 20)),
                MemoryError,
            ),  # beyond its 1 MiB arena
        ],
        "c_user": [
            (lambda c: c.adler32(SECRET), zlib.adler32(SECRET)),
            (lambda c: c.reverse_words(text), None),
            (lambda c: c.squares(list(SECRET)), [x * x for x in SECRET]),
            (
                lambda c: c.has_zero(bytes(2 << 20)),
                MemoryError,
            ),  # beyond its 1 MiB arena
        ],
    }


@pytest.mark.parametrize("guest", ["textkit", "cfib", "numkit", "rust_user", "c_user"])
def test_arena_is_reset_and_wiped_after_every_call(wasm_backend, packages, guest):
    instance = wasm_backend(guest)
    base = arena_base(instance)
    # Every input and result of these calls fits in a few KiB after base; the check covers
    # 16 KiB, inside the first chunk of every arena, which was zero before any call.
    span = 16 * 1024
    for call, outcome in calls_and_outcomes(packages)[guest]:
        if isinstance(outcome, type) and issubclass(outcome, BaseException):
            with pytest.raises(outcome):
                call(instance)
        else:
            result = call(instance)
            if outcome is not None:
                assert result == outcome
        assert_arena_reset(instance, base, span)


def test_arena_is_reset_after_a_trap_with_a_large_input(wasm_backend, packages):
    textkit = wasm_backend("textkit")
    base = arena_base(textkit)
    secret = os.urandom(16 * 1024).hex()  # 32 KiB of text
    with pytest.raises(packages("textkit").TextkitTrap):
        textkit.parse_u32("x" + secret)
    assert_arena_reset(textkit, base, 40 * 1024)


def test_each_thread_has_its_own_store(wasm_backend):
    textkit = wasm_backend("textkit")
    stores = []

    def record() -> None:
        stores.append(textkit._state().store)
        assert textkit.sha256(b"abc") == hashlib.sha256(b"abc").digest()

    threads = [threading.Thread(target=record) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record()
    assert len({id(store) for store in stores}) == 4


# ---- a hostile guest: every pointer and length out of wasm is checked -----------------

# (wasm only: these are the wasm backend's checks on reads of guest memory; a native
# library's pointers are process addresses that nothing could check.)
# A hand-written module whose results point outside its memory, wrap to negative i32s or
# hold invalid UTF-8. wasmtime-py would slice memory with negative indices Python-style;
# the generated code must mask every pointer to unsigned and bounds-check it instead.
HOSTILE_WAT = r"""
(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (global $bad (mut i32) (i32.const 0))
  (func (export "bump_alloc") (param $n i32) (result i32)
    (local $p i32)
    (if (global.get $bad) (then (return (i32.const 65530))))
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top)
      (i32.and (i32.add (local.get $n) (i32.const 16)) (i32.const -16))))
    (local.get $p))
  (func (export "bump_reset") (global.set $top (i32.const 1024)))
  (func (export "set_bad_alloc") (param i32) (global.set $bad (local.get 0)))
  (func $pair (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 64) (local.get $ptr))
    (i32.store (i32.const 68) (local.get $len))
    (i32.const 64))
  (func (export "echo") (param i32 i32) (result i32) (call $pair (local.get 0) (local.get 1)))
  (func (export "pair_outside") (param i32 i32) (result i32) (i32.const 0x10000))
  (func (export "pair_straddles_end") (param i32 i32) (result i32) (i32.const 65532))
  (func (export "pair_negative") (param i32 i32) (result i32) (i32.const -16))
  (func (export "len_huge") (param i32 i32) (result i32)
    (call $pair (i32.const 128) (i32.const -1)))
  (func (export "data_negative") (param i32 i32) (result i32)
    (call $pair (i32.const -4) (i32.const 4)))
  (func (export "bad_utf8") (param i32 i32) (result i32)
    (i32.store8 (i32.const 128) (i32.const 0xff))
    (call $pair (i32.const 128) (i32.const 1)))
  (func (export "list_outside") (param i32 i32) (result i32)
    (call $pair (i32.const 65528) (i32.const 2)))
  (func (export "big_u32") (result i32) (i32.const -1))
  (func (export "ptr_high") (result i32) (i32.const -8))
)
"""

HOSTILE_SIGNATURES = """\
echo(data: bytes) -> bytes
pair_outside(data: bytes) -> bytes
pair_straddles_end(data: bytes) -> bytes
pair_negative(data: bytes) -> bytes
len_huge(data: bytes) -> bytes
data_negative(data: bytes) -> bytes
bad_utf8(text: str) -> str
list_outside(xs: list[u64]) -> list[u64]
big_u32() -> u32
ptr_high() -> ptr
set_bad_alloc(on: bool)
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    (work / "hostile.wasm").write_bytes(wasmtime.wat2wasm(HOSTILE_WAT))
    (work / "hostile.wasm2py").write_text(HOSTILE_SIGNATURES)
    result = subprocess.run(
        [
            str(require(WASM2PY, "wasm2py binary")),
            "gen",
            str(work / "hostile.wasm"),
            "-o",
            str(work / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(work / "out"))
    try:
        module = importlib.import_module("hostile")
    finally:
        sys.path.remove(str(work / "out"))
    return module


@pytest.mark.parametrize(
    "method",
    [
        "pair_outside",
        "pair_straddles_end",
        "pair_negative",
        "len_huge",
        "data_negative",
    ],
)
def test_a_result_outside_memory_raises_the_package_error(hostile, method):
    instance = hostile.Hostile()
    with pytest.raises(hostile.HostileError) as caught:
        getattr(instance, method)(b"abc")
    assert not isinstance(caught.value, ValueError)  # not a refused input
    assert method in str(caught.value)
    assert instance.echo(b"abc") == b"abc"  # still usable


def test_a_list_result_outside_memory_raises_the_package_error(hostile):
    with pytest.raises(hostile.HostileError, match="list_outside"):
        hostile.Hostile().list_outside([1])


def test_invalid_utf8_from_the_guest_raises_the_package_error(hostile):
    with pytest.raises(hostile.HostileError, match="UTF-8"):
        hostile.Hostile().bad_utf8("x")


def test_unsigned_results_of_a_hostile_guest_are_masked(hostile):
    instance = hostile.Hostile()
    assert instance.big_u32() == 2**32 - 1
    assert instance.ptr_high() == 2**32 - 8


def test_an_allocation_outside_memory_raises_the_package_error(hostile):
    instance = hostile.Hostile()
    instance.set_bad_alloc(True)
    try:
        with pytest.raises(hostile.HostileError):
            instance.echo(b"x" * 16)  # bump_alloc hands out 65530: 16 bytes do not fit
    finally:
        instance.set_bad_alloc(False)
    assert instance.echo(b"abc") == b"abc"


# ---- several results -------------------------------------------------------------------

# Multi-value exports, wrapped from their core types (annotations cannot name a tuple):
# the methods return tuples, through the generic raw invoker on the fast path.
MULTI_WAT = r"""
(module
  (func (export "divmod") (param $a i32) (param $b i32) (result i32 i32)
    (i32.div_s (local.get $a) (local.get $b))
    (i32.rem_s (local.get $a) (local.get $b)))
  (func (export "mixed") (param $x i64) (param $y f32) (param $z f64) (result f64 i64 f32 i32)
    (f64.add (local.get $z) (f64.const 0.5))
    (i64.sub (local.get $x) (i64.const 1))
    (f32.mul (local.get $y) (f32.const 2))
    (i32.const -1))
)
"""


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    work = tmp_path_factory.mktemp("multi")
    (work / "multi.wasm").write_bytes(wasmtime.wat2wasm(MULTI_WAT))
    result = subprocess.run(
        [str(require(WASM2PY, "wasm2py binary")), "gen", str(work / "multi.wasm"), "-o", str(work / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(work / "out"))
    try:
        module = importlib.import_module("multi")
    finally:
        sys.path.remove(str(work / "out"))
    return module


def test_several_results_come_back_as_a_tuple(multi):
    instance = multi.Multi()
    assert instance.divmod(17, 5) == (3, 2)
    assert instance.divmod(-17, 5) == (-3, -2)
    assert instance.mixed(2**63 - 1, 1.5, 0.25) == (0.75, 2**63 - 2, 3.0, -1)
    assert instance.mixed(-(2**63), -0.5, -1.0) == (-0.5, 2**63 - 1, -1.0, -1)


def test_a_trap_in_a_function_with_several_results(multi):
    instance = multi.Multi()
    with pytest.raises(multi.MultiTrap) as caught:
        instance.divmod(1, 0)
    assert caught.value.function == "divmod"
    assert instance.divmod(9, 4) == (2, 1)  # still usable


# ---- which call path runs ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["fib", "textkit", "numkit", "regexkit", "cfib"])
def test_the_call_path_is_the_one_the_environment_asks_for(wasm_backend, packages, name):
    """CI runs the suite twice, once per call path: this makes sure each run really takes
    its path. With the pinned wasmtime-py the fast path must be usable; if a new release
    changed the private bindings, the fast run would otherwise test the fallback twice."""
    wasm = importlib.import_module(f"{name}._wasm")
    wanted = os.environ.get("WASM2PY_FAST_PATH", "1") != "0"
    assert wasm.FAST_PATH is wanted
    instance = wasm_backend(name)
    assert type(instance).__name__.endswith("WasmFast") is wanted


def test_on_the_fast_path_arena_functions_have_specialised_bodies(wasm_backend):
    textkit = wasm_backend("textkit")
    methods = ("byte_len", "sha256", "upper", "scale", "parse_u32", "zeros")
    if importlib.import_module("textkit._wasm").FAST_PATH:
        # The fast subclass defines its own body for each of them...
        assert all(m in type(textkit).__dict__ for m in methods)
    else:
        # ...and the public-API run uses the base class's generic bodies.
        assert type(textkit).__name__ == "_TextkitWasm"
        assert all(m in type(textkit).__dict__ for m in methods)
    # A first call from a new thread takes the body's own set-up path and still works.
    results = []
    thread = threading.Thread(target=lambda: results.append(textkit.upper("a\u00e9")))
    thread.start()
    thread.join()
    assert results == ["A\u00c9"]
