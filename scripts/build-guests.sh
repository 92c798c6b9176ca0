#!/usr/bin/env bash
# Builds every guest (example guests and the spec-only test modules) to wasm32 and natively:
# Rust (wasm32-unknown-unknown, and wasm32-wasip1 for wasiapp), C (cfib without libc, cwasi
# with wasi-libc) and WAT (hostcalls, host imports; no native build).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
"$root/guests/rust/build.sh" all >/dev/null
"$root/guests/c/build.sh" all >/dev/null
"$root/guests/wat/build.sh" all >/dev/null
"$root/tests/spec_modules/build.sh" all >/dev/null
echo "guests built into guests/out and tests/spec_modules/out"
