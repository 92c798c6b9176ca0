"""The example guests that use WASI or host imports, through their committed packages.

- wasiapp (guests/rust/wasiapp): Rust with std for wasm32-wasip1, the article's build, and
  natively (guests/out/libwasiapp.so);
- cwasi (guests/c/cwasi.c): C with wasi-libc as a reactor whose constructor fills a table,
  and natively (guests/out/libcwasi.so);
- hostcalls (guests/wat/hostcalls.wat): host imports from "env", wasm only.

Their packages are committed in generated/<name> and put on sys.path here (conftest.py
does that for the other example guests). test_spec_wasi.py and test_imports.py check the
SPEC's "WASI modules" and "Host imports" in depth on modules of their own; this file checks
the shipped examples: the sandbox's defaults, exactly what a Wasi grants, output to the
current sys.stdout/sys.stderr (redirects, capsys, an explicit stream, threads), proc_exit
and panics, _initialize on every thread's instance, the native builds from threads, every
host-import export, and whole processes that must exit cleanly.

Every test runs on the call path of the process: the fast path by default,
wasmtime-py's public API with WASM2PY_FAST_PATH=0. A missing artifact fails, never skips.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import GENERATED, GUESTS_OUT, require

PACKAGES = ("wasiapp", "cwasi", "hostcalls")
NATIVE = ("wasiapp", "cwasi")  # hostcalls has host imports: no native build
THREADS = 8
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

for _name in PACKAGES:
    if str(GENERATED / _name) not in sys.path:
        sys.path.insert(0, str(GENERATED / _name))


def load(name: str) -> ModuleType:
    """The committed package generated/<name>, imported (a missing one fails)."""
    require(GENERATED / name / name / "__init__.py", f"committed package of {name}")
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().is_relative_to(GENERATED / name), module.__file__
    return module


def native_lib(name: str) -> Path:
    return require(GUESTS_OUT / f"lib{name}.so", f"native library of {name}")


@pytest.fixture(scope="module")
def wa() -> ModuleType:
    return load("wasiapp")


@pytest.fixture(scope="module")
def cw() -> ModuleType:
    return load("cwasi")


@pytest.fixture(scope="module")
def hc() -> ModuleType:
    return load("hostcalls")


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) & M64
    return a


def in_threads(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """work(index) on `count` threads released together; their results in order. The
    first failure is re-raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 (re-raised on the main thread)
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


# ---- the committed packages ------------------------------------------------------------


@pytest.mark.parametrize("name", PACKAGES)
def test_the_committed_package_wraps_the_built_module(name):
    """generated/<name> carries guests/out/<name>.wasm byte for byte, and its header names
    that module's hash: the tests below exercise what the guests build."""
    built = require(GUESTS_OUT / f"{name}.wasm", f"module {name}").read_bytes()
    packaged = require(GENERATED / name / name / f"{name}.wasm", f"packaged {name}.wasm").read_bytes()
    digest = hashlib.sha256(built).hexdigest()
    assert hashlib.sha256(packaged).hexdigest() == digest, f"generated/{name} is stale"
    header = (GENERATED / name / name / "__init__.py").read_text().splitlines()[0]
    assert f"from {name}.wasm (sha256 {digest})" in header


@pytest.mark.parametrize("name", PACKAGES)
def test_the_call_path_is_the_one_the_environment_asks_for(name):
    """The suite runs twice: fast path by default, public API with WASM2PY_FAST_PATH=0."""
    wasm = importlib.import_module(f"{load(name).__name__}._wasm")
    assert wasm.FAST_PATH is (os.environ.get("WASM2PY_FAST_PATH", "1") != "0")


def test_the_packages_export_wasi_and_the_exit_exception(wa, cw, hc):
    for pkg, cls in ((wa, "Wasiapp"), (cw, "Cwasi"), (hc, "Hostcalls")):
        assert "Wasi" in pkg.__all__
        exit_cls = getattr(pkg, f"{cls}Exit")
        assert issubclass(exit_cls, getattr(pkg, f"{cls}Trap"))
        assert issubclass(getattr(pkg, f"{cls}Trap"), getattr(pkg, f"{cls}Error"))


def test_initialize_is_never_a_method(wa, cw):
    for pkg, cls in ((wa, wa.Wasiapp), (cw, cw.Cwasi)):
        instance = cls()
        assert not hasattr(cls, "_initialize")
        assert not hasattr(instance, "_initialize")
        assert "_initialize" not in pkg.__all__ and not hasattr(pkg, "_initialize")


# ---- wasiapp on the wasm backend: the sandbox ------------------------------------------


