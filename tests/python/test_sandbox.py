"""The sandbox holds: scenarios that crashed or hung the interpreter, each run in a fresh
Python process (a crash there fails the test instead of killing pytest).

- a daemon thread still inside a guest call when the interpreter exits;
- deep guest recursion in a thread with a small stack, and in a main thread under a
  small `ulimit -s`;
- a child made by os.fork() compiling a module after the parent compiled one.

The subprocesses inherit WASM2PY_FAST_PATH, so CI runs each scenario on both call paths.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import wasmtime
from conftest import GENERATED, ROOT, WASM2PY, require

TIMEOUT = 120

RECURSE_WAT = r"""
(module
  ;; down(n): n nested calls, then unwinds; past the wasm stack limit it traps.
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
)
"""


@pytest.fixture(scope="module")
def recurse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package `sandbox_recurse`, generated from RECURSE_WAT; returns its directory."""
    require(WASM2PY, "wasm2py binary")
    work = tmp_path_factory.mktemp("sandbox")
    (work / "sandbox_recurse.wasm").write_bytes(wasmtime.wat2wasm(RECURSE_WAT))
    (work / "sandbox_recurse.wasm2py").write_text("down(n: u32) -> u32\n")
    out = work / "out"
    done = subprocess.run(
        [str(WASM2PY), "gen", str(work / "sandbox_recurse.wasm"), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def run_python(code: str, *paths: Path, preexec: object = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        env=environment,
        cwd=ROOT,
        preexec_fn=preexec,  # type: ignore[arg-type]
    )


def assert_clean(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == expected, done.stdout
    assert "panicked" not in done.stderr and "Fatal" not in done.stderr, done.stderr


@pytest.mark.parametrize("run", range(3))
def test_exit_with_a_daemon_thread_inside_a_call(run: int) -> None:
    """Exiting while a daemon thread runs fibonacci(60) (minutes of guest work) used to
    free the thread's store under it: exit status 139."""
    done = run_python(
        """
        import threading, time
        import fib
        threading.Thread(target=lambda: fib.fibonacci(60), daemon=True).start()
        time.sleep(0.3)
        print("exiting")
        """,
        GENERATED / "fib",
    )
    assert_clean(done, "exiting")


@pytest.mark.parametrize("stack_kib", [512, 256, 128])
def test_deep_recursion_in_a_thread_with_a_small_stack_is_a_trap(recurse: Path, stack_kib: int) -> None:
    """wasmtime's wasm stack limit (512 KiB) is larger than these threads' whole stack:
    the recursion ran into the guard page (SIGSEGV) instead of trapping."""
    done = run_python(
        f"""
        import threading
        import sandbox_recurse as m
        r = m.SandboxRecurse()
        assert r.down(1000) == 1000
        threading.stack_size({stack_kib} * 1024)
        outcome = []
        def deep():
            try:
                r.down(10_000_000)
            except m.SandboxRecurseTrap as trap:
                outcome.append("trap" if "call stack exhausted" in trap.message else trap.message)
            outcome.append(r.down(100))  # the instance works after
        t = threading.Thread(target=deep)
        t.start()
        t.join()
        print(outcome)
        """,
        recurse,
    )
    assert_clean(done, "['trap', 100]")


def test_deep_recursion_in_a_main_thread_under_a_small_ulimit_is_a_trap(recurse: Path) -> None:
    """The same in the main thread of a process started under `ulimit -s 400`."""

    def small_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (400 * 1024, resource.RLIM_INFINITY))

    done = run_python(
        """
        import sandbox_recurse as m
        r = m.SandboxRecurse()
        try:
            r.down(10_000_000)
        except m.SandboxRecurseTrap as trap:
            print("trap" if "call stack exhausted" in trap.message else trap.message)
        print(r.down(100))
        """,
        recurse,
        preexec=small_stack,
    )
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stderr}"
    assert done.stdout.splitlines() == ["trap", "100"], done.stdout


@pytest.mark.parametrize("cache", ["0", "1"])
def test_a_forked_child_compiles_another_module(tmp_path: Path, cache: str) -> None:
    """After the parent compiled fib, a child made by os.fork() compiling textkit waited
    forever for wasmtime's compile threads, which do not survive a fork."""
    done = run_python(
        """
        import os
        import fib
        assert fib.gcd(12, 18) == 6
        pid = os.fork()
        if pid == 0:
            import textkit
            ok = textkit.byte_len(b"abc") == 3 and fib.gcd(4, 6) == 2
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        """,
        GENERATED / "fib",
        GENERATED / "textkit",
        WASM2PY_CACHE=cache,
        WASM2PY_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert_clean(done, "child 0")


def test_a_fork_pool_compiles_in_its_workers(tmp_path: Path) -> None:
    """A multiprocessing pool with the fork start method, each worker compiling a module
    the parent had not (the parent compiled another one first)."""
    done = run_python(
        """
        import multiprocessing as mp
        import fib

        def work(n):
            import textkit
            return textkit.byte_len(bytes(n))

        if __name__ == "__main__":
            assert fib.gcd(12, 18) == 6
            with mp.get_context("fork").Pool(2) as pool:
                print(pool.map(work, [1, 2, 3, 4]))
        """,
        GENERATED / "fib",
        GENERATED / "textkit",
        WASM2PY_CACHE="0",
    )
    assert_clean(done, "[1, 2, 3, 4]")
