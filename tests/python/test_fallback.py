"""Backend selection without wasmtime-py: a real virtualenv that does not have it.

``Fib()`` must fall back to the native library when one is found (argument, environment
variable, or next to the package), and say what to install or where to put the library
when neither backend can load.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GENERATED, require

NATIVE = Path(__file__).resolve().parents[2] / "guests" / "out" / "libfib.so"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtualenv without wasmtime (and without pip: not needed)."""
    venv = tmp_path_factory.mktemp("bare-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import wasmtime"], check=False, capture_output=True)
    assert probe.returncode != 0, "the bare virtualenv must not see wasmtime"
    return python


def run(python: Path, code: str, pythonpath: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def test_falls_back_to_the_library_named_by_the_environment(bare_python: Path) -> None:
    lib = require(NATIVE)
    done = run(
        bare_python,
        "import fib; f = fib.Fib(); print(f.backend, f.gcd(2**32 - 2, 2**31 + 2), fib.fibonacci(20))",
        GENERATED / "fib",
        FIB_LIBRARY=str(lib),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["native", "2", "6765"]


def test_falls_back_to_a_library_next_to_the_package(bare_python: Path, tmp_path: Path) -> None:
    lib = require(NATIVE)
    shutil.copytree(GENERATED / "fib", tmp_path / "fib")
    shutil.copy(lib, tmp_path / "fib" / "fib" / "libfib.so")
    done = run(bare_python, "import fib; f = fib.Fib(); print(f.backend, f.add(2, 3))", tmp_path / "fib")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["native", "5"]


def test_without_either_backend_the_error_says_what_to_do(bare_python: Path) -> None:
    done = run(bare_python, "import fib; fib.Fib()", GENERATED / "fib")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fib: no backend can load"), done.stderr
    assert "pip install 'wasmtime" in last
    assert "$FIB_LIBRARY" in last and "libfib.so" in last


def test_asking_for_wasm_without_wasmtime_is_an_import_error(bare_python: Path) -> None:
    done = run(bare_python, "import fib; fib.Fib(backend='wasm')", GENERATED / "fib")
    assert done.returncode == 1
    assert "No module named 'wasmtime'" in done.stderr
