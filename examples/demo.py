"""Calls the generated example packages on both backends and prints what happened.

Run through scripts/demo.sh, which builds the guests and generates the packages first.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for pkg in ("fib", "textkit", "numkit", "cfib", "wasiapp", "cwasi", "hostcalls"):
    sys.path.insert(0, os.path.join(ROOT, "generated", pkg))

import contextlib
import io
import tempfile

import cfib
import cwasi
import fib
import hostcalls
import numkit
import textkit
import wasiapp

OUT = os.path.join(ROOT, "guests", "out")


def both(cls: Any, lib: str) -> list[Any]:
    return [cls(), cls(backend="native", library=os.path.join(OUT, lib))]


def show(label: str, call: Callable[[Any], Any], instances: list[Any]) -> None:
    results = []
    for inst in instances:
        start = time.perf_counter()
        value = call(inst)
        micros = (time.perf_counter() - start) * 1e6
        results.append(f"{inst.backend}: {value!r:.60} ({micros:.0f} µs)")
    same = "same" if len({repr(call(i)) for i in instances}) == 1 else "DIFFERENT"
    print(f"  {label:<34} {' | '.join(results)}  [{same}]")


def main() -> None:
    print("fib.wasm (Rust; annotations in fib.wasm2py)")
    f = both(fib.Fib, "libfib.so")
    show("fibonacci(25)", lambda i: i.fibonacci(25), f)
    show("gcd(2**32 - 2, 2**31 + 2)  (u32)", lambda i: i.gcd(2**32 - 2, 2**31 + 2), f)
    show("is_prime(2**31 - 1)", lambda i: i.is_prime(2**31 - 1), f)
    show("mix(3, 4)  (not annotated)", lambda i: i.mix(3, 4), f)
    try:
        f[0].divide(1, 0)
    except fib.FibTrap as trap:
        print(f"  divide(1, 0) on wasm               FibTrap from {trap.function}(): "
              f"{trap.message.splitlines()[-1].strip()}")
    try:
        f[0].gcd(-1, 2)
    except OverflowError as error:
        print(f"  gcd(-1, 2)                         OverflowError: {error}")

    print("textkit.wasm (Rust; bytes, str and lists through the guest arena)")
    t = both(textkit.Textkit, "libtextkit.so")
    show("sha256(b'abc') == hashlib's", lambda i: i.sha256(b"abc") == hashlib.sha256(b"abc").digest(), t)
    show("upper('straße, ǆ')", lambda i: i.upper("straße, ǆ"), t)
    show("scale([1.0, 2.5], 2.0)", lambda i: i.scale([1.0, 2.5], 2.0), t)
    big = os.urandom(1 << 20)
    show("sum_bytes(1 MiB) == sum()", lambda i: i.sum_bytes(big) == sum(big), t)
    try:
        t[0].fixed16(b"too short")
    except textkit.TextkitInputError as error:
        print(f"  fixed16(b'too short')              TextkitInputError: {error}")

    print("numkit.wasm (Rust; annotations in the module's wasm2py custom section)")
    n = both(numkit.Numkit, "libnumkit.so")
    show("u64_max()", lambda i: i.u64_max(), n)
    show("prefix_sums([1, 2, 3])", lambda i: i.prefix_sums([1, 2, 3]), n)
    show("not_(False)", lambda i: i.not_(False), n)

    print("cfib.wasm (C, clang --target=wasm32 -nostdlib; annotations in a custom section)")
    c = both(cfib.Cfib, "libcfib.so")
    show("fibonacci_c(25)", lambda i: i.fibonacci_c(25), c)
    show("crc32(b'hello')", lambda i: i.crc32(b"hello"), c)
    show("rot13('Hello')", lambda i: i.rot13("Hello"), c)

    print("wasiapp.wasm (Rust for wasm32-wasip1 with std: the article's build; sandboxed WASI)")
    w = both(wasiapp.Wasiapp, "libwasiapp.so")
    show("fibonacci(25)", lambda i: i.fibonacci(25), w)
    show("word_counts('to be or not to be')", lambda i: i.word_counts("to be or not to be"), w)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        greeting = w[0].greet("wasm")
    print(f"  greet('wasm') on wasm                {greeting!r}; the guest printed {out.getvalue()!r} "
          f"to stdout and {err.getvalue()!r} to stderr (captured by redirect_stdout/stderr)")
    try:
        w[0].read_file("/etc/hostname")
    except wasiapp.WasiappInputError:
        print("  read_file('/etc/hostname') on wasm  refused: no directory was granted (the sandbox)")
    with tempfile.TemporaryDirectory() as data:
        with open(os.path.join(data, "note.txt"), "w") as f_:
            f_.write("granted")
        granted = wasiapp.Wasiapp(wasi=wasiapp.Wasi(dirs={"/data": data}, env={"MODE": "demo"}))
        print(f"  with Wasi(dirs=..., env=...)         read_file('/data/note.txt') = "
              f"{granted.read_file('/data/note.txt')!r}, env_var('MODE') = {granted.env_var('MODE')!r}")
    try:
        w[0].exit_with(3)
    except wasiapp.WasiappExit as exit_:
        print(f"  exit_with(3) on wasm                 WasiappExit, code {exit_.code}; "
              f"the next call gets a fresh instance: add(2, 3) = {w[0].add(2, 3)}")

    print("cwasi.wasm (C with wasi-libc: malloc, snprintf, a constructor run by _initialize)")
    cw = both(cwasi.Cwasi, "libcwasi.so")
    show("initialized()  (the constructor ran)", lambda i: i.initialized(), cw)
    show("format_number(-2**63)", lambda i: i.format_number(-(2**63)), cw)
    show("table_lookup(12)", lambda i: i.table_lookup(12), cw)

    print("hostcalls.wat (a guest that calls back into Python: host imports)")
    logged: list[str] = []
    h = hostcalls.Hostcalls(imports={
        "env.log": logged.append,
        "env.host_add": lambda a, b: (a + b) & 0xFFFFFFFF,
        "env.host_scale": lambda x, k: x * k,
        "env.host_big": lambda v: v // 2,
        "env.host_check": lambda data: data.startswith(b"ok"),
        "env.host_neg": lambda v: -v,
        "env.unannotated": lambda a, b: a + b,
    })
    h.log_text("hello from the guest")
    print(f"  add_via_host(2**32 - 1, 0)           {h.add_via_host(2**32 - 1, 0)} (u32 in and out of Python)")
    print(f"  log_text('hello from the guest')     the Python function received {logged!r}")
    start = time.perf_counter()
    total = h.call_host_n(10000)
    micros = (time.perf_counter() - start) * 1e6 / 10000
    print(f"  call_host_n(10000)                   {total}: {micros:.1f} µs per guest->Python->guest round trip")

    print("module-level functions use a default instance:", fib.fibonacci(10), cfib.rot13("uryyb"))


if __name__ == "__main__":
    main()
