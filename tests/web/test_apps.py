"""The seed article's three web apps (examples/web/), each run as a real server process on
127.0.0.1 and exercised over HTTP: values against a Python reference, the routes' JSON, the
article's 400s, a broken native library (500), and 16 concurrent clients.

    .venv/bin/python -m pytest -q -p no:cacheprovider tests/web
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "examples" / "web"
LIBCFIB = ROOT / "guests" / "out" / "libcfib.so"
PYTHON = sys.executable

START_TIMEOUT = 30.0  # seconds for a server to answer its first request
REQUEST_TIMEOUT = 30.0  # seconds per request (fib(45) natively takes a few seconds at most)

CLIENTS = 16
REQUESTS_PER_CLIENT = 50
LOAD_MAX_N = 25


def fib_ref(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str  # http://127.0.0.1:PORT
    fib_path: str  # format string with {n}
    result_key: str
    max_n: int
    error_key: str  # "detail" (FastAPI) or "error"
    proc: subprocess.Popen[bytes]
    log: Path

    def url(self, n: int) -> str:
        return self.base + self.fib_path.format(n=n)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(
    name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int, log: Path
) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Start a server (output to a file: a pipe nobody drains would block it) and wait until
    GET / answers. Returns the process, or None (process stopped) and why."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        problem = _wait_until_up(proc, f"http://127.0.0.1:{port}")
    except BaseException:
        _stop(proc)
        raise
    if problem is None:
        return proc, ""
    _stop(proc)
    return None, f"{name} server did not come up ({problem}); {cmd} in {cwd}"


def _wait_until_up(proc: subprocess.Popen[bytes], base: str) -> str | None:
    """None once GET / answers 200, else why not (the process exited, or the time ran out)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        try:
            if requests.get(base + "/", timeout=2).status_code == 200:
                return None
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return f"no answer on {base}/ within {START_TIMEOUT:.0f} s"


