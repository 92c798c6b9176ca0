#!/usr/bin/env bash
# Build the spec modules (guests written from SPEC.md and docs/guest-protocol.md alone)
# from any directory, into tests/spec_modules/out/:
#   rust_user.wasm  librust_user.so  rust_user.wasm2py   (cargo)
#   c_user.wasm     libc_user.so     c_user.wasm2py      (clang + wasm-ld, gcc)
# Usage: tests/spec_modules/build.sh [wasm|native|all]   (default: all)
# Up-to-date outputs are left alone (cargo decides for Rust; for C an output newer than its
# inputs is kept). CLANG and CC override the C compilers.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/out"
what="${1:-all}"
clang="${CLANG:-clang}"
cc="${CC:-gcc}"

case "$what" in
    wasm | native | all) ;;
    *)
        echo "usage: $0 [wasm|native|all]" >&2
        exit 2
        ;;
esac

# install_file SRC DEST: copy unless DEST already has the same bytes (keeps mtimes).
install_file() {
    if ! cmp -s "$1" "$2"; then
        cp -f "$1" "$2.tmp"
        mv -f "$2.tmp" "$2"
        echo "updated ${2#"$here/"}"
    fi
}

# ---- rust_user -----------------------------------------------------------------------

rust_dir="$here/rust_user"

cargo_build() {
    # Map the crate directory to a relative name so no absolute path ends up in the output
    # (the standard library's paths are already /rustc/<hash>/...). The flags are passed
    # with CARGO_ENCODED_RUSTFLAGS (0x1f-separated) so a path with spaces stays one flag.
    local flags="--remap-path-prefix=$rust_dir=rust_user"
    flags+=$'\x1f'"--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=cargo-home"
    (cd "$rust_dir" && CARGO_ENCODED_RUSTFLAGS="$flags" RUSTFLAGS='' \
        cargo build --quiet --release --offline "$@")
}

rust_wasm() {
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    cargo_build --target wasm32-unknown-unknown
    install_file "$rust_dir/target/wasm32-unknown-unknown/release/rust_user.wasm" "$out/rust_user.wasm"
    install_file "$rust_dir/rust_user.wasm2py" "$out/rust_user.wasm2py"
}

rust_native() {
    cargo_build
    install_file "$rust_dir/target/release/librust_user.so" "$out/librust_user.so"
}

# ---- c_user --------------------------------------------------------------------------

c_dir="$here/c_user"
c_inputs=(c_user.c ../build.sh)
# Compiled from $c_dir with relative names and $c_dir mapped to ".".
c_flags=(-std=c11 -O2 -Wall -Wextra -fvisibility=hidden "-ffile-prefix-map=$c_dir=.")

# c_build OUTPUT COMMAND...: unless OUTPUT is newer than every input, run COMMAND with
# "-o TMP" in $c_dir and move TMP to OUTPUT.
c_build() {
    local output="$1" input tmp
    shift
    if [[ -e "$output" ]]; then
        local stale=0
        for input in "${c_inputs[@]}"; do
            [[ "$c_dir/$input" -nt "$output" ]] && stale=1
        done
        ((stale)) || return 0
    fi
    tmp="$(mktemp "$output.XXXXXX")"
    if ! (cd "$c_dir" && "$@" -o "$tmp"); then
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$output"
    echo "built ${output#"$here/"}"
}

c_wasm() {
    # No libc (c_user.c brings memset/memcpy); wasm-ld exports "memory" and the
    # default-visibility functions, and fails on undefined symbols: no imports.
    c_build "$out/c_user.wasm" "$clang" --target=wasm32 -nostdlib "${c_flags[@]}" \
        -Wl,--no-entry -Wl,--export-dynamic c_user.c
    install_file "$c_dir/c_user.wasm2py" "$out/c_user.wasm2py"
}

c_native() {
    c_build "$out/libc_user.so" "$cc" -shared -fPIC "${c_flags[@]}" c_user.c
}

mkdir -p "$out"
if [[ "$what" == wasm || "$what" == all ]]; then
    rust_wasm
    c_wasm
fi
if [[ "$what" == native || "$what" == all ]]; then
    rust_native
    c_native
fi
