"""Every wasmtime error becomes one of the package's exceptions (issue 9, item 6), and
copying or pickling an instance does something sensible on both backends.

- a failed address-space reservation (each thread's instance reserves 4 GiB plus guard
  pages) is a `MemoryError` that says what to do; `WASM2PY_MEMORY_RESERVATION` reserves
  less, so that a process under a tight `ulimit -v` still runs, and has its own cache entry;
- a wasmtime error while compiling, linking, setting up WASI or instantiating is
  `{Class}Error` naming what failed (`MemoryError` when memory could not be had); a trap in
  the start function is `{Class}Trap`;
- `copy.copy()` and `copy.deepcopy()` make a new instance with the same settings;
  `pickle` is a clear `TypeError`.

Each scenario runs in a fresh Python process: a limit on the address space, a patched
wasmtime-py or a module swapped after generation never touches pytest's own process. The
subprocesses inherit WASM2PY_FAST_PATH, so CI runs each on both call paths; the scenarios
that differ between the paths name the path themselves.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime
from conftest import GENERATED, GUESTS_OUT, ROOT, WASM2PY, require

TIMEOUT = 120
GIB = 1 << 30
# No instance with wasmtime's default reservation (4 GiB + guard pages) fits under it.
TIGHT = 3_000_000 * 1024
# One such instance fits (the interpreter needs far less than 2 GiB), a second one does not.
ONE_INSTANCE = 6 * GIB


def limit_address_space(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    return preexec


def run_python(
    code: str, *paths: Path, limit: int | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("WASM2PY_MEMORY_RESERVATION", None)
    environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    # Under a limit on the address space: few malloc arenas and compile threads (each
    # reserves address space too), whatever the number of cores.
    environment.update(MALLOC_ARENA_MAX="2", RAYON_NUM_THREADS="2")
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        env=environment,
        cwd=ROOT,
        preexec_fn=limit_address_space(limit) if limit else None,
    )


def assert_clean(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.splitlines()[-1:] == [expected], f"{done.stdout}\n{done.stderr}"
    assert "panicked" not in done.stderr and "Fatal" not in done.stderr, done.stderr


def generate(work: Path, name: str, wat: str, signatures: str) -> Path:
    """Generates the package `name` from `wat`; returns the directory to put on the path."""
    require(WASM2PY, "wasm2py binary")
    (work / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (work / f"{name}.wasm2py").write_text(signatures)
    out = work / "out"
    done = subprocess.run(
        [str(WASM2PY), "gen", str(work / f"{name}.wasm"), "-o", str(out / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out / name


# ---- a failed address-space reservation ----------------------------------------------------


def test_a_failed_reservation_is_a_memory_error_that_says_what_to_do(tmp_path: Path) -> None:
    """Under `ulimit -v 3000000` no instance can reserve its 4 GiB: that was `FibError`
    carrying wasmtime's "mmap failed to reserve" (and `WasmtimeError` before that)."""
    done = run_python(
        """
        import fib
        for make in (fib.Fib, lambda: fib.gcd(12, 18)):
            try:
                make()
            except MemoryError as error:
                assert not isinstance(error, fib.FibError), type(error)
                message = str(error)
                assert message.startswith("fib: cannot instantiate the module: "), message
                assert "WASM2PY_MEMORY_RESERVATION=" in message and "ulimit -v" in message, message
                assert "\\n" not in message, message  # wasmtime's causes on one line
            else:
                raise AssertionError("no MemoryError")
        print("memory errors")
        """,
        GENERATED / "fib",
        limit=TIGHT,
        WASM2PY_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert_clean(done, "memory errors")


def test_a_thread_whose_instance_cannot_reserve_gets_a_memory_error(tmp_path: Path) -> None:
    """The main thread's instance fits, another thread's does not: its first call is a
    `MemoryError`, and the main thread's instance still works."""
    done = run_python(
        """
        import threading
        import fib
        f = fib.Fib()
        assert f.gcd(12, 18) == 6
        caught = []
        def call():
            try:
                f.gcd(4, 6)
            except MemoryError as error:
                caught.append("WASM2PY_MEMORY_RESERVATION" in str(error))
        t = threading.Thread(target=call)
        t.start()
        t.join()
        print(caught, f.gcd(4, 6))
        """,
        GENERATED / "fib",
        limit=ONE_INSTANCE,
        WASM2PY_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert_clean(done, "[True] 2")


@pytest.mark.parametrize("reservation", ["64M", "67108864", "0"])
def test_a_smaller_reservation_runs_under_a_tight_limit(tmp_path: Path, reservation: str) -> None:
    """With WASM2PY_MEMORY_RESERVATION, five threads' instances fit under `ulimit -v
    3000000`, and a memory grows well past the reservation."""
    done = run_python(
        """
        import threading
        import fib, textkit
        results = []
        def work(n):
            results.append((fib.gcd(12 * n, 18 * n), textkit.byte_len(bytes(100 << 20))))
        threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        work(5)
        print(sorted(results))
        """,
        GENERATED / "fib",
        GENERATED / "textkit",
        limit=TIGHT,
        WASM2PY_MEMORY_RESERVATION=reservation,
        WASM2PY_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert_clean(done, str(sorted((6 * n, 100 << 20) for n in range(1, 6))))


def test_a_reservation_has_its_own_cache_entry(tmp_path: Path) -> None:
    """The reservation changes the compiled code (explicit bounds checks): engines with and
    without one must not load each other's artifacts (wasmtime would refuse them, and each
    process would compile and overwrite the other's)."""
    cache = tmp_path / "cache"
    for reservation in ("", "64M", "64M"):
        done = run_python(
            "import fib\nprint(fib.gcd(12, 18))",
            GENERATED / "fib",
            WASM2PY_CACHE="1",
            WASM2PY_CACHE_DIR=str(cache),
            WASM2PY_MEMORY_RESERVATION=reservation,
        )
        assert_clean(done, "6")
    artifacts = sorted(p.name for p in cache.glob("*.cwasm"))
    assert len(artifacts) == 2, artifacts
    assert sum(f"-res{64 << 20:x}" in name for name in artifacts) == 1, artifacts


@pytest.mark.parametrize("value", ["lots", "5G", "-1", "64 GiB"])
def test_an_invalid_reservation_is_the_package_error(tmp_path: Path, value: str) -> None:
    done = run_python(
        """
        import fib
        try:
            fib.Fib()
        except fib.FibError as error:
            print("WASM2PY_MEMORY_RESERVATION" in str(error))
        """,
        GENERATED / "fib",
        WASM2PY_CACHE_DIR=str(tmp_path / "cache"),
        WASM2PY_MEMORY_RESERVATION=value,
    )
    assert_clean(done, "True")


# ---- wasmtime errors while compiling, linking, setting up WASI, instantiating ---------------

MMAP_FAILED = "mmap failed to reserve 0x104000000 bytes\\n\\nCaused by:\\n    Cannot allocate memory (os error 12)"
# (package, what to construct, the wasmtime-py member made to fail, its message, the
# exception expected, what its message starts with).
FAILURES = [
    ("fib", "fib.Fib()", "Module.__init__", MMAP_FAILED, "MemoryError", "fib: cannot compile the module: mmap failed"),
    ("fib", "fib.Fib()", "Module.exports", "boom", "fib.FibError", "fib: cannot read the module's exports: boom"),
    ("fib", "fib.Fib()", "Linker.instantiate_pre", MMAP_FAILED, "MemoryError", "fib: cannot link the module: mmap"),
    ("fib", "fib.Fib()", "InstancePre.instantiate", MMAP_FAILED, "MemoryError", "fib: cannot instantiate the module: mmap"),
    (
        "wasiapp", "wasiapp.Wasiapp()", "Linker.define_wasi", "boom",
        "wasiapp.WasiappError", "wasiapp: cannot define the WASI imports: boom",
    ),
    ("wasiapp", "wasiapp.Wasiapp()", "Store.set_wasi", "boom", "wasiapp.WasiappError", "wasiapp: cannot set up WASI: boom"),
    (
        "wasiapp", "wasiapp.Wasiapp(wasi=wasiapp.Wasi(stdin=b'x'))", "WasiConfig.stdin_file", "boom",
        "wasiapp.WasiappError", "wasiapp: cannot set the WASI stdin: boom",
    ),
    (
        "wasiapp", "wasiapp.Wasiapp()", "WasiConfig.argv", "boom",
        "wasiapp.WasiappError", "wasiapp: cannot set the WASI arguments and environment: boom",
    ),
]


@pytest.mark.parametrize(
    ("package", "construct", "member", "message", "expected", "starts"),
    FAILURES,
    ids=[f"{f[0]}-{f[2]}" for f in FAILURES],
)
def test_a_wasmtime_error_outside_a_call_is_the_package_exception(
    tmp_path: Path, package: str, construct: str, member: str, message: str, expected: str, starts: str
) -> None:
    """wasmtime-py's member fails as wasmtime would (compile, exports, link, WASI set-up,
    instantiation): the package's exception naming what failed, never a WasmtimeError."""
    cls, attr = member.split(".")
    done = run_python(
        f"""
        import wasmtime
        def fail(*args, **kwargs):
            raise wasmtime.WasmtimeError("{message}")
        owner = getattr(wasmtime, "{cls}")
        if isinstance(owner.__dict__["{attr}"], property) or "{attr}" in ("stdin_file", "argv"):
            setattr(owner, "{attr}", property(fail, fail))
        else:
            setattr(owner, "{attr}", fail)
        import {package}
        try:
            {construct}
        except Exception as error:
            name = type(error).__qualname__
            module = type(error).__module__
            print(name if module == "builtins" else module.split(".")[0] + "." + name)
            print(str(error))
        """,
        GENERATED / package,
        WASM2PY_CACHE="0",
    )
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert lines[:1] == [expected], done.stdout
    assert lines[1].startswith(starts), lines[1]
    if expected == "MemoryError":
        assert "WASM2PY_MEMORY_RESERVATION" in lines[1], lines[1]


@pytest.mark.parametrize("fast", ["1", "0"])
def test_a_host_import_that_cannot_be_defined_is_the_package_error(fast: str) -> None:
    """Defining a host import failed with a WasmtimeError on the public API (the fast path
    defines it through the C API)."""
    done = run_python(
        """
        import wasmtime
        import hostcalls
        from hostcalls import _runtime as rt
        def fail(*args, **kwargs):
            raise wasmtime.WasmtimeError("boom")
        wasmtime.Linker.define_func = fail
        if rt.FAST:
            rt.RAW_DEFINE = lambda *args: rt.RAW_ERROR_NEW(b"boom")
        try:
            hostcalls.Hostcalls(imports={key: print for key in hostcalls._HOST_IMPORTS})
        except hostcalls.HostcallsError as error:
            print(str(error))
        """,
        GENERATED / "hostcalls",
        WASM2PY_CACHE="0",
        WASM2PY_FAST_PATH=fast,
    )
    assert_clean(done, "hostcalls: cannot define env.log: boom")


def test_a_missing_preopen_directory_is_the_package_error(tmp_path: Path) -> None:
    """A directory granted by `Wasi(dirs=...)` that is gone when the instance is made was a
    raw `WasmtimeError: failed to add preopen dir`."""
    gone = tmp_path / "gone"
    gone.mkdir()
    done = run_python(
        f"""
        import os
        import wasiapp
        wasi = wasiapp.Wasi(dirs={{"/data": {str(gone)!r}}})
        os.rmdir({str(gone)!r})
        try:
            wasiapp.Wasiapp(wasi=wasi)
        except wasiapp.WasiappError as error:
            print(str(error))
        """,
        GENERATED / "wasiapp",
    )
    assert_clean(
        done,
        f"wasiapp: cannot preopen {str(gone)!r} as the WASI directory '/data': failed to add preopen dir",
    )


START_TRAP_WAT = r"""
(module
  (func $start unreachable)
  (start $start)
  (func (export "one") (result i32) (i32.const 1))
)
"""


def test_a_trap_in_the_start_function_is_the_package_trap(tmp_path: Path) -> None:
    """A start function that traps was `{Class}Error("cannot instantiate ...")`."""
    out = generate(tmp_path, "start_trap", START_TRAP_WAT, "one() -> u32\n")
    done = run_python(
        """
        import start_trap as m
        try:
            m.StartTrap()
        except m.StartTrapTrap as trap:
            print(trap.function, "unreachable" in trap.message)
        """,
        out,
    )
    assert_clean(done, "start True")


MEMORY_WAT = r"""
(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func (export "bump_alloc") (param i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get 0)))
    (local.get $p))
  (func (export "bump_reset") (global.set $top (i32.const 1024)))
  (func (export "size") (param i32 i32) (result i32) (local.get 1))
)
"""


@pytest.mark.parametrize("fast", ["1", "0"])
def test_a_module_without_its_memory_is_the_package_error(tmp_path: Path, fast: str) -> None:
    """The module next to the package lost its memory export (replaced after generation):
    a `KeyError` on the public API."""
    out = generate(tmp_path, "lost_memory", MEMORY_WAT, "size(data: bytes) -> u32\n")
    (out / "lost_memory" / "lost_memory.wasm").write_bytes(
        wasmtime.wat2wasm(MEMORY_WAT.replace('(memory (export "memory") 1)', "(memory 1)"))
    )
    done = run_python(
        """
        import lost_memory as m
        try:
            m.LostMemory().size(b"abc")
        except m.LostMemoryError as error:
            print(str(error))
        """,
        out,
        WASM2PY_CACHE="0",
        WASM2PY_FAST_PATH=fast,
    )
    assert_clean(done, "lost_memory: the module does not export a memory 'memory'")


# ---- copy and pickle ------------------------------------------------------------------------


def test_copy_makes_a_new_instance_with_the_same_settings() -> None:
    """`copy.copy()` of a native instance raised AttributeError (it made a default wasm
    instance and copied native slots into it), as did `copy.deepcopy()` of a wasm one
    (TypeError: a thread-local); `copy.copy()` of a wasm instance lost its settings."""
    done = run_python(
        f"""
        import copy
        import fib, hostcalls, textkit
        natives = [
            fib.Fib(library={str(GUESTS_OUT / "libfib.so")!r}),
            textkit.Textkit(library={str(GUESTS_OUT / "libtextkit.so")!r}),
        ]
        for original in natives + [fib.Fib(), textkit.Textkit()]:
            for make in (copy.copy, copy.deepcopy):
                duplicate = make(original)
                assert duplicate is not original
                assert type(duplicate) is type(original) and duplicate.backend == original.backend
                if isinstance(original, fib.Fib):
                    assert duplicate.gcd(12, 18) == 6
                else:
                    assert duplicate.byte_len(b"abcd") == 4
        for native in natives:
            assert copy.copy(native)._lib is native._lib  # the same loaded library
        # Settings: a timeout and host imports carry over.
        timed = copy.deepcopy(fib.Fib(timeout=0.2))
        try:
            timed.fibonacci(60)
        except fib.FibTimeout:
            pass
        else:
            raise AssertionError("no timeout")
        seen = []
        def add(a, b):
            seen.append((a, b))
            return a + b
        imports = {{key: print for key in hostcalls._HOST_IMPORTS}}
        imports["env.host_add"] = add
        host = copy.copy(hostcalls.Hostcalls(imports=imports))
        assert host.add_via_host(2, 3) == 5 and seen == [(2, 3)]
        # Containers are deep-copied around the instance, as usual.
        box = {{"f": natives[0]}}
        assert copy.deepcopy(box)["f"].gcd(4, 6) == 2
        print("copies")
        """,
        GENERATED / "fib",
        GENERATED / "textkit",
        GENERATED / "hostcalls",
    )
    require(GUESTS_OUT / "libfib.so", "native library of fib")
    assert_clean(done, "copies")


def test_pickle_is_a_clear_type_error() -> None:
    """Pickling raised `TypeError: cannot pickle '_thread._local' object` (wasm) or
    `ValueError: ctypes objects containing pointers cannot be pickled` (native)."""
    done = run_python(
        f"""
        import pickle
        import fib
        for f in (fib.Fib(), fib.Fib(library={str(GUESTS_OUT / "libfib.so")!r})):
            try:
                pickle.dumps(f)
            except TypeError as error:
                assert str(error).startswith("cannot pickle a fib.Fib instance"), error
            else:
                raise AssertionError("pickled")
        print("refused")
        """,
        GENERATED / "fib",
    )
    assert_clean(done, "refused")


@pytest.mark.parametrize("reservation", [None, "64M"])
def test_results_stay_right_when_the_memory_grows_and_moves(tmp_path: Path, reservation: str | None) -> None:
    """The runtime skips asking for the memory's size when its view already covers what
    it reads, but only with the default reservation, where a wasm32 memory grows in
    place. Results stay right across growth well past a 64 MiB reservation, too."""
    env = {"WASM2PY_CACHE_DIR": str(tmp_path / "cache")}
    if reservation is not None:
        env["WASM2PY_MEMORY_RESERVATION"] = reservation
    done = run_python(
        """
        import textkit
        small = bytes(range(256))
        big = small * (400 << 10)  # 100 MiB: the memory grows well past 64 MiB
        for _ in range(3):
            assert textkit.reverse(small) == small[::-1]
            assert textkit.sha256(small) == textkit.sha256(bytes(small))
            out = textkit.reverse(big)
            assert len(out) == len(big) and out[:256] == small[::-1] and out[-256:] == small[::-1]
            assert textkit.reverse(small) == small[::-1]
        print("ok")
        """,
        GENERATED / "textkit",
        **env,
    )
    assert_clean(done, "ok")
