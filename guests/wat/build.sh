#!/usr/bin/env bash
# Build the WAT guests from any directory:
#   guests/out/hostcalls.wasm    hostcalls.wat compiled to binary (wasmtime-py's wat2wasm)
#   guests/out/hostcalls.wasm2py its annotations (a copy of the sidecar)
# Usage: guests/wat/build.sh [wasm|native|all]   (default: all; there is no native build:
# host imports are a wasm-backend feature, so "native" does nothing)
# An output newer than its source and this script is not rebuilt. The compiler is the
# wasmtime package of PYTHON (default: the repository's .venv, made by scripts/setup.sh,
# else python3); wat2wasm is deterministic, so the .wasm is byte-for-byte reproducible.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$(dirname "$here")")"
out="$(dirname "$here")/out"
what="${1:-all}"
modules=(hostcalls)

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    python=python3
    [[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
fi

# wat2wasm SRC OUT: compiles SRC to a temporary file, then moves it to OUT.
wat2wasm() {
    local src="$1" output="$2" tmp
    tmp="$(mktemp "$output.XXXXXX")"
    if ! "$python" -c '
import sys
try:
    import wasmtime
except ImportError:
    sys.exit("guests/wat/build.sh: %s has no wasmtime package (run scripts/setup.sh)" % sys.executable)
with open(sys.argv[1], encoding="utf-8") as f:
    wasm = wasmtime.wat2wasm(f.read())
with open(sys.argv[2], "wb") as f:
    f.write(wasm)
' "$src" "$tmp"; then
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$output"
    echo "built ${output#"$root/"}"
}

build_wasm() {
    local m
    for m in "${modules[@]}"; do
        if ! cmp -s "$m.wasm2py" "$out/$m.wasm2py"; then
            cp "$m.wasm2py" "$out/$m.wasm2py"
        fi
        if [[ -e "$out/$m.wasm" && ! "$m.wat" -nt "$out/$m.wasm" && ! build.sh -nt "$out/$m.wasm" ]]; then
            continue
        fi
        wat2wasm "$m.wat" "$out/$m.wasm"
    done
}

cd "$here"
mkdir -p "$out"
case "$what" in
    wasm | all) build_wasm ;;
    native) ;;
    *)
        echo "usage: $0 [wasm|native|all]" >&2
        exit 2
        ;;
esac