@pytest.mark.parametrize("grant", ["none", "empty Wasi"])
def test_wasiapp_defaults_grant_nothing(wa, grant, tmp_path, monkeypatch):
    monkeypatch.setenv("WASIAPP_TEST_VARIABLE", "visible on the host")
    secret = tmp_path / "secret.txt"
    secret.write_text("host data")
    app = wa.Wasiapp() if grant == "none" else wa.Wasiapp(wasi=wa.Wasi())
    assert app.backend == "wasm"
    for variable in ("WASIAPP_TEST_VARIABLE", "PATH", "HOME"):
        with pytest.raises(wa.WasiappInputError, match="env_var"):
            app.env_var(variable)
    assert app.arg_count() == 1
    assert app.arg(0) == "wasiapp"
    with pytest.raises(wa.WasiappInputError, match="arg"):
        app.arg(1)
    for path in (str(secret), "/etc/passwd", "/", "secret.txt"):
        with pytest.raises(wa.WasiappInputError, match="read_file"):
            app.read_file(path)
    assert app.write_file(str(tmp_path / "created.txt"), b"x") is False
    assert not (tmp_path / "created.txt").exists()
    assert app.read_stdin() == b""
    assert app.now_nonzero() is True  # clocks are available in the sandbox


def test_wasiapp_module_level_functions_use_the_sandbox(wa):
    assert wa.arg_count() == 1
    assert wa.arg(0) == "wasiapp"
    with pytest.raises(wa.WasiappInputError):
        wa.env_var("PATH")
    assert wa.read_stdin() == b""
    assert wa.add(M32, 2) == 1


def test_env_and_args_are_granted_exactly(wa):
    app = wa.Wasiapp(wasi=wa.Wasi(env={"LANG": "C", "GREETING": "héllo ✓"}, args=["prog", "--fast", "ü"]))
    assert app.env_var("LANG") == "C"
    assert app.env_var("GREETING") == "héllo ✓"
    with pytest.raises(wa.WasiappInputError):
        app.env_var("PATH")  # set on the host, not granted
    assert app.arg_count() == 3
    assert [app.arg(i) for i in range(3)] == ["prog", "--fast", "ü"]
    with pytest.raises(wa.WasiappInputError):
        app.arg(3)


