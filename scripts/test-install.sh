#!/usr/bin/env bash
# Checks every way of installing the tool (SPEC "Installing the tool"), each into a fresh
# virtualenv or root under a throwaway directory, and runs what each installed:
#   1. the wheel of `maturin build --release --locked` (maturin in a throwaway venv): it must
#      carry the binary as wasm2py-VERSION.data/scripts/wasm2py (checked, and the check is
#      shown to reject a wheel without it); pip-installed, `wasm2py` is on the venv's PATH;
#   2. `pip install .` from the checkout;
#   3. `pip install` of the sdist, the crate compiled from the sdist's own sources (it must
#      carry Cargo.lock, templates/ and runtime/_runtime.py, or it does not build);
#   4. `cargo install --path . --locked` into a temporary root.
# Each installed wasm2py answers --version and --help, and generates a package from a WAT
# module, imported and called by the repo's .venv python (which has the pinned wasmtime).
# The Cargo builds share this checkout's target/ (CARGO_TARGET_DIR): after setup.sh's release
# build only the wasm2py crate is compiled again: the whole check takes one to two minutes.
# Needs PyPI for maturin (or pip's cache; find-links /opt/wheels is used when it exists).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ -z ${PIP_FIND_LINKS:-} && -d /opt/wheels ]]; then export PIP_FIND_LINKS=/opt/wheels; fi
python=${PYTHON:-python3}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
maturin_req=$(sed -n 's/^requires = \["\(maturin[^"]*\)"\]$/\1/p' pyproject.toml)

work=$(mktemp -d "${TMPDIR:-/tmp}/wasm2py-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { printf '== install [%3ss] %s\n' "$((SECONDS - start))" "$*"; }
fail() { printf 'test-install: FAIL: %s\n' "$*" >&2; exit 1; }
# quiet CMD...: runs CMD with its output in a log, shown only when it fails.
quiet() {
    if ! "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        fail "$*"
    fi
}

# check_wheel WHEEL: the wheel holds a non-empty, executable wasm2py-VERSION.data/scripts/wasm2py.
check_wheel() {
    "$python" - "$1" "$version" <<'EOF'
import sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
name = f"wasm2py-{version}.data/scripts/wasm2py"
with zipfile.ZipFile(wheel) as zf:
    try:
        info = zf.getinfo(name)
    except KeyError:
        sys.exit(f"{wheel}: no {name} in {zf.namelist()}")
    mode = info.external_attr >> 16
    if info.file_size < 100_000 or not mode & 0o111:
        sys.exit(f"{wheel}: {name} is {info.file_size} bytes, mode {oct(mode)}")
    if zf.read(name)[:4] not in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"MZ\x90\x00"):
        sys.exit(f"{wheel}: {name} is not an executable")
print(f"{wheel.rsplit('/', 1)[-1]}: {name}, {info.file_size} bytes, mode {oct(mode & 0o777)}")
EOF
}

# check_tool WASM2PY: --version names this version, --help the subcommands, and `gen` writes
# a package that imports and computes (u32 in and out, never negative; range-checked).
check_tool() {
    local tool=$1 out=$work/gen-$2
    [[ $("$tool" --version) == "wasm2py $version" ]] || fail "$tool --version: $("$tool" --version)"
    "$tool" --help | grep -q '^  gen ' || fail "$tool --help names no gen subcommand"
    "$tool" gen "$work/adder.wat" --sig "$work/adder.wasm2py" -o "$out/adder" >/dev/null
    PYTHONPATH=$out/adder "$runner" -c '
import adder
assert adder.add(4294967295, 2) == 1, adder.add(4294967295, 2)
assert adder.Adder().all_ones() == 4294967295
try:
    adder.add(-1, 0)
except OverflowError:
    pass
else:
    raise AssertionError("add(-1, 0) did not raise OverflowError")
'
    echo "   $tool: --version, --help, gen + import + call: ok"
}

cat >"$work/adder.wat" <<'EOF'
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "all_ones") (result i32) i32.const -1))
EOF
cat >"$work/adder.wasm2py" <<'EOF'
/// a + b, wrapping around at 32 bits.
add(a: u32, b: u32) -> u32
all_ones() -> u32
EOF

