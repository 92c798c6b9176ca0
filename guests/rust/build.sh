#!/usr/bin/env bash
# Builds the example guests for wasm32 and natively, and copies them to guests/out/:
#   fib.wasm textkit.wasm numkit.wasm regexkit.wasm, the sidecars fib.wasm2py
#   textkit.wasm2py regexkit.wasm2py,
#   libfib.so libtextkit.so libnumkit.so libregexkit.so
# Usage: guests/rust/build.sh [wasm|native|all]   (default all; works from any cwd)
#
# The .wasm files are byte-for-byte reproducible: the toolchain is pinned in
# rust-toolchain.toml and the absolute paths of this checkout and of the cargo home are
# remapped, so no path of the building machine ends up in the output.
set -euo pipefail

what=${1:-all}
case $what in
    wasm | native | all) ;;
    *) echo "usage: $0 [wasm|native|all]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
out=$(dirname "$here")/out
crates=(fib textkit numkit regexkit)
sidecars=(fib textkit regexkit) # numkit carries its annotations in a custom section

cd "$here" # picks up rust-toolchain.toml
export RUSTFLAGS="--remap-path-prefix=$here=/guests \
--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo \
--remap-path-prefix=${RUSTUP_HOME:-$HOME/.rustup}=/rustup"
export CARGO_TARGET_DIR=$here/target
mkdir -p "$out"

if [[ $what != native ]]; then
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    cargo build --locked --release --target wasm32-unknown-unknown
    for c in "${crates[@]}"; do
        cp "target/wasm32-unknown-unknown/release/$c.wasm" "$out/$c.wasm"
    done
    for c in "${sidecars[@]}"; do
        cp "$c/$c.wasm2py" "$out/$c.wasm2py"
    done
fi

if [[ $what != wasm ]]; then
    cargo build --locked --release
    for c in "${crates[@]}"; do
        cp "target/release/lib$c.so" "$out/lib$c.so"
    done
fi

ls -l "$out"
