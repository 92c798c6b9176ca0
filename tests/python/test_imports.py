"""Host imports end to end: Python functions called by the guest, through real packages.

The modules are written here in WAT and generated at test time (into a temporary
directory, with target/release/wasm2py and a sidecar of annotations) under names no other
test module uses. `impcheck` imports typed and untyped functions from "env" and exports
functions that call them; `impcheck_none` has no host imports; `impcheck_start` and
`impcheck_reactor` call a host import while being instantiated. Host imports are a
wasm-backend feature: every test here is wasm-only, and the native backend's refusal is
tested too. The suite runs on both call paths (WASM2PY_FAST_PATH=0 for the public API).
"""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
import threading
import weakref

import pytest
import wasmtime
from conftest import WASM2PY, require

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# The arena follows the guest protocol (docs/guest-protocol.md): bump_reset zeroes what it
# handed out since the last reset.
IMPCHECK_WAT = r"""
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "wide" (func $wide (param i64 i64) (result i64)))
  (import "env" "scale" (func $scale (param f64) (result f64)))
  (import "env" "check" (func $check (param i32) (result i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "blob" (func $blob (param i32 i32) (result i32)))
  (import "env" "raw" (func $raw (param i32 i64) (result i64)))
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (import "env" "narrow" (func $narrow (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func (export "bump_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top)
      (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
    (local.get $p))
  (func (export "bump_reset")
    (memory.fill (i32.const 1024) (i32.const 0) (i32.sub (global.get $top) (i32.const 1024)))
    (global.set $top (i32.const 1024)))
  (func (export "add_via_host") (param i32 i32) (result i32)
    (call $add (local.get 0) (local.get 1)))
  (func (export "wide_via_host") (param i64 i64) (result i64)
    (call $wide (local.get 0) (local.get 1)))
  (func (export "scale_via_host") (param f64) (result f64) (call $scale (local.get 0)))
  (func (export "check_via_host") (param i32) (result i32) (call $check (local.get 0)))
  (func (export "log_text") (param i32 i32) (call $log (local.get 0) (local.get 1)))
  (func (export "log_twice") (param i32 i32)
    (call $log (local.get 0) (local.get 1))
    (call $log (local.get 0) (local.get 1)))
  (func (export "log_at") (param i32 i32) (call $log (local.get 0) (local.get 1)))
  (func (export "log_bad_utf8")
    (i32.store8 (i32.const 512) (i32.const 0xff))
    (call $log (i32.const 512) (i32.const 1)))
  (func (export "blob_then_clobber") (param $p i32) (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (call $blob (local.get $p) (local.get $n)))
    (memory.fill (local.get $p) (i32.const 0xee) (local.get $n))
    (local.get $r))
  (func (export "raw_via_host") (param i32 i64) (result i64)
    (call $raw (local.get 0) (local.get 1)))
  (func (export "narrow_via_host") (param $v i32)
    (call $narrow (local.get $v) (local.get $v) (local.get $v) (local.get $v)))
  (func (export "loop") (param $n i32) (result i64)
    (local $i i32) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (call $tick (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "first_byte") (param i32 i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "boom") unreachable)
)
"""

# env.raw is deliberately not annotated: it gets its core type, (i32, i64) -> i64.
IMPCHECK_SIGNATURES = """\
/// Adds two numbers on the host.
import env.add(a: u32, b: u32) -> u32
import env.wide(a: u64, b: i64) -> u64
import env.scale(x: f64) -> f64
import env.check(n: u32) -> bool
/// Receives a message.
import env.log(msg: str)
import env.blob(data: bytes) -> u32
import env.tick(i: u32) -> u32
import env.narrow(a: u8, b: i8, c: u16, d: i16)
add_via_host(a: u32, b: u32) -> u32
wide_via_host(a: u64, b: i64) -> u64
scale_via_host(x: f64) -> f64
check_via_host(n: u32) -> u32
log_text(msg: str)
log_twice(msg: str)
log_at(ptr: ptr, len: u32)
log_bad_utf8()
blob_then_clobber(data: bytes) -> u32
raw_via_host(a: u32, b: u64) -> i64
narrow_via_host(v: u32)
loop(n: u32) -> u64
double(x: u32) -> u32
first_byte(data: bytes) -> u8
peek(addr: ptr) -> u8
boom()
"""

