#!/usr/bin/env bash
# Build the C guests from any directory:
#   guests/out/cfib.wasm    wasm32, no libc, no imports (clang + wasm-ld)
#   guests/out/libcfib.so   the same source as a native shared library (gcc)
#   guests/out/cwasi.wasm   wasm32-wasi with wasi-libc, a WASI reactor (exports _initialize,
#                           which runs the C constructors; imports wasi_snapshot_preview1)
#   guests/out/libcwasi.so  the same source as a native shared library (gcc)
# Both are written with the SDK header wasm2py.h: it names the exports (export_name on
# wasm), writes the annotations into the modules' "wasm2py" sections and brings the arena.
# Usage: guests/c/build.sh [wasm|native|all]   (default: all)
# An output newer than its sources and this script is not rebuilt. CLANG and CC override
# the compilers; WASI_SYSROOT the wasi-libc sysroot (default: /usr/share/wasi-sysroot, else
# /usr, where Debian's wasi-libc package puts lib/wasm32-wasi and include/wasm32-wasi).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(dirname "$here")/out"
what="${1:-all}"
clang="${CLANG:-clang}"
cc="${CC:-gcc}"

cfib_sources=(cfib.c)
cwasi_sources=(cwasi.c)
# Compile from $here with relative names, and map $here to "." for anything that still
# records a path: no absolute path ends up in the outputs.
common=(-std=c11 -O2 -Wall -Wextra -Wpedantic -fvisibility=hidden "-ffile-prefix-map=$here=.")

# up_to_date OUTPUT INPUT...: OUTPUT exists and is newer than every INPUT and this script.
up_to_date() {
    local output="$1" input
    shift
    [[ -e "$output" ]] || return 1
    for input in "$@" wasm2py.h build.sh; do
        [[ "$input" -nt "$output" ]] && return 1
    done
    return 0
}

# link OUTPUT COMMAND...: run COMMAND with "-o TMP", then move TMP to OUTPUT.
link() {
    local output="$1" tmp
    shift
    tmp="$(mktemp "$output.XXXXXX")"
    if ! "$@" -o "$tmp"; then
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$output"
    echo "built ${output#"$(dirname "$(dirname "$here")")/"}"
}

build_cfib_wasm() {
    local output="$out/cfib.wasm"
    up_to_date "$output" "${cfib_sources[@]}" && return 0
    # -nostdlib: no libc (wasm2py.h brings memset/memcpy/memmove). The W2P_EXPORT
    # functions are exported by their export_name attributes; wasm-ld exports "memory"
    # itself and fails on any undefined symbol, so the module has no imports.
    # -mbulk-memory lets memset/memcpy be memory.fill/memory.copy.
    link "$output" "$clang" --target=wasm32 -nostdlib -mbulk-memory "${common[@]}" \
        -Wl,--no-entry "${cfib_sources[@]}"
}

# The wasi-libc sysroot: $WASI_SYSROOT, else the first directory with lib/wasm32-wasi/libc.a.
wasi_sysroot() {
    local dir
    for dir in ${WASI_SYSROOT:+"$WASI_SYSROOT"} /usr/share/wasi-sysroot /usr; do
        if [[ -e "$dir/lib/wasm32-wasi/libc.a" ]]; then
            echo "$dir"
            return 0
        fi
    done
    echo "build.sh: no wasi-libc sysroot (set WASI_SYSROOT, or run scripts/setup.sh to" \
        "install the Debian packages wasi-libc and libclang-rt-N-dev-wasm32)" >&2
    return 1
}

build_cwasi_wasm() {
    local output="$out/cwasi.wasm" sysroot
    # The annotations are in the module now (W2P_SIG); a sidecar left by an older build
    # would take their place.
    rm -f "$out/cwasi.wasm2py"
    up_to_date "$output" "${cwasi_sources[@]}" && return 0
    sysroot="$(wasi_sysroot)"
    # -mexec-model=reactor links wasi-libc's crt1-reactor.o: the module exports
    # _initialize (which runs the constructors) instead of _start. The W2P_EXPORT
    # functions are exported by export_name; what libc needs comes in as
    # wasi_snapshot_preview1 imports. --strip-debug drops the DWARF that Debian's libc.a carries (100 KB, with
    # its build paths); the name section stays.
    link "$output" "$clang" --target=wasm32-wasi "--sysroot=$sysroot" -mexec-model=reactor \
        "${common[@]}" -Wl,--strip-debug "${cwasi_sources[@]}"
}

build_native_lib() {
    local output="$1"
    shift
    up_to_date "$output" "$@" && return 0
    link "$output" "$cc" -shared -fPIC -fno-semantic-interposition -pthread "${common[@]}" "$@"
}

build_wasm() {
    build_cfib_wasm && build_cwasi_wasm
}

build_native() {
    build_native_lib "$out/libcfib.so" "${cfib_sources[@]}" &&
        build_native_lib "$out/libcwasi.so" "${cwasi_sources[@]}"
}

cd "$here"
mkdir -p "$out"
case "$what" in
    wasm) build_wasm ;;
    native) build_native ;;
    all) build_wasm && build_native ;;
    *)
        echo "usage: $0 [wasm|native|all]" >&2
        exit 2
        ;;
esac
