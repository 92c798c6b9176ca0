"""WASI modules and host imports written from SPEC.md alone (issue 8).

The modules are in tests/spec_modules/ (built by its build.sh into out/):

- rust_wasi_user: a wasm32-wasip1 Rust cdylib using std for real (HashMap, format!,
  println!/eprintln!, std::env, std::fs, stdin, std::process::exit, a panic), with its own
  global bump arena; also built natively.
- c_wasi_user: a wasi-libc C reactor (malloc, snprintf, strlen, stdio, exit, abort) whose
  exports depend on what a constructor set up; also built natively with gcc.
- import_user: a freestanding C module that imports functions from "env", annotated with
  `import env.name(...)` lines in its sidecar.

Their packages are generated here, at test time, by target/release/wasm2py into a
temporary directory. What is checked is the SPEC's "WASI modules" and "Host imports"
sections: the sandbox's defaults, exactly what a Wasi grants, output to the current
sys.stdout/sys.stderr, proc_exit as <Class>Exit with a fresh instance after it, traps,
_initialize once per instance (every thread's store), and host functions with lifted
arguments and their exceptions passed through as the same objects.

Native: the WASI modules' native builds are checked for what native code can do safely
(no exit, no panic: those end the process). The C module's arena is one global buffer,
as the article's readers write it; the SPEC has the native backend serialise calls that
use such an arena, which is not implemented yet (issue 9), so from several threads at
once only its scalar exports are called natively here.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import SPEC_OUT, WASM2PY, require

MODULES = ("rust_wasi_user", "c_wasi_user", "import_user")
NATIVE = ("rust_wasi_user", "c_wasi_user")  # import_user needs host imports: wasm only
THREADS = 8
M32 = 0xFFFFFFFF

# What c_wasi_user's constructor writes (crc_table[255] of the CRC-32 table is 0x2d02ef8d).
C_BANNER = "c_wasi_user ready (crc[255]=2d02ef8d)"
CRC_TABLE_1 = 0x77073096


@pytest.fixture(scope="module")
def pkgs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """Generates the three packages with wasm2py (each sidecar is found next to its
    module) into a temporary directory and imports them. A missing artifact fails."""
    require(WASM2PY, "wasm2py binary")
    out = tmp_path_factory.mktemp("spec_wasi_packages")
    loaded: dict[str, ModuleType] = {}
    for name in MODULES:
        wasm = require(SPEC_OUT / f"{name}.wasm", f"spec module {name}")
        require(SPEC_OUT / f"{name}.wasm2py", f"sidecar of {name}")
        result = subprocess.run(
            [str(WASM2PY), "gen", str(wasm), "-o", str(out / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"wasm2py gen {name}.wasm failed:\n{result.stderr}", pytrace=False)
        sys.path.insert(0, str(out / name))
        loaded[name] = importlib.import_module(name)
    return loaded


@pytest.fixture
def rw(pkgs: dict[str, ModuleType]) -> ModuleType:
    return pkgs["rust_wasi_user"]


@pytest.fixture
def cw(pkgs: dict[str, ModuleType]) -> ModuleType:
    return pkgs["c_wasi_user"]


@pytest.fixture
def iu(pkgs: dict[str, ModuleType]) -> ModuleType:
    return pkgs["import_user"]


def native_library(name: str) -> Path:
    return require(SPEC_OUT / f"lib{name}.so", f"native library of {name}")


def in_threads(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """work(index) on `count` threads started together; their results in order. The
    first failure is re-raised."""
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


# ---- the generated packages ------------------------------------------------------------


def test_the_packages_export_wasi_and_the_exit_exception(pkgs):
    for name, cls in (("rust_wasi_user", "RustWasiUser"), ("c_wasi_user", "CWasiUser"), ("import_user", "ImportUser")):
        pkg = pkgs[name]
        assert "Wasi" in pkg.__all__
        exit_cls = getattr(pkg, f"{cls}Exit")
        assert issubclass(exit_cls, getattr(pkg, f"{cls}Trap"))
        assert issubclass(exit_cls, getattr(pkg, f"{cls}Error"))


def test_initialize_is_never_a_method(cw):
    instance = cw.CWasiUser()
    assert not hasattr(instance, "_initialize")
    assert not any("initialize" in name for name in dir(cw.CWasiUser))
    assert not any("initialize" in name for name in dir(cw))
    assert instance.init_runs() == 1  # yet it ran


# ---- rust_wasi_user: the sandbox's defaults ---------------------------------------------


@pytest.mark.parametrize("wasi", ["none", "default"])
def test_defaults_grant_nothing(rw, wasi, tmp_path, monkeypatch):
    monkeypatch.setenv("WASM2PY_TEST_SECRET", "visible")
    (tmp_path / "host.txt").write_text("on the host")
    m = rw.RustWasiUser() if wasi == "none" else rw.RustWasiUser(wasi=rw.Wasi())
    # no environment variables
    assert m.env_count() == 0
    for name in ("WASM2PY_TEST_SECRET", "HOME", "PATH"):
        with pytest.raises(rw.RustWasiUserInputError):
            m.env_get(name)
    # args = [package name]
    assert m.args_joined() == "rust_wasi_user"
    # no file access, for reading or writing
    for path in (str(tmp_path / "host.txt"), "/etc/passwd", "host.txt", ".", "/"):
        with pytest.raises(rw.RustWasiUserInputError):
            m.read_file(path)
    assert m.write_file(str(tmp_path / "new.txt"), b"x") != 0
    assert m.write_file("new.txt", b"x") != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host.txt"]
    # empty stdin
    assert m.read_stdin() == b""
    # clocks and random are available: std's HashMap seeds itself from random_get
    assert m.word_counts("b a b") == "a=1\nb=2\n"


# ---- rust_wasi_user: what a Wasi grants -------------------------------------------------


def test_env_and_args_are_granted_exactly(rw):
    env = {"GREETING": "grüß dich", "EMPTY": "", "WITH_EQUALS": "a=b"}
    m = rw.RustWasiUser(wasi=rw.Wasi(env=env, args=["prog", "--flag", "ünï cödé", ""]))
    assert m.env_count() == 3
    for name, value in env.items():
        assert m.env_get(name) == value
    with pytest.raises(rw.RustWasiUserInputError):
        m.env_get("HOME")
    assert m.args_joined() == "prog\n--flag\nünï cödé\n"


def test_empty_args(rw):
    assert rw.RustWasiUser(wasi=rw.Wasi(args=[])).args_joined() == ""


def test_dirs_are_read_only(rw, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_bytes(b"input \x00\xff bytes")
    (data / "sub").mkdir()
    (data / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "secret.txt").write_text("outside the grant")
    m = rw.RustWasiUser(wasi=rw.Wasi(dirs={"/data": data}))
    assert m.read_file("/data/in.txt") == b"input \x00\xff bytes"
    assert m.read_file("/data/sub/deep.txt") == b"deep"
    # writing is refused: a new file, and an existing one stays as it was
    assert m.write_file("/data/out.txt", b"new") != 0
    assert m.write_file("/data/in.txt", b"overwritten") != 0
    assert (data / "in.txt").read_bytes() == b"input \x00\xff bytes"
    assert not (data / "out.txt").exists()
    # nothing outside the directory
    for path in ("/data/../secret.txt", "/secret.txt", str(tmp_path / "secret.txt")):
        with pytest.raises(rw.RustWasiUserInputError):
            m.read_file(path)


def test_writable_dirs_write_to_the_host(rw, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    m = rw.RustWasiUser(wasi=rw.Wasi(writable_dirs={"/out": str(out)}))
    payload = bytes(range(256)) * 16
    assert m.write_file("/out/new.bin", payload) == 0
    assert (out / "new.bin").read_bytes() == payload
    assert m.write_file("/out/old.txt", b"replaced") == 0
    assert (out / "old.txt").read_bytes() == b"replaced"
    assert m.read_file("/out/new.bin") == payload
    assert m.write_file("/out/../escaped.txt", b"x") != 0
    assert not (tmp_path / "escaped.txt").exists()


def test_read_only_and_writable_dirs_together(rw, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a.txt").write_text("copied through the guest")
    m = rw.RustWasiUser(wasi=rw.Wasi(dirs={"/in": src}, writable_dirs={"/out": dst}))
    assert m.write_file("/out/a.txt", m.read_file("/in/a.txt")) == 0
    assert (dst / "a.txt").read_text() == "copied through the guest"
    assert m.write_file("/in/b.txt", b"x") != 0
    assert not (src / "b.txt").exists()


def test_a_directory_must_exist(rw, tmp_path):
    (tmp_path / "file.txt").write_text("not a directory")
    with pytest.raises(ValueError):
        rw.Wasi(dirs={"/x": tmp_path / "file.txt"})
    with pytest.raises(ValueError):
        rw.Wasi(writable_dirs={"/x": tmp_path / "missing"})


def test_stdin_bytes(rw):
    data = b"line one\nline two\n\x00\xff\xfe binary"
    m = rw.RustWasiUser(wasi=rw.Wasi(stdin=data))
    assert m.read_stdin() == data
    assert m.read_stdin() == b""  # read to the end on this thread's instance
    # each thread's instance reads it from the start
    assert in_threads(lambda _: m.read_stdin(), 4) == [data] * 4


def test_large_stdin(rw):
    data = bytes(range(256)) * 1024  # 256 KiB
    assert rw.RustWasiUser(wasi=rw.Wasi(stdin=data)).read_stdin() == data


# ---- rust_wasi_user: stdout and stderr -------------------------------------------------


def test_output_goes_to_the_current_sys_stdout_and_stderr(rw):
    m = rw.RustWasiUser()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        m.say("to stdout: héllo ✓")
        m.complain("to stderr")
    assert out.getvalue() == "to stdout: héllo ✓\n"
    assert err.getvalue() == "to stderr\n"
    # the next redirection gets the next output (the stream is not fixed at start-up)
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        m.say("again")
    assert again.getvalue() == "again\n"
    assert out.getvalue() == "to stdout: héllo ✓\n"


def test_output_is_seen_by_capsys(rw, capsys):
    m = rw.RustWasiUser()
    m.say("one")
    m.complain("two")
    m.say("three")
    captured = capsys.readouterr()
    assert captured.out == "one\nthree\n"
    assert captured.err == "two\n"


def test_large_output_with_multibyte_characters(rw, capsys):
    text = "é✓" * 40000  # 200 kB of UTF-8: written in several pieces
    rw.RustWasiUser().say(text)
    assert capsys.readouterr().out == text + "\n"


def test_output_from_threads(rw, capsys):
    m = rw.RustWasiUser()
    in_threads(lambda i: m.say(f"thread {i}"))
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines) == sorted(f"thread {i}" for i in range(THREADS))


def test_explicit_output_streams(rw, capsys):
    out, err = io.StringIO(), io.StringIO()
    m = rw.RustWasiUser(wasi=rw.Wasi(stdout=out, stderr=err))
    m.say("to my stream")
    m.complain("to my other stream")
    assert out.getvalue() == "to my stream\n"
    assert err.getvalue() == "to my other stream\n"
    assert capsys.readouterr() == ("", "")


# ---- rust_wasi_user: std::process::exit and panics -------------------------------------


def check_exit(pkg: ModuleType, m: Any, call: Callable[[], Any], code: int, function: str) -> None:
    """call() exits with `code`; before it the instance has state, after it a fresh one."""
    assert m.counter_next() == 1
    assert m.counter_next() == 2
    assert m.remember("word") == 1
    assert m.remember("word") == 2
    with pytest.raises(pkg.RustWasiUserExit) as caught:
        call()
    assert isinstance(caught.value, pkg.RustWasiUserTrap)
    assert caught.value.code == code
    assert caught.value.function == function
    assert str(code) in str(caught.value)
    # the next call gets a fresh instance: its globals start again
    assert m.counter_next() == 1
    assert m.remember("word") == 1


@pytest.mark.parametrize("code", [0, 1, 3, 42, 125])
def test_exit_raises_exit_with_the_code_and_the_next_call_is_fresh(rw, code):
    m = rw.RustWasiUser()
    check_exit(rw, m, lambda: m.exit_with(code), code, "exit_with")


@pytest.mark.parametrize("code", [126, 200, 255])
def test_exit_statuses_above_125_are_exits_too(rw, code):
    # Valid process exit statuses; wasmtime's proc_exit refuses those >= 126 with an
    # error instead of an I32Exit (see the report of issue 8).
    m = rw.RustWasiUser()
    check_exit(rw, m, lambda: m.exit_with(code), code, "exit_with")


def test_exit_flushes_stdout_first(rw, capsys):
    m = rw.RustWasiUser()
    check_exit(rw, m, lambda: m.farewell("bye, no newline", 7), 7, "farewell")
    assert capsys.readouterr().out == "bye, no newline"


def test_many_exits_in_a_row(rw):
    m = rw.RustWasiUser()
    for code in range(20):
        with pytest.raises(rw.RustWasiUserExit) as caught:
            m.exit_with(code)
        assert caught.value.code == code
        assert m.counter_next() == 1


def test_the_fresh_instance_keeps_the_wasi_grant(rw, tmp_path):
    (tmp_path / "f.txt").write_text("still granted")
    m = rw.RustWasiUser(wasi=rw.Wasi(env={"A": "1"}, args=["x", "y"], dirs={"/d": tmp_path}, stdin=b"again"))
    assert m.read_stdin() == b"again"
    with pytest.raises(rw.RustWasiUserExit):
        m.exit_with(0)
    assert m.env_get("A") == "1"
    assert m.args_joined() == "x\ny"
    assert m.read_file("/d/f.txt") == b"still granted"
    assert m.read_stdin() == b"again"  # a fresh instance reads stdin from the start


def test_an_exit_on_one_thread_leaves_other_threads_alone(rw):
    m = rw.RustWasiUser()
    go, exited = threading.Event(), threading.Event()

    results: list[list[int]] = []

    def other() -> None:
        first = [m.counter_next(), m.counter_next()]
        go.set()
        assert exited.wait(60)
        results.append([*first, m.counter_next()])

    worker = threading.Thread(target=other)
    worker.start()
    try:
        assert go.wait(60)
        assert m.counter_next() == 1
        with pytest.raises(rw.RustWasiUserExit):
            m.exit_with(5)
    finally:
        exited.set()
        worker.join(60)
    assert results == [[1, 2, 3]]  # the other thread's instance did not start again
    assert m.counter_next() == 1


def test_a_panic_is_a_trap_and_the_instance_stays_usable(rw, capsys):
    m = rw.RustWasiUser()
    assert m.counter_next() == 1
    with pytest.raises(rw.RustWasiUserTrap) as caught:
        m.checked_div(1, 0)
    assert not isinstance(caught.value, rw.RustWasiUserExit)
    assert caught.value.function == "checked_div"
    assert "unreachable" in caught.value.message
    # std's panic hook wrote the message to stderr before the abort
    assert "division by zero: 1 / 0" in capsys.readouterr().err
    # the same instance (not a fresh one): its globals are kept
    assert m.counter_next() == 2
    assert m.checked_div(7, 2) == 3
    assert m.word_counts("x y x") == "x=2\ny=1\n"


def test_a_second_panic_on_the_same_instance_is_a_trap_too(rw):
    m = rw.RustWasiUser()
    for _ in range(3):
        with pytest.raises(rw.RustWasiUserTrap) as caught:
            m.checked_div(5, 0)
        assert not isinstance(caught.value, rw.RustWasiUserExit)
        assert m.checked_div(-9, 3) == -3


# ---- rust_wasi_user: std, the arena and threads ----------------------------------------


def test_std_collections_and_formatting(rw):
    m = rw.RustWasiUser()
    text = "the quick brown fox jumps over the lazy dog the end"
    expected = "".join(f"{w}={text.split().count(w)}\n" for w in sorted(set(text.split())))
    assert m.word_counts(text) == expected
    assert m.word_counts("") == ""
    assert m.word_counts("  ünï  cödé ünï ") == "cödé=1\nünï=2\n"
    assert [m.remember(w) for w in ("a", "b", "a", "a")] == [1, 1, 2, 3]


def test_the_arena_is_reset_after_every_call(rw):
    m = rw.RustWasiUser()
    big = "word " * 100_000  # 500 kB in, half the 1 MiB arena: fits only when reset
    for _ in range(5):
        assert m.word_counts(big) == "word=100000\n"


def test_each_thread_gets_a_fresh_instance(rw):
    m = rw.RustWasiUser(wasi=rw.Wasi(env={"WHO": "everyone"}, args=["a", "b"]))
    assert m.counter_next() == 1

    def work(index: int) -> tuple[Any, ...]:
        counts = [m.counter_next() for _ in range(index + 1)]
        return counts[0], counts[-1], m.env_get("WHO"), m.args_joined(), m.remember(f"w{index}")

    results = in_threads(work)
    assert results == [(1, i + 1, "everyone", "a\nb", 1) for i in range(THREADS)]
    assert m.counter_next() == 2  # the main thread's instance was not touched


def test_module_level_functions_use_the_sandbox(rw):
    assert rw.args_joined() == "rust_wasi_user"
    assert rw.env_count() == 0


# ---- rust_wasi_user: the native build --------------------------------------------------


def test_rust_native_build_same_api(rw):
    m = rw.RustWasiUser(backend="native", library=native_library("rust_wasi_user"))
    assert m.backend == "native"
    first = m.counter_next()
    assert m.counter_next() == first + 1
    assert m.word_counts("b a b") == "a=1\nb=2\n"
    assert m.remember("native-only") == 1
    assert m.remember("native-only") == 2
    assert m.checked_div(-7, 2) == -3
    with pytest.raises(ValueError):
        rw.RustWasiUser(backend="native", library=native_library("rust_wasi_user"), wasi=rw.Wasi())


# ---- c_wasi_user: the constructor ------------------------------------------------------


def test_the_constructor_ran_before_the_first_call(cw):
    # each call below is the first call of a fresh instance
    assert cw.CWasiUser().init_runs() == 1
    assert cw.CWasiUser().crc_entry(1) == CRC_TABLE_1
    assert cw.CWasiUser().crc32_u32(0x12345678) == zlib.crc32((0x12345678).to_bytes(4, "little"))
    assert cw.CWasiUser().banner_length() == len(C_BANNER)
    assert cw.CWasiUser().get_banner() == C_BANNER
    assert cw.CWasiUser().greet("Ada") == f"{C_BANNER} greets Ada"


def test_the_constructor_runs_once_per_instance(cw):
    m = cw.CWasiUser()
    for _ in range(5):
        assert m.init_runs() == 1
    assert m.counter_next() == 1
    assert m.counter_next() == 2


def first_calls(m: Any, index: int) -> tuple[Any, ...]:
    """A thread's first call on `m` is one of four exports that need the constructor's
    work (which one depends on the thread), then the others."""
    x = 0x9E3779B9 * (index + 1) & M32
    calls: list[Callable[[], Any]] = [
        m.init_runs,
        lambda: m.crc_entry(1),
        lambda: m.crc32_u32(x),
        m.banner_length,
    ]
    order = calls[index % 4 :] + calls[: index % 4]
    results = {id(c): c() for c in order}
    return tuple(results[id(c)] for c in calls)


def expected_first_calls(index: int) -> tuple[Any, ...]:
    x = 0x9E3779B9 * (index + 1) & M32
    return (1, CRC_TABLE_1, zlib.crc32(x.to_bytes(4, "little")), len(C_BANNER))


def test_the_constructor_effect_on_the_first_call_of_every_thread(cw):
    # Instantiated on this thread; every other thread gets a store of its own.
    m = cw.CWasiUser()

    def work(index: int) -> tuple[Any, ...]:
        seen = first_calls(m, index)
        assert m.counter_next() == 1  # a fresh store on this thread
        assert m.greet(f"thread {index}") == f"{C_BANNER} greets thread {index}"
        return seen

    assert in_threads(work) == [expected_first_calls(i) for i in range(THREADS)]


def test_the_constructor_runs_again_on_the_fresh_instance_after_exit(cw, capsys):
    m = cw.CWasiUser()
    assert m.counter_next() == 1
    with pytest.raises(cw.CWasiUserExit) as caught:
        m.print_then_exit("unflushed, then exit", 4)
    assert isinstance(caught.value, cw.CWasiUserTrap)
    assert caught.value.code == 4
    assert caught.value.function == "print_then_exit"
    assert capsys.readouterr().out == "unflushed, then exit"  # exit() flushed stdout
    assert m.init_runs() == 1
    assert m.counter_next() == 1
    assert m.get_banner() == C_BANNER


def test_c_exit_zero(cw):
    m = cw.CWasiUser()
    with pytest.raises(cw.CWasiUserExit) as caught:
        m.print_then_exit("", 0)
    assert caught.value.code == 0


# ---- c_wasi_user: libc -----------------------------------------------------------------


def test_malloc_snprintf_strlen(cw):
    m = cw.CWasiUser()
    assert m.get_banner() == C_BANNER
    assert m.greet("") == f"{C_BANNER} greets "
    assert m.greet("Grace Hopper") == f"{C_BANNER} greets Grace Hopper"
    long_name = "n" * 300_000  # malloc has to grow the memory
    assert m.greet(long_name) == f"{C_BANNER} greets {long_name}"
    for data in (b"", b"hello", bytes(range(256)) * 100):
        assert m.crc32(data) == zlib.crc32(data)


def test_c_stdout_and_stderr(cw, capsys):
    m = cw.CWasiUser()
    m.print_line("printf to stdout")
    m.print_error("fprintf to stderr")
    captured = capsys.readouterr()
    assert captured.out == "printf to stdout\n"
    assert captured.err == "fprintf to stderr\n"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m.print_line("redirected")
    assert out.getvalue() == "redirected\n"


def test_c_abort_is_a_trap_and_the_instance_stays_usable(cw, capsys):
    m = cw.CWasiUser()
    assert m.counter_next() == 1
    with pytest.raises(cw.CWasiUserTrap) as caught:
        m.must_be_positive(0)
    assert not isinstance(caught.value, cw.CWasiUserExit)
    assert caught.value.function == "must_be_positive"
    assert "must_be_positive: 0 is not positive" in capsys.readouterr().err
    assert m.must_be_positive(3) == 3
    assert m.counter_next() == 2  # the same instance
    assert m.init_runs() == 1  # not initialised again


def test_c_module_level_functions(cw):
    assert cw.init_runs() == 1
    assert cw.crc32(b"abc") == zlib.crc32(b"abc")


# ---- c_wasi_user: the native build -----------------------------------------------------


def test_c_native_constructor_effect_from_eight_threads(cw):
    # Scalar exports only: the C module's arena is one global buffer, and serialising
    # native calls that use it is issue 9's lock (not implemented yet).
    m = cw.CWasiUser(backend="native", library=native_library("c_wasi_user"))
    assert m.backend == "native"

    def work(index: int) -> tuple[Any, ...]:
        seen = first_calls(m, index)
        for i in range(300):
            x = (index << 24) + i * 7919
            assert m.crc32_u32(x) == zlib.crc32(x.to_bytes(4, "little"))
            assert m.crc_entry(i & 0xFF) == crc_table(i & 0xFF)
            assert m.init_runs() == 1
        return seen

    assert in_threads(work) == [expected_first_calls(i) for i in range(THREADS)]


def crc_table(i: int) -> int:
    c = i
    for _ in range(8):
        c = 0xEDB88320 ^ (c >> 1) if c & 1 else c >> 1
    return c


def test_c_native_arena_functions_on_one_thread(cw):
    m = cw.CWasiUser(backend="native", library=native_library("c_wasi_user"))
    assert m.init_runs() == 1  # the constructor ran once, when the library was loaded
    assert m.get_banner() == C_BANNER
    assert m.greet("native") == f"{C_BANNER} greets native"
    assert m.crc32(b"hello") == zlib.crc32(b"hello")
    with pytest.raises(ValueError):
        cw.CWasiUser(backend="native", library=native_library("c_wasi_user"), wasi=cw.Wasi())


# ---- import_user: host imports ---------------------------------------------------------


class Host:
    """A set of host functions that records how they were called."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def log(self, msg: Any) -> None:
        self.calls.append(("log", msg))

    def add(self, a: Any, b: Any) -> int:
        self.calls.append(("add", a, b))
        return (a + b) & M32

    def transform(self, x: Any) -> float:
        self.calls.append(("transform", x))
        return x * 2

    def allowed(self, id: Any) -> bool:
        self.calls.append(("allowed", id))
        return id % 3 == 0

    def digest(self, data: Any) -> int:
        self.calls.append(("digest", data))
        return zlib.crc32(data) << 32 | len(data)

    def tick(self, x: Any) -> int:
        self.calls.append(("tick", x))
        return x * 2

    def imports(self, **override: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
        functions = {
            "env.log": self.log,
            "env.add": self.add,
            "env.transform": self.transform,
            "env.allowed": self.allowed,
            "env.digest": self.digest,
            "env.tick": self.tick,
        }
        functions.update({f"env.{k}": v for k, v in override.items()})
        return functions


def test_typed_imports_get_lifted_arguments(iu):
    host = Host()
    m = iu.ImportUser(imports=host.imports())
    assert m.add_via_host(M32, 1) == 0
    assert m.add_via_host(0x80000000, 0x7FFFFFFF) == M32  # an unsigned result, not -1
    assert m.log_greeting("Ada ✓") == len("hello, Ada ✓".encode())
    assert m.apply(2.5) == 6.0
    assert m.count_allowed(10) == 4
    assert m.digest_reversed(b"abc\x00") == zlib.crc32(b"\x00cba") << 32 | 4
    assert m.tick(-5) == -10  # env.tick is unannotated: core i32, signed
    assert host.calls == [
        ("add", M32, 1),
        ("add", 0x80000000, 0x7FFFFFFF),
        ("log", "hello, Ada ✓"),
        ("transform", 2.5),
        *[("allowed", i) for i in range(10)],
        ("digest", b"\x00cba"),
        ("tick", -5),
    ]
    kinds = {call[0]: tuple(type(v) for v in call[1:]) for call in host.calls}
    assert kinds == {
        "add": (int, int),
        "log": (str,),
        "transform": (float,),
        "allowed": (int,),
        "digest": (bytes,),  # copied out of guest memory
        "tick": (int,),
    }
    assert m.arena_used() == 0


def test_host_results_are_checked(iu):
    bad: dict[str, Callable[..., Any]] = {
        "add": lambda a, b: -1,
        "digest": lambda data: 1 << 64,
        "tick": lambda x: 1 << 31,
    }
    for name, function in bad.items():
        m = iu.ImportUser(imports=Host().imports(**{name: function}))
        with pytest.raises(OverflowError, match=f"env.{name}"):
            if name == "add":
                m.add_via_host(1, 2)
            elif name == "digest":
                m.digest_reversed(b"x")
            else:
                m.tick(1)
        assert m.counter_next() == 1
        assert m.arena_used() == 0
    m = iu.ImportUser(imports=Host().imports(add=lambda a, b: "3", transform=lambda x: "1.0"))
    with pytest.raises(TypeError, match="env.add"):
        m.add_via_host(1, 2)
    with pytest.raises(TypeError, match="env.transform"):
        m.apply(1.0)
    m = iu.ImportUser(imports=Host().imports(transform=lambda x: 3, allowed=lambda i: "yes"))
    assert m.apply(1.0) == 4.0  # an int is a fine f64
    assert m.count_allowed(3) == 3  # truthiness, like a bool argument


class Boom(Exception):
    pass


class Stop(BaseException):
    pass


@pytest.mark.parametrize("kind", [Boom, Stop, KeyError])
def test_an_exception_from_the_host_propagates_as_the_same_object(iu, kind):
    error = kind("raised by the host")

    def fail(*args: Any) -> Any:
        raise error

    host = Host()
    m = iu.ImportUser(imports=host.imports(transform=fail, log=fail, digest=fail))
    assert m.counter_next() == 1
    with pytest.raises(kind) as caught:
        m.apply(1.0)  # a scalar call
    assert caught.value is error
    with pytest.raises(kind) as caught:
        m.log_greeting("x" * 1000)  # a call that uses the arena
    assert caught.value is error
    with pytest.raises(kind) as caught:
        m.digest_reversed(b"y" * 1000)
    assert caught.value is error
    # the instance stays usable: the same instance (its counter goes on), arena reset
    assert m.counter_next() == 2
    assert m.arena_used() == 0
    assert m.add_via_host(2, 3) == 5
    for _ in range(200):  # would exhaust the 64 KiB arena if a failed call leaked it
        with pytest.raises(kind):
            m.log_greeting("z" * 1000)
    assert m.arena_used() == 0


def test_each_instance_calls_its_own_host_functions(iu):
    a = iu.ImportUser(imports=Host().imports(add=lambda x, y: 1))
    b = iu.ImportUser(imports=Host().imports(add=lambda x, y: 2))
    assert [a.add_via_host(0, 0), b.add_via_host(0, 0), a.add_via_host(0, 0)] == [1, 2, 1]


def test_host_functions_run_on_the_calling_thread(iu):
    seen: list[tuple[int, int, int]] = []

    def add(x: int, y: int) -> int:
        seen.append((threading.get_ident(), x, y))
        return (x + y) & M32

    m = iu.ImportUser(imports=Host().imports(add=add))

    def work(index: int) -> int:
        for i in range(50):
            assert m.add_via_host(index, i) == index + i
        return threading.get_ident()

    idents = in_threads(work)
    by_thread = {ident: index for index, ident in enumerate(idents)}
    assert len(seen) == THREADS * 50
    assert all(by_thread[ident] == x for ident, x, _ in seen)


def test_an_exception_in_one_thread_stays_in_that_thread(iu):
    def add(x: int, y: int) -> int:
        if x % 2:
            raise Boom(x)
        return x + y

    m = iu.ImportUser(imports=Host().imports(add=add))

    def work(index: int) -> str:
        outcomes = []
        for i in range(30):
            try:
                outcomes.append(m.add_via_host(index, i) == index + i)
            except Boom as error:
                outcomes.append(error.args == (index,))
        assert all(outcomes)
        return "raised" if index % 2 else "returned"

    assert in_threads(work) == ["returned", "raised"] * (THREADS // 2)


def test_missing_and_unknown_imports_fail_at_construction(iu):
    imports = Host().imports()
    del imports["env.transform"]
    with pytest.raises(iu.ImportUserError, match="env.transform"):
        iu.ImportUser(imports=imports)
    with pytest.raises(iu.ImportUserError, match="env.log"):
        iu.ImportUser()
    with pytest.raises(iu.ImportUserError, match="env.nope"):
        iu.ImportUser(imports={**Host().imports(), "env.nope": print})
    with pytest.raises(TypeError, match="env.add"):
        iu.ImportUser(imports=Host().imports(add=42))  # type: ignore[arg-type]


def test_host_imports_are_wasm_only(iu, tmp_path):
    with pytest.raises(iu.ImportUserError, match="host imports"):
        iu.ImportUser(backend="native", library=tmp_path / "libimport_user.so")


def test_wasi_does_not_apply_to_a_module_without_wasi(iu):
    with pytest.raises(iu.ImportUserError, match="WASI"):
        iu.ImportUser(imports=Host().imports(), wasi=iu.Wasi())
