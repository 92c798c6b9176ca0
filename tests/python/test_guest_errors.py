"""Guest errors (docs/guest-protocol.md, "Guest errors"): `raises` functions and the
`wasm2py_error` record, on both backends.

The guest is C written from the wire format alone, with no SDK and no header: a plain
global bump arena and a hand-made error record (per thread natively), compiled at test
time with clang (wasm32, no libc) and gcc (native). Hostile records come from WAT.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from conftest import c_guest_package, generate_package

GUEST_C = r"""
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
#ifdef __wasm__
#define PER_THREAD
#else
#define PER_THREAD _Thread_local
#endif

typedef struct { size_t status; const char *ptr; size_t len; } w2p_error;
typedef struct { const void *ptr; size_t len; } w2p_slice;

static PER_THREAD w2p_error record;
static PER_THREAD unsigned char heap[4096] __attribute__((aligned(16)));
static PER_THREAD size_t top;

EXPORT void wasm2py_arena_per_thread(void) {}
EXPORT w2p_error *wasm2py_error(void) { return &record; }

EXPORT void *bump_alloc(size_t n) {
    size_t at = (top + 15) & ~(size_t)15;
    if (n > sizeof heap || at > sizeof heap - n) return NULL;
    top = at + n;
    return heap + at;
}

EXPORT void bump_reset(void) {
    for (size_t i = 0; i < top; i++) heap[i] = 0;
    top = 0;
}

static size_t length(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static void fail(const char *message) { record.status = 1; record.ptr = message; record.len = length(message); }

static w2p_slice *give(const void *data, size_t n) {
    w2p_slice *pair = bump_alloc(sizeof *pair);
    unsigned char *copy = bump_alloc(n);
    if (!pair || !copy) { record.status = 2; return NULL; }
    for (size_t i = 0; i < n; i++) copy[i] = ((const unsigned char *)data)[i];
    pair->ptr = copy;
    pair->len = n;
    return pair;
}

/* A port number in decimal; a message for anything else. */
EXPORT uint16_t parse_port(const char *text, size_t n) {
    uint32_t value = 0;
    if (n == 0) { fail("empty input"); return 0; }
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') { fail("not a digit in the port"); return 0; }
        value = value * 10 + (uint32_t)(text[i] - '0');
        if (value > 65535) { fail("port out of range: more than 65535"); return 0; }
    }
    return (uint16_t)value;
}

/* The text in upper case (ASCII); refuses an empty one with a message built in the arena. */
EXPORT w2p_slice *shout(const char *text, size_t n) {
    if (n == 0) {
        static const char m[] = "nothing to shout: \xc3\xa9mpty";
        char *copy = bump_alloc(sizeof m - 1);
        for (size_t i = 0; copy && i < sizeof m - 1; i++) copy[i] = m[i];
        record.status = 1; record.ptr = copy; record.len = copy ? sizeof m - 1 : 0;
        return NULL;
    }
    unsigned char out[512];
    if (n > sizeof out) { fail("too long to shout"); return NULL; }
    for (size_t i = 0; i < n; i++) out[i] = (text[i] >= 'a' && text[i] <= 'z') ? text[i] - 32 : text[i];
    return give(out, n);
}

/* n bytes of 0xAB: more than the arena holds is "no room for the result" (status 2). */
EXPORT w2p_slice *filler(uint32_t n) {
    static unsigned char buffer[8192];
    if (n > sizeof buffer) n = sizeof buffer;
    for (uint32_t i = 0; i < n; i++) buffer[i] = 0xAB;
    return give(buffer, n);
}

/* A refusal without a message, as guests without the record do. */
EXPORT w2p_slice *legacy(const unsigned char *data, size_t n) {
    return n ? give(data, n) : NULL;
}

EXPORT void check(const unsigned char *data, size_t n) {
    (void)data;
    if (n > 3) fail("at most 3 bytes");
}

