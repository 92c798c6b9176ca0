"""The arena record of the C header (arena protocol version 2, docs/guest-protocol.md),
natively: tests/c/test_arena_record.c, built with gcc and clang, warnings-clean under
-Wall -Wextra -Wpedantic -Werror, two ways:

- ``native`` (under ASan and UBSan, and under ThreadSanitizer): the native record
  (base = top = limit = 0) whose ``busy`` counts the threads whose arena or message buffer
  holds anything, across threads, resets and thread exits;
- ``mirror`` (under ASan and UBSan): with ``-DW2P__RECORD_MIRRORS_CHUNK=1``, the wasi-libc build's record (it
  mirrors the current chunk) on one thread, the program playing the host: inputs at an
  unaligned top, resets by the host, busy with several chunks and with a message, and
  hostile tops that must never make the guest write outside its chunks (ASan would stop
  the program).

The same record on the real wasm builds is tested with wasmtime in test_spec_cheader.py.
Run alone: ``pytest tests/python/test_c_arena_record.py``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

SOURCE = ROOT / "tests" / "c" / "test_arena_record.c"
HEADER_DIR = ROOT / "guests" / "c"
FLAGS = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-pthread"]
ASAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
# name -> compiler flags: the native record under ASan and under ThreadSanitizer (the
# counting is atomic), the wasi-libc record under ASan.
CONFIGS = {
    "native-asan": ASAN,
    "native-tsan": ["-fsanitize=thread"],
    "mirror-asan": [*ASAN, "-DW2P__RECORD_MIRRORS_CHUNK=1"],
}


@pytest.mark.parametrize("compiler", [os.environ.get("CC", "gcc"), os.environ.get("CLANG", "clang")])
@pytest.mark.parametrize("config", CONFIGS)
def test_the_arena_record(tmp_path: Path, compiler: str, config: str) -> None:
    program = tmp_path / f"test_arena_record_{config}"
    command = [compiler, *FLAGS, *CONFIGS[config], f"-I{HEADER_DIR}", str(SOURCE), "-o", str(program)]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    assert built.returncode == 0, f"{' '.join(command)}\n{built.stderr}"
    assert built.stderr == ""
    # A failed calloc of a huge size returns NULL (the test asks for one), as without the
    # sanitizers, and says so on stderr.
    options = "allocator_may_return_null=1"
    env = {**os.environ, "ASAN_OPTIONS": f"{options}:detect_leaks=1", "TSAN_OPTIONS": f"{options}:halt_on_error=1"}
    ran = subprocess.run([str(program)], capture_output=True, text=True, check=False, env=env, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout == "ok\n"
