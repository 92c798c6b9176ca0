"""Differential test: the wasm and native backends must agree on every input.

For every function of every guest, hypothesis draws arguments (including ints outside the
annotated range, empty buffers and odd floats) and calls the function on both backends:
the results must be identical (floats bit for bit, any NaN equal to any NaN), or both calls
must raise the same exception type.

Excluded inputs, each because the backends cannot agree by design:
- traps: fib.divide(_, 0) and textkit.parse_u32 of anything but a decimal u32 trap on wasm
  and abort the whole process natively (no sandbox), so only valid inputs are fed to them;
- numkit.ptr_add: a pointer is 32 bits on wasm and 64 bits natively, so the range of `p`
  and the wrap-around of `p + n` differ; only sums below 2**32 (and negative, out-of-range
  `p`) are fed to it;
- fibonacci / fibonacci_c are naive recursions: valid n stay small (out-of-range n are
  still fed, they never reach the guest);
- inputs beyond an arena's capacity: the native backend passes inputs in place while wasm
  copies them into the arena (see test_arguments.py); the inputs here stay small;
- arguments of the wrong Python type (a float for an int, a str for a float) are tested in
  test_arguments.py, and numbers of other classes (IntEnum, Fraction, objects with only
  __index__ like numpy's) at the end of this file, each case once rather than here for
  every function.
"""

from __future__ import annotations

import array
import enum
import math
import struct
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Ints mostly in [lo, hi], with the values just outside it and far outside it."""
    return st.one_of(
        st.integers(lo, hi),
        st.sampled_from([lo, hi, lo - 1, hi + 1, -(2**70), 2**70]),
        st.integers(lo - 2**40, hi + 2**40),
    )


def signed(bits: int) -> st.SearchStrategy[int]:
    return ints(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def unsigned(bits: int) -> st.SearchStrategy[int]:
    return ints(0, 2**bits - 1)


def lists(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(elements, max_size=30)


data_args = st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(bytearray))
text_args = st.one_of(
    st.text(max_size=50), st.sampled_from(["\ud800", "straße", "ǆ 😀", ""])
)
floats = st.one_of(
    st.floats(),  # any f64, with NaN, infinities, -0.0 and subnormals
    st.floats(width=32),
    st.sampled_from([1e300, -1e300, 3.4028235e38, 5e-324]),  # beyond f32 / subnormal
    st.integers(-(2**60), 2**60),  # ints are accepted for floats
)


# Valid and invalid regular expressions, and any short text as a pattern.
pattern_args = st.one_of(
    st.sampled_from(["a+", "[0-9]+", r"\w+", "ß|ǆ", "(", "[a-", "a{2,1}", ""]),
    st.text(max_size=10),
)


def tuples(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(*strategies)


def fibonacci_n() -> st.SearchStrategy[int]:
    # Valid n small (naive recursion); out-of-range n never reach the guest.
    return st.one_of(st.integers(0, 22), st.sampled_from([-1, 2**64, -(2**70)]))


def ptr_add_args() -> st.SearchStrategy[tuple[int, int]]:
    in_range = st.integers(0, 2**32 - 1).flatmap(
        lambda p: tuples(st.just(p), st.integers(0, 2**32 - 1 - p))
    )
    out_of_range = st.one_of(
        tuples(st.integers(-(2**40), -1), st.integers(0, 10)),  # negative p
        tuples(st.integers(0, 2**16), st.sampled_from([-1, 2**32, 2**40])),  # bad n
    )
    return st.one_of(in_range, out_of_range)


# (guest, method) -> strategy of argument tuples.
ARGUMENTS: dict[tuple[str, str], st.SearchStrategy[tuple[Any, ...]]] = {
    ("fib", "fibonacci"): tuples(fibonacci_n()),
    ("fib", "gcd"): tuples(unsigned(32), unsigned(32)),
    ("fib", "add"): tuples(signed(32), signed(32)),
    ("fib", "is_prime"): tuples(unsigned(32)),
    ("fib", "divide"): tuples(
        signed(32), signed(32).filter(lambda b: b != 0)
    ),  # 0 traps
    ("fib", "mix"): tuples(signed(32), signed(64)),
    ("textkit", "sha256"): tuples(data_args),
    ("textkit", "sum_bytes"): tuples(data_args),
    ("textkit", "upper"): tuples(text_args),
    ("textkit", "reverse"): tuples(data_args),
    ("textkit", "scale"): tuples(lists(floats), floats),
    ("textkit", "fixed16"): tuples(
        st.one_of(data_args, st.binary(min_size=16, max_size=16))
    ),
    # Only decimal u32s: anything else traps.
    ("textkit", "parse_u32"): tuples(st.integers(0, 2**32 - 1).map(str)),
    ("textkit", "count_char"): tuples(text_args, unsigned(32)),
    ("textkit", "byte_len"): tuples(data_args),
    # Small n (each draw allocates n bytes), the u32 bounds and just past the arena's cap.
    ("textkit", "zeros"): tuples(
        st.one_of(
            st.integers(0, 5000),
            st.sampled_from([-1, 2**32, 2**32 - 1, (256 << 20) + 1]),
        )
    ),
    ("regexkit", "is_match"): tuples(pattern_args, text_args),
    ("regexkit", "find_all"): tuples(pattern_args, text_args),
    ("numkit", "clamp_i8"): tuples(signed(16)),
    ("numkit", "wrap_u8"): tuples(unsigned(16)),
    ("numkit", "neg_i16"): tuples(signed(16)),
    ("numkit", "half"): tuples(floats),
    ("numkit", "not_"): tuples(
        st.sampled_from([True, False, 0, 1, -1, "", "x", None, [], [0]])
    ),
    ("numkit", "sum_u16"): tuples(lists(unsigned(16))),
    ("numkit", "prefix_sums"): tuples(lists(signed(64))),
    ("numkit", "minmax_i8"): tuples(lists(signed(8))),
    ("numkit", "ptr_add"): ptr_add_args(),
    ("numkit", "u64_max"): st.just(()),
    ("numkit", "i64_min"): st.just(()),
    ("numkit", "u32_top"): st.just(()),
    ("numkit", "dot"): tuples(lists(floats), lists(floats)),
    ("numkit", "scaled"): tuples(lists(floats), floats),
    ("cfib", "fibonacci_c"): tuples(fibonacci_n()),
    ("cfib", "crc32"): tuples(data_args),
    ("cfib", "rot13"): tuples(text_args),
    ("cfib", "xor_bytes"): tuples(data_args, data_args),
    ("cfib", "sum_i32"): tuples(lists(signed(32))),
    ("cfib", "is_even"): tuples(unsigned(64)),
    ("rust_user", "checksum"): tuples(data_args),
    ("rust_user", "shout"): tuples(text_args),
    ("rust_user", "evens"): tuples(lists(unsigned(32))),
    ("rust_user", "popcount"): tuples(unsigned(64)),
    ("rust_user", "is_ascii"): tuples(text_args),
    ("rust_user", "max_u32"): tuples(unsigned(32), unsigned(32)),
    ("c_user", "adler32"): tuples(data_args),
    ("c_user", "reverse_words"): tuples(text_args),
    ("c_user", "squares"): tuples(lists(signed(64))),
    ("c_user", "has_zero"): tuples(data_args),
    ("c_user", "mul_u64"): tuples(unsigned(64), unsigned(64)),
}


def comparable(value: Any) -> Any:
    """A value with floats as their bits (so -0.0 != 0.0) and every NaN as one marker."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("float", struct.pack("<d", value))
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, array.array):  # an array[T] result: its type code and items
        return ("array", value.typecode, comparable(value.tolist()))
    return (type(value).__name__, value)


