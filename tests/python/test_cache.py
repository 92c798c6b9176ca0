"""The compile cache of the wasm backend, exercised in fresh processes.

A warm start must not compile (proved by making compilation fail in that process); a
truncated, corrupted or foreign entry, or a directory others can write to, must be
ignored and rebuilt, never trusted and never a crash. Code another user could have
written is never loaded, and nothing is written where another user could change it: a
cache directory that is a symlink, owned by another uid, or below a directory others can
write to (without the sticky bit) is not used at all; an entry that is a symlink, owned
by another uid or writable by others is rebuilt. The tests that give files to another
uid need root.
"""

from __future__ import annotations

import os
import shutil
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


# ---- who could have written it ---------------------------------------------------------------

OTHER_UID = 65534  # nobody
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another uid: needs root")


def snapshot(directory: Path) -> dict[str, tuple[int, ...]]:
    """Every entry of the directory as it is on disk (a rewrite changes the inode)."""
    found = {}
    for entry in directory.iterdir():
        info = entry.lstat()
        found[entry.name] = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode, info.st_uid)
    return found


def good_entry(tmp_path: Path) -> Path:
    """A cache directory holding a good entry for fib, made by a run."""
    source = tmp_path / "source"
    assert compiled(source) == 1
    assert compiled(source, FORBID_COMPILE="1") == 0
    return source


def give(path: Path, uid: int) -> None:
    """Gives a directory and everything in it to ``uid``."""
    os.chown(path, uid, uid)
    for entry in path.iterdir():
        os.chown(entry, uid, uid, follow_symlinks=False)


@pytest.mark.parametrize("owner", ["ours", pytest.param("another uid", marks=needs_root)])
def test_a_cache_directory_that_is_a_symlink_is_not_followed(tmp_path: Path, owner: str) -> None:
    # The link points at a directory holding a good entry; the link is never followed:
    # nothing is loaded from there and nothing written there.
    target = good_entry(tmp_path)
    if owner != "ours":
        give(target, OTHER_UID)
    before = snapshot(target)
    cache = tmp_path / "cache"
    cache.symlink_to(target)
    assert compiled(cache) == 1
    assert compiled(cache) == 1
    assert snapshot(target) == before
    assert cache.is_symlink()


@needs_root
def test_a_cache_directory_of_another_uid_is_neither_used_nor_written(tmp_path: Path) -> None:
    cache = good_entry(tmp_path)
    give(cache, OTHER_UID)
    before = snapshot(cache)
    assert compiled(cache) == 1
    assert snapshot(cache) == before


@pytest.mark.parametrize("level", ["parent", "grandparent"])
def test_a_directory_above_that_others_can_write_makes_the_cache_unused(tmp_path: Path, level: str) -> None:
    writable = tmp_path / "writable"
    cache = writable / "cache" if level == "parent" else writable / "middle" / "cache"
    assert compiled(cache) == 1
    writable.chmod(0o777)
    before = snapshot(cache)
    assert compiled(cache) == 1  # the good entry is not loaded...
    assert snapshot(cache) == before  # ...nor rewritten
    # A missing cache directory is not made there.
    shutil.rmtree(writable / ("cache" if level == "parent" else "middle"))
    assert compiled(cache) == 1
    assert list(writable.iterdir()) == []
    # With the sticky bit (as /tmp), others cannot rename or remove what is ours: trusted.
    writable.chmod(0o1777)
    assert compiled(cache) == 1
    assert compiled(cache, FORBID_COMPILE="1") == 0


@pytest.mark.parametrize("owner", ["ours", pytest.param("another uid", marks=needs_root)])
@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_a_symlink_above_the_cache_directory_is_followed_only_if_ours(
    tmp_path: Path, owner: str, form: str
) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to("real" if form == "relative" else real)
    if owner != "ours":
        os.chown(link, OTHER_UID, OTHER_UID, follow_symlinks=False)
    cache = link / "cache"
    if owner == "ours":
        assert compiled(cache) == 1
        assert compiled(cache, FORBID_COMPILE="1") == 0
        assert (real / "cache").is_dir()
    else:
        # Another uid's link could point anywhere: not followed, nothing made there.
        assert compiled(cache) == 1
        assert list(real.iterdir()) == []
        # (an entry already there is not loaded either)
        shutil.copytree(good_entry(tmp_path), real / "cache")
        before = snapshot(real / "cache")
        assert compiled(cache) == 1
        assert snapshot(real / "cache") == before


@pytest.mark.parametrize("which", ["artifact", "checksum"])
def test_an_entry_swapped_for_a_symlink_is_refused_and_rebuilt(tmp_path: Path, which: str) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    [artifact] = entries(cache)
    entry = artifact if which == "artifact" else artifact.with_name(artifact.name + ".crc32")
    # The link points at the very same good content, elsewhere: still refused.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = elsewhere / entry.name
    entry.rename(moved)
    entry.symlink_to(moved)
    kept = moved.read_bytes()
    assert compiled(cache) == 1
    assert not entry.is_symlink()  # the rebuilt entry replaced the link, not its target
    assert moved.read_bytes() == kept
    assert compiled(cache, FORBID_COMPILE="1") == 0


@pytest.mark.parametrize("how", ["writable by others", pytest.param("another uid", marks=needs_root)])
def test_an_entry_others_could_have_written_is_refused_and_rebuilt(tmp_path: Path, how: str) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    [artifact] = entries(cache)
    for entry in (artifact, artifact.with_name(artifact.name + ".crc32")):
        if how == "writable by others":
            entry.chmod(0o666)
        else:
            os.chown(entry, OTHER_UID, OTHER_UID)
    assert compiled(cache) == 1
    info = artifact.lstat()
    assert (info.st_uid, info.st_mode & 0o777) == (os.geteuid(), 0o600)
    assert compiled(cache, FORBID_COMPILE="1") == 0


def test_a_fifo_in_the_cache_does_not_block(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert compiled(cache) == 1
    [artifact] = entries(cache)
    checksum = artifact.with_name(artifact.name + ".crc32")
    checksum.unlink()
    os.mkfifo(checksum, 0o600)
    assert compiled(cache) == 1  # (opening it for reading would wait for a writer)
    assert compiled(cache, FORBID_COMPILE="1") == 0


def test_missing_directories_are_made_private(tmp_path: Path) -> None:
    cache = tmp_path / "a" / "b" / "cache"
    assert compiled(cache) == 1
    for directory in (tmp_path / "a", tmp_path / "a" / "b", cache):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    assert compiled(cache, FORBID_COMPILE="1") == 0
