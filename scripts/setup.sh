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
# guests/rust pins its toolchain (reproducible .wasm bytes). Where that version is the
# installed stable one under another name, link it rather than download it.
pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' guests/rust/rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$pinned"; then
    if [[ $(rustc +stable --version 2>/dev/null) == "rustc $pinned "* ]]; then
        echo "== linking the installed stable toolchain as $pinned"
        rustup toolchain link "$pinned" "$(rustc +stable --print sysroot)"
    fi
fi
# Make sure the pinned toolchain has the wasm32 target too.
(
    cd guests/rust
    if [[ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]]; then
        rustup target add wasm32-unknown-unknown
    fi
)

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
