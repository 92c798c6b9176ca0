"""Arena protocol version 2 (docs/guest-protocol.md, "Arena protocol version 2"): the
guest exports its arena record `wasm2py_arena() -> {base, top, limit, busy}`, and the host
allocates inputs and resets the arena without calling the guest.

The guest is C written from the protocol text alone (no SDK, no header): a plain global
arena on wasm, whose state is the record, and per-thread arenas natively with the record's
`busy` counting the threads that hold anything. It counts its own `bump_alloc` and
`bump_reset` calls, so the tests see every guest round trip the host makes. Hostile records
come from WAT: whatever the record says, the host reads and writes only inside the memory.
"""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from conftest import GENERATED, SPEC_OUT, c_guest_package, generate_package, require

GUEST_C = r"""
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct { size_t base, top, limit, busy; } w2p_arena_record;
typedef struct { const void *ptr; size_t len; } w2p_slice;

static uint32_t allocs, resets; /* guest round trips of the protocol, for the tests */

#ifdef __wasm__
/* One thread: the record is the arena's state. */
static unsigned char heap[8192] __attribute__((aligned(16)));
static w2p_arena_record record = {(size_t)heap, (size_t)heap, (size_t)heap + sizeof heap, 0};
#define TOP record.top
#define BASE record.base
static void counted(void) {}
static void uncounted(void) { record.busy = 0; }
static void mark_busy(void) { record.busy = 1; }
#else
/* Natively: an arena per thread; the process-wide record only counts busy threads. */
static w2p_arena_record record;
static _Thread_local unsigned char heap[8192] __attribute__((aligned(16)));
static _Thread_local size_t top_, counted_;
#define TOP top_
#define BASE ((size_t)heap)
static void counted(void) {
    if (!counted_) { counted_ = 1; __atomic_fetch_add(&record.busy, 1, __ATOMIC_SEQ_CST); }
}
static void uncounted(void) {
    if (counted_) { counted_ = 0; __atomic_fetch_sub(&record.busy, 1, __ATOMIC_SEQ_CST); }
}
static void mark_busy(void) { counted(); }
#endif

EXPORT void wasm2py_arena_per_thread(void) {}
EXPORT w2p_arena_record *wasm2py_arena(void) { return &record; }

static void *alloc(size_t n) {
    size_t base = BASE, top = TOP < BASE ? BASE : TOP;
    size_t at = (top + 15) & ~(size_t)15;
    if (n > sizeof heap || at - base > sizeof heap - n) return NULL;
    TOP = at + n;
    counted();
    return (void *)at;
}

/* Counted only when the host calls it: the guest's own allocations use alloc(). */
EXPORT void *bump_alloc(size_t n) {
    allocs++;
    return alloc(n);
}

EXPORT void bump_reset(void) {
    resets++;
    size_t base = BASE, top = TOP;
    if (top > base + sizeof heap) top = base + sizeof heap;
    for (size_t p = base; p < top; p++) *(unsigned char *)p = 0;
    TOP = base;
    uncounted();
}

EXPORT uint32_t guest_allocs(void) { return allocs; }
EXPORT uint32_t guest_resets(void) { return resets; }
/* The arena's bytes in use, as the guest sees them. */
EXPORT uint32_t arena_used(void) { return (uint32_t)(TOP - BASE); }
/* Whether every byte of the arena is zero. */
EXPORT uint32_t arena_clean(void) {
    for (size_t i = 0; i < sizeof heap; i++) if (heap[i]) return 0;
    return 1;
}

static w2p_slice *give(const void *data, size_t n) {
    w2p_slice *pair = alloc(sizeof *pair);
    unsigned char *copy = alloc(n);
    if (!pair || !copy) return NULL;
    for (size_t i = 0; i < n; i++) copy[i] = ((const unsigned char *)data)[i];
    pair->ptr = copy;
    pair->len = n;
    return pair;
}

EXPORT uint64_t byte_sum(const unsigned char *data, size_t n) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += data[i];
    return sum;
}

EXPORT w2p_slice *echo(const unsigned char *data, size_t n) { return give(data, n); }

/* a, then b: two inputs in the arena at once. */
EXPORT w2p_slice *join(const unsigned char *a, size_t na, const char *b, size_t nb) {
    unsigned char out[4096];
    if (na + nb > sizeof out) return NULL;
    for (size_t i = 0; i < na; i++) out[i] = a[i];
    for (size_t i = 0; i < nb; i++) out[na + i] = (unsigned char)b[i];
    return give(out, na + nb);
}

EXPORT w2p_slice *upper(const char *text, size_t n) {
    unsigned char out[4096];
    if (n > sizeof out) return NULL;
    for (size_t i = 0; i < n; i++) out[i] = (text[i] >= 'a' && text[i] <= 'z') ? (unsigned char)(text[i] - 32) : (unsigned char)text[i];
    return give(out, n);
}

/* Marks the arena busy (as a guest holding buffers outside [base, top) does): the host
 * must call bump_reset after this call. */
EXPORT uint32_t hold(const unsigned char *data, size_t n) {
    (void)data;
    mark_busy();
    return (uint32_t)n;
}

EXPORT double total(const double *xs, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += xs[i];
    return sum;
}
"""