step "a throwaway venv with $maturin_req"
"$python" -m venv "$work/tools"
quiet "$work/tools/bin/pip" install "$maturin_req"

step "maturin build --release --locked, maturin sdist"
quiet "$work/tools/bin/maturin" build --release --locked -o "$work/dist"
quiet "$work/tools/bin/maturin" sdist -o "$work/dist"
wheels=("$work"/dist/wasm2py-"$version"-*.whl)
sdist=$work/dist/wasm2py-$version.tar.gz
[[ -f ${wheels[0]} && -f $sdist ]] || fail "no wheel or sdist in $(ls "$work/dist")"
wheel=${wheels[0]}

step "the wheel carries the binary (and the check rejects a wheel without it)"
check_wheel "$wheel"
"$python" - "$wheel" "$work/stripped.whl" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w") as dst:
    for info in src.infolist():
        if "/scripts/" not in info.filename:
            dst.writestr(info, src.read(info))
EOF
if check_wheel "$work/stripped.whl" >/dev/null 2>&1; then fail "check_wheel accepted a wheel without the binary"; fi
sdist_files=$(tar tzf "$sdist")
for f in Cargo.lock runtime/_runtime.py templates/_wasm.py templates/pyproject.toml; do
    grep -qx "wasm2py-$version/$f" <<<"$sdist_files" || fail "the sdist lacks $f"
done

# The generated packages are run by the repo's .venv python (wasmtime pinned there), or
# $WASM2PY_TEST_PYTHON; where that has no wasmtime, the wheel's venv gets the pinned one.
step "the wheel in a fresh venv"
"$python" -m venv "$work/wheel-venv"
quiet "$work/wheel-venv/bin/pip" install --no-index "$wheel"
runner=${WASM2PY_TEST_PYTHON:-$root/.venv/bin/python}
if ! "$runner" -c 'import wasmtime' 2>/dev/null; then
    quiet "$work/wheel-venv/bin/pip" install "$(grep '^wasmtime==' requirements-dev.txt)"
    runner=$work/wheel-venv/bin/python
fi
echo "   the generated packages run on $runner, wasmtime $("$runner" -c 'import importlib.metadata as m; print(m.version("wasmtime"))')"
[[ $(PATH=$work/wheel-venv/bin:$PATH command -v wasm2py) == "$work/wheel-venv/bin/wasm2py" ]] ||
    fail "wasm2py is not on the venv's PATH"
check_tool "$work/wheel-venv/bin/wasm2py" wheel

step "pip install . (from the checkout) in a fresh venv"
"$python" -m venv "$work/src-venv"
quiet "$work/src-venv/bin/pip" install "$root"
check_tool "$work/src-venv/bin/wasm2py" src

# Built in the shared target/, the sdist's wasm2py would be found fresh (same crate, same
# hashes) and nothing would be compiled from its sources: its own target dir gets copies of
# the compiled dependencies only, so that the crate itself is compiled from the sdist.
step "pip install of the sdist in a fresh venv (the crate compiled from the sdist's sources)"
mkdir -p "$work/sdist-target/release"
for d in build deps .fingerprint; do
    if [[ -d $CARGO_TARGET_DIR/release/$d ]]; then cp -a "$CARGO_TARGET_DIR/release/$d" "$work/sdist-target/release/"; fi
done
rm -rf "$work"/sdist-target/release/.fingerprint/wasm2py-* "$work"/sdist-target/release/deps/*wasm2py*
"$python" -m venv "$work/sdist-venv"
CARGO_TARGET_DIR=$work/sdist-target quiet "$work/sdist-venv/bin/pip" install -v "$sdist"
grep -q 'Compiling wasm2py' "$work/log" || fail "the sdist's wasm2py was not compiled from its sources"
check_tool "$work/sdist-venv/bin/wasm2py" sdist

step "cargo install --path . --locked into a temporary root"
quiet cargo install --path "$root" --locked --root "$work/cargo-root"
check_tool "$work/cargo-root/bin/wasm2py" cargo

step "done: wheel, pip install ., sdist and cargo install all give a working wasm2py"