def test_dirs_are_read_only(wa, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_bytes(b"input \x00\xff")
    (tmp_path / "secret.txt").write_text("outside the grant")
    app = wa.Wasiapp(wasi=wa.Wasi(dirs={"/data": str(data)}))
    assert app.read_file("/data/in.txt") == b"input \x00\xff"
    assert app.write_file("/data/in.txt", b"overwritten") is False
    assert (data / "in.txt").read_bytes() == b"input \x00\xff"
    assert app.write_file("/data/new.txt", b"x") is False
    assert not (data / "new.txt").exists()
    for path in ("/data/../secret.txt", str(tmp_path / "secret.txt"), "/etc/passwd"):
        with pytest.raises(wa.WasiappInputError):
            app.read_file(path)


def test_writable_dirs_write_to_the_host(wa, tmp_path):
    out = tmp_path / "out"
    ro = tmp_path / "ro"
    out.mkdir()
    ro.mkdir()
    (ro / "r.txt").write_text("read me")
    app = wa.Wasiapp(wasi=wa.Wasi(dirs={"/ro": ro}, writable_dirs={"/out": out}))
    payload = bytes(range(256)) * 100
    assert app.write_file("/out/o.bin", payload) is True
    assert (out / "o.bin").read_bytes() == payload
    assert app.read_file("/out/o.bin") == payload
    assert app.write_file("/out/o.bin", b"short") is True  # created or truncated
    assert (out / "o.bin").read_bytes() == b"short"
    assert app.read_file("/ro/r.txt") == b"read me"
    assert app.write_file("/ro/w.txt", b"x") is False  # the read-only grant is still read-only
    assert not (ro / "w.txt").exists()
    assert app.write_file("/out/../escape.txt", b"x") is False
    assert not (tmp_path / "escape.txt").exists()


def test_stdin_is_what_the_wasi_names(wa):
    data = b"line 1\nline 2\n\x00\xff" * 1000
    app = wa.Wasiapp(wasi=wa.Wasi(stdin=data))
    assert app.read_stdin() == data
    assert app.read_stdin() == b""  # read to the end
    # another thread's instance reads it from the start
    assert in_threads(lambda i: app.read_stdin(), 2) == [data, data]


# ---- wasiapp: output goes to the current sys.stdout / sys.stderr ------------------------


def test_greet_output_lands_in_redirects_in_order_with_python_prints(wa):
    app = wa.Wasiapp()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        print("before")
        print("e-before", file=sys.stderr)
        result = app.greet("ann")
        print("between")
        result2 = app.greet("bob")
        print("after")
        print("e-after", file=sys.stderr)
    assert (result, result2) == ("Hello, ann!", "Hello, bob!")
    assert out.getvalue() == "before\nhello, ann\nbetween\nhello, bob\nafter\n"
    assert err.getvalue() == "e-before\ngreeted ann\ngreeted bob\ne-after\n"


def test_greet_output_is_seen_by_capsys_in_order(wa, capsys):
    app = wa.Wasiapp()
    print("before")
    assert app.greet("cap") == "Hello, cap!"
    print("after")
    assert wa.greet("module") == "Hello, module!"
    captured = capsys.readouterr()
    assert captured.out == "before\nhello, cap\nafter\nhello, module\n"
    assert captured.err == "greeted cap\ngreeted module\n"


def test_output_follows_the_stream_current_at_each_call(wa):
    """The instance is made under one redirect and used under others: the text goes to
    whatever sys.stdout is when the guest writes, not to the one of its creation."""
    first, second, third = io.StringIO(), io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(first):
        app = wa.Wasiapp()
        app.greet("one")
    with contextlib.redirect_stdout(second):
        app.greet("two")
    with contextlib.redirect_stdout(third):
        app.greet("three")
    assert (first.getvalue(), second.getvalue(), third.getvalue()) == (
        "hello, one\n",
        "hello, two\n",
        "hello, three\n",
    )


def test_non_ascii_output_is_decoded(wa, capsys):
    name = "wörld ✓ " + "ü" * 5000
    assert wa.Wasiapp().greet(name) == f"Hello, {name}!"
    captured = capsys.readouterr()
    assert captured.out == f"hello, {name}\n"
    assert captured.err == f"greeted {name}\n"


def test_an_explicit_stdout_receives_the_output_instead_of_sys_stdout(wa, capsys):
    out = io.StringIO()
    app = wa.Wasiapp(wasi=wa.Wasi(stdout=out))
    print("python")
    assert app.greet("s") == "Hello, s!"
    assert out.getvalue() == "hello, s\n"
    captured = capsys.readouterr()
    assert captured.out == "python\n"  # nothing of the guest's
    assert captured.err == "greeted s\n"  # stderr was not named: the current sys.stderr


def test_explicit_stdout_and_stderr(wa, capsys):
    out, err = io.StringIO(), io.StringIO()
    app = wa.Wasiapp(wasi=wa.Wasi(stdout=out, stderr=err))
    app.greet("x")
    with pytest.raises(wa.WasiappTrap):
        app.fail("explicit boom")
    assert out.getvalue() == "hello, x\n"
    assert err.getvalue().startswith("greeted x\n")
    assert "explicit boom" in err.getvalue()
    assert capsys.readouterr() == ("", "")


# ---- wasiapp: exit and panic -----------------------------------------------------------


@pytest.mark.parametrize("code", [0, 3, 200, 255])
def test_exit_raises_exit_with_the_code_and_the_next_call_works(wa, code):
    app = wa.Wasiapp(wasi=wa.Wasi(stdin=b"abc"))
    assert app.read_stdin() == b"abc"
    assert app.read_stdin() == b""
    with pytest.raises(wa.WasiappExit) as caught:
        app.exit_with(code)
    error = caught.value
    assert error.code == code
    assert isinstance(error, wa.WasiappTrap)
    assert error.function == "exit_with"
    assert str(code) in str(error)
    # the next call works, on a fresh instance that keeps the grant (stdin from its start)
    assert app.greet("again") == "Hello, again!"
    assert app.read_stdin() == b"abc"
    assert app.add(2, 3) == 5


def test_exit_status_is_signed_as_rust_passes_it(wa):
    """exit_with(u32::MAX) is std::process::exit(-1)."""
    with pytest.raises(wa.WasiappExit) as caught:
        wa.Wasiapp().exit_with(M32)
    assert caught.value.code == -1


def test_exits_in_a_row_and_from_the_module_level_functions(wa):
    app = wa.Wasiapp()
    for code in range(5):
        with pytest.raises(wa.WasiappExit) as caught:
            app.exit_with(code)
        assert caught.value.code == code
        assert app.fibonacci(10) == 55
    with pytest.raises(wa.WasiappExit) as caught:
        wa.exit_with(7)
    assert caught.value.code == 7
    assert wa.arg(0) == "wasiapp"


def test_a_panic_is_a_trap_its_message_reaches_sys_stderr_and_the_instance_stays_usable(wa):
    app = wa.Wasiapp()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(wa.WasiappTrap) as caught:
        app.fail("boom")
    assert not isinstance(caught.value, wa.WasiappExit)
    assert caught.value.function == "fail"
    assert "unreachable" in str(caught.value)
    assert "panicked at" in err.getvalue()
    assert "\nboom\n" in err.getvalue()
    assert app.greet("after") == "Hello, after!"
    assert app.word_counts("a b a") == "a 2\nb 1\n"
    with pytest.raises(wa.WasiappTrap):
        app.fail("second")  # a second panic on the same instance is a trap too
    assert app.fibonacci(20) == 6765


def test_a_panic_message_is_seen_by_capsys(wa, capsys):
    with pytest.raises(wa.WasiappTrap):
        wa.Wasiapp().fail("captured böom")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "captured böom" in captured.err


# ---- wasiapp: std at work ---------------------------------------------------------------


def test_random_numbers_differ_and_the_clock_runs(wa):
    app = wa.Wasiapp()
    values = [app.random_u64() for _ in range(8)]
    assert all(0 <= v <= M64 for v in values)
    assert len(set(values)) == len(values)
    assert app.now_nonzero() is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b a  b\nc b a", "a 2\nb 3\nc 1\n"),
        ("", ""),
        (" \t\n ", ""),
        ("zebra apple zebra Äpfel", "apple 1\nzebra 2\nÄpfel 1\n"),
        ("x " * 10000, "x 10000\n"),
    ],
)
def test_word_counts(wa, text, expected):
    assert wa.Wasiapp().word_counts(text) == expected


