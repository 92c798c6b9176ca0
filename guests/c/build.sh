#!/usr/bin/env bash
# Build the C guest from any directory:
#   guests/out/cfib.wasm   wasm32, no libc, no imports (clang + wasm-ld)
#   guests/out/libcfib.so  the same source as a native shared library (gcc)
# Usage: guests/c/build.sh [wasm|native|all]   (default: all)
# An output newer than its sources and this script is not rebuilt. CLANG and CC override
# the compilers.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(dirname "$here")/out"
what="${1:-all}"
clang="${CLANG:-clang}"
cc="${CC:-gcc}"

sources=(cfib.c arena.c)
inputs=("${sources[@]}" arena.h build.sh)
# Compile from $here with relative names, and map $here to "." for anything that still
# records a path: no absolute path ends up in the outputs.
common=(-std=c11 -O2 -Wall -Wextra -fvisibility=hidden "-ffile-prefix-map=$here=.")

# up_to_date OUTPUT: OUTPUT exists and is newer than every input.
up_to_date() {
    local output="$1" input
    [[ -e "$output" ]] || return 1
    for input in "${inputs[@]}"; do
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

build_wasm() {
    local output="$out/cfib.wasm"
    up_to_date "$output" && return 0
    # -nostdlib: no libc (arena.c brings memset/memcpy). --export-dynamic exports the
    # W2P_EXPORT functions (everything else is hidden); wasm-ld exports "memory" itself and
    # fails on any undefined symbol, so the module has no imports. -mbulk-memory lets
    # memset/memcpy be memory.fill/memory.copy.
    link "$output" "$clang" --target=wasm32 -nostdlib -mbulk-memory "${common[@]}" \
        -Wl,--no-entry -Wl,--export-dynamic "${sources[@]}"
}

build_native() {
    local output="$out/libcfib.so"
    up_to_date "$output" && return 0
    link "$output" "$cc" -shared -fPIC -fno-semantic-interposition -pthread "${common[@]}" \
        "${sources[@]}"
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
