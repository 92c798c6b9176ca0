#!/usr/bin/env bash
# Build the spec modules (guests written from SPEC.md and docs/guest-protocol.md alone)
# from any directory, into tests/spec_modules/out/:
#   rust_user.wasm  librust_user.so  rust_user.wasm2py   (cargo)
#   c_user.wasm     libc_user.so     c_user.wasm2py      (clang + wasm-ld, gcc)
#   rust_wasi_user.wasm  librust_wasi_user.so  rust_wasi_user.wasm2py   (cargo, wasm32-wasip1)
#   rust_sdk_user.wasm  librust_sdk_user.so  rust_sdk_user_wasi.wasm   (cargo, wasm2py-guest;
#                       no sidecar: the annotations are in the modules' `wasm2py` section)
#   c_wasi_user.wasm     libc_wasi_user.so     c_wasi_user.wasm2py      (clang + wasi-libc, gcc)
#   import_user.wasm     import_user.wasm2py   (clang + wasm-ld; host imports: wasm only)
# Usage: tests/spec_modules/build.sh [wasm|native|all]   (default: all)
# Up-to-date outputs are left alone (cargo decides for Rust; for C an output newer than its
# inputs is kept). CLANG and CC override the C compilers; WASI_SYSROOT the wasi-libc sysroot
# (default: /usr/share/wasi-sysroot when it exists, else clang's own search, which finds
# Debian's wasi-libc package in /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi).
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

# ---- rust_user, rust_wasi_user, rust_sdk_user ----------------------------------------

# cargo_build CRATE CARGO-ARGS...: builds tests/spec_modules/CRATE.
cargo_build() {
    local crate="$1"
    shift
    # Map the crate directory to a relative name so no absolute path ends up in the output
    # (the standard library's paths are already /rustc/<hash>/...). The flags are passed
    # with CARGO_ENCODED_RUSTFLAGS (0x1f-separated) so a path with spaces stays one flag.
    local flags="--remap-path-prefix=$here/$crate=$crate"
    flags+=$'\x1f'"--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=cargo-home"
    # rust_sdk_user's path dependency, the SDK in guests/rust.
    flags+=$'\x1f'"--remap-path-prefix=$(cd "$here/../.." && pwd)/guests/rust=guests"
    (cd "$here/$crate" && CARGO_ENCODED_RUSTFLAGS="$flags" RUSTFLAGS='' \
        cargo build --quiet --release --locked "$@")
}

# rust_target TARGET: installs a Rust target unless it is there.
rust_target() {
    if ! rustup target list --installed 2>/dev/null | grep -qx "$1"; then
        rustup target add "$1"
    fi
}

# rust_wasm CRATE TARGET: CRATE.wasm and its sidecar into out/.
rust_wasm() {
    rust_target "$2"
    cargo_build "$1" --target "$2"
    install_file "$here/$1/target/$2/release/$1.wasm" "$out/$1.wasm"
    install_file "$here/$1/$1.wasm2py" "$out/$1.wasm2py"
}

# rust_sdk_wasm CRATE TARGET OUTPUT: the module alone (annotated by its own section).
rust_sdk_wasm() {
    rust_target "$2"
    cargo_build "$1" --target "$2"
    install_file "$here/$1/target/$2/release/$1.wasm" "$out/$3"
}

# rust_native CRATE: libCRATE.so into out/.
rust_native() {
    cargo_build "$1"
    install_file "$here/$1/target/release/lib$1.so" "$out/lib$1.so"
}

# ---- c_user, c_wasi_user, import_user -------------------------------------------------

# Each C module is one file, tests/spec_modules/NAME/NAME.c, compiled from its directory
# with relative names and that directory mapped to ".": set_c_flags NAME sets c_flags.
c_flags=()
set_c_flags() {
    c_flags=(-std=c11 -O2 -Wall -Wextra -fvisibility=hidden "-ffile-prefix-map=$here/$1=.")
}

# c_build NAME OUTPUT COMMAND...: unless OUTPUT is newer than NAME.c and this script, run
# COMMAND with "-o TMP" in NAME's directory and move TMP to OUTPUT.
c_build() {
    local name="$1" output="$2" input tmp
    shift 2
    if [[ -e "$output" ]]; then
        local stale=0
        for input in "$here/$name/$name.c" "$here/build.sh"; do
            [[ "$input" -nt "$output" ]] && stale=1
        done
        ((stale)) || return 0
    fi
    tmp="$(mktemp "$output.XXXXXX")"
    if ! (cd "$here/$name" && "$@" -o "$tmp"); then
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$output"
    echo "built ${output#"$here/"}"
}

# c_freestanding NAME: NAME.wasm without libc (the source brings memset/memcpy); wasm-ld
# exports "memory" and the default-visibility functions, and fails on undefined symbols
# except the functions declared with import_module (host imports).
c_freestanding() {
    set_c_flags "$1"
    c_build "$1" "$out/$1.wasm" "$clang" --target=wasm32 -nostdlib "${c_flags[@]}" \
        -Wl,--no-entry -Wl,--export-dynamic "$1.c"
    install_file "$here/$1/$1.wasm2py" "$out/$1.wasm2py"
}

# c_wasi NAME: NAME.wasm as a wasi-libc reactor (crt1-reactor.o: _initialize runs the
# constructors); functions are exported by their export_name attributes.
c_wasi() {
    local sysroot=()
    if [[ -n "${WASI_SYSROOT:-}" ]]; then
        sysroot=("--sysroot=$WASI_SYSROOT")
    elif [[ -d /usr/share/wasi-sysroot ]]; then
        sysroot=(--sysroot=/usr/share/wasi-sysroot)
    fi
    set_c_flags "$1"
    c_build "$1" "$out/$1.wasm" "$clang" --target=wasm32-wasi "${sysroot[@]}" \
        -mexec-model=reactor "${c_flags[@]}" "$1.c"
    install_file "$here/$1/$1.wasm2py" "$out/$1.wasm2py"
}

# c_native NAME: libNAME.so.
c_native() {
    set_c_flags "$1"
    c_build "$1" "$out/lib$1.so" "$cc" -shared -fPIC "${c_flags[@]}" "$1.c"
}

mkdir -p "$out"
if [[ "$what" == wasm || "$what" == all ]]; then
    rust_wasm rust_user wasm32-unknown-unknown
    rust_wasm rust_wasi_user wasm32-wasip1
    rust_sdk_wasm rust_sdk_user wasm32-unknown-unknown rust_sdk_user.wasm
    rust_sdk_wasm rust_sdk_user wasm32-wasip1 rust_sdk_user_wasi.wasm
    c_freestanding c_user
    c_wasi c_wasi_user
    c_freestanding import_user
fi
if [[ "$what" == native || "$what" == all ]]; then
    rust_native rust_user
    rust_native rust_wasi_user
    rust_native rust_sdk_user
    c_native c_user
    c_native c_wasi_user
fi