def outcome(function: Any, args: tuple[Any, ...]) -> Any:
    try:
        return ("returned", comparable(function(*args)))
    except Exception as error:  # noqa: BLE001 (the exception type is the outcome)
        return ("raised", type(error))


@pytest.fixture(scope="module")
def both_backends(packages: Any) -> Any:
    from conftest import make_factory

    wasm, native = make_factory("wasm", packages), make_factory("native", packages)
    instances: dict[str, tuple[Any, Any]] = {}

    def pair(guest: str) -> tuple[Any, Any]:
        if guest not in instances:
            instances[guest] = (wasm(guest), native(guest))
        return instances[guest]

    return pair


def test_every_function_is_covered(packages: Any) -> None:
    from conftest import ALL_GUESTS, CLASS_NAMES

    exported = set()
    for guest in ALL_GUESTS:
        cls = getattr(packages(guest), CLASS_NAMES[guest])
        exported |= {
            (guest, name)
            for name in vars(cls)
            if not name.startswith("_") and callable(getattr(cls, name))
        }
    assert exported == set(ARGUMENTS)


@pytest.mark.parametrize(
    ("guest", "method"),
    sorted(ARGUMENTS),
    ids=[f"{g}.{m}" for g, m in sorted(ARGUMENTS)],
)
@settings(max_examples=100)
@given(data=st.data())
def test_wasm_and_native_agree(both_backends, guest, method, data):
    args = data.draw(ARGUMENTS[(guest, method)], label="args")
    wasm, native = both_backends(guest)
    assert outcome(getattr(wasm, method), args) == outcome(
        getattr(native, method), args
    )


# ---- numbers of other classes ----------------------------------------------------------


class Index:
    """An integer that is not an int, like numpy.int64: it only has __index__."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Index({self.value})"


class Color(enum.IntEnum):
    RED = 12


class MyInt(int):
    pass


# (guest, method, args): numbers that are not plain ints or floats. Whether each one is
# accepted is not spelled out by the docs, but both backends must decide alike.
OTHER_NUMBERS = [
    ("fib", "gcd", (True, 4)),
    ("fib", "gcd", (Color.RED, 18)),
    ("fib", "gcd", (MyInt(12), 18)),
    ("fib", "gcd", (Index(12), 18)),
    ("fib", "add", (Index(1), 2)),
    ("fib", "fibonacci", (Index(10),)),
    ("numkit", "clamp_i8", (MyInt(300),)),
    ("numkit", "half", (True,)),
    ("numkit", "half", (Index(3),)),
    ("numkit", "half", (Fraction(1, 3),)),
    ("numkit", "half", (Decimal("2.5"),)),
    ("textkit", "scale", ([1.0], Index(2))),
    ("textkit", "scale", ([1.0], Fraction(1, 2))),
    ("textkit", "scale", ([1.0], Decimal("2.5"))),
    ("textkit", "scale", ([Fraction(1, 2), Decimal("0.5"), Index(1)], 2.0)),
    ("numkit", "sum_u16", ([Index(3), True, Color.RED],)),
]


@pytest.mark.parametrize(
    ("guest", "method", "args"),
    OTHER_NUMBERS,
    ids=[f"{guest}.{method}{args!r}" for guest, method, args in OTHER_NUMBERS],
)
def test_numbers_of_other_classes_get_the_same_outcome(
    both_backends, guest, method, args
):
    wasm, native = both_backends(guest)
    assert outcome(getattr(wasm, method), args) == outcome(
        getattr(native, method), args
    )
