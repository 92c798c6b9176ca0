#!/usr/bin/env bash
# Every check and test: lints, Rust tests and snapshots, the Rust guest SDK's tests,
# generated/ up to date, ruff and mypy --strict on the generated packages, the Python
# suites on both backends, and the install paths of the tool (wheel, pip install ., sdist,
# cargo install).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
scripts/setup.sh
scripts/build-guests.sh

echo "== cargo fmt --check, clippy"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -q -- -D warnings

echo "== cargo test"
cargo test --locked -q 2>&1 | tail -n 25

echo "== the Rust guest SDK (guests/rust): fmt, clippy, unit, shim and trybuild tests"
(
    cd guests/rust
    cargo fmt --all -- --check
    cargo clippy --locked -q --all-targets -p wasm2py-guest -p wasm2py-guest-macros -- -D warnings
    cargo test --locked -q -p wasm2py-guest -p wasm2py-guest-macros 2>&1 | tail -n 25
)

echo "== generated/ is what wasm2py writes now"
scripts/regen.sh --check

echo "== ruff and mypy --strict on the runtime and generated/; ruff on the Python tests and examples"
.venv/bin/ruff check runtime generated tests/python tests/web examples bench
.venv/bin/mypy --strict --no-error-summary runtime/_runtime.py
for pkg in generated/*/; do
    (cd "$pkg" && "$root/.venv/bin/mypy" --strict --no-error-summary "$(basename "$pkg")")
done

echo "== pytest: the runtime suite (fast path), the web apps as real servers"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python tests/web

echo "== pytest: the runtime suite again on wasmtime-py's public API (WASM2PY_FAST_PATH=0)"
WASM2PY_FAST_PATH=0 .venv/bin/python -m pytest -q -p no:cacheprovider tests/python

echo "== installing the tool: the wheel, pip install ., the sdist, cargo install (scripts/test-install.sh)"
scripts/test-install.sh