EXPORT int32_t divide(int32_t a, int32_t b) {
    if (b == 0) { fail("division by zero"); return 0; }
    return a / b;
}
"""

GUEST_SIG = """\
/// A port number.
parse_port(text: str) -> u16 raises
shout(text: str) -> str raises
filler(n: u32) -> bytes
legacy(data: bytes) -> bytes
check(data: bytes) raises
divide(a: i32, b: i32) -> i32 raises
"""


@pytest.fixture(scope="module")
def errs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The package `errs`, generated from GUEST_C built for wasm32 and natively."""
    return c_guest_package(tmp_path_factory.mktemp("errs"), "errs", GUEST_C, GUEST_SIG)


@pytest.fixture(params=["wasm", "native"])
def guest(request: pytest.FixtureRequest, errs: Any) -> Any:
    if request.param == "wasm":
        return errs.Errs()
    return errs.Errs(backend="native", library=errs.LIBRARY)


def test_results_pass_through(guest: Any) -> None:
    assert guest.parse_port("8080") == 8080
    assert guest.shout("hello") == "HELLO"
    assert guest.divide(7, 2) == 3
    assert guest.check(b"abc") is None
    assert guest.legacy(b"xy") == b"xy"
    assert guest.filler(3) == b"\xab" * 3


@pytest.mark.parametrize(
    ("call", "function", "message"),
    [
        (lambda g: g.parse_port("80a"), "parse_port", "not a digit in the port"),
        (lambda g: g.parse_port(""), "parse_port", "empty input"),
        (lambda g: g.parse_port("70000"), "parse_port", "port out of range: more than 65535"),
        (lambda g: g.shout(""), "shout", "nothing to shout: émpty"),  # a message in the arena
        (lambda g: g.shout("x" * 600), "shout", "too long to shout"),
        (lambda g: g.check(b"abcd"), "check", "at most 3 bytes"),
        (lambda g: g.divide(1, 0), "divide", "division by zero"),
    ],
)
def test_the_guests_message_is_an_input_error(guest: Any, errs: Any, call: Any, function: str, message: str) -> None:
    with pytest.raises(errs.ErrsInputError) as raised:
        call(guest)
    assert isinstance(raised.value, ValueError)
    assert raised.value.function == function
    assert raised.value.message == message
    assert str(raised.value) == f"{function}: {message}"
    # The record was cleared: the next calls succeed.
    assert guest.parse_port("443") == 443
    assert guest.divide(9, 3) == 3


def test_no_room_for_the_result_is_a_memory_error(guest: Any, errs: Any) -> None:
    # `filler` has no `raises`: its null result reads the record, which says "no room".
    with pytest.raises(MemoryError, match="filler: the guest has no room for the result"):
        guest.filler(5000)
    assert guest.filler(4) == b"\xab" * 4


def test_a_refusal_without_a_message_stays_an_input_error(guest: Any, errs: Any) -> None:
    with pytest.raises(errs.ErrsInputError) as raised:
        guest.legacy(b"")
    assert raised.value.message is None
    assert "refused the input" in str(raised.value)


def test_docstrings_and_annotations(errs: Any) -> None:
    assert errs.Errs.parse_port.__doc__ == "A port number."
    assert "raises" in (errs.Errs.divide.__doc__ or "")  # the default docstring names it


