"""Limits and interruption: `Cls(timeout=...)`, `Cls(max_memory=...)`, Ctrl-C during a
call, and `WASM2PY_INTERRUPTIBLE=0`, on a module written from the SPEC (generated at test
time from WAT). Scenarios about signals run in a fresh process.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from conftest import WASM2PY, require

LIMITS_WAT = r"""
(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  ;; The memory protocol: a bump arena above 1024, growing memory as needed.
  (func (export "bump_alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $top) (i32.const 15)) (i32.const -16)))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                  (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
                (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $top (local.get $end))
    (local.get $p))
  (func (export "bump_reset")
    (memory.fill (i32.const 1024) (i32.const 0) (i32.sub (global.get $top) (i32.const 1024)))
    (global.set $top (i32.const 1024)))
  ;; spin(): loops forever.
  (func (export "spin") (loop $l (br $l)))
  ;; count(n): counts to n in a loop (about a second for 10**9 here).
  (func (export "count") (param $n i64) (result i64) (local $i i64)
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (local.get $i))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  ;; grow(pages): memory.grow, -1 when refused.
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; byte_len(data): bytes through the arena.
  (func (export "byte_len") (param i32 i32) (result i32) (local.get 1))
)
"""

LIMITS_SIG = """\
spin()
count(n: u64) -> u64
add(a: u32, b: u32) -> u32
grow(pages: u32) -> i32
byte_len(data: bytes) -> u32
"""


@pytest.fixture(scope="module")
def limits(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The package `limits_user`, generated from LIMITS_WAT and imported."""
    require(WASM2PY, "wasm2py binary")
    work = tmp_path_factory.mktemp("limits")
    (work / "limits_user.wasm").write_bytes(wasmtime.wat2wasm(LIMITS_WAT))
    (work / "limits_user.wasm2py").write_text(LIMITS_SIG)
    out = work / "out"
    done = subprocess.run(
        [str(WASM2PY), "gen", str(work / "limits_user.wasm"), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(out))
    module = importlib.import_module("limits_user")
    module.OUT = out
    return module


def test_a_call_past_its_timeout_raises_timeout_and_the_instance_works(limits: Any) -> None:
    instance = limits.LimitsUser(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(limits.LimitsUserTimeout) as raised:
        instance.spin()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0, elapsed
    assert isinstance(raised.value, limits.LimitsUserTrap)
    assert raised.value.function == "spin"
    assert raised.value.seconds == 0.3
    assert "0.3 s timeout" in str(raised.value)
    assert instance.add(2, 3) == 5
    # Again: the deadline is per call, not per instance.
    with pytest.raises(limits.LimitsUserTimeout):
        instance.spin()
    assert instance.count(1000) == 1000


def test_calls_within_the_timeout_are_not_stopped(limits: Any) -> None:
    instance = limits.LimitsUser(timeout=5)
    # Many short calls in a row: none of them is a long one.
    total = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        total += instance.count(100_000)
    assert total % 100_000 == 0 and total > 0
    assert instance.byte_len(b"abc") == 3


def test_timeouts_hold_in_every_thread(limits: Any) -> None:
    instance = limits.LimitsUser(timeout=0.2)
    outcomes: list[str] = []

    def run() -> None:
        try:
            instance.spin()
        except limits.LimitsUserTimeout:
            outcomes.append("timeout")
        outcomes.append(str(instance.add(1, 1)))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["2"] * 4 + ["timeout"] * 4


PARK_AND_WAKE_SCRIPT = """
    import random, threading, time
    import limits_user

    def run(seed):
        rng = random.Random(seed)
        instance = limits_user.LimitsUser(timeout=0.05)
        for _ in range(25):
            for _ in range(rng.randrange(50)):
                assert instance.add(2, 3) == 5
            instance.count(rng.randrange(2_000_000))
            time.sleep(rng.random() * 0.04)  # long enough, often, for the ticker to park
            started = time.monotonic()
            try:
                instance.spin()
            except limits_user.LimitsUserTimeout:
                elapsed = time.monotonic() - started
                assert 0.05 <= elapsed < 1.0, elapsed
            else:
                raise AssertionError("spin() returned")

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("done", flush=True)
"""


def test_timeouts_hold_while_the_ticker_parks_and_wakes(limits: Any) -> None:
    # Short timed calls, pauses that let the ticker park, then a call that never ends: each
    # must be stopped (a ticker parked while a timed guest ran hung here).
    child = run_python(PARK_AND_WAKE_SCRIPT, limits.OUT)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"a timed call was never stopped\n{out}\n{err}")
    assert child.returncode == 0, err
    assert out == "done\n", (out, err)


FORK_SCRIPT = """
    import os, threading, time
    import limits_user

    instance = limits_user.LimitsUser(timeout=0.5)
    # A timed call in flight in another thread: the ticker runs (and may hold its lock)
    # when the process forks.
    def spin():
        try:
            instance.spin()
        except limits_user.LimitsUserTimeout:
            pass
    worker = threading.Thread(target=spin)
    worker.start()
    time.sleep(0.2)
    pid = os.fork()
    if pid == 0:
        child = limits_user.LimitsUser(timeout=0.1)
        try:
            child.spin()
        except limits_user.LimitsUserTimeout:
            os._exit(0)
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    worker.join()
    print("child", os.waitstatus_to_exitcode(status), flush=True)
"""


def test_timeouts_hold_in_a_child_forked_while_the_ticker_runs(limits: Any) -> None:
    child = run_python(FORK_SCRIPT, limits.OUT)
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        pytest.fail(f"the forked child's timed call was never stopped\n{out}\n{err}")
    assert out == "child 0\n", (out, err)


def test_an_instance_without_a_timeout_is_not_stopped_by_another_ones(limits: Any) -> None:
    timed = limits.LimitsUser(timeout=0.1)
    free = limits.LimitsUser()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(free.count(300_000_000)))
    worker.start()
    with pytest.raises(limits.LimitsUserTimeout):
        timed.spin()
    worker.join(60)
    assert result == [300_000_000]


def test_max_memory_makes_growth_fail_inside_the_guest(limits: Any) -> None:
    capped = limits.LimitsUser(max_memory=4 * 65536)
    assert capped.grow(1) == 1  # small growth works: 1 page -> 2
    assert capped.grow(100) == -1  # memory.grow returns -1, no exception
    assert capped.grow(2) == 2  # 2 -> 4 pages: exactly the cap
    assert capped.grow(1) == -1
    # An input that would need more memory is refused by the arena: MemoryError.
    with pytest.raises(MemoryError):
        capped.byte_len(bytes(1 << 20))
    assert capped.byte_len(b"small") == 5
    free = limits.LimitsUser()
    assert free.grow(100) == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": float("inf")}, ValueError),
        ({"timeout": "1"}, TypeError),
        ({"timeout": True}, TypeError),
        ({"max_memory": -1}, ValueError),
        ({"max_memory": 1.5}, TypeError),
    ],
)
def test_bad_limits_are_refused(limits: Any, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        limits.LimitsUser(**kwargs)


@pytest.mark.parametrize("kwargs", [{"timeout": 1}, {"max_memory": 1 << 20}])
def test_the_native_backend_refuses_limits(limits: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="wasm backend only"):
        limits.LimitsUser(backend="native", library="/nonexistent/lib.so", **kwargs)
    with pytest.raises(ValueError, match="wasm backend only"):
        limits.LimitsUser(library="/nonexistent/lib.so", **kwargs)


def run_python(code: str, path: Path, **env: str) -> subprocess.Popen[str]:
    environment = dict(os.environ, PYTHONPATH=str(path), **env)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,  # a hung child and its own children are killed together
    )