NONE_WAT = r"""
(module
  (func (export "triple") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
)
"""

# A start function and a reactor's _initialize both call a host import while the instance
# is being made (on the constructing thread, and again on each thread's first call).
START_WAT = r"""
(module
  (import "env" "hello" (func $hello (param i32) (result i32)))
  (global $g (mut i32) (i32.const 0))
  (func $start (global.set $g (call $hello (i32.const 7))))
  (start $start)
  (func (export "get") (result i32) (global.get $g))
  (func (export "boom") unreachable)
)
"""

REACTOR_WAT = r"""
(module
  (import "env" "hello" (func $hello (param i32) (result i32)))
  (global $g (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $g (call $hello (i32.const 7))))
  (func (export "get") (result i32) (global.get $g))
  (func (export "boom") unreachable)
)
"""

INIT_SIGNATURES = """\
import env.hello(n: u32) -> u32
get() -> u32
boom()
"""

IMPORT_KEYS = (
    "env.add",
    "env.wide",
    "env.scale",
    "env.check",
    "env.log",
    "env.blob",
    "env.raw",
    "env.tick",
    "env.narrow",
)


def generate(work, name: str, wat: str, signatures: str | None):
    (work / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    if signatures is not None:
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
def hc(tmp_path_factory):
    """The generated `impcheck` package."""
    return generate(tmp_path_factory.mktemp("impcheck"), "impcheck", IMPCHECK_WAT, IMPCHECK_SIGNATURES)


@pytest.fixture(scope="module")
def none_pkg(tmp_path_factory):
    """The generated `impcheck_none` package (no host imports)."""
    return generate(tmp_path_factory.mktemp("impcheck_none"), "impcheck_none", NONE_WAT, None)


@pytest.fixture(scope="module", params=["start", "reactor"])
def init_pkg(request, tmp_path_factory):
    """A package whose module calls a host import while it is instantiated: from a start
    function (`impcheck_start`) or from a reactor's `_initialize` (`impcheck_reactor`)."""
    name = f"impcheck_{request.param}"
    wat = START_WAT if request.param == "start" else REACTOR_WAT
    return generate(tmp_path_factory.mktemp(name), name, wat, INIT_SIGNATURES)


def default_imports(**overrides):
    """A full imports mapping: simple functions, with `name=function` overriding env.name."""
    imports = {
        "env.add": lambda a, b: (a + b) & M32,
        "env.wide": lambda a, b: (a + b) & M64,
        "env.scale": lambda x: x * 2,
        "env.check": lambda n: n % 2 == 1,
        "env.log": lambda msg: None,
        "env.blob": lambda data: len(data),
        "env.raw": lambda a, b: a + b,
        "env.tick": lambda i: i,
        "env.narrow": lambda a, b, c, d: None,
    }
    for name, function in overrides.items():
        assert f"env.{name}" in imports, name
        imports[f"env.{name}"] = function
    return imports


@pytest.fixture
def make(hc):
    """make(**overrides) is a new Impcheck on the wasm backend with those host functions."""

    def new(**overrides):
        instance = hc.Impcheck(imports=default_imports(**overrides))
        assert instance.backend == "wasm"
        return instance

    return new


# ---- arguments arrive lifted ---------------------------------------------------------------


def test_u32_arguments_arrive_unsigned_and_the_result_comes_back(make):
    seen = []

    def add(a, b):
        seen.append((a, b))
        return (a + b) & M32

    instance = make(add=add)
    assert instance.add_via_host(2, 3) == 5
    assert instance.add_via_host(M32, 0) == M32
    assert instance.add_via_host(0x80000000, 0x7FFFFFFF) == M32
    assert seen == [(2, 3), (M32, 0), (0x80000000, 0x7FFFFFFF)]
    assert all(type(a) is int and type(b) is int for a, b in seen)


def test_u64_arrives_unsigned_and_i64_signed(make):
    seen = []

    def wide(a, b):
        seen.append((a, b))
        return M64 if a == M64 else a

    instance = make(wide=wide)
    assert instance.wide_via_host(M64, -1) == M64
    assert instance.wide_via_host(2**63, -(2**63)) == 2**63
    assert instance.wide_via_host(1, 2**63 - 1) == 1
    assert seen == [(M64, -1), (2**63, -(2**63)), (1, 2**63 - 1)]


def test_f64_argument_and_result(make):
    seen = []

    def scale(x):
        seen.append(x)
        return x * 4

    instance = make(scale=scale)
    assert instance.scale_via_host(0.5) == 2.0
    assert instance.scale_via_host(-1e300) == -4e300
    assert seen == [0.5, -1e300]
    assert all(type(x) is float for x in seen)


def test_f64_result_accepts_an_int(make):
    instance = make(scale=lambda x: 3)
    result = instance.scale_via_host(1.0)
    assert result == 3.0 and type(result) is float


def test_bool_result_is_truthiness_lowered_to_0_or_1(make):
    returns = iter([True, False, 7, 0, "yes", "", [0], [], None])
    seen = []

    def check(n):
        seen.append(n)
        return next(returns)

    instance = make(check=check)
    # check_via_host returns the raw i32 the import produced, annotated u32 to see it exactly.
    results = [instance.check_via_host(M32) for _ in range(9)]
    assert results == [1, 0, 1, 0, 1, 0, 1, 0, 0]
    assert seen == [M32] * 9  # u32 argument unsigned


def test_str_argument_is_decoded(make):
    seen = []
    instance = make(log=seen.append)
    for text in ("", "hello", "h\u00e9llo w\u00f6rld \u20ac \U0001f600", "x" * 30_000):
        instance.log_text(text)
    assert seen == ["", "hello", "h\u00e9llo w\u00f6rld \u20ac \U0001f600", "x" * 30_000]
    assert all(type(s) is str for s in seen)


def test_bytes_argument_is_a_copy_of_guest_memory(make):
    kept = []

    def blob(data):
        kept.append(data)
        return len(data) + 1

    instance = make(blob=blob)
    payload = bytes(range(256)) * 3
    # The guest overwrites the data with 0xee after the import returns, and the arena is
    # wiped after the call: the bytes the host function got must not change.
    assert instance.blob_then_clobber(payload) == len(payload) + 1
    assert type(kept[0]) is bytes
    assert kept[0] == payload
    # The guest memory did change under it (else this test would prove nothing)...
    memory = instance._state().memory_now()
    assert memory[1024 : 1024 + len(payload)].tobytes() == bytes(len(payload))
    # ...and changing it again from outside does not reach the bytes either.
    memory[1024 : 1024 + len(payload)] = b"\xab" * len(payload)
    assert instance.peek(1024) == 0xAB
    assert kept == [payload]


def test_bytes_kept_across_calls_stay_intact(make):
    kept = []
    instance = make(blob=lambda d: kept.append(d) or 0)
    instance.blob_then_clobber(b"first")
    instance.blob_then_clobber(b"second")  # the same guest address, overwritten
    assert kept == [b"first", b"second"]


def test_unannotated_import_gets_signed_core_values(make):
    seen = []

    def raw(a, b):
        seen.append((a, b))
        return -5

    instance = make(raw=raw)
    assert instance.raw_via_host(M32, M64) == -5
    assert instance.raw_via_host(0x80000000, 2**63) == -5
    assert instance.raw_via_host(7, 8) == -5
    assert seen == [(-1, -1), (-(2**31), -(2**63)), (7, 8)]


def test_unannotated_import_result_is_range_checked_as_i64(make):
    instance = make(raw=lambda a, b: 2**63)
    with pytest.raises(OverflowError, match="env.raw"):
        instance.raw_via_host(1, 2)
    instance = make(raw=lambda a, b: -(2**63))
    assert instance.raw_via_host(1, 2) == -(2**63)


def test_narrow_unsigned_arguments_are_masked(make):
    seen = []
    instance = make(narrow=lambda a, b, c, d: seen.append((a, c)))
    instance.narrow_via_host(0x1FF)
    instance.narrow_via_host(0x18000)
    assert seen == [(0xFF, 0x1FF), (0x00, 0x8000)]


def test_narrow_signed_arguments_arrive_in_range(make):
    """An i8/i16 parameter arrives as a value of that type, like an i8/i16 export result
    (truncated and sign-extended), never as the raw i32 the guest passed."""
    seen = []
    instance = make(narrow=lambda a, b, c, d: seen.append((b, d)))
    instance.narrow_via_host(0xFF)
    instance.narrow_via_host(0x1FF)
    instance.narrow_via_host(0x18000)
    instance.narrow_via_host(5)
    assert seen == [(-1, 255), (-1, 511), (0, -32768), (5, 5)]


# ---- results are range-checked -------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 2**32, 2**64, -(2**40)])
def test_u32_result_out_of_range_raises_overflow_error_naming_the_import(make, bad):
    results = iter([bad, 5])
    instance = make(add=lambda a, b: next(results))
    with pytest.raises(OverflowError) as caught:
        instance.add_via_host(1, 2)
    assert "env.add" in str(caught.value)
    assert "u32" in str(caught.value)
    assert instance.add_via_host(1, 2) == 5  # the instance stays usable


def test_u32_result_at_the_bounds_is_accepted(make):
    results = iter([0, M32])
    instance = make(add=lambda a, b: next(results))
    assert instance.add_via_host(1, 2) == 0
    assert instance.add_via_host(1, 2) == M32


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_u64_result_out_of_range_raises_overflow_error(make, bad):
    instance = make(wide=lambda a, b: bad)
    with pytest.raises(OverflowError, match="env.wide"):
        instance.wide_via_host(1, 2)


@pytest.mark.parametrize("bad", [None, "3", 3.0, b"3", [3]])
def test_wrong_result_type_raises_type_error_naming_the_import(make, bad):
    instance = make(add=lambda a, b: bad)
    with pytest.raises(TypeError) as caught:
        instance.add_via_host(1, 2)
    assert "env.add" in str(caught.value)


@pytest.mark.parametrize("bad", ["1.5", None, b"1"])
def test_wrong_float_result_type_raises_type_error(make, bad):
    instance = make(scale=lambda x: bad)
    with pytest.raises(TypeError, match="env.scale"):
        instance.scale_via_host(1.0)


def test_a_result_error_leaves_the_instance_usable(make):
    results = iter([-1, "x", 41])
    instance = make(add=lambda a, b: next(results))
    with pytest.raises(OverflowError):
        instance.add_via_host(1, 2)
    with pytest.raises(TypeError):
        instance.add_via_host(1, 2)
    assert instance.add_via_host(1, 2) == 41
    assert instance.double(21) == 42


# ---- what the guest passes is checked --------------------------------------------------------


@pytest.mark.parametrize(("ptr", "length"), [(65530, 100), (0x10000, 1), (0xFFFFFFF0, 4), (0, M32)])
def test_a_str_outside_guest_memory_raises_the_package_error(make, hc, ptr, length):
    seen = []
    instance = make(log=seen.append)
    with pytest.raises(hc.ImpcheckError) as caught:
        instance.log_at(ptr, length)
    assert "env.log" in str(caught.value)
    assert seen == []  # the host function never ran
    instance.log_text("ok")
    assert seen == ["ok"]


def test_invalid_utf8_from_the_guest_raises_the_package_error(make, hc):
    seen = []
    instance = make(log=seen.append)
    with pytest.raises(hc.ImpcheckError, match="env.log.*UTF-8"):
        instance.log_bad_utf8()
    assert seen == []
    instance.log_text("fine")
    assert seen == ["fine"]


# ---- exceptions from host functions ----------------------------------------------------------


class HostFailure(Exception):
    pass


class HostAbort(BaseException):
    """Not an Exception: must propagate all the same."""


@pytest.mark.parametrize("kind", [HostFailure, KeyError, HostAbort])
def test_a_host_exception_propagates_as_the_same_object(make, kind):
    error = kind("from the host")
    calls = []

    def add(a, b):
        calls.append((a, b))
        if len(calls) == 1:
            raise error
        return a + b

    instance = make(add=add)
    with pytest.raises(kind) as caught:
        instance.add_via_host(1, 2)
    assert caught.value is error
    # The instance stays usable: the next call works and reaches the host function.
    assert instance.add_via_host(3, 4) == 7
    assert calls == [(1, 2), (3, 4)]


def test_a_host_exception_in_a_loop_stops_the_guest(make):
    calls = []

    def tick(i):
        calls.append(i)
        if i == 5:
            raise HostFailure(i)
        return i

    instance = make(tick=tick)
    with pytest.raises(HostFailure):
        instance.loop(100)
    assert calls == list(range(6))  # the guest did not go on after the exception
    calls.clear()
    assert instance.loop(5) == sum(range(5))


def test_a_host_exception_is_not_left_pending_for_a_later_trap(make, hc):
    def add(a, b):
        raise HostFailure("once")

    instance = make(add=add)
    with pytest.raises(HostFailure):
        instance.add_via_host(1, 2)
    with pytest.raises(hc.ImpcheckTrap) as caught:
        instance.boom()
    assert caught.value.function == "boom"
    assert "unreachable" in caught.value.message


def test_a_host_exception_from_a_str_import_resets_the_arena(make):
    def log(msg):
        raise HostFailure(msg)

    instance = make(log=log)
    with pytest.raises(HostFailure) as caught:
        instance.log_text("secret")
    assert caught.value.args == ("secret",)
    state = instance._state()
    assert state.memory_now()[1024:1040].tobytes() == bytes(16)  # wiped by bump_reset


# ---- construction ----------------------------------------------------------------------------


def test_a_missing_import_is_an_error_at_construction_naming_it(hc):
    imports = default_imports()
    del imports["env.tick"]
    with pytest.raises(hc.ImpcheckError) as caught:
        hc.Impcheck(imports=imports)
    assert "env.tick" in str(caught.value)
    assert "env.add" not in str(caught.value).split(";")[0]  # only the missing one is named


def test_no_imports_at_all_names_every_import(hc):
    for call in (lambda: hc.Impcheck(), lambda: hc.Impcheck(imports={}), lambda: hc.Impcheck(backend="wasm")):
        with pytest.raises(hc.ImpcheckError) as caught:
            call()
        for key in IMPORT_KEYS:
            assert key in str(caught.value)


def test_module_level_functions_need_the_imports_too(hc):
    with pytest.raises(hc.ImpcheckError, match="env.add"):
        hc.double(2)


def test_an_unknown_import_key_is_refused(hc):
    imports = default_imports()
    imports["env.nope"] = lambda: None
    with pytest.raises(hc.ImpcheckError) as caught:
        hc.Impcheck(imports=imports)
    assert "env.nope" in str(caught.value)


def test_a_non_callable_import_is_a_type_error(hc):
    imports = default_imports()
    imports["env.add"] = 42
    with pytest.raises(TypeError) as caught:
        hc.Impcheck(imports=imports)
    assert "env.add" in str(caught.value)


def test_imports_for_a_module_without_host_imports_are_refused(none_pkg):
    with pytest.raises(none_pkg.ImpcheckNoneError) as caught:
        none_pkg.ImpcheckNone(imports={"env.add": lambda a, b: a + b})
    assert "env.add" in str(caught.value)
    assert none_pkg.ImpcheckNone().triple(3) == 9  # the module itself works


@pytest.mark.parametrize("library", ["/nonexistent/libimpcheck.so", None])
def test_the_native_backend_refuses_a_module_with_host_imports(hc, library):
    # The check comes before any library is looked for: no library exists here at all.
    with pytest.raises(hc.ImpcheckError) as caught:
        hc.Impcheck(backend="native", library=library)
    message = str(caught.value)
    assert "host import" in message
    assert "env.add" in message
    assert "wasm" in message


def test_a_library_alone_selects_native_and_is_refused(hc):
    with pytest.raises(hc.ImpcheckError, match="host import"):
        hc.Impcheck(library="/nonexistent/libimpcheck.so")


def test_the_class_docstring_lists_the_imports(hc):
    doc = hc.Impcheck.__doc__
    assert doc is not None
    assert "imports=" in doc
    for line in (
        "env.add(a: u32, b: u32) -> u32",
        "env.wide(a: u64, b: i64) -> u64",
        "env.scale(x: f64) -> f64",
        "env.check(n: u32) -> bool",
        "env.log(msg: str)",
        "env.blob(data: bytes) -> u32",
        "env.tick(i: u32) -> u32",
        "env.narrow(a: u8, b: i8, c: u16, d: i16)",
    ):
        assert line in doc, line
    raw = next(line for line in doc.splitlines() if "env.raw" in line)
    assert "i32" in raw and "i64" in raw and "not annotated" in raw


# ---- re-entrancy ------------------------------------------------------------------------------


def test_a_host_import_can_call_another_export_of_the_same_instance(make):
    box = []
    instance = make(tick=lambda i: box[0].double(i), add=lambda a, b: box[0].double(a) + b)
    box.append(instance)
    assert instance.loop(10) == 2 * sum(range(10))
    assert instance.add_via_host(20, 2) == 42


def test_re_entrant_calls_that_call_imports_again(make):
    box = []
    # add -> the guest -> scale -> the host -> (returns) ... two levels of guest and host.
    instance = make(
        add=lambda a, b: int(box[0].scale_via_host(float(a))) + b,
        scale=lambda x: x * 10,
    )
    box.append(instance)
    assert instance.add_via_host(4, 2) == 42


def test_a_host_import_can_call_the_export_that_is_running(make):
    box = []
    # tick(i) = loop(i) + 1, so loop(n) = 2**n - 1: recursion through the same export.
    instance = make(tick=lambda i: box[0].loop(i) + 1)
    box.append(instance)
    assert [instance.loop(n) for n in range(8)] == [2**n - 1 for n in range(8)]


def test_a_re_entrant_exception_propagates_through_both_levels(make):
    error = HostFailure("deep")
    box = []

    def scale(x):
        raise error

    instance = make(add=lambda a, b: int(box[0].scale_via_host(1.0)), scale=scale)
    box.append(instance)
    with pytest.raises(HostFailure) as caught:
        instance.add_via_host(1, 2)
    assert caught.value is error
    assert instance.double(4) == 8


def test_a_host_import_can_catch_the_exception_of_a_re_entrant_call(make, hc):
    box = []

    def add(a, b):
        try:
            box[0].boom()
        except hc.ImpcheckTrap as trap:  # the inner call's trap, caught by the host
            return 7 if trap.function == "boom" else 0
        return 0

    instance = make(add=add)
    box.append(instance)
    assert instance.add_via_host(1, 2) == 7
    assert instance.add_via_host(1, 2) == 7


def test_a_re_entrant_arena_call_keeps_the_outer_calls_arena(make):
    """The outer call's input is still in the arena while its guest runs: a re-entrant call
    that passes bytes must not reset (and wipe) the arena under it."""
    seen = []
    box = []

    def log(msg):
        seen.append(msg)
        if len(seen) == 1:
            seen.append(box[0].first_byte(b"Z"))

    instance = make(log=log)
    box.append(instance)
    instance.log_twice("hello")  # the guest passes the same (ptr, len) to log twice
    assert seen == ["hello", ord("Z"), "hello"]
    # And the arena is reset after the outer call.
    assert instance._state().memory_now()[1024:1056].tobytes() == bytes(32)


# ---- several instances -------------------------------------------------------------------------


def test_two_instances_on_one_thread_each_call_their_own_functions(make):
    a_seen, b_seen = [], []
    a = make(add=lambda x, y: x + y, log=a_seen.append)
    b = make(add=lambda x, y: x * y, log=b_seen.append)
    for i in range(50):
        assert a.add_via_host(i, 3) == i + 3
        assert b.add_via_host(i, 3) == i * 3
        a.log_text(f"a{i}")
        b.log_text(f"b{i}")
    assert a_seen == [f"a{i}" for i in range(50)]
    assert b_seen == [f"b{i}" for i in range(50)]


def test_a_host_function_of_one_instance_calling_another_instance(make):
    a_seen, b_seen = [], []
    box = []

    def a_log(msg):
        a_seen.append(msg)
        if len(a_seen) == 1:
            box[0].log_text("inner")

    a = make(log=a_log)
    b = make(log=b_seen.append)
    box.append(b)
    a.log_twice("outer")
    assert a_seen == ["outer", "outer"]
    assert b_seen == ["inner"]


def test_an_instance_made_inside_a_host_function_does_not_take_over_its_imports(make):
    """Constructing an instance instantiates it on this thread, inside the running guest
    call of another: the running instance's next import must still reach its own function."""
    a_seen, c_seen = [], []
    made = []

    def a_log(msg):
        a_seen.append(msg)
        if len(a_seen) == 1:
            made.append(make(log=c_seen.append))

    a = make(log=a_log)
    a.log_twice("outer")
    assert a_seen == ["outer", "outer"]
    assert c_seen == []
    made[0].log_text("c")
    assert c_seen == ["c"]


def test_a_first_call_on_this_thread_inside_a_host_function(make):
    """b was made on another thread, so its first call here instantiates it here, inside
    a's guest call: a's next import must still reach a's function."""
    a_seen, b_seen = [], []
    box = []
    thread = threading.Thread(target=lambda: box.append(make(log=b_seen.append)))
    thread.start()
    thread.join()

    def a_log(msg):
        a_seen.append(msg)
        if len(a_seen) == 1:
            a_seen.append(box[0].double(21))

    a = make(log=a_log)
    a.log_twice("outer")
    assert a_seen == ["outer", 42, "outer"]
    assert b_seen == []


# ---- threads ------------------------------------------------------------------------------------


def test_eight_threads_share_one_instance(make):
    calls_per_thread = 300
    errors = []
    per_thread = {}

    def add(a, b):
        # The host function runs on the thread that called into the guest.
        per_thread[threading.get_ident()] = per_thread.get(threading.get_ident(), 0) + 1
        if b == 13:
            raise HostFailure((a, threading.get_ident()))
        return (a * 7 + b) & M32

    logs = {}
    lock = threading.Lock()

    def log(msg):
        with lock:
            logs.setdefault(threading.get_ident(), []).append(msg)

    instance = make(add=add, log=log)
    barrier = threading.Barrier(8)

    def work(t):
        try:
            barrier.wait()
            for i in range(calls_per_thread):
                a = t * 1_000_003 + i
                if i % 50 == 13:
                    with pytest.raises(HostFailure) as caught:
                        instance.add_via_host(a, 13)
                    assert caught.value.args[0] == (a, threading.get_ident())
                else:
                    b = (i * 2654435761) & M32
                    assert instance.add_via_host(a, b) == (a * 7 + b) & M32
                if i % 10 == 0:
                    instance.log_text(f"thread {t} call {i} \u00e9")
                    assert instance.loop(i % 7) == sum(range(i % 7))
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(per_thread.values()) == [calls_per_thread] * 8
    assert len(logs) == 8
    for messages in logs.values():
        t = int(messages[0].split()[1])
        assert messages == [f"thread {t} call {i} \u00e9" for i in range(0, calls_per_thread, 10)]


def test_a_round_trip_per_iteration(make):
    count = []

    def tick(i):
        count.append(1)
        return i * 3

    instance = make(tick=tick)
    assert instance.loop(10_000) == 3 * sum(range(10_000))
    assert len(count) == 10_000
    assert instance.loop(0) == 0


def test_loop_with_large_u32_results(make):
    instance = make(tick=lambda i: M32)
    assert instance.loop(1000) == 1000 * M32  # u32 results summed unsigned in an i64


# ---- lifetime ----------------------------------------------------------------------------------


def test_a_dropped_instance_frees_its_stores(make):
    """An instance with host imports and its per-thread stores go away with it."""
    refs = []
    for _ in range(5):
        instance = make()
        assert instance.add_via_host(1, 2) == 3
        refs.append(weakref.ref(instance._state()))
        del instance
    gc.collect()
    assert [r() is None for r in refs] == [True] * 5


def test_a_finished_thread_leaves_no_store_behind(make):
    instance = make()
    refs = []

    def work():
        assert instance.add_via_host(1, 2) == 3
        refs.append(weakref.ref(instance._state()))

    for _ in range(4):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    gc.collect()
    assert len(refs) == 4
    assert [r() is None for r in refs] == [True] * 4
    assert instance.add_via_host(2, 3) == 5  # this thread's store is untouched


# ---- host imports called while an instance is made -------------------------------------------


def init_api(pkg):
    """(class, trap class) of impcheck_start or impcheck_reactor."""
    prefix = "ImpcheckStart" if pkg.__name__ == "impcheck_start" else "ImpcheckReactor"
    return getattr(pkg, prefix), getattr(pkg, prefix + "Trap")


def test_a_host_import_called_during_instantiation(init_pkg):
    seen = []

    def hello(n):
        seen.append((n, threading.get_ident()))
        return n * 6

    cls, _ = init_api(init_pkg)
    instance = cls(imports={"env.hello": hello})
    assert seen == [(7, threading.get_ident())]  # at construction, on this thread
    assert instance.get() == 42
    # Another thread's first call makes its own instance, which calls the import again.
    results = []
    thread = threading.Thread(target=lambda: results.append(instance.get()))
    thread.start()
    thread.join()
    assert results == [42]
    assert len(seen) == 2 and seen[1][0] == 7 and seen[1][1] != seen[0][1]


def test_a_host_exception_during_instantiation_propagates_as_itself(init_pkg):
    error = HostFailure("at start-up")

    def hello(n):
        raise error

    cls, trap_class = init_api(init_pkg)
    with pytest.raises(HostFailure) as caught:
        cls(imports={"env.hello": hello})
    assert caught.value is error
    # Nothing is left pending: a later trap on this thread is the trap itself.
    instance = cls(imports={"env.hello": lambda n: n})
    with pytest.raises(trap_class) as trap:
        instance.boom()
    assert trap.value.function == "boom"
    assert instance.get() == 7


def test_a_bad_result_during_instantiation_names_the_import(init_pkg):
    cls, _ = init_api(init_pkg)
    with pytest.raises(OverflowError, match="env.hello"):
        cls(imports={"env.hello": lambda n: -1})
    assert cls(imports={"env.hello": lambda n: M32}).get() == M32
