#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently:
#   Debian packages clang + lld (C guests to wasm32) and wasi-libc + clang's wasm32
#   runtime (C guests with libc, for WASI), the wasm32-unknown-unknown and wasm32-wasip1
#   Rust targets, a virtualenv .venv with requirements-dev.txt, and a release build of
#   wasm2py.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

apt_updated=""
# apt_install PACKAGE...: installs Debian packages (apt-get update first, once). Quiet: apt's
# output (debconf notices and all) is shown only when it fails.
apt_install() {
    local sudo_cmd="" log
    [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
    if [[ -z $apt_updated ]]; then
        if ! log=$($sudo_cmd apt-get update -qq 2>&1); then
            printf '%s\n' "$log" >&2
            return 1
        fi
        apt_updated=1
    fi
    if ! log=$(DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" 2>&1); then
        printf '%s\n' "$log" >&2
        return 1
    fi
}

if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
    echo "== installing clang and lld"
    apt_install clang lld
fi

# WASI C guests (guests/c/cwasi.c): wasi-libc (Debian's puts it in /usr/include/wasm32-wasi
# and /usr/lib/wasm32-wasi) and clang's wasm32 builtins, packaged per clang major version
# (clang 14 on Debian 12: libclang-rt-14-dev-wasm32). $WASI_SYSROOT names another sysroot.
have_wasi_libc=""
for sysroot in ${WASI_SYSROOT:+"$WASI_SYSROOT"} /usr/share/wasi-sysroot /usr; do
    if [[ -e $sysroot/lib/wasm32-wasi/libc.a ]]; then have_wasi_libc=1; fi
done
if [[ -z $have_wasi_libc || ! -e $(clang --target=wasm32-wasi -print-libgcc-file-name) ]]; then
    clang_major=$(clang -dumpversion | cut -d. -f1)
    echo "== installing wasi-libc and libclang-rt-$clang_major-dev-wasm32"
    apt_install wasi-libc "libclang-rt-$clang_major-dev-wasm32"
fi

rust_targets=(wasm32-unknown-unknown wasm32-wasip1)
for target in "${rust_targets[@]}"; do
    if ! rustup target list --installed | grep -qx "$target"; then
        echo "== adding the $target Rust target"
        rustup target add "$target"
    fi
done
# guests/rust pins its toolchain (reproducible .wasm bytes). Where that version is the
# installed stable one under another name, link it rather than download it.
pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' guests/rust/rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$pinned"; then
    if [[ $(rustc +stable --version 2>/dev/null) == "rustc $pinned "* ]]; then
        echo "== linking the installed stable toolchain as $pinned"
        rustup toolchain link "$pinned" "$(rustc +stable --print sysroot)"
    fi
fi
# Make sure the pinned toolchain has the wasm32 targets too.
(
    cd guests/rust
    for target in "${rust_targets[@]}"; do
        if [[ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]]; then
            rustup target add "$target"
        fi
    done
)

if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
if ! cmp -s requirements-dev.txt .venv/.requirements-installed; then
    echo "== installing Python packages"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
    cp requirements-dev.txt .venv/.requirements-installed
fi

echo "== building wasm2py"
cargo build --release --locked -q