GUEST_SIG = """\
byte_sum(data: bytes) -> u64
echo(data: bytes) -> bytes
join(a: bytes, b: str) -> bytes
upper(text: str) -> str
hold(data: bytes) -> u32
total(xs: list[f64]) -> f64
guest_allocs() -> u32
guest_resets() -> u32
arena_used() -> u32
arena_clean() -> bool
"""


@pytest.fixture(scope="module")
def arenas(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The package `arenas`, generated from GUEST_C built for wasm32 and natively."""
    return c_guest_package(tmp_path_factory.mktemp("arenas"), "arenas", GUEST_C, GUEST_SIG)


@pytest.fixture(params=["wasm", "native"])
def guest(request: pytest.FixtureRequest, arenas: Any) -> Any:
    if request.param == "wasm":
        return arenas.Arenas()
    return arenas.Arenas(backend="native", library=arenas.LIBRARY)


def round_trips(guest: Any) -> tuple[int, int]:
    return guest.guest_allocs(), guest.guest_resets()


def test_the_generator_sees_version_2(arenas: Any) -> None:
    text = Path(arenas.__file__).with_name("_wasm.py").read_text()
    assert "arena_record=True" in text
    assert "_aw, _mv, _b, _room = self._local.x_byte_sum" in text  # the inline path of the fast bodies


def test_calls_work_on_both_backends(guest: Any) -> None:
    data = bytes(range(200))
    assert guest.byte_sum(data) == sum(data)
    assert guest.echo(data) == data
    assert guest.echo(b"") == b""
    assert guest.join(b"ab", "cd") == b"abcd"
    assert guest.upper("héllo") == "HéLLO"
    assert guest.total([1.5, 2.5]) == 4.0
    assert guest.byte_sum(bytearray(b"\x01\x02")) == 3
    assert guest.byte_sum(memoryview(b"\x00\x05\x00")[1:2]) == 5


def test_a_bytes_call_is_one_guest_call_on_wasm(arenas: Any) -> None:
    guest = arenas.Arenas()
    data = bytes(range(64))
    guest.byte_sum(data)  # the first call may set things up
    before = round_trips(guest)
    for _ in range(20):
        assert guest.byte_sum(data) == sum(data)
        assert guest.echo(data) == data
        assert guest.join(data, "xyz") == data + b"xyz"
        assert guest.upper("abc") == "ABC"
        assert guest.total([1.0, 2.0, 3.0]) == 6.0
    # No bump_alloc, no bump_reset: the host allocated and reset through the record.
    assert round_trips(guest) == before
    # And it reset: nothing in use, every byte zeroed again.
    assert guest.arena_used() == 0
    assert guest.arena_clean()


def test_busy_makes_the_host_call_bump_reset(guest: Any) -> None:
    guest.byte_sum(b"x")
    allocs, resets = round_trips(guest)
    assert guest.hold(b"abc") == 3
    after = round_trips(guest)
    assert after[1] == resets + 1, "busy: the guest's own bump_reset ran"
    guest.byte_sum(b"x")
    assert round_trips(guest)[1] == after[1], "busy was cleared: the host resets again"
    assert guest.arena_used() == 0
    if guest.backend == "wasm":
        assert after[0] == allocs


def test_inputs_bigger_than_the_window_or_the_block(guest: Any) -> None:
    # 8 KiB block: a 6 KiB input fits (allocated by the host, outside the inline window
    # when that is smaller); a 10 KiB one does not: bump_alloc says no, MemoryError.
    six = bytes(range(256)) * 24
    assert guest.byte_sum(six) == sum(six)
    if guest.backend == "wasm":
        with pytest.raises(MemoryError, match="byte_sum: the guest arena cannot hold 10240 more bytes"):
            guest.byte_sum(bytes(10240))
    assert guest.byte_sum(b"\x07") == 7
    assert guest.arena_used() == 0


def test_native_skips_bump_reset_when_no_thread_holds_anything(arenas: Any) -> None:
    guest = arenas.Arenas(backend="native", library=arenas.LIBRARY)
    guest.echo(b"warm")
    before = round_trips(guest)
    for _ in range(10):
        assert guest.byte_sum(b"abc") == 294  # inputs in place: the arena stays empty
    assert round_trips(guest)[1] == before[1]
    assert guest.echo(b"xy") == b"xy"  # the result was in the arena: reset
    assert round_trips(guest)[1] == before[1] + 1


def test_native_threads_count_busy_and_stay_correct(arenas: Any) -> None:
    guest = arenas.Arenas(backend="native", library=arenas.LIBRARY)
    failures: list[str] = []

    def work(k: int) -> None:
        for i in range(300):
            data = bytes([k, i % 256]) * (1 + i % 50)
            if guest.echo(data) != data or guest.byte_sum(data) != sum(data):
                failures.append(f"thread {k} call {i}")
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # Every thread reset its arena: none counts as busy any more.
    assert guest._arena[3] == 0


# ---- hostile records ------------------------------------------------------------------

HOSTILE_WAT = """
(module
  (memory (export "memory") 1)
  ;; the record's address, and the record itself at 1024: base 4096, top 4096, limit 8192
  (global $at (mut i32) (i32.const 1024))
  (global $allocs (mut i32) (i32.const 0))
  (global $resets (mut i32) (i32.const 0))
  (data (i32.const 1024) "\\00\\10\\00\\00\\00\\10\\00\\00\\00\\20\\00\\00\\00\\00\\00\\00")
  (func (export "wasm2py_arena") (result i32) (global.get $at))
  (func (export "set_at") (param i32) (global.set $at (local.get 0)))
  (func (export "poke") (param $base i32) (param $top i32) (param $limit i32) (param $busy i32)
    (i32.store (i32.const 1024) (local.get $base))
    (i32.store (i32.const 1028) (local.get $top))
    (i32.store (i32.const 1032) (local.get $limit))
    (i32.store (i32.const 1036) (local.get $busy)))
  ;; a well-behaved fallback arena at 32768..65536, used only when the host asks
  (global $top (mut i32) (i32.const 32768))
  (func (export "bump_alloc") (param $n i32) (result i32) (local $p i32)
    (global.set $allocs (i32.add (global.get $allocs) (i32.const 1)))
    (local.set $p (global.get $top))
    (if (i32.gt_u (local.get $n) (i32.sub (i32.const 65536) (local.get $p)))
      (then (return (i32.const 0))))
    (global.set $top (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 15)) (i32.const -16)))
    (local.get $p))
  (func (export "bump_reset")
    (global.set $resets (i32.add (global.get $resets) (i32.const 1)))
    (global.set $top (i32.const 32768)))
  (func (export "round_trips") (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (global.get $allocs)) (i64.const 32))
            (i64.extend_i32_u (global.get $resets))))
  (func $byte_sum (export "byte_sum") (param $p i32) (param $n i32) (result i64) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  ;; byte_sum that leaves the record as the caller says (the host resets after it)
  (func (export "sum_and_poke") (param $p i32) (param $n i32) (param $top i32) (param $busy i32) (result i64)
    (i32.store (i32.const 1028) (local.get $top))
    (i32.store (i32.const 1036) (local.get $busy))
    (call $byte_sum (local.get $p) (local.get $n)))
  (func (export "peek") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
)
"""

HOSTILE_SIG = """\
set_at(at: u32)
poke(base: u32, top: u32, limit: u32, busy: u32)
round_trips() -> u64
byte_sum(data: bytes) -> u64
sum_and_poke(data: bytes, top: u32, busy: u32) -> u64
peek(address: u32) -> u8
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("hostile_arena")
    (work / "hostile_arena.wasm").write_bytes(wasmtime.wat2wasm(HOSTILE_WAT))
    (work / "hostile_arena.wasm2py").write_text(HOSTILE_SIG)
    return generate_package(work / "hostile_arena.wasm", work / "out")


def trips(guest: Any) -> tuple[int, int]:
    value = guest.round_trips()
    return value >> 32, value & 0xFFFFFFFF


def test_the_hostile_module_is_version_2(hostile: Any) -> None:
    guest = hostile.HostileArena()
    data = bytes(range(100))
    assert guest.byte_sum(data) == sum(data)
    assert guest.byte_sum(data) == sum(data)
    assert trips(guest) == (0, 0), "an honest record: no bump_alloc, no bump_reset"
    assert guest.peek(4096) == 0, "the input was zeroed at the reset"


@pytest.mark.parametrize(
    ("base", "top", "limit", "usable"),
    [
        (0xFFFFFFF0, 0xFFFFFFF0, 0xFFFFFFFF, False),  # a block far outside the 64 KiB memory
        (65536 - 16, 65536 - 16, 0xFFFFFFFF, False),  # starts inside, ends outside
        (8192, 8192, 4096, False),  # limit below base
        (4096, 4000, 8192, True),  # top below base (the host's next write sets it)
        (4096, 8192 + 64, 8192, True),  # top past limit (likewise)
        (0, 0xFFFFFFFF, 0xFFFFFFFF, False),  # base 0: never used (an input at address 0)
        (16, 0xFFFFFFFF, 0xFFFFFFFF, True),  # the whole address space: only the memory counts
    ],
)
@pytest.mark.parametrize("busy", [0, 1])
def test_a_record_outside_the_memory_is_never_used(
    hostile: Any, base: int, top: int, limit: int, usable: bool, busy: int
) -> None:
    guest = hostile.HostileArena()
    data = bytes(range(64))
    assert guest.byte_sum(data) == sum(data)
    guest.poke(base, top, limit, busy)
    for _ in range(3):
        assert guest.byte_sum(data) == sum(data)
    allocs, resets = trips(guest)
    windowed = guest._state().windowed
    if busy:
        # Every reset is the guest's (this one never clears busy), and the record is read
        # afresh for each input: a block outside the memory is refused for bump_alloc. (On
        # the fast path the first input went to the checked block, and set top there.)
        assert resets == 3
        assert (allocs > 0) == (not usable or not windowed)
    elif windowed:
        # The guest moved its block without saying so (busy): the host keeps the block it
        # checked when it last reset, which is still inside the memory.
        assert (allocs, resets) == (0, 0)
    else:
        # The public-API path reads the record for every input and reset: no top in its
        # block (the bump_reset of this guest leaves the record as it is).
        assert allocs > 0
    assert guest.peek(65535) == 0


def test_a_record_changed_during_the_call(hostile: Any) -> None:
    guest = hostile.HostileArena()
    data = bytes(range(64))
    assert guest.byte_sum(data) == sum(data)
    # The call leaves top far outside the memory, or below base, or busy: the host's
    # checks send it to bump_reset. A top at the very end of the memory is inside it: the
    # host zeroes up to there itself.
    for top, busy, guest_resets in [(0xFFFFFFF0, 0, 1), (16, 0, 1), (4096 + 64, 1, 1), (0x10000, 0, 0)]:
        before = trips(guest)[1]
        assert guest.sum_and_poke(data, top, busy) == sum(data)
        assert trips(guest)[1] == before + guest_resets, (top, busy)
    # An honest record again (top back at base): no guest call for the next ones.
    guest.poke(4096, 4096, 8192, 0)
    assert guest.byte_sum(data) == sum(data)
    before = trips(guest)
    assert guest.byte_sum(data) == sum(data)
    assert trips(guest) == before


@pytest.mark.parametrize(("name", "at"), [("bad_end", 65536 - 8), ("bad_top", 0xFFFFFFF0), ("bad_mid", 0x7FFFFFFF)])
def test_a_record_address_outside_the_memory_is_the_packages_error(tmp_path: Path, name: str, at: int) -> None:
    # The same module, whose wasm2py_arena() returns an address whose 16 bytes are not
    # all inside the memory: the instance refuses to start, with the package's error.
    wat = HOSTILE_WAT.replace("(global $at (mut i32) (i32.const 1024))", f"(global $at (mut i32) (i32.const {at}))")
    (tmp_path / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (tmp_path / f"{name}.wasm2py").write_text(HOSTILE_SIG)
    package = generate_package(tmp_path / f"{name}.wasm", tmp_path / "out")
    cls = getattr(package, "".join(part.title() for part in name.split("_")))
    error = getattr(package, cls.__name__ + "Error")
    with pytest.raises(error, match=f"the guest's arena record at {at:#x} lies outside its 65536-byte memory"):
        cls().byte_sum(b"x")


# ---- the SDKs opt in ------------------------------------------------------------------


def counted_protocol(state: Any) -> list[str]:
    """Wraps the state's bump_alloc and bump_reset callables: the returned list names each
    guest call of the protocol the host makes from now on."""
    calls: list[str] = []

    def counting(name: str, call: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            calls.append(name)
            return call(*args)

        return wrapper

    state.alloc = counting("bump_alloc", state.alloc)
    state.reset_raw = counting("bump_reset", state.reset_raw)
    return calls


@pytest.fixture(scope="module")
def rust_sdk_user(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The spec module written with the Rust SDK from SPEC alone."""
    wasm = require(SPEC_OUT / "rust_sdk_user.wasm", "spec module rust_sdk_user")
    return generate_package(wasm, tmp_path_factory.mktemp("v2_sdk_user"), name="rust_sdk_user_v2")


@pytest.mark.parametrize(
    ("package", "cls", "call", "expected"),
    [
        # The Rust SDK: an example guest, and the spec module written from SPEC alone.
        ("textkit", "Textkit", lambda g: g.sha256(b"abc"), bytes.fromhex(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
        ("textkit", "Textkit", lambda g: g.upper("héllo"), "HÉLLO"),
        ("textkit", "Textkit", lambda g: g.scale([1.0, 2.0], 2.0), [2.0, 4.0]),
        ("rust_sdk_user_v2", "RustSdkUserV2", lambda g: g.word_count("one two  three"), 3),
        ("rust_sdk_user_v2", "RustSdkUserV2", lambda g: g.b64_encode(b"hi"), "aGk="),
        # The C header: freestanding (cfib) and with wasi-libc (cwasi).
        ("cfib", "Cfib", lambda g: g.xor_bytes(b"ab", b"\x01\x01"), b"`c"),
        ("cfib", "Cfib", lambda g: g.rot13("abc"), "nop"),
        ("cfib", "Cfib", lambda g: g.sum_i32([1, 2, 3]), 6),
        ("cwasi", "Cwasi", lambda g: g.str_length("héllo"), 6),
    ],
)
def test_sdk_guests_make_one_guest_call_per_bytes_call(
    rust_sdk_user: Any, package: str, cls: str, call: Any, expected: Any
) -> None:
    import importlib
    import sys

    if (GENERATED / package).is_dir() and str(GENERATED / package) not in sys.path:
        sys.path.insert(0, str(GENERATED / package))
    guest = getattr(importlib.import_module(package), cls)()
    assert call(guest) == expected  # the first call may set the arena up
    calls = counted_protocol(guest._state())
    for _ in range(5):
        assert call(guest) == expected
    assert calls == [], "the host allocated and reset through the arena record"


# ---- lifetime ---------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["arenas", "hostile_arena"])
def test_a_dropped_instance_frees_its_store_at_once(arenas: Any, hostile: Any, package: str) -> None:
    """The state keeps the instance's thread-local object only weakly (it remakes the
    bodies' tuples there when the window changes): no cycle, so the store goes with the
    instance, without waiting for a garbage collection."""
    module = arenas if package == "arenas" else hostile
    cls = module.Arenas if package == "arenas" else module.HostileArena
    gc.collect()
    gc.disable()
    try:
        refs = []
        for _ in range(3):
            instance = cls()
            assert instance.byte_sum(b"\x01\x02") == 3
            refs.append(weakref.ref(instance._state()))
            del instance
        assert [r() is None for r in refs] == [True] * 3
    finally:
        gc.enable()
