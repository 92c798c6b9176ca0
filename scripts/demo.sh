#!/usr/bin/env bash
# The embedded example, end to end: set up, build the example guests (Rust and C) to wasm32
# and natively, generate their Python packages into generated/, and call them from Python
# on both backends.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
scripts/setup.sh
scripts/build-guests.sh
scripts/regen.sh
exec .venv/bin/python examples/demo.py