def test_fibonacci_and_add(wa):
    app = wa.Wasiapp()
    assert [app.fibonacci(n) for n in range(25)] == [fib(n) for n in range(25)]
    assert app.add(M32, 2) == 1
    with pytest.raises(OverflowError):
        app.add(-1, 0)


# ---- wasiapp: threads ---------------------------------------------------------------------


def test_threads_with_their_own_instances_and_streams(wa):
    """redirect_stdout is process-global, so each thread names its own streams."""

    def work(i: int) -> tuple[Any, ...]:
        out, err = io.StringIO(), io.StringIO()
        app = wa.Wasiapp(wasi=wa.Wasi(stdout=out, stderr=err, args=[f"t{i}"]))
        results = [app.greet(f"t{i}-{k}") for k in range(3)]
        return results, app.fibonacci(15 + i), app.arg(0), out.getvalue(), err.getvalue()

    for i, (results, fib_value, arg0, out, err) in enumerate(in_threads(work)):
        assert results == [f"Hello, t{i}-{k}!" for k in range(3)]
        assert fib_value == fib(15 + i)
        assert arg0 == f"t{i}"
        assert out == "".join(f"hello, t{i}-{k}\n" for k in range(3))
        assert err == "".join(f"greeted t{i}-{k}\n" for k in range(3))


def test_threads_sharing_one_instance_write_to_sys_stdout(wa, capsys):
    app = wa.Wasiapp()

    def work(i: int) -> tuple[str, int]:
        return app.greet(f"shared{i}"), app.fibonacci(18 + i % 4)

    results = in_threads(work)
    assert results == [(f"Hello, shared{i}!", fib(18 + i % 4)) for i in range(THREADS)]
    captured = capsys.readouterr()
    # Rust's stdout is line-buffered: one write per line, so whole lines.
    assert sorted(captured.out.splitlines()) == sorted(f"hello, shared{i}" for i in range(THREADS))
    # Its stderr is unbuffered: eprintln! writes "greeted ", the name and "\n" separately,
    # and the threads' instances (separate guests, like separate processes on one terminal)
    # interleave those pieces. Every piece arrives whole and exactly once.
    err = captured.err
    assert sorted(err) == sorted("".join(f"greeted shared{i}\n" for i in range(THREADS)))
    assert err.count("greeted ") == THREADS
    assert all(err.count(f"shared{i}") == 1 for i in range(THREADS))


def test_threads_sharing_one_explicit_stream(wa):
    out = io.StringIO()
    app = wa.Wasiapp(wasi=wa.Wasi(stdout=out, stderr=io.StringIO()))
    in_threads(lambda i: [app.greet(f"s{i}.{k}") for k in range(5)])
    assert sorted(out.getvalue().splitlines()) == sorted(
        f"hello, s{i}.{k}" for i in range(THREADS) for k in range(5)
    )


def test_an_exit_on_one_thread_leaves_the_others_alone(wa):
    app = wa.Wasiapp(wasi=wa.Wasi(stdin=b"xyz"))

    def work(i: int) -> tuple[Any, ...]:
        first = app.read_stdin()
        if i % 2:
            with pytest.raises(wa.WasiappExit) as caught:
                app.exit_with(i)
            assert caught.value.code == i
        return first, app.read_stdin(), app.fibonacci(12)

    for i, (first, second, fib_value) in enumerate(in_threads(work)):
        assert first == b"xyz"
        # a thread that exited has a fresh instance (stdin from its start); the others not
        assert second == (b"xyz" if i % 2 else b"")
        assert fib_value == 144


# ---- wasiapp on the native backend ---------------------------------------------------------


@pytest.fixture(scope="module")
def wa_native(wa) -> Any:
    app = wa.Wasiapp(backend="native", library=native_lib("wasiapp"))
    assert app.backend == "native"
    return app


WORDS = ["b a  b\nc b a", "", "zebra apple zebra Äpfel", "one " * 3000 + "two"]


def test_native_gives_the_same_results(wa, wa_native):
    app = wa.Wasiapp()
    for n in range(26):
        assert wa_native.fibonacci(n) == app.fibonacci(n) == fib(n)
    for text in WORDS:
        assert wa_native.word_counts(text) == app.word_counts(text)
    for a, b in ((0, 0), (1, 2), (M32, 2), (M32, M32)):
        assert wa_native.add(a, b) == app.add(a, b) == (a + b) & M32
    assert wa_native.now_nonzero() is True


def test_native_from_threads(wa_native):
    """The Rust guest's arena is per thread natively (wasm2py-guest's thread_local!)."""

    def work(i: int) -> list[Any]:
        return [(wa_native.word_counts(f"w{i} x w{i} " * (k + 1)), wa_native.fibonacci(20 + i % 3)) for k in range(50)]

    for i, rows in enumerate(in_threads(work)):
        for k, (counts, fib_value) in enumerate(rows):
            assert counts == "\n".join(sorted([f"w{i} {2 * (k + 1)}", f"x {k + 1}"])) + "\n"
            assert fib_value == fib(20 + i % 3)


