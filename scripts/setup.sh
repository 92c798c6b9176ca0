#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently:
#   Debian packages clang + lld (C guests to wasm32), the wasm32 Rust target,
#   a virtualenv .venv with requirements-dev.txt, and a release build of wasm2py.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
    echo "== installing clang and lld"
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang lld >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "== adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
fi
# guests/rust pins its toolchain; make sure that one has the target too.
(cd guests/rust && { rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown; })

if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
if ! cmp -s requirements-dev.txt .venv/.requirements-installed; then
    echo "== installing Python packages"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
    cp requirements-dev.txt .venv/.requirements-installed
fi

echo "== building wasm2py"
cargo build --release --locked -q