SIGINT_SCRIPT = """
    import sys, time
    import limits_user
    instance = limits_user.LimitsUser()
    instance.add(1, 1)
    print("ready", flush=True)
    started = time.monotonic()
    try:
        instance.spin()
    except KeyboardInterrupt:
        print(f"interrupted {time.monotonic() - started:.3f}", flush=True)
    print("after", instance.add(2, 3), flush=True)
"""


@pytest.mark.parametrize("run", range(2))
def test_ctrl_c_interrupts_a_long_call_on_the_main_thread(limits: Any, run: int) -> None:
    child = run_python(SIGINT_SCRIPT, limits.OUT)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    ready = time.monotonic()
    time.sleep(0.3)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"SIGINT did not interrupt the call\n{out}\n{err}")
    assert child.returncode == 0, err
    line, _, out = out.partition("\n")
    assert line.startswith("interrupted"), (line, err)
    # The child measured from the call's start (just before "ready" reached us): the
    # interrupt came within 0.1 s of the signal, with 0.2 s of room for a loaded machine.
    assert float(line.split()[1]) - (sent - ready) < 0.1 + 0.2, (line, sent - ready)
    assert out == "after 5\n", out


FORK_SIGINT_SCRIPT = """
    import os, sys, time
    import limits_user
    instance = limits_user.LimitsUser()
    instance.add(1, 1)  # the parent's SIGINT watcher starts here
    pid = os.fork()
    if pid == 0:
        print("child", os.getpid(), flush=True)
        started = time.monotonic()
        try:
            instance.spin()
        except KeyboardInterrupt:
            print(f"interrupted {time.monotonic() - started:.3f}", flush=True)
            print("after", instance.add(2, 3), flush=True)
            os._exit(0)
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    print("exit", os.waitstatus_to_exitcode(status), flush=True)
"""


def test_ctrl_c_interrupts_a_long_call_in_a_forked_child(limits: Any) -> None:
    parent = run_python(FORK_SIGINT_SCRIPT, limits.OUT)
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.startswith("child "), line
    time.sleep(0.3)
    os.kill(int(line.split()[1]), signal.SIGINT)
    try:
        out, err = parent.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(parent.pid, signal.SIGKILL)
        out, err = parent.communicate()
        pytest.fail(f"SIGINT did not interrupt the child's call\n{out}\n{err}")
    lines = out.splitlines()
    assert lines[0].startswith("interrupted"), (out, err)
    assert lines[1:] == ["after 5", "exit 0"], (out, err)


def test_without_interruptibility_timeouts_are_refused(limits: Any) -> None:
    child = run_python(
        """
        import limits_user
        try:
            limits_user.LimitsUser(timeout=1)
        except limits_user.LimitsUserError as error:
            print("refused:", error)
        print(limits_user.LimitsUser().count(1000))
        """,
        limits.OUT,
        WASM2PY_INTERRUPTIBLE="0",
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "refused:" in out and "WASM2PY_INTERRUPTIBLE" in out, out
    assert out.splitlines()[-1] == "1000"