def test_each_native_thread_has_its_own_record(errs: Any) -> None:
    guest = errs.Errs(backend="native", library=errs.LIBRARY)
    failures: list[str] = []

    def work(index: int) -> None:
        for round_ in range(300):
            try:
                if (index + round_) % 2:
                    assert guest.parse_port(str(index * 100 + round_)) == index * 100 + round_
                    assert guest.shout(f"t{index}") == f"T{index}"
                else:
                    with pytest.raises(errs.ErrsInputError, match="division by zero"):
                        guest.divide(index, 0)
            except BaseException as error:  # noqa: BLE001 (reported below)
                failures.append(f"thread {index}, round {round_}: {error!r}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_wasm_threads_each_read_their_own_instance(errs: Any) -> None:
    guest = errs.Errs()
    failures: list[str] = []

    def work(index: int) -> None:
        for round_ in range(100):
            try:
                if (index + round_) % 2:
                    assert guest.divide(index * 10, 5) == index * 2
                else:
                    with pytest.raises(errs.ErrsInputError, match="empty input"):
                        guest.parse_port("")
            except BaseException as error:  # noqa: BLE001 (reported below)
                failures.append(f"thread {index}: {error!r}")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# ---- hostile records: every number the guest hands back is checked -------------------

HOSTILE_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "wasm2py_error") (result i32) (i32.const {record}))
  ;; fails(status, ptr, len): writes the record at its address and returns 0
  (func (export "fails") (param i32 i32 i32) (result i32)
    (i32.store (i32.const {record}) (local.get 0))
    (i32.store offset=4 (i32.const {record}) (local.get 1))
    (i32.store offset=8 (i32.const {record}) (local.get 2))
    (i32.const 0))
  ;; quiet(): touches nothing
  (func (export "quiet") (result i32) (i32.const 5))
  (data (i32.const 256) "a message")
)
"""

HOSTILE_SIG = """\
fails(status: u32, ptr: u32, len: u32) -> u32 raises
quiet() -> u32 raises
"""


def hostile(tmp_path: Path, record: int) -> tuple[Any, Any]:
    """The package of HOSTILE_WAT with its record at `record`, and its class."""
    name = f"hostile_record_{record:x}"
    (tmp_path / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(HOSTILE_WAT.format(record=record)))
    (tmp_path / f"{name}.wasm2py").write_text(HOSTILE_SIG)
    pkg = generate_package(tmp_path / f"{name}.wasm", tmp_path / "out")
    return pkg, getattr(pkg, "".join(part.capitalize() for part in name.split("_")))


def test_a_record_at_the_end_of_memory_works(tmp_path: Path) -> None:
    pkg, cls = hostile(tmp_path, 65536 - 12)
    g = cls()
    assert g.quiet() == 5
    with pytest.raises(pkg.__dict__[cls.__name__ + "InputError"]) as raised:
        g.fails(1, 256, 9)
    assert raised.value.message == "a message"
    assert g.fails(0, 0, 0) == 0


@pytest.mark.parametrize("record", [65536 - 11, 65536, 0xFFFFFFF8, 0x7FFFFFFF, 0xFFFFFFFF])
def test_a_record_outside_memory_is_the_packages_error(tmp_path: Path, record: int) -> None:
    pkg, cls = hostile(tmp_path, record)
    g = cls()
    with pytest.raises(pkg.__dict__[cls.__name__ + "Error"], match="outside its 65536-byte memory"):
        g.quiet()
    with pytest.raises(pkg.__dict__[cls.__name__ + "Error"], match="outside its 65536-byte memory"):
        g.quiet()  # and again: nothing was kept


@pytest.mark.parametrize(
    ("status", "ptr", "length", "expected"),
    [
        (1, 65530, 9, "outside its 65536-byte memory"),
        (1, 256, 0xFFFFFFFF, "outside its 65536-byte memory"),
        (1, 0xFFFFFFFF, 1, "outside its 65536-byte memory"),
        (1, 0xFFFFFFFF, 0xFFFFFFFF, "outside its 65536-byte memory"),
        (7, 256, 9, "error record has status 7"),
        (0xFFFFFFFF, 0, 0, "error record has status 4294967295"),
    ],
)
def test_hostile_records_are_the_packages_error(
    tmp_path: Path, status: int, ptr: int, length: int, expected: str
) -> None:
    pkg, cls = hostile(tmp_path, 1024)
    g = cls()
    with pytest.raises(pkg.__dict__[cls.__name__ + "Error"], match=expected):
        g.fails(status, ptr, length)
    # The record was cleared: a good call works, and a real message still arrives.
    assert g.quiet() == 5
    with pytest.raises(pkg.__dict__[cls.__name__ + "InputError"], match="a message"):
        g.fails(1, 256, 9)


def test_long_and_invalid_messages(tmp_path: Path) -> None:
    pkg, cls = hostile(tmp_path, 1024)
    g = cls()
    # Invalid UTF-8 (the record's own bytes and zeros) is replaced, never an exception of
    # another kind; a message longer than 64 KiB cannot fit this memory, so 60000 bytes.
    with pytest.raises(pkg.__dict__[cls.__name__ + "InputError"]) as raised:
        g.fails(1, 1024, 60000)
    assert len(raised.value.message) == 60000
