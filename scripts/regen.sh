#!/usr/bin/env bash
# Regenerates generated/ from the example guests (built into guests/out by build-guests.sh).
# With --check, writes nothing and fails naming every file that differs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
check=()
[[ ${1:-} == --check ]] && check=(--check)
status=0
for guest in fib textkit numkit regexkit cfib wasiapp cwasi hostcalls; do
    ./target/release/wasm2py gen "guests/out/$guest.wasm" -o "generated/$guest" "${check[@]}" || status=1
done
exit $status
