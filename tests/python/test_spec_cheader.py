"""The C guest SDK, guests/c/wasm2py.h, used the way SPEC.md ("Guest SDKs and guest
errors") tells a user to (issue 10).

tests/spec_modules/c_sdk_user/c_sdk_user.c is written with nothing but the header. It is
built here, at test time, four ways, each warnings-clean under -Wall -Wextra -Wpedantic
-Werror:

- ``wasm32``: clang --target=wasm32 -nostdlib (no libc: the header's arena lives after
  __heap_base and it defines memset/memcpy/memmove as byte loops);
- ``wasm32-bulk``: the same with -mbulk-memory (memory.fill / memory.copy);
- ``wasi``: clang --target=wasm32-wasi -mexec-model=reactor with wasi-libc (the arena's
  chunks come from malloc);
- ``native``: gcc -shared -fPIC -pthread (a per-thread arena and error record).

Two kinds of checks:

- the wire format itself, with no generated code: ctypes on the shared library and
  wasmtime-py on the modules call the exports, read the error record that
  ``wasm2py_error()`` points at (three pointer-sized words {status, ptr, len}) and the
  ``wasm2py`` custom section the W2P_SIG lines wrote;
- the package wasm2py generates from each module, on both backends: results, docstrings,
  guest messages as ``{Class}InputError`` and "no room for the result" as MemoryError,
  natively from 8 threads at once.
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import wasmtime
from conftest import ROOT, WASM2PY, generate_package, require

SOURCE = ROOT / "tests" / "spec_modules" / "c_sdk_user" / "c_sdk_user.c"
HEADER_DIR = ROOT / "guests" / "c"
CLANG = os.environ.get("CLANG", "clang")
CC = os.environ.get("CC", "gcc")
WARNINGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fvisibility=hidden"]
WASM_BUILDS = ("wasm32", "wasm32-bulk", "wasi")
THREADS = 8

# What the W2P_SIG lines of c_sdk_user.c put into the module's "wasm2py" section.
GREET_DOC = 'Returns "Hello, {name}!" \\ greets "anyone" à la C.'
SECTION = f"""\
# c_sdk_user: written with wasm2py.h only
/// The greatest common divisor of a and b (0 when both are 0).
gcd(a: u32, b: u32) -> u32
/// The number of bits set in x.
popcount(x: u64) -> u8
/// x / 2 when x is even; refuses an odd x.
half(x: i64) -> i64 raises
/// Nothing when flag is true; refuses false.
require(flag: bool) raises
/// The mean of xs; 0.0 for no values.
mean(xs: list[f64]) -> f64
/// Every x times k, as 64-bit integers (no overflow).
scale(xs: list[i32], k: i32) -> list[i64]
/// data, back to front.
reverse(data: bytes) -> bytes
/// {GREET_DOC}
greet(name: str) -> str
/// A constant string kept in static memory.
motto() -> str
/// data repeated `times` times; MemoryError when that does not fit.
repeat(data: bytes, times: u32) -> bytes
/// The decimal number in text, 0 to 65535.
parse_u16(text: str) -> u16 raises
/// The bytes written in hex in text (two digits a byte).
hex_decode(text: str) -> bytes raises
/// Always refuses, with text as the message.
fail_with(text: str) raises
"""
FUNCTIONS = [
    "gcd", "popcount", "half", "require", "mean", "scale", "reverse", "greet", "motto",
    "repeat", "parse_u16", "hex_decode", "fail_with",
]
PROTOCOL = ["memory", "bump_alloc", "bump_reset", "wasm2py_error", "wasm2py_arena_per_thread", "wasm2py_arena"]
HALF_MESSAGE = "an odd number has no half — try an even one"
MIB = 1 << 20


def wasi_sysroot() -> list[str]:
    """--sysroot for wasi-libc, found as guests/c/build.sh does."""
    for directory in filter(None, (os.environ.get("WASI_SYSROOT"), "/usr/share/wasi-sysroot", "/usr")):
        if (Path(directory) / "lib" / "wasm32-wasi" / "libc.a").exists():
            return [f"--sysroot={directory}"]
    pytest.fail("no wasi-libc sysroot (set WASI_SYSROOT, or run scripts/setup.sh)", pytrace=False)


def build_commands(out: Path) -> dict[str, tuple[Path, list[str]]]:
    """The four builds of c_sdk_user.c: name → (output, compiler command)."""
    include = [f"-I{HEADER_DIR}"]
    freestanding = [CLANG, "--target=wasm32", "-nostdlib", *WARNINGS, *include, "-Wl,--no-entry"]
    return {
        "wasm32": (out / "c_sdk_user.wasm", freestanding),
        "wasm32-bulk": (out / "c_sdk_user_bulk.wasm", [*freestanding, "-mbulk-memory"]),
        "wasi": (
            out / "c_sdk_user_wasi.wasm",
            [CLANG, "--target=wasm32-wasi", *wasi_sysroot(), "-mexec-model=reactor", *WARNINGS, *include],
        ),
        "native": (out / "libc_sdk_user.so", [CC, "-shared", "-fPIC", "-pthread", *WARNINGS, *include]),
    }


def compile_c(command: list[str], source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, str(source), "-o", str(output)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four builds: name → path. Any warning fails (-Werror)."""
    out = tmp_path_factory.mktemp("c_sdk_user")
    paths: dict[str, Path] = {}
    for name, (output, command) in build_commands(out).items():
        result = compile_c(command, SOURCE, output)
        if result.returncode != 0:
            pytest.fail(f"building c_sdk_user ({name}) failed:\n{' '.join(command)}\n{result.stderr}", pytrace=False)
        assert result.stderr == "", f"{name}: {result.stderr}"
        paths[name] = output
    return paths


