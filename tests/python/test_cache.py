"""The compile cache of the wasm backend, exercised in fresh processes.

A warm start must not compile (proved by making compilation fail in that process); a
truncated, corrupted or foreign entry, or a directory others can write to, must be
ignored and rebuilt, never trusted and never a crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import GENERATED

# Runs fib in a fresh interpreter; with FORBID_COMPILE set, compiling a module raises, so
# the call can only succeed from the cache. Prints how many modules were compiled.
SCRIPT = """
import os, wasmtime
compiled = 0
original = wasmtime.Module.__init__
def counting(self, *args, **kwargs):
    global compiled
    if os.environ.get("FORBID_COMPILE"):
        raise RuntimeError("compiled although the cache should have been used")
    compiled += 1
    original(self, *args, **kwargs)
wasmtime.Module.__init__ = counting
import fib
assert fib.Fib().gcd(2**32 - 2, 2**31 + 2) == 2
print(compiled)
"""


def run(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(GENERATED / "fib"), "WASM2PY_CACHE_DIR": str(cache), **env},
        timeout=120,
    )


def compiled(cache: Path, **env: str) -> int:
    done = run(cache, **env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("fib-*.cwasm"))


def test_a_warm_start_does_not_compile(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    [artifact] = entries(cache)
    assert artifact.with_name(artifact.name + ".crc32").exists()
    assert compiled(cache, FORBID_COMPILE="1") == 0


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "foreign", "checksum"])
def test_a_damaged_entry_is_rebuilt(tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    [artifact] = entries(cache)
    checksum = artifact.with_name(artifact.name + ".crc32")
    data = artifact.read_bytes()
    if damage == "truncate":
        artifact.write_bytes(data[: len(data) // 2])
    elif damage == "empty":  # a file that cannot even be mapped
        artifact.write_bytes(b"")
    elif damage == "garbage":
        artifact.write_bytes(os.urandom(len(data)))
    elif damage == "foreign":
        # Not wasmtime's format at all, with a checksum that matches it: wasmtime's own
        # check must refuse it, and the package must recompile rather than crash.
        artifact.write_bytes(b"not a compiled module" * 100)
        data = artifact.read_bytes()
        checksum.write_text(f"{zlib.crc32(data):08x} {len(data)}")
    else:
        checksum.write_text(f"00000000 {len(data)}")
    assert compiled(cache) == 1
    # ...and the rebuilt entry is good again.
    assert compiled(cache, FORBID_COMPILE="1") == 0


def test_a_directory_others_can_write_is_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    cache.chmod(0o777)
    assert compiled(cache) == 1
    cache.chmod(0o700)
    assert compiled(cache, FORBID_COMPILE="1") == 0


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache, WASM2PY_CACHE="0") == 1
    assert not cache.exists()


def test_an_unusable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert compiled(blocker / "cache") == 1