def test_native_greet_writes_to_the_process_file_descriptors(wa_native, capfd):
    """Native code writes to fd 1 and 2 itself (no sys.stdout there): capfd sees it."""
    assert wa_native.greet("fd") == "Hello, fd!"
    captured = capfd.readouterr()
    assert "hello, fd\n" in captured.out
    assert "greeted fd\n" in captured.err


@pytest.mark.parametrize("given", ["wasi", "imports"])
def test_native_refuses_wasi_and_imports(wa, given):
    kwargs: dict[str, Any] = {"wasi": wa.Wasi()} if given == "wasi" else {"imports": {}}
    library = native_lib("wasiapp")
    with pytest.raises(ValueError, match="wasm backend only"):
        wa.Wasiapp(backend="native", library=library, **kwargs)
    with pytest.raises(ValueError, match="wasm backend only"):
        wa.Wasiapp(library=library, **kwargs)  # a library alone means native


# ---- cwasi: the constructor, libc, output ----------------------------------------------------


def cwasi_first_calls(app: Any, index: int) -> tuple[Any, ...]:
    """A thread's calls, its first one varying: every first call must see the table the
    constructor filled (on wasm, _initialize ran for that thread's instance)."""
    if index % 3 == 0:
        ready = app.initialized()
        first = app.table_lookup(index)
    elif index % 3 == 1:
        first = app.table_lookup(index)
        ready = app.initialized()
    else:
        value = app.fibonacci_c(10)
        assert value == 55
        ready = app.initialized()
        first = app.table_lookup(index)
    return ready, first, app.table_lookup(255), app.table_lookup(256), app.fibonacci_c(20)


def expected_first_calls(index: int) -> tuple[Any, ...]:
    return True, index * index + 1, 255 * 255 + 1, 0, 6765


def test_cwasi_constructor_effect_on_the_first_call_of_every_thread_wasm(cw):
    app = cw.Cwasi()
    assert app.backend == "wasm"
    results = in_threads(lambda i: cwasi_first_calls(app, i))
    assert results == [expected_first_calls(i) for i in range(THREADS)]


def test_cwasi_constructor_effect_with_a_new_instance_per_thread_wasm(cw):
    results = in_threads(lambda i: cwasi_first_calls(cw.Cwasi(), i))
    assert results == [expected_first_calls(i) for i in range(THREADS)]


def test_cwasi_libc_functions(cw):
    app = cw.Cwasi()
    assert app.initialized() is True
    assert [app.table_lookup(i) for i in range(256)] == [i * i + 1 for i in range(256)]
    assert app.table_lookup(M32) == 0
    for n in (0, 1, -1, 1234567890123, 2**63 - 1, -(2**63)):
        assert app.format_number(n) == str(n)
    with pytest.raises(OverflowError):
        app.format_number(2**63)
    assert app.str_length("") == 0
    assert app.str_length("ab\0cd") == 2  # strlen stops at the first NUL
    assert app.str_length("héllo") == 6  # bytes of UTF-8
    assert app.str_length("x" * 200_000) == 200_000  # malloc'd copy beyond the first page
    assert app.fibonacci_c(30) == 832040
    assert cw.format_number(-5) == "-5"  # module level


def test_cwasi_say_output_in_redirects_and_capsys(cw, capsys):
    app = cw.Cwasi()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        print("before")
        assert app.say("hi") is None
        print("after")
        app.say("héllo")
    assert out.getvalue() == "before\nsaid: hi\nafter\nsaid: héllo\n"
    assert err.getvalue() == "cwasi: said 2 bytes\ncwasi: said 6 bytes\n"
    print("p")
    app.say("cap")
    captured = capsys.readouterr()
    assert captured.out == "p\nsaid: cap\n"
    assert captured.err == "cwasi: said 3 bytes\n"


def test_cwasi_say_with_an_explicit_stream(cw, capsys):
    out = io.StringIO()
    cw.Cwasi(wasi=cw.Wasi(stdout=out)).say("to the stream")
    assert out.getvalue() == "said: to the stream\n"
    assert capsys.readouterr() == ("", "cwasi: said 13 bytes\n")


def test_cwasi_say_from_threads(cw, capsys):
    app = cw.Cwasi()
    in_threads(lambda i: app.say(f"thread {i}"))
    captured = capsys.readouterr()
    # wasi-libc's stdout is line-buffered here and flushes "said: thread i" and "\n" as
    # two writes (wasmtime writes one iovec per fd_write), so the threads' instances may
    # interleave them; every piece arrives whole and exactly once.
    out = captured.out
    assert all(out.count(f"said: thread {i}") == 1 for i in range(THREADS))
    assert out.count("\n") == THREADS
    assert len(out) == sum(len(f"said: thread {i}\n") for i in range(THREADS))
    assert captured.err == "cwasi: said 8 bytes\n" * THREADS  # one write each


@pytest.fixture(scope="module")
def cw_native(cw) -> Any:
    app = cw.Cwasi(backend="native", library=native_lib("cwasi"))
    assert app.backend == "native"
    return app


