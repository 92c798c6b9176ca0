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
for pkg in ("fib", "textkit", "numkit", "cfib"):
    sys.path.insert(0, os.path.join(ROOT, "generated", pkg))

import cfib
import fib
import numkit
import textkit

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

    print("module-level functions use a default instance:", fib.fibonacci(10), cfib.rot13("uryyb"))


if __name__ == "__main__":
    main()
