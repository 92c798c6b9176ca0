"""Shared set-up of the Python suite: the generated packages, the native libraries and the
packages generated at test time from the spec-only modules.

The example guests (fib, textkit, numkit, regexkit, cfib) are imported from the committed packages in
generated/; the spec-only modules (rust_user, c_user) are generated once per session into a
temporary directory by the wasm2py binary. Every built artifact this needs comes from
scripts/build-guests.sh: a missing one fails the test that needs it (never a skip), with a
message that says so.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
GUESTS_OUT = ROOT / "guests" / "out"
SPEC_OUT = ROOT / "tests" / "spec_modules" / "out"
WASM2PY = ROOT / "target" / "release" / "wasm2py"

# The example guests, whose packages are committed in generated/<name>.
EXAMPLE_GUESTS = ("fib", "textkit", "numkit", "regexkit", "cfib")
# The spec-only modules, generated at test time from tests/spec_modules/out/<name>.wasm.
SPEC_GUESTS = ("rust_user", "c_user")
ALL_GUESTS = EXAMPLE_GUESTS + SPEC_GUESTS

CLASS_NAMES = {
    "fib": "Fib",
    "textkit": "Textkit",
    "numkit": "Numkit",
    "regexkit": "Regexkit",
    "cfib": "Cfib",
    "rust_user": "RustUser",
    "c_user": "CUser",
}

BACKENDS = ("wasm", "native")

for _name in EXAMPLE_GUESTS:
    sys.path.insert(0, str(GENERATED / _name))


def require(path: Path, what: str = "built artifact") -> Path:
    """Fails the calling test (not a skip) when a built artifact is missing."""
    if not path.exists():
        pytest.fail(
            f"missing {what}: {path.relative_to(ROOT)}; run scripts/build-guests.sh "
            "(and `cargo build --release` for target/release/wasm2py) first",
            pytrace=False,
        )
    return path


def generate_package(wasm: Path, out: Path, name: str | None = None, sig: Path | None = None) -> Any:
    """Runs `wasm2py gen` on `wasm` (`--name name`, `--sig sig` when given) into `out`,
    puts `out` on sys.path and imports the package (named after the module unless
    `name` says otherwise). wasm2py's error fails the calling test."""
    cmd = [str(require(WASM2PY, "wasm2py binary")), "gen", str(wasm), "-o", str(out)]
    if name is not None:
        cmd += ["--name", name]
    if sig is not None:
        cmd += ["--sig", str(sig)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"wasm2py gen {wasm.name} failed:\n{done.stderr}", pytrace=False)
    sys.path.insert(0, str(out))
    return importlib.import_module(name or wasm.stem)


def c_guest_package(work: Path, name: str, source: str, sig: str) -> Any:
    """A guest written in plain C (no SDK, no header): `source` built for wasm32 without
    libc (clang) and as a native library (gcc), its package generated from the sidecar
    `sig` and imported. The native library's path is the module's LIBRARY."""
    require(WASM2PY, "wasm2py binary")
    for tool in ("clang", "gcc"):
        assert shutil.which(tool), f"{tool} is needed (scripts/setup.sh installs it)"
    c_file, wasm, library = work / f"{name}.c", work / f"{name}.wasm", work / f"lib{name}.so"
    c_file.write_text(source)
    common = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"]
    commands = [
        ["clang", "--target=wasm32", "-nostdlib", "-mbulk-memory", *common, "-Wl,--no-entry",
         "-Wl,--export-dynamic", str(c_file), "-o", str(wasm)],
        ["gcc", "-shared", "-fPIC", *common, str(c_file), "-o", str(library)],
    ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stderr}"
    (work / f"{name}.wasm2py").write_text(sig)
    module = generate_package(wasm, work / "out")
    module.LIBRARY = str(library)
    return module


def native_library(name: str) -> Path:
    """The native build of a guest: guests/out/lib<name>.so or tests/spec_modules/out/..."""
    directory = SPEC_OUT if name in SPEC_GUESTS else GUESTS_OUT
    return require(directory / f"lib{name}.so", f"native library of {name}")


@pytest.fixture(scope="session")
def spec_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generates the spec-only modules' packages into a temporary directory and puts them
    on sys.path. The sidecar <m>.wasm2py next to each module is found by wasm2py itself."""
    require(WASM2PY, "wasm2py binary")
    out = tmp_path_factory.mktemp("spec_packages")
    for name in SPEC_GUESTS:
        wasm = require(SPEC_OUT / f"{name}.wasm", f"spec module {name}")
        require(SPEC_OUT / f"{name}.wasm2py", f"sidecar of {name}")
        result = subprocess.run(
            [str(WASM2PY), "gen", str(wasm), "-o", str(out / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"wasm2py gen {name}.wasm failed:\n{result.stderr}", pytrace=False
            )
        sys.path.insert(0, str(out / name))
    return out


@pytest.fixture(scope="session")
def packages(spec_packages: Path) -> Callable[[str], Any]:
    """packages(name) imports the generated package of a guest."""

    def load(name: str) -> Any:
        return importlib.import_module(name)

    return load


Factory = Callable[[str], Any]


def make_factory(backend: str, load: Callable[[str], Any]) -> Factory:
    def make(name: str) -> Any:
        cls = getattr(load(name), CLASS_NAMES[name])
        if backend == "wasm":
            instance = cls()
        else:
            instance = cls(backend="native", library=native_library(name))
        assert instance.backend == backend
        return instance

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, packages: Callable[[str], Any]
) -> Iterator[Factory]:
    """An instance factory for one backend: backend("fib") is a new Fib on that backend.

    Session-scoped (a factory holds no state), so hypothesis tests may use it."""
    yield make_factory(request.param, packages)


@pytest.fixture(scope="session")
def wasm_backend(packages: Callable[[str], Any]) -> Factory:
    """The wasm backend's factory, for behaviour native code cannot have (see the callers)."""
    return make_factory("wasm", packages)


@pytest.fixture(scope="session")
def native_backend(packages: Callable[[str], Any]) -> Factory:
    return make_factory("native", packages)


# Hypothesis: modest example counts (the suite runs on two slow cores) and no deadline
# (the first call on a thread instantiates a wasm store, which is slow once).
settings.register_profile(
    "wasm2py",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,  # no example database written into the repository
    # CI explores the same examples every run (a landing is not decided by luck);
    # developers' runs keep exploring new ones.
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("wasm2py")