def test_cwasi_native_constructor_effect_from_eight_threads(cw_native):
    """The constructor ran when the library loaded; scalar calls from every thread see it."""
    results = in_threads(lambda i: cwasi_first_calls(cw_native, i))
    assert results == [expected_first_calls(i) for i in range(THREADS)]


def test_cwasi_native_arena_functions_from_eight_threads(cw_native):
    """guests/c/wasm2py.h gives each thread its own arena natively (`static _Thread_local
    w2p__arena w2p__the_arena`, freed at thread exit; only the wasm32-wasi build has one
    global arena, and it has one thread), so format_number (its result is in the arena) and
    str_length (a str parameter; the call resets the arena after it) are safe from several
    threads at once, whether or not the native backend serialises them."""

    def work(i: int) -> list[tuple[str, int]]:
        return [
            (cw_native.format_number(i * 10**12 + k), cw_native.str_length("y" * k + "\0tail"))
            for k in range(300)
        ]

    for i, rows in enumerate(in_threads(work)):
        assert rows == [(str(i * 10**12 + k), k) for k in range(300)]


def test_cwasi_native_same_results_as_wasm(cw, cw_native):
    app = cw.Cwasi()
    for n in (0, -1, 2**63 - 1, -(2**63), 987654321):
        assert cw_native.format_number(n) == app.format_number(n)
    for text in ("", "ab\0cd", "héllo", "z" * 1000):
        assert cw_native.str_length(text) == app.str_length(text)
    assert cw_native.fibonacci_c(25) == app.fibonacci_c(25) == fib(25)


def test_cwasi_native_say_writes_to_the_process_file_descriptors(cw_native, capfd):
    cw_native.say("native")
    captured = capfd.readouterr()
    assert "said: native\n" in captured.out
    assert "cwasi: said 6 bytes\n" in captured.err


def test_cwasi_native_refuses_wasi(cw):
    with pytest.raises(ValueError, match="wasm backend only"):
        cw.Cwasi(backend="native", library=native_lib("cwasi"), wasi=cw.Wasi())


# ---- hostcalls: host imports ---------------------------------------------------------------

IMPORT_NAMES = (
    "env.log",
    "env.host_add",
    "env.host_scale",
    "env.host_big",
    "env.host_check",
    "env.host_neg",
    "env.unannotated",
)


