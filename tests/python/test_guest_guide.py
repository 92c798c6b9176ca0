"""docs/guest-guide.md is built: every snippet marked `<!-- snippet: PATH -->` is written to
PATH in a temporary project, compiled (Rust with the SDK, raw Rust, C with the header,
to wasm and natively), wrapped with `wasm2py gen` and called from Python on both backends.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, generate_package

GUIDE = ROOT / "docs" / "guest-guide.md"
SDK = ROOT / "guests" / "rust" / "wasm2py-guest"
HEADER_DIR = ROOT / "guests" / "c"
# Compiled dependencies (the SDK's proc-macro crates) are kept between runs here.
TARGET = ROOT / "guests" / "rust" / "target" / "guide"


def snippets() -> dict[str, str]:
    text = GUIDE.read_text()
    found = re.findall(r"<!-- snippet: (\S+) -->\n```[^\n]*\n(.*?)```", text, re.DOTALL)
    return dict(found)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"


def write_project(tmp: Path, prefix: str) -> Path:
    """The snippets under `prefix/`, written into tmp/prefix."""
    project = tmp / prefix
    for path, text in snippets().items():
        if path.startswith(prefix + "/"):
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return project


def cargo_env() -> dict[str, str]:
    return dict(os.environ, CARGO_TARGET_DIR=str(TARGET))


def test_every_snippet_is_marked_and_has_code() -> None:
    found = snippets()
    assert set(found) == {
        "rust/Cargo.toml",
        "rust/src/lib.rs",
        "rust-raw/src/lib.rs",
        "rust-raw/raw.wasm2py",
        "c/shop.c",
    }
    assert all(text.strip() for text in found.values())
    # Edition-2024 spelling wherever a raw export is shown.
    text = GUIDE.read_text()
    assert "#[no_mangle]" not in text and "#[unsafe(no_mangle)]" in text


def test_the_rust_sdk_example_builds_and_runs(tmp_path: Path) -> None:
    project = write_project(tmp_path, "rust")
    manifest = project / "Cargo.toml"
    text = manifest.read_text()
    assert 'path = "../wasm2py/guests/rust/wasm2py-guest"' in text
    # The guide's path points at a checkout next to the crate; here, at this one. And the
    # crate is its own workspace (not a member of one it happens to sit under).
    manifest.write_text(text.replace("../wasm2py/guests/rust/wasm2py-guest", str(SDK)) + "\n[workspace]\n")
    run(["cargo", "build", "--release", "--target", "wasm32-unknown-unknown"], project, cargo_env())
    run(["cargo", "build", "--release"], project, cargo_env())
    # No sidecar: the annotations come from the module's section.
    shop = generate_package(TARGET / "wasm32-unknown-unknown" / "release" / "shop.wasm", tmp_path / "py", "shop_rs")
    library = str(TARGET / "release" / "libshop.so")
    for instance in (shop.ShopRs(), shop.ShopRs(backend="native", library=library)):
        assert instance.with_vat(1000, 20) == 1200
        assert instance.shout("tea\ncake") == "TEA\nCAKE"
        assert instance.check_digit(b"1234567") == 8
        with pytest.raises(shop.ShopRsInputError) as raised:
            instance.check_digit(b"12345")
        assert raised.value.function == "check_digit"
        assert raised.value.message == 'a SKU is 7 digits, got "12345"'
        assert instance.rescale([1.0, 2.5], 2.0) == [2.0, 5.0]
        with pytest.raises(OverflowError):
            instance.with_vat(1, 256)
    assert shop.ShopRs.with_vat.__doc__ == "The price with VAT, in cents."


def test_the_raw_rust_example_builds_and_runs(tmp_path: Path) -> None:
    project = write_project(tmp_path, "rust-raw")
    (project / "Cargo.toml").write_text(
        '[package]\nname = "raw"\nversion = "0.1.0"\nedition = "2024"\n\n'
        '[lib]\ncrate-type = ["cdylib"]\n\n[workspace]\n'
    )
    run(["cargo", "build", "--release", "--target", "wasm32-unknown-unknown"], project, cargo_env())
    wasm = tmp_path / "raw.wasm"
    shutil.copy(TARGET / "wasm32-unknown-unknown" / "release" / "raw.wasm", wasm)
    shutil.copy(project / "raw.wasm2py", tmp_path / "raw.wasm2py")
    raw = generate_package(wasm, tmp_path / "py", "raw")
    assert raw.Raw().gcd(1071, 462) == 21
    assert raw.Raw.gcd.__doc__ == "Greatest common divisor."


@pytest.mark.parametrize("build", ["wasm32", "wasm32-wasi"])
def test_the_c_example_builds_and_runs(tmp_path: Path, build: str) -> None:
    project = write_project(tmp_path, "c")
    source = project / "shop.c"
    flags = ["-O2", "-Wall", "-Wextra", "-Werror", f"-I{HEADER_DIR}"]
    wasm = project / "shop.wasm"
    if build == "wasm32":
        cmd = ["clang", "--target=wasm32", "-nostdlib", "-mbulk-memory", "-Wl,--no-entry"]
    else:
        cmd = ["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-mexec-model=reactor"]
    run([*cmd, *flags, "-o", str(wasm), str(source)], project)
    library = project / "libshop.so"
    run(["gcc", "-shared", "-fPIC", "-pthread", *flags, "-o", str(library), str(source)], project)
    name = "shop_c" if build == "wasm32" else "shop_cwasi"
    shop = generate_package(wasm, tmp_path / "py", name)
    cls = getattr(shop, "ShopC" if build == "wasm32" else "ShopCwasi")
    for instance in (cls(), cls(backend="native", library=str(library))):
        assert instance.with_vat(1000, 20) == 1200
        assert instance.shout("tea") == "TEA"
        assert instance.check_digit(b"1234567") == 8
        with pytest.raises(getattr(shop, cls.__name__ + "InputError")) as raised:
            instance.check_digit(b"12a4567")
        assert raised.value.message == "a SKU is 7 digits"
    assert cls.check_digit.__doc__ == "The SKU's check digit; refuses anything but 7 ASCII digits."
