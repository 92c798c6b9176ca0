#!/usr/bin/env bash
# The benchmarks, side by side in one run: per-call cost, bytes in and out, start-up (cold
# and warm compile cache), two threads against one, and the issue's targets as PASS/FAIL.
# Sets up, builds the guests and regenerates generated/ first; prints the tables and writes
# bench/results.json. Extra arguments go to bench/bench.py (--quick: a few seconds).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
scripts/setup.sh
scripts/build-guests.sh
scripts/regen.sh
exec .venv/bin/python bench/bench.py "$@"