class Host:
    """Python functions for every import of hostcalls, recording what they receive."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def record(self, name: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((name, args))
            self.threads.add(threading.get_ident())

    def log(self, msg: Any) -> None:
        self.record("log", msg)

    def host_add(self, a: Any, b: Any) -> int:
        self.record("host_add", a, b)
        return (a + b) & M32

    def host_scale(self, x: Any, k: Any) -> float:
        self.record("host_scale", x, k)
        return x * k

    def host_big(self, v: Any) -> int:
        self.record("host_big", v)
        return v ^ 1

    def host_check(self, data: Any) -> bool:
        self.record("host_check", data)
        return data.startswith(b"ok")

    def host_neg(self, v: Any) -> int:
        self.record("host_neg", v)
        return -v

    def unannotated(self, a: Any, b: Any) -> int:
        self.record("unannotated", a, b)
        return a - 1

    def imports(self, **overrides: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
        functions = {f"env.{n.split('.')[1]}": getattr(self, n.split(".")[1]) for n in IMPORT_NAMES}
        for name, function in overrides.items():
            assert f"env.{name}" in functions, name
            functions[f"env.{name}"] = function
        return functions


def test_every_export_calls_its_python_function_with_lifted_arguments(hc):
    host = Host()
    app = hc.Hostcalls(imports=host.imports())
    assert app.backend == "wasm"

    assert app.add_via_host(M32, 2) == 1
    assert host.calls[-1] == ("host_add", (M32, 2))  # u32 arrives unsigned, never -1

    assert app.log_text("héllo ✓") is None
    assert host.calls[-1] == ("log", ("héllo ✓",))
    assert type(host.calls[-1][1][0]) is str

    assert app.scale_via_host(1.5, -2.0) == -3.0
    assert host.calls[-1] == ("host_scale", (1.5, -2.0))
    assert all(type(v) is float for v in host.calls[-1][1])

    assert app.big_via_host(M64) == M64 - 1
    assert host.calls[-1] == ("host_big", (M64,))  # u64 unsigned

    assert app.check_via_host(b"ok\x00\xff") is True
    assert host.calls[-1] == ("host_check", (b"ok\x00\xff",))
    assert type(host.calls[-1][1][0]) is bytes  # a copy, not a view of guest memory
    assert app.check_via_host(b"no") is False
    assert app.check_via_host(b"") is False

    assert app.neg_via_host(-5) == 5
    assert host.calls[-1] == ("host_neg", (-5,))  # i32 signed
    assert app.neg_via_host(2**31 - 1) == -(2**31 - 1)

    assert app.call_unannotated(-1, -(2**63)) == -2
    assert host.calls[-1] == ("unannotated", (-1, -(2**63)))  # core types: signed

    calls = len(host.calls)
    assert app.plain_add(M32, 1) == 0
    assert len(host.calls) == calls  # no host call
    assert host.threads == {threading.get_ident()}


def test_call_host_n_adds_host_add_i_1_for_every_i(hc):
    """call_host_n(n) is the sum (mod 2^32) of host_add(i, 1) for i in range(n)."""
    host = Host()
    app = hc.Hostcalls(imports=host.imports())
    assert app.call_host_n(1000) == sum(i + 1 for i in range(1000)) == sum(range(1000)) + 1000
    assert host.calls == [("host_add", (i, 1)) for i in range(1000)]
    host.calls.clear()
    assert app.call_host_n(0) == 0
    assert host.calls == []
    # with a host_add that ignores b, it is sum(range(n))
    other = hc.Hostcalls(imports=host.imports(host_add=lambda a, b: a))
    assert other.call_host_n(1000) == sum(range(1000))
    # the sum wraps at 2^32
    wrapping = hc.Hostcalls(imports=host.imports(host_add=lambda a, b: M32))
    assert wrapping.call_host_n(3) == (3 * M32) & M32


def test_host_results_are_checked(hc):
    host = Host()
    app = hc.Hostcalls(imports=host.imports(host_add=lambda a, b: a - b))
    assert app.add_via_host(5, 3) == 2
    with pytest.raises(OverflowError, match="host_add"):
        app.add_via_host(3, 5)  # -2 is out of range for u32
    with pytest.raises(OverflowError, match="host_neg"):
        app.neg_via_host(-(2**31))  # 2**31 is out of range for i32
    bad = hc.Hostcalls(imports=host.imports(host_add=lambda a, b: "three"))
    with pytest.raises(TypeError, match="host_add"):
        bad.add_via_host(1, 2)
    assert app.add_via_host(9, 4) == 5  # usable after
    assert app.log_text("still fine") is None


def test_a_host_exception_comes_out_as_the_same_object(hc):
    error = KeyError("from the host")

    def check(data: bytes) -> bool:
        if data == b"raise":
            raise error
        return True

    host = Host()
    app = hc.Hostcalls(imports=host.imports(host_check=check))
    with pytest.raises(KeyError) as caught:
        app.check_via_host(b"raise")
    assert caught.value is error
    assert app.check_via_host(b"fine") is True
    assert app.call_host_n(10) == 55


def test_host_functions_run_on_the_calling_threads(hc):
    host = Host()
    app = hc.Hostcalls(imports=host.imports())

    def work(i: int) -> tuple[int, int, int]:
        return app.call_host_n(200 + i), app.add_via_host(i, M32), threading.get_ident()

    results = in_threads(work)
    assert [r[:2] for r in results] == [(sum(range(1, 201 + i)) & M32, (i + M32) & M32) for i in range(THREADS)]
    assert host.threads == {r[2] for r in results}
    assert len(host.calls) == sum(200 + i + 1 for i in range(THREADS))


@pytest.mark.parametrize("missing", IMPORT_NAMES)
def test_a_missing_import_fails_at_construction_naming_it(hc, missing):
    imports = Host().imports()
    del imports[missing]
    with pytest.raises(hc.HostcallsError, match=f"missing host import.*{missing}"):
        hc.Hostcalls(imports=imports)


def test_no_imports_unknown_imports_and_not_callable(hc):
    with pytest.raises(hc.HostcallsError) as caught:
        hc.Hostcalls()
    for name in IMPORT_NAMES:
        assert name in str(caught.value)
    with pytest.raises(hc.HostcallsError, match="env.extra"):
        hc.Hostcalls(imports={**Host().imports(), "env.extra": print})
    with pytest.raises(TypeError, match="env.log"):
        hc.Hostcalls(imports={**Host().imports(), "env.log": "not callable"})
    with pytest.raises(hc.HostcallsError, match="does not use WASI"):
        hc.Hostcalls(imports=Host().imports(), wasi=hc.Wasi())
    with pytest.raises(hc.HostcallsError, match="missing host import"):
        hc.plain_add(1, 2)  # the module-level functions' default instance has no imports


def test_the_native_backend_refuses_hostcalls(hc, tmp_path):
    """hostcalls has no native build; the refusal names the imports before any library is
    looked at."""
    library = tmp_path / "libhostcalls.so"  # does not exist: never loaded
    for make in (
        lambda: hc.Hostcalls(backend="native", library=library),
        lambda: hc.Hostcalls(library=library),
    ):
        with pytest.raises(hc.HostcallsError) as caught:
            make()
        message = str(caught.value)
        assert "wasm backend" in message
        for name in IMPORT_NAMES:
            assert name in message
    with pytest.raises(ValueError, match="wasm backend only"):
        hc.Hostcalls(backend="native", library=library, imports=Host().imports())


def test_the_class_docstring_lists_the_imports(hc):
    doc = hc.Hostcalls.__doc__
    for line in (
        "``env.log(msg: str)``",
        "``env.host_add(a: u32, b: u32) -> u32``",
        "``env.host_scale(x: f64, k: f64) -> f64``",
        "``env.host_big(v: u64) -> u64``",
        "``env.host_check(data: bytes) -> bool``",
        "``env.host_neg(v: i32) -> i32``",
        "``env.unannotated(arg0: i32, arg1: i64) -> i32`` (not annotated)",
    ):
        assert f"- {line}\n" in doc, line
    assert hc.Hostcalls.call_host_n.__doc__ == (
        "The sum (mod 2^32) of host_add(i, 1) for i in range(n): n guest-to-host round trips."
    )


# ---- whole processes ------------------------------------------------------------------------


def run_python(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Runs `script` in a fresh interpreter with the committed packages on sys.path (the
    environment, WASM2PY_FAST_PATH included, is inherited)."""
    for name in PACKAGES:
        require(GENERATED / name / name / "__init__.py", f"committed package of {name}")
    prelude = f"import sys\nsys.path[:0] = {[str(GENERATED / n) for n in PACKAGES]!r}\n"
    path = tmp_path / "script.py"
    path.write_text(prelude + textwrap.dedent(script))
    try:
        return subprocess.run(
            [sys.executable, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the process hung: {expired}", pytrace=False)


def assert_clean_exit(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit status {result.returncode}; stderr:\n{result.stderr[-3000:]}"
    for sign in ("Fatal Python error", "cannot unwind", "Segmentation fault", "Aborted"):
        assert sign not in result.stderr, result.stderr[-3000:]


@pytest.mark.parametrize("run", range(3))
def test_a_process_that_greets_and_traps_exits_cleanly(tmp_path, run):
    """WASI output streams at interpreter exit: a process that wrote through them and
    trapped must end with status 0 (wasmtime once called back into Python after shutdown
    and aborted the process)."""
    result = run_python(
        tmp_path,
        """
        import wasiapp
        print(wasiapp.greet("sub"))
        try:
            wasiapp.fail("boom")
        except wasiapp.WasiappTrap as error:
            print("trapped", error.function)
        print(wasiapp.Wasiapp().greet("again"))
        print("done")
        """,
    )
    assert_clean_exit(result)
    assert result.stdout == "hello, sub\nHello, sub!\ntrapped fail\nhello, again\nHello, again!\ndone\n"
    assert result.stderr.startswith("greeted sub\n")
    assert "panicked at" in result.stderr and "\nboom\n" in result.stderr
    assert result.stderr.endswith("greeted again\n")


# Another thread is inside a guest call while the interpreter shuts down. The main thread's
# sys.stdout takes a while to flush at exit (a slow pipe), so anything the shutdown does to
# that call has time to happen before the process is gone. What went wrong when these were
# written:
# - "wasi output": wasmtime runs the stdout/stderr callback (a ctypes callback into Python)
#   on its own worker thread; once finalization has begun, CPython ends any thread that
#   takes the GIL with pthread_exit, whose unwinding through that Rust thread aborts the
#   process ("panic in a function that cannot unwind"), on both call paths;
# - "computing", "host import": close_all() (atexit) freed every store, also the one the
#   daemon thread was running in: a segmentation fault on the fast path.
IN_A_CALL_AT_EXIT = {
    "wasi output": """
        import wasiapp
        app = wasiapp.Wasiapp()
        def call():
            app.greet("daemon")  # writes to stdout and stderr: a WASI output callback
    """,
    "computing": """
        import wasiapp
        app = wasiapp.Wasiapp()
        def call():
            app.fibonacci(34)  # a scalar call of ~30 ms, no output
    """,
    "host import": """
        import hostcalls
        imports = {
            "env.log": print,
            "env.host_add": lambda a, b: (a + b) & 0xFFFFFFFF,
            "env.host_scale": lambda x, k: x * k,
            "env.host_big": lambda v: v,
            "env.host_check": bool,
            "env.host_neg": lambda v: -v,
            "env.unannotated": lambda a, b: a,
        }
        app = hostcalls.Hostcalls(imports=imports)
        def call():
            app.call_host_n(10_000)  # ten thousand guest-to-host round trips
    """,
}

AT_EXIT_MAIN = """
    import threading
    import time

    called = threading.Event()

    def loop():
        while True:
            call()
            called.set()

    threading.Thread(target=loop, daemon=True).start()
    assert called.wait(60)

    class SlowExitStdout:
        def __init__(self, stream):
            self.stream = stream

        def write(self, text):
            return self.stream.write(text)

        def flush(self):
            self.stream.flush()
            time.sleep(0.75)

    sys.stdout = SlowExitStdout(sys.stdout)
    print("main done")
"""


@pytest.mark.parametrize("run", range(2))
@pytest.mark.parametrize("kind", list(IN_A_CALL_AT_EXIT))
def test_a_process_exits_cleanly_while_a_daemon_thread_is_in_a_call(tmp_path, kind, run):
    """SPEC: never a crash of the interpreter, not at exit while another thread is in a
    call. The daemon thread loops on calls; the main thread returns."""
    script = textwrap.dedent(IN_A_CALL_AT_EXIT[kind]) + textwrap.dedent(AT_EXIT_MAIN)
    result = run_python(tmp_path, script)
    assert_clean_exit(result)
    # The daemon thread may still print after (even in the middle of) the main thread's
    # last line.
    assert "main done" in result.stdout
