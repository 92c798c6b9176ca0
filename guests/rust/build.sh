#!/usr/bin/env bash
# Builds the example guests for wasm32 and natively, and copies them to guests/out/:
#   fib.wasm textkit.wasm numkit.wasm regexkit.wasm (wasm32-unknown-unknown), and the
#   bench's pair shimsraw.wasm (hand-written shims) and shimssdk.wasm (the same with the SDK),
#   and shimsv1.wasm (the same work against memory protocol version 1: its own arena),
#   wasiapp.wasm (wasm32-wasip1: a WASI reactor, the article's target),
#   the sidecars fib.wasm2py, shimsraw.wasm2py and shimsv1.wasm2py (guests written by hand
#   against the raw protocol; the others use wasm2py-guest, whose annotations travel in
#   the `wasm2py` section), and the native libraries lib<crate>.so of all of them
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
crates=(fib textkit numkit regexkit shimsraw shimssdk shimsv1)  # wasm32-unknown-unknown
wasi_crates=(wasiapp)                 # wasm32-wasip1
sidecars=(fib shimsraw shimsv1)               # the others carry theirs in the `wasm2py` section

cd "$here" # picks up rust-toolchain.toml
export RUSTFLAGS="--remap-path-prefix=$here=/guests \
--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo \
--remap-path-prefix=${RUSTUP_HOME:-$HOME/.rustup}=/rustup"
export CARGO_TARGET_DIR=$here/target
mkdir -p "$out"

if [[ $what != native ]]; then
    for target in wasm32-unknown-unknown wasm32-wasip1; do
        if ! rustup target list --installed | grep -qx $target; then
            rustup target add $target
        fi
    done
    excludes=()
    for c in "${wasi_crates[@]}"; do
        excludes+=(--exclude "$c")
    done
    cargo build --locked --release --target wasm32-unknown-unknown --workspace "${excludes[@]}"
    for c in "${crates[@]}"; do
        cp "target/wasm32-unknown-unknown/release/$c.wasm" "$out/$c.wasm"
    done
    # The WASI guests: std's files, environment, stdout... on wasi_snapshot_preview1.
    cargo build --locked --release --target wasm32-wasip1 "${wasi_crates[@]/#/--package=}"
    for c in "${wasi_crates[@]}"; do
        cp "target/wasm32-wasip1/release/$c.wasm" "$out/$c.wasm"
    done
    for c in "${sidecars[@]}"; do
        cp "$c/$c.wasm2py" "$out/$c.wasm2py"
    done
    # A sidecar left from an older build would win over the module's section.
    for c in "${crates[@]}" "${wasi_crates[@]}"; do
        if [[ ! -e $c/$c.wasm2py ]]; then
            rm -f "$out/$c.wasm2py"
        fi
    done
fi

if [[ $what != wasm ]]; then
    cargo build --locked --release
    for c in "${crates[@]}" "${wasi_crates[@]}"; do
        cp "target/release/lib$c.so" "$out/lib$c.so"
    done
fi

ls -l "$out"