def in_threads(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """work(index) on `count` threads started together; their results in order. The first
    failure is re-raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 (reported to the main thread)
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


# ---- W2P_SIG and W2P_EXPORT at build time ------------------------------------------------


def custom_sections(module: bytes, wanted: str) -> list[bytes]:
    """The contents of every custom section named `wanted`, in order."""

    def leb(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = module[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, at

    assert module[:8] == b"\0asm\x01\0\0\0"
    found, at = [], 8
    while at < len(module):
        section_id = module[at]
        size, at = leb(at + 1)
        end = at + size
        if section_id == 0:
            name_len, name_at = leb(at)
            if module[name_at : name_at + name_len] == wanted.encode():
                found.append(module[name_at + name_len : end])
        at = end
    return found


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_w2p_sig_writes_the_section_byte_for_byte(built, build):
    """One section, the lines in source order, each ending in a newline; the escapes \\"
    and \\\\ and UTF-8 text arrive as written."""
    assert custom_sections(built[build].read_bytes(), "wasm2py") == [SECTION.encode()]


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_w2p_export_exports_exactly_the_functions_and_the_protocol(built, build):
    """No --export-dynamic: export_name exports the W2P_EXPORT functions and the header's
    protocol functions; its helpers (w2p_alloc, memset, ...) stay internal."""
    module = wasmtime.Module(wasmtime.Engine(), built[build].read_bytes())
    names = [export.name for export in module.exports]
    expected = PROTOCOL + FUNCTIONS + (["_initialize"] if build == "wasi" else [])
    assert sorted(names) == sorted(expected)
    imports = {item.module for item in module.imports}
    assert imports <= ({"wasi_snapshot_preview1"} if build == "wasi" else set())


def test_the_native_library_exports_the_same_functions(built):
    lib = ctypes.CDLL(str(built["native"]))
    for name in PROTOCOL[1:] + FUNCTIONS:
        assert hasattr(lib, name), name
    for name in ("w2p_alloc", "w2p_return", "w2p_fail", "w2p_fail_len", "w2p__error"):
        assert not hasattr(lib, name), name


def sig_snippet(tmp_path: Path, line: str) -> Path:
    source = tmp_path / "snippet.c"
    source.write_text(f'#include "wasm2py.h"\n{line}\nW2P_EXPORT(f) int f(void) {{ return 1; }}\n')
    return source


@pytest.mark.parametrize(
    "line",
    [
        "static const char *text = \"f() -> i32\";\nW2P_SIG(text);",  # not a literal
        'W2P_SIG(u8"f() -> i32");',  # not a plain literal: the assembler rejects it
        "W2P_SIG(\"/// it\\'s\");",  # an escape the assembler does not know
        'W2P_SIG("/// a bell \\a");',
    ],
)
def test_w2p_sig_text_the_assembler_cannot_take_fails_the_build(tmp_path, line):
    source = sig_snippet(tmp_path, line)
    command = [CLANG, "--target=wasm32", "-nostdlib", "-std=c11", f"-I{HEADER_DIR}", "-c"]
    result = compile_c(command, source, tmp_path / "snippet.o")
    assert result.returncode != 0, result.stderr


def test_w2p_sig_needs_a_literal_natively_too(tmp_path):
    source = sig_snippet(tmp_path, 'static const char *text = "f() -> i32";\nW2P_SIG(text);')
    result = compile_c([CC, "-std=c11", f"-I{HEADER_DIR}", "-c"], source, tmp_path / "snippet.o")
    assert result.returncode != 0, result.stderr


def test_w2p_sig_accepts_adjacent_literals_and_macros(tmp_path):
    source = tmp_path / "joined.c"
    source.write_text(
        '#include "wasm2py.h"\n'
        '#define RESULT " -> u32"\n'
        'W2P_SIG("f(" "x: u32)" RESULT);\n'
        "W2P_EXPORT(f) uint32_t f(uint32_t x) { return x; }\n"
    )
    output = tmp_path / "joined.wasm"
    command = [CLANG, "--target=wasm32", "-nostdlib", *WARNINGS, f"-I{HEADER_DIR}", "-Wl,--no-entry"]
    result = compile_c(command, source, output)
    assert result.returncode == 0, result.stderr
    assert custom_sections(output.read_bytes(), "wasm2py") == [b"f(x: u32) -> u32\n"]


def test_a_library_of_two_files(tmp_path):
    """WASM2PY_IMPLEMENTATION in one file, the header alone in the other: one arena, one
    record, the sections of both files in link order, no duplicate symbols."""
    (tmp_path / "main.c").write_text(
        "#define WASM2PY_IMPLEMENTATION\n"
        '#include "wasm2py.h"\n'
        'W2P_SIG("one(x: u32) -> u32");\n'
        "W2P_EXPORT(one) uint32_t one(uint32_t x) { return x + 1; }\n"
    )
    (tmp_path / "other.c").write_text(
        '#include "wasm2py.h"\n'
        'W2P_SIG("/// Refuses everything.");\n'
        'W2P_SIG("two(data: bytes) -> bytes raises");\n'
        "W2P_EXPORT(two) w2p_slice *two(const uint8_t *p, size_t n)\n"
        '{ (void)p; (void)n; return w2p_fail("no"); }\n'
    )
    sources = [str(tmp_path / "main.c"), str(tmp_path / "other.c")]
    wasm, so = tmp_path / "two.wasm", tmp_path / "libtwo.so"
    freestanding = [CLANG, "--target=wasm32", "-nostdlib", *WARNINGS, f"-I{HEADER_DIR}", "-Wl,--no-entry"]
    native = [CC, "-shared", "-fPIC", "-pthread", *WARNINGS, f"-I{HEADER_DIR}"]
    for command, output in ((freestanding, wasm), (native, so)):
        result = subprocess.run([*command, *sources, "-o", str(output)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    text = b"one(x: u32) -> u32\n/// Refuses everything.\ntwo(data: bytes) -> bytes raises\n"
    assert custom_sections(wasm.read_bytes(), "wasm2py") == [text]
    guest = Guest(wasm)
    assert guest.call("one", 41) == 42
    assert guest.call("two", *guest.put(b"x")) == 0
    assert guest.message() == (1, b"no")
    lib = ctypes.CDLL(str(so))
    lib.wasm2py_error.restype = ctypes.POINTER(Record)
    lib.two.restype = ctypes.c_void_p
    lib.two.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    assert lib.two(b"x", 1) is None
    record = lib.wasm2py_error().contents
    assert (record.status, ctypes.string_at(record.ptr, record.len)) == (1, b"no")


# ---- the wire format, natively (ctypes, no generated code) -------------------------------


class Record(ctypes.Structure):
    _fields_ = [("status", ctypes.c_size_t), ("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class Slice(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


@pytest.fixture(scope="module")
def lib(built: dict[str, Path]) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(built["native"]))
    lib.wasm2py_error.restype = ctypes.POINTER(Record)
    lib.wasm2py_error.argtypes = []
    lib.bump_alloc.restype = ctypes.c_void_p
    lib.bump_alloc.argtypes = [ctypes.c_size_t]
    lib.bump_reset.restype = None
    lib.parse_u16.restype = ctypes.c_uint16
    lib.parse_u16.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.half.restype = ctypes.c_int64
    lib.half.argtypes = [ctypes.c_int64]
    lib.require.restype = None
    lib.require.argtypes = [ctypes.c_bool]
    for name in ("hex_decode", "greet", "reverse"):
        getattr(lib, name).restype = ctypes.POINTER(Slice)
        getattr(lib, name).argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.fail_with.restype = None
    lib.fail_with.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.motto.restype = ctypes.POINTER(Slice)
    lib.motto.argtypes = []
    lib.repeat.restype = ctypes.POINTER(Slice)
    lib.repeat.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32]
    return lib


def native_record(lib: ctypes.CDLL) -> tuple[int, bytes | None]:
    """(status, message or None) of the calling thread's record: ptr and len mean
    something for status 1 only (the generated code clears the status alone)."""
    record = lib.wasm2py_error().contents
    message = ctypes.string_at(record.ptr, record.len) if record.status == 1 else None
    return record.status, message


def native_clear(lib: ctypes.CDLL) -> None:
    lib.wasm2py_error().contents.status = 0


def slice_bytes(result: Any) -> bytes:
    return ctypes.string_at(result.contents.ptr, result.contents.len)


def test_native_a_message_is_copied_and_wiped_by_reset(lib):
    native_clear(lib)
    assert lib.parse_u16(b"12x4", 4) == 0
    record = lib.wasm2py_error().contents
    assert (record.status, ctypes.string_at(record.ptr, record.len)) == (1, b"not a digit at index 2")
    # built on the guest's stack and copied: bump_reset zeroes the copy
    lib.bump_reset()
    assert ctypes.string_at(record.ptr, record.len) == bytes(record.len)
    native_clear(lib)


@pytest.mark.parametrize("length", [0, 1, 1023, 1024, 1025, 5000])
def test_native_messages_of_any_length(lib, length):
    """Up to W2P_MESSAGE_MAX (1024) bytes in the thread's message buffer, longer ones in
    the arena; either way a copy, wiped by bump_reset."""
    text = bytes((i * 7 + 1) % 255 + 1 for i in range(length))
    buffer = ctypes.create_string_buffer(text, length)
    native_clear(lib)
    lib.fail_with(buffer, length)
    record = lib.wasm2py_error().contents
    assert (record.status, record.len) == (1, length)
    assert ctypes.string_at(record.ptr, length) == text
    if length:
        assert record.ptr != ctypes.addressof(buffer)
    ctypes.memset(buffer, 0, length)
    assert ctypes.string_at(record.ptr, length) == text
    lib.bump_reset()
    assert ctypes.string_at(record.ptr, length) == bytes(length)
    native_clear(lib)


def test_native_messages_and_status(lib):
    native_clear(lib)
    assert lib.half(8) == 4
    assert native_record(lib) == (0, None)  # success leaves the record alone
    lib.half(7)
    assert native_record(lib) == (1, HALF_MESSAGE.encode())
    native_clear(lib)
    lib.require(True)
    assert native_record(lib)[0] == 0
    lib.require(False)
    assert native_record(lib) == (1, b"the flag must be set")
    native_clear(lib)
    assert not lib.hex_decode(b"abc", 3)
    assert native_record(lib) == (1, b"odd number of hex digits")
    native_clear(lib)
    assert not lib.hex_decode(b"zz", 2)
    assert native_record(lib) == (1, b"not a hex digit")
    native_clear(lib)
    assert slice_bytes(lib.hex_decode(b"00fFa5", 6)) == b"\x00\xff\xa5"
    assert native_record(lib)[0] == 0
    lib.bump_reset()


def test_native_no_room_for_the_result_is_status_2(lib):
    native_clear(lib)
    data = bytes(MIB)
    assert not lib.repeat(data, len(data), 2**32 - 1)  # 4 PiB: calloc fails
    assert native_record(lib) == (2, None)
    native_clear(lib)
    lib.bump_reset()


def test_native_results_are_pairs_in_the_arena_or_static(lib):
    assert slice_bytes(lib.greet(b"C", 1)) == b"Hello, C!"
    assert slice_bytes(lib.reverse(b"abc", 3)) == b"cba"
    assert slice_bytes(lib.motto()) == b"static data is a fine result"
    lib.bump_reset()


def test_native_blocks_are_zeroed_aligned_and_distinct(lib):
    blocks = [lib.bump_alloc(size) for size in (0, 0, 1, 15, 16, 17, 100_000, 3)]
    assert all(block % 16 == 0 for block in blocks)
    assert len(set(blocks)) == len(blocks)
    ctypes.memset(blocks[5], 0xAB, 17)
    lib.bump_reset()
    again = lib.bump_alloc(64)
    assert ctypes.string_at(again, 64) == bytes(64)
    lib.bump_reset()


def test_native_record_and_arena_are_per_thread(lib):
    """Each thread has its own record (a stable address) and its own messages, at once."""

    def work(index: int) -> tuple[int, set[int]]:
        addresses = set()
        for k in range(200):
            text = b"7" * (index % 4) + b"x" + b"1" * k
            lib.parse_u16(text, len(text))
            record = lib.wasm2py_error().contents
            addresses.add(ctypes.addressof(record))
            assert (record.status, ctypes.string_at(record.ptr, record.len)) == (
                1,
                f"not a digit at index {index % 4}".encode(),
            )
            record.status = 0
            name = f"thread {index} call {k}".encode()
            assert slice_bytes(lib.greet(name, len(name))) == b"Hello, " + name + b"!"
            lib.bump_reset()
        return ctypes.addressof(lib.wasm2py_error().contents), addresses

    results = in_threads(work)
    for address, seen in results:
        assert seen == {address}
    assert len({address for address, _ in results}) == THREADS


# ---- the wire format on wasm (wasmtime-py, no generated code) ----------------------------


class Guest:
    """A raw instance of a c_sdk_user module: calls exports, reads and writes memory."""

    def __init__(self, path: Path, max_memory: int | None = None) -> None:
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        if max_memory is not None:
            self.store.set_limits(memory_size=max_memory)
        module = wasmtime.Module(engine, path.read_bytes())
        linker = wasmtime.Linker(engine)
        if any(item.module == "wasi_snapshot_preview1" for item in module.imports):
            linker.define_wasi()
            self.store.set_wasi(wasmtime.WasiConfig())
        self.instance = linker.instantiate(self.store, module)
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]
        if "_initialize" in self.exports:
            self.call("_initialize")

    def call(self, name: str, *args: Any) -> Any:
        return self.exports[name](self.store, *args)

    def read(self, address: int, length: int) -> bytes:
        assert 0 <= address and address + length <= self.memory.data_len(self.store)
        return bytes(self.memory.read(self.store, address, address + length))

    def put(self, data: bytes) -> tuple[int, int]:
        address = self.call("bump_alloc", len(data)) & 0xFFFFFFFF
        assert address != 0
        self.memory.write(self.store, data, address)
        return address, len(data)

    def record(self) -> tuple[int, int, int]:
        address = self.call("wasm2py_error") & 0xFFFFFFFF
        return struct.unpack("<III", self.read(address, 12))

    def message(self) -> tuple[int, bytes | None]:
        status, ptr, length = self.record()
        return status, self.read(ptr, length) if status == 1 else None

    def clear(self) -> None:
        address = self.call("wasm2py_error") & 0xFFFFFFFF
        self.memory.write(self.store, bytes(4), address)

    def result(self, pair: int) -> bytes | None:
        pair &= 0xFFFFFFFF
        if pair == 0:
            return None
        ptr, length = struct.unpack("<II", self.read(pair, 8))
        return self.read(ptr, length)


@pytest.fixture(params=WASM_BUILDS)
def guest(request: pytest.FixtureRequest, built: dict[str, Path]) -> Iterator[Guest]:
    yield Guest(built[request.param])


def test_wasm_a_message_is_recorded_in_the_arena_and_wiped_by_reset(guest):
    assert guest.record()[0] == 0
    assert guest.call("parse_u16", *guest.put(b"99y")) == 0
    status, ptr, length = guest.record()
    assert (status, guest.read(ptr, length)) == (1, b"not a digit at index 2")
    guest.call("bump_reset")
    assert guest.read(ptr, length) == bytes(length)
    guest.clear()
    assert guest.call("parse_u16", *guest.put(b"65535")) == 65535
    assert guest.record()[0] == 0


def test_wasm_messages_results_and_the_record_address(guest):
    address = guest.call("wasm2py_error") & 0xFFFFFFFF
    assert guest.call("half", 9) == 0
    assert guest.message() == (1, HALF_MESSAGE.encode())
    guest.clear()
    assert guest.call("half", -10) == -5
    assert guest.record()[0] == 0
    guest.call("require", 0)
    assert guest.message() == (1, b"the flag must be set")
    guest.clear()
    assert guest.result(guest.call("hex_decode", *guest.put(b"abc"))) is None
    assert guest.message() == (1, b"odd number of hex digits")
    guest.clear()
    assert guest.result(guest.call("hex_decode", *guest.put(b"C0ffee"))) == b"\xc0\xff\xee"
    assert guest.result(guest.call("greet", *guest.put("wörld".encode()))) == "Hello, wörld!".encode()
    assert guest.result(guest.call("motto")) == b"static data is a fine result"
    assert guest.record()[0] == 0
    assert guest.call("wasm2py_error") & 0xFFFFFFFF == address
    guest.call("bump_reset")


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_wasm_failing_scalar_calls_use_no_arena(built, build):
    """A failing scalar call is not followed by bump_reset (it has no arena inputs): its
    message goes to one reused buffer, so a million such failures need no more memory."""
    guest = Guest(built[build])
    guest.call("half", 1)
    first = guest.record()
    pages = guest.memory.size(guest.store)
    for x in range(3, 20_003, 2):
        guest.call("half", x)
    assert guest.record() == first
    assert guest.message() == (1, HALF_MESSAGE.encode())
    assert guest.memory.size(guest.store) == pages
    # a message longer than the buffer is copied into the arena, and wiped at the reset
    long = ("é" * 3000).encode()
    guest.call("fail_with", *guest.put(long))
    status, ptr, length = guest.record()
    assert (status, guest.read(ptr, length)) == (1, long)
    guest.call("bump_reset")
    assert guest.read(ptr, length) == bytes(length)


def test_wasm_no_room_for_the_result_is_status_2(guest):
    # 1 MiB * (2**32 - 1) is more than wasm32's address space
    assert guest.result(guest.call("repeat", *guest.put(bytes(MIB)), 2**32 - 1)) is None
    assert guest.record() == (2, 0, 0)
    guest.clear()
    guest.call("bump_reset")


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_wasm_no_room_when_the_memory_cannot_grow(built, build):
    guest = Guest(built[build], max_memory=4 * MIB)
    data = guest.put(b"0123456789abcdef")
    assert guest.result(guest.call("repeat", *data, 2 * MIB)) is None  # 32 MiB
    assert guest.record() == (2, 0, 0)
    guest.clear()
    guest.call("bump_reset")
    # what fits still works, and the arena is empty again after the reset
    assert guest.result(guest.call("repeat", *guest.put(b"ab"), 3)) == b"ababab"
    assert guest.record()[0] == 0


def test_wasm_reset_zeroes_what_was_used(guest):
    address, length = guest.put(b"\xff" * 1000)
    assert guest.read(address, length) == b"\xff" * 1000
    guest.call("bump_reset")
    assert guest.read(address, length) == bytes(1000)
    again = guest.call("bump_alloc", 1000) & 0xFFFFFFFF
    assert again % 16 == 0
    assert guest.read(again, 1000) == bytes(1000)
    guest.call("bump_reset")


# ---- the arena record (arena protocol version 2) on wasm: this test plays the host ------


class Host:
    """What a version-2 host does with the arena record {base, top, limit, busy} that
    wasm2py_arena() points at (docs/guest-protocol.md), on a raw Guest."""

    def __init__(self, guest: Guest) -> None:
        self.guest = guest
        self.address = guest.call("wasm2py_arena") & 0xFFFFFFFF

    def record(self) -> tuple[int, int, int, int]:
        return struct.unpack("<IIII", self.guest.read(self.address, 16))

    def write_top(self, top: int) -> None:
        self.guest.memory.write(self.guest.store, struct.pack("<I", top), self.address + 4)

    def alloc(self, data: bytes) -> tuple[int, int] | None:
        """The input written by the host at top rounded up to 16; None when it would call
        bump_alloc."""
        base, top, limit, _ = self.record()
        at = (top + 15) & ~15
        if base <= at and at + len(data) <= limit <= self.guest.memory.data_len(self.guest.store):
            self.guest.memory.write(self.guest.store, data, at)
            self.write_top(at + len(data))
            return at, len(data)
        return None

    def reset(self) -> bool:
        """True when the host reset alone (busy 0): zeroes [base, top), top = base."""
        base, top, _, busy = self.record()
        if busy == 0 and base <= top:
            self.guest.memory.write(self.guest.store, bytes(top - base), base)
            self.write_top(base)
            return True
        self.guest.call("bump_reset")
        return False


def test_wasm_the_arena_record_is_ready_from_the_start(guest):
    host = Host(guest)
    assert guest.call("wasm2py_arena") & 0xFFFFFFFF == host.address
    base, top, limit, busy = host.record()
    assert base % 16 == 0 and base != 0
    assert (top, busy) == (base, 0)
    assert base < limit <= guest.memory.data_len(guest.store)
    assert host.alloc(b"abc") == (base, 3)  # the first input, without bump_alloc


def test_wasm_the_host_allocates_and_resets_alone(guest):
    host = Host(guest)
    base = host.record()[0]
    first = host.alloc("wörld".encode())
    assert first == (base, 6)
    assert host.record()[1] == base + 6  # not rounded
    pair = guest.call("greet", *first) & 0xFFFFFFFF
    assert guest.result(pair) == "Hello, wörld!".encode()
    _, top, _, busy = host.record()
    ptr = struct.unpack("<I", guest.read(pair, 4))[0]
    assert base + 16 <= ptr and pair + 8 <= top and busy == 0  # after the input, aligned
    used = guest.read(base, top - base)
    assert used != bytes(len(used))
    assert host.reset()
    assert guest.read(base, top - base) == bytes(top - base)
    assert host.record()[:2] == (base, base)
    pages = guest.memory.size(guest.store)
    for k in range(300):
        text = f"call {k}".encode()
        data = host.alloc(text)
        assert data is not None and data[0] == base
        assert guest.result(guest.call("reverse", *data)) == text[::-1]
        assert host.reset()
    assert guest.memory.size(guest.store) == pages
    assert guest.record()[0] == 0


def test_wasm_busy_while_a_message_waits_to_be_wiped(guest):
    host = Host(guest)
    assert guest.call("parse_u16", *host.alloc(b"12x4")) == 0
    status, ptr, length = guest.record()
    assert (status, guest.read(ptr, length)) == (1, b"not a digit at index 2")
    assert host.record()[3] != 0
    assert not host.reset()  # bump_reset, which wipes the message
    assert guest.read(ptr, length) == bytes(length)
    assert host.record()[3] == 0
    guest.clear()
    assert guest.call("parse_u16", *host.alloc(b"80")) == 80
    assert host.reset()


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_wasm_a_large_result_moves_the_limit_or_makes_the_arena_busy(built, build):
    """Without libc the block is the memory after __heap_base: limit follows memory.grow.
    With wasi-libc a second chunk makes the arena busy until bump_reset."""
    guest = Guest(built[build])
    host = Host(guest)
    data = host.alloc(b"0123456789abcdef")
    assert data is not None
    assert guest.result(guest.call("repeat", *data, 1 << 18)) == b"0123456789abcdef" * (1 << 18)  # 4 MiB
    base, top, limit, busy = host.record()
    assert base <= top <= limit <= guest.memory.data_len(guest.store)
    if build == "wasi":
        assert busy != 0
        assert not host.reset()
        assert host.record()[3] == 0
    else:
        assert limit == guest.memory.data_len(guest.store)
        assert top - base > 4 * MIB and busy == 0
        assert host.reset()
        assert guest.read(base, top - base) == bytes(top - base)
    assert guest.result(guest.call("reverse", *host.alloc(b"ab"))) == b"ba"
    host.reset()


@pytest.mark.parametrize("top", [0, 8, 0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF])
def test_wasm_a_record_that_is_not_the_arenas_is_survived(guest, top):
    """A top the host should never write: the guest's blocks still land in its arena and
    in the memory (or it refuses them: no room after a top at the end of wasm32's address
    space), and bump_reset puts the record right."""
    host = Host(guest)
    base = host.record()[0]
    host.write_top(top)
    address = guest.call("bump_alloc", 1) & 0xFFFFFFFF
    if address != 0:
        guest.memory.write(guest.store, b"x", address)
        assert guest.result(guest.call("greet", address, 1)) == b"Hello, x!"
    guest.call("bump_reset")
    guest.clear()
    after, top_after, limit, busy = host.record()
    assert after <= top_after == after <= limit and busy == 0
    if after != base:  # wasi-libc: a chunk of its own, in place of the one it could not trust
        assert guest.read(after, limit - after) == bytes(limit - after)
    assert guest.result(guest.call("greet", *host.alloc(b"y"))) == b"Hello, y!"


# ---- the generated package, on both backends ---------------------------------------------

PACKAGE_BUILDS = ("wasm32", "wasm32-bulk", "wasi", "native")
# The package of each wasm build (named after the module's file) and its class.
PACKAGES = {
    "wasm32": ("c_sdk_user", "CSdkUser"),
    "wasm32-bulk": ("c_sdk_user_bulk", "CSdkUserBulk"),
    "wasi": ("c_sdk_user_wasi", "CSdkUserWasi"),
}


@pytest.fixture(scope="module")
def pkgs(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """The package wasm2py generates from each wasm build (annotations from the module's
    own section: there is no sidecar), imported."""
    require(WASM2PY, "wasm2py binary")
    out = tmp_path_factory.mktemp("c_sdk_user_packages")
    loaded: dict[str, ModuleType] = {}
    for build, (name, _) in PACKAGES.items():
        loaded[build] = generate_package(built[build], out / name, name=name)
    return loaded


class Made:
    """An instance of a generated class and what the tests need to know about it."""

    def __init__(self, pkg: ModuleType, cls_name: str, instance: Any) -> None:
        self.pkg = pkg
        self.cls_name = cls_name
        self.m = instance
        self.input_error = getattr(pkg, f"{cls_name}InputError")


def make(pkgs: dict[str, ModuleType], built: dict[str, Path], build: str, **options: Any) -> Made:
    if build == "native":
        cls_name = PACKAGES["wasm32"][1]
        pkg = pkgs["wasm32"]
        instance = getattr(pkg, cls_name)(backend="native", library=built["native"], **options)
    else:
        cls_name = PACKAGES[build][1]
        pkg = pkgs[build]
        instance = getattr(pkg, cls_name)(**options)
    assert instance.backend == ("native" if build == "native" else "wasm")
    return Made(pkg, cls_name, instance)


@pytest.fixture(params=PACKAGE_BUILDS)
def made(request: pytest.FixtureRequest, pkgs: dict[str, ModuleType], built: dict[str, Path]) -> Made:
    return make(pkgs, built, request.param)


def test_results(made):
    m = made.m
    assert m.gcd(12, 18) == 6
    assert m.gcd(0, 0) == 0
    assert m.gcd(2**32 - 1, 2**32 - 1) == 2**32 - 1  # u32: unsigned
    assert m.popcount(2**64 - 1) == 64
    assert m.popcount(0) == 0
    assert m.mean([1.0, 2.0, 4.5]) == 2.5
    assert m.mean([]) == 0.0
    assert m.scale([1, -2, 2**31 - 1, -(2**31)], -3) == [-3, 6, -3 * (2**31 - 1), 3 * 2**31]
    assert m.scale([], 5) == []
    assert m.reverse(b"abc") == b"cba"
    assert m.reverse(b"") == b""
    assert m.reverse(bytes(range(256)) * 4096) == (bytes(range(256)) * 4096)[::-1]  # 1 MiB
    assert m.greet("wörld") == "Hello, wörld!"
    assert m.greet("") == "Hello, !"
    assert m.motto() == "static data is a fine result"
    assert m.repeat(b"ab", 3) == b"ababab"
    assert m.repeat(b"", 2**32 - 1) == b""
    assert m.repeat(b"xyz", 0) == b""
    assert m.parse_u16("65535") == 65535
    assert m.parse_u16("007") == 7
    assert m.hex_decode("00fFa5") == b"\x00\xff\xa5"
    assert m.hex_decode("") == b""
    assert m.half(-10) == -5
    assert m.half(2**63 - 2) == 2**62 - 1
    assert m.require(True) is None


def test_docstrings_come_from_the_w2p_sig_doc_lines(made):
    cls = getattr(made.pkg, made.cls_name)
    assert GREET_DOC in (cls.greet.__doc__ or "")
    assert "The decimal number in text, 0 to 65535." in (cls.parse_u16.__doc__ or "")


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("parse_u16", ("12x4",), "not a digit at index 2"),
        ("parse_u16", ("",), "empty text"),
        ("parse_u16", ("65536",), "out of range (more than 65535)"),
        ("half", (7,), HALF_MESSAGE),
        ("half", (-(2**63) + 1,), HALF_MESSAGE),
        ("require", (False,), "the flag must be set"),
        ("hex_decode", ("abc",), "odd number of hex digits"),
        ("hex_decode", ("zz",), "not a hex digit"),
    ],
)
def test_w2p_fail_raises_input_error_with_the_message(made, method, args, message):
    with pytest.raises(made.input_error) as caught:
        getattr(made.m, method)(*args)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, getattr(made.pkg, f"{made.cls_name}Error"))
    assert error.function == method
    assert error.message == message
    assert method in str(error)
    assert message in str(error)
    # the record was cleared: the next calls succeed
    assert made.m.half(4) == 2
    assert made.m.parse_u16("12") == 12
    assert made.m.hex_decode("ab") == b"\xab"


@pytest.mark.parametrize("length", [0, 1, 1024, 1025, 100_000])
def test_messages_of_any_length_arrive(made, length):
    """Up to 64 KiB of the guest's message, decoded as UTF-8 with invalid bytes replaced."""
    text = ("ünïcödé ✓ " * 10_000)[:length]
    with pytest.raises(made.input_error) as caught:
        made.m.fail_with(text)
    expected = text.encode()[: 64 * 1024].decode("utf-8", "replace")
    assert caught.value.message == expected
    assert caught.value.function == "fail_with"


def test_no_room_for_the_result_is_a_memory_error(made):
    with pytest.raises(MemoryError) as caught:
        made.m.repeat(bytes(MIB), 2**32 - 1)  # 4 PiB natively; more than wasm32 can hold
    assert not isinstance(caught.value, ValueError)
    assert "repeat" in str(caught.value)
    assert made.m.repeat(b"ab", 2) == b"abab"
    assert made.m.parse_u16("1") == 1


@pytest.mark.parametrize("build", WASM_BUILDS)
def test_no_room_under_a_memory_cap_is_a_memory_error(pkgs, built, build):
    made = make(pkgs, built, build, max_memory=4 * MIB)
    with pytest.raises(MemoryError) as caught:
        made.m.repeat(b"0123456789abcdef", 2 * MIB)  # 32 MiB
    assert "repeat" in str(caught.value)
    assert made.m.repeat(b"0123456789abcdef", 1000) == b"0123456789abcdef" * 1000


def thread_work(m: Any, input_error: type[Exception], index: int) -> None:
    for k in range(150):
        name = f"thread {index} call {k} ünï"
        assert m.greet(name) == f"Hello, {name}!"
        bad = "7" * (index % 5) + "x" + "1" * k
        with pytest.raises(input_error) as caught:
            m.parse_u16(bad)
        assert caught.value.message == f"not a digit at index {index % 5}"
        assert m.parse_u16(str(index * 1000 + k)) == index * 1000 + k
        data = bytes([index, k & 0xFF]) * (k + 1)
        assert m.reverse(data) == data[::-1]
        assert m.hex_decode(data.hex()) == data
        assert m.scale([index, k], 2) == [2 * index, 2 * k]
        if k % 50 == 0:
            with pytest.raises(MemoryError):
                m.repeat(bytes(MIB), 2**32 - 1)


def test_native_from_eight_threads_at_once(pkgs, built):
    """One native instance, 8 threads calling at once: per-thread arena and record (the
    marker lets the calls run unlocked), every message reaching its own thread."""
    made = make(pkgs, built, "native")
    in_threads(lambda index: thread_work(made.m, made.input_error, index))


def test_wasm_from_eight_threads_at_once(pkgs, built):
    made = make(pkgs, built, "wasm32")
    in_threads(lambda index: thread_work(made.m, made.input_error, index))