def _env(**extra: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the apps must find generated/<pkg> themselves
    env["PYTHONUNBUFFERED"] = "1"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def launch(
    app: str, tmp: Path, cfib_library: str | None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start app on a free port of 127.0.0.1; returns the process, its base URL and its log.
    Another process may take the port between free_port() and the bind: then try another."""
    env = _env(CFIB_LIBRARY=cfib_library)
    for _attempt in range(3):
        port = free_port()
        if app == "fastapi":
            cmd = [PYTHON, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port)]
            cwd = WEB / "fastapi_app"
        elif app == "flask":
            cmd = [PYTHON, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1"]
            cmd += ["--port", str(port), "--with-threads", "--no-reload", "--no-debugger"]
            cwd = WEB / "flask_app"
        elif app == "django":
            cmd = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
            cwd = WEB / "django_app"
        else:
            raise ValueError(app)
        log = tmp / f"{app}-{port}.log"
        proc, problem = _start(app, cmd, cwd, env, port, log)
        if proc is not None:
            return proc, f"http://127.0.0.1:{port}", log
        output = log.read_text(errors="replace")
        if "already in use" not in output.lower():
            break
    pytest.fail(f"{problem}; output:\n{output}")


SPECS = {
    # app: (fib path, result key, max n, error key, root message)
    "fastapi": (
        "/fibonacci_wasm/{n}",
        "result_from_wasm",
        40,
        "detail",
        "FastAPI with WebAssembly",
    ),
    "django": (
        "/fibonacci_native/{n}/",
        "result_from_native",
        45,
        "error",
        "Django with Native Extension",
    ),
    "flask": (
        "/fibonacci_native/{n}",
        "result_from_native",
        45,
        "error",
        "Flask with Native Extension",
    ),
}


@pytest.fixture(scope="module", params=list(SPECS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    app = request.param
    if app != "fastapi" and not LIBCFIB.exists():
        pytest.fail(f"{LIBCFIB} is not built: run scripts/build-guests.sh")
    # Django finds the library at its default path; Flask is given it through $CFIB_LIBRARY.
    library = str(LIBCFIB) if app == "flask" else None
    proc, base, log = launch(app, tmp_path_factory.mktemp(app), library)
    path, key, max_n, err, _ = SPECS[app]
    try:
        yield Server(app, base, path, key, max_n, err, proc, log)
    finally:
        _stop(proc)


def test_root(server: Server) -> None:
    r = requests.get(server.base + "/", timeout=REQUEST_TIMEOUT)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"message": SPECS[server.name][4]}


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 20, 30])
def test_values(server: Server, n: int) -> None:
    r = requests.get(server.url(n), timeout=REQUEST_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"n": n, server.result_key: fib_ref(n)}


def test_largest_allowed_n(server: Server) -> None:
    n = server.max_n  # 40 on wasm, 45 natively: one slow call each
    r = requests.get(server.url(n), timeout=REQUEST_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"n": n, server.result_key: fib_ref(n)}


@pytest.mark.parametrize("n", [-1, -45, -(10**30)])
def test_negative_n_is_400(server: Server, n: int) -> None:
    r = requests.get(server.url(n), timeout=REQUEST_TIMEOUT)
    assert r.status_code == 400, r.text
    assert r.json() == {server.error_key: "Input must be non-negative."}


@pytest.mark.parametrize("extra", [1, 2, 10**30])
def test_too_large_n_is_400(server: Server, extra: int) -> None:
    r = requests.get(server.url(server.max_n + extra), timeout=REQUEST_TIMEOUT)
    assert r.status_code == 400, r.text
    assert r.json() == {server.error_key: "Input too large for demo purposes."}


@pytest.mark.parametrize("junk", ["abc", "1.5", "", "+-3"])
def test_non_integer_n_is_rejected(server: Server, junk: str) -> None:
    # The framework's own answer: FastAPI validates (422) or does not route "" (404);
    # Django and Flask do not route it (404). Never a 200 nor a 500.
    r = requests.get(server.base + server.fib_path.format(n=junk), timeout=REQUEST_TIMEOUT)
    assert r.status_code in (404, 422), r.text


def test_concurrent_clients(server: Server) -> None:
    """16 threads, each with its own session (keep-alive where the server allows it),
    50 requests each, n in 0..25: every answer is 200 with the right value."""
    start = time.monotonic()

    def client(i: int) -> list[str]:
        rng = random.Random(1000 + i)
        failures: list[str] = []
        with requests.Session() as s:
            for _ in range(REQUESTS_PER_CLIENT):
                n = rng.randint(0, LOAD_MAX_N)
                try:
                    r = s.get(server.url(n), timeout=REQUEST_TIMEOUT)
                except requests.RequestException as e:
                    failures.append(f"n={n}: {e!r}")
                    continue
                if r.status_code != 200:
                    failures.append(f"n={n}: HTTP {r.status_code} {r.text[:200]}")
                elif r.json() != {"n": n, server.result_key: fib_ref(n)}:
                    failures.append(f"n={n}: {r.text[:200]}")
        return failures

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS), timeout=120))
    failures = [f for fs in results for f in fs]
    elapsed = time.monotonic() - start
    assert not failures, (
        f"{len(failures)} of {CLIENTS * REQUESTS_PER_CLIENT} failed, e.g. {failures[:5]}"
    )
    assert server.proc.poll() is None, "the server died under load"
    print(f"{server.name}: {CLIENTS * REQUESTS_PER_CLIENT} requests in {elapsed:.2f} s")


@pytest.mark.parametrize("app", ["django", "flask"])
def test_missing_native_library_is_500(app: str, tmp_path: Path) -> None:
    """A library that cannot load: the server still starts, `/` works, the route says 500."""
    proc, base, log = launch(app, tmp_path, str(tmp_path / "no-such-libcfib.so"))
    try:
        path = SPECS[app][0]
        r = requests.get(base + path.format(n=10), timeout=REQUEST_TIMEOUT)
        assert r.status_code == 500, r.text
        assert r.json() == {"error": "Native library not loaded."}
        r = requests.get(base + path.format(n=-1), timeout=REQUEST_TIMEOUT)
        assert r.status_code == 500  # the article checks the library first
    finally:
        _stop(proc)
    assert "no-such-libcfib.so" in log.read_text(errors="replace")  # the reason is logged
