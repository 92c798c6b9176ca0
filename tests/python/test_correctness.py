"""Every function of every guest against a pure-Python reference, on both backends.

The `backend` fixture (conftest.py) runs each test once on wasmtime-py and once on the
native build through ctypes; the expected values never come from either backend.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import math
import os
import re
import struct
import zlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

u8s = st.integers(0, 2**8 - 1)
u16s = st.integers(0, 2**16 - 1)
u32s = st.integers(0, U32_MAX)
u64s = st.integers(0, U64_MAX)
i8s = st.integers(-(2**7), 2**7 - 1)
i16s = st.integers(-(2**15), 2**15 - 1)
i32s = st.integers(-(2**31), 2**31 - 1)
i64s = st.integers(-(2**63), 2**63 - 1)
f32s = st.floats(width=32, allow_nan=False, allow_infinity=False)
f64s = st.floats(allow_nan=False, allow_infinity=False)

# Text whose upper case is the same in Rust's char::to_uppercase and in Python's str.upper:
# both implement the full Unicode case mapping, but for different Unicode versions (Python
# 3.11 has 14.0), so characters whose mapping changed since are left out. These blocks are
# Latin, Greek, Cyrillic, CJK and emoji, with multi-byte UTF-8 sequences of every length.
TEXT_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x17F),
    st.characters(
        min_codepoint=0x370, max_codepoint=0x3FF, categories=["Lu", "Ll", "Lt"]
    ),
    st.characters(min_codepoint=0x400, max_codepoint=0x4FF),
    st.sampled_from("ǆǅǄŉΐﬁﬀ世界日本語😀🎉🐍"),
)
texts = st.text(alphabet=TEXT_ALPHABET, max_size=60)
MULTIBYTE_TEXTS = [
    "straße",
    "ǆ",
    "ǅungla",
    "ŉ",
    "ﬁne",
    "Ωμέγα",
    "привет",
    "日本語",
    "😀 emoji 🐍",
    "",
]

SMALL_DATA = st.binary(max_size=300)


def wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def py_fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a % 2**64


def py_is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 2**32 (bases 2, 7, 61): independent of the
    guest's trial division."""
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 61):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 7, 61):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def py_divide(a: int, b: int) -> int:
    """Truncating division, wrapped to i32 (i32::MIN / -1 wraps)."""
    q = abs(a) // abs(b)
    return wrap(q if (a < 0) == (b < 0) else -q, 32, signed=True)


def f32(x: float) -> float:
    """x rounded to the nearest f32."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def assert_bool(value: object, expected: bool) -> None:
    assert type(value) is bool
    assert value is expected


# ---- fib -------------------------------------------------------------------------------


def test_fibonacci_matches_python_fib(backend):
    fib = backend("fib")
    assert [fib.fibonacci(n) for n in range(26)] == [py_fib(n) for n in range(26)]


@given(a=u32s, b=u32s)
@example(a=0, b=0)
@example(a=0, b=2**31)
@example(a=2**31, b=2**32 - 1)
@example(a=2**32 - 1, b=2**32 - 1)
@example(a=3_000_000_000, b=4_000_000_000)
def test_gcd_matches_math_gcd_over_full_u32_range(backend, a, b):
    assert backend("fib").gcd(a, b) == math.gcd(a, b)


@given(a=i32s, b=i32s)
@example(a=2**31 - 1, b=1)
@example(a=-(2**31), b=-1)
def test_add_wraps_like_i32(backend, a, b):
    assert backend("fib").add(a, b) == wrap(a + b, 32, signed=True)


@given(n=u32s)
@example(n=0)
@example(n=1)
@example(n=2)
@example(n=4_294_967_291)  # the largest u32 prime
@example(n=2**32 - 1)
@example(n=2**31 - 1)  # a Mersenne prime, above 2**30
def test_is_prime_matches_miller_rabin_and_is_a_bool(backend, n):
    assert_bool(backend("fib").is_prime(n), py_is_prime(n))


@given(a=i32s, b=i32s.filter(lambda b: b != 0))  # b == 0 traps: see test_wasm_only.py
@example(a=-(2**31), b=-1)
@example(a=-7, b=2)
def test_divide_truncates_toward_zero(backend, a, b):
    assert backend("fib").divide(a, b) == py_divide(a, b)


@given(a=i32s, b=i64s)
def test_unannotated_mix_returns_a_float(backend, a, b):
    result = backend("fib").mix(a, b)
    assert type(result) is float
    assert result == a * 0.5 + float(b)


# ---- textkit ---------------------------------------------------------------------------


@given(data=SMALL_DATA)
@example(data=b"")
@example(data=b"abc")
def test_sha256_matches_hashlib(backend, data):
    assert backend("textkit").sha256(data) == hashlib.sha256(data).digest()


@given(data=SMALL_DATA)
@example(data=b"\xff" * 1000)
def test_sum_bytes_matches_sum(backend, data):
    assert backend("textkit").sum_bytes(data) == sum(data)


@given(text=texts)
def test_upper_matches_str_upper(backend, text):
    assert backend("textkit").upper(text) == text.upper()


@pytest.mark.parametrize("text", MULTIBYTE_TEXTS)
def test_upper_of_multibyte_text(backend, text):
    # "straße" -> "STRASSE", "ǆ" -> "Ǆ", "ŉ" -> "ʼN": results longer than their input.
    assert backend("textkit").upper(text) == text.upper()


@given(data=SMALL_DATA)
def test_reverse_matches_slicing(backend, data):
    assert backend("textkit").reverse(data) == data[::-1]


@given(xs=st.lists(f64s, max_size=40), k=f64s)
def test_scale_multiplies_every_element(backend, xs, k):
    assert backend("textkit").scale(xs, k) == [x * k for x in xs]


@given(data=st.binary(min_size=16, max_size=16))
def test_fixed16_xors_16_bytes(backend, data):
    assert backend("textkit").fixed16(data) == bytes(b ^ 0x5A for b in data)


@given(n=u32s)
@example(n=0)
@example(n=2**32 - 1)
def test_parse_u32_parses_decimal(backend, n):
    textkit = backend("textkit")
    assert textkit.parse_u32(str(n)) == n
    assert textkit.parse_u32(f"{n:012d}") == n  # leading zeros


@given(text=texts, c=st.one_of(st.sampled_from([ord(" "), ord("ß"), ord("😀")]), u32s))
@example(text="añaña", c=ord("ñ"))
@example(text="aaa", c=0xD800)  # a surrogate is not a char: 0
@example(text="aaa", c=0x110000)  # beyond Unicode: 0
@example(text="aaa", c=2**32 - 1)
def test_count_char_counts_code_points(backend, text, c):
    is_scalar = c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF
    expected = text.count(chr(c)) if is_scalar else 0
    assert backend("textkit").count_char(text, c) == expected


@given(data=SMALL_DATA)
@example(data=b"")
def test_byte_len_is_the_length(backend, data):
    textkit = backend("textkit")
    assert textkit.byte_len(data) == len(data)
    assert textkit.byte_len(bytearray(data)) == len(data)
    assert textkit.byte_len(memoryview(data)) == len(data)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 4096, 65536, 1 << 20])
def test_zeros_are_n_zero_bytes(backend, n):
    result = backend("textkit").zeros(n)
    assert type(result) is bytes
    assert result == bytes(n)


def test_zeros_beyond_the_arena_is_a_memory_error(backend):
    # 256 MiB is the cap of wasm2py-guest's arena on both builds: the guest returns null
    # and records "no room for the result" (status 2) in its error record.
    textkit = backend("textkit")
    with pytest.raises(MemoryError, match="zeros: the guest has no room for the result"):
        textkit.zeros((256 << 20) + 1)
    assert textkit.zeros(3) == b"\0\0\0"


# ---- regexkit --------------------------------------------------------------------------

# Patterns whose meaning is the same in Rust's regex crate and in Python's re, on the text
# below, and that never match the empty string (the two libraries place empty matches
# next to a previous match differently).
REGEX_PATTERNS = [
    "a+",
    "[0-9]+",
    "foo|bar",
    r"\bcat\b",
    "[A-Z][a-z]*",
    "x{2,3}",
    r"\d+\.\d+",
    "^ab",
    "(?i)é+",
    "b[^b]*b",
    "[αβγ]+",
]
regex_texts = st.text(alphabet=st.sampled_from("abcxfoXAZ019. éÉαβγ"), max_size=60)


def py_find_all(pattern: str, text: str) -> str:
    return "\n".join(m.group(0) for m in re.finditer(pattern, text))


@pytest.mark.parametrize("pattern", REGEX_PATTERNS)
@given(text=regex_texts)
@example(text="foo bar cat concat 3.14 xxxx ABc")
def test_regex_agrees_with_python_re(backend, pattern, text):
    regexkit = backend("regexkit")
    assert_bool(regexkit.is_match(pattern, text), re.search(pattern, text) is not None)
    assert regexkit.find_all(pattern, text) == py_find_all(pattern, text)


def test_regex_unicode_classes(backend):
    regexkit = backend("regexkit")
    assert regexkit.is_match(r"\p{Greek}", "abc λ") is True
    assert regexkit.find_all(r"\w+", "héllo wörld, 日本語") == "héllo\nwörld\n日本語"
    assert regexkit.find_all("z", "abc") == ""


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "\\"])
def test_an_invalid_pattern_is_false_or_refused(backend, packages, pattern):
    regexkit = backend("regexkit")
    assert_bool(regexkit.is_match(pattern, "(a-\\"), False)
    with pytest.raises(packages("regexkit").RegexkitInputError, match="find_all"):
        regexkit.find_all(pattern, "(a-\\")
    assert regexkit.find_all("a", "aa") == "a\na"  # still usable


# ---- numkit ----------------------------------------------------------------------------


@given(x=i16s)
@example(x=300)
@example(x=-300)
@example(x=-(2**15))
@example(x=2**15 - 1)
def test_clamp_i8_clamps(backend, x):
    assert backend("numkit").clamp_i8(x) == max(-128, min(127, x))


@given(x=u16s)
@example(x=0x1FF)
@example(x=0xFFFF)
def test_wrap_u8_keeps_low_byte(backend, x):
    assert backend("numkit").wrap_u8(x) == x & 0xFF


@given(x=i16s)
@example(x=-(2**15))
def test_neg_i16_wraps(backend, x):
    assert backend("numkit").neg_i16(x) == wrap(-x, 16, signed=True)


@given(x=f32s)
@example(x=3.0)
@example(x=1.4e-45)  # the smallest f32 subnormal: half of it rounds to 0
def test_half_is_f32_division(backend, x):
    result = backend("numkit").half(x)
    assert type(result) is float
    assert result == f32(x / 2)


def test_half_accepts_an_int(backend):
    assert backend("numkit").half(3) == 1.5


@pytest.mark.parametrize("b", [True, False, 0, 1, 7, "", "x", None, [], [0]])
def test_not_negates_truthiness_and_returns_a_bool(backend, b):
    assert_bool(backend("numkit").not_(b), not b)


@given(xs=st.lists(u16s, max_size=200))
@example(xs=[1, 2**16 - 1, 2])
def test_sum_u16_matches_sum(backend, xs):
    assert backend("numkit").sum_u16(xs) == sum(xs)


@given(xs=st.lists(i64s, max_size=60))
@example(xs=[1, 2**63 - 1, 3])
@example(xs=[-(2**63), -1])
def test_prefix_sums_wrap_at_64_bits(backend, xs):
    expected = [wrap(s, 64, signed=True) for s in itertools.accumulate(xs)]
    assert backend("numkit").prefix_sums(xs) == expected


@given(xs=st.lists(i8s, min_size=1, max_size=60))
@example(xs=[3, -128, 127, 0])
def test_minmax_i8(backend, xs):
    assert backend("numkit").minmax_i8(xs) == [min(xs), max(xs)]


# Wrapping differs with the pointer width (32 bits on wasm, 64 natively): only sums that
# fit in 32 bits are compared with plain addition.
@given(args=u32s.flatmap(lambda p: st.tuples(st.just(p), st.integers(0, U32_MAX - p))))
@example(args=(0x1000, 0x10))
@example(args=(U32_MAX, 0))
@example(args=(0, U32_MAX))
def test_ptr_add_adds(backend, args):
    p, n = args
    assert backend("numkit").ptr_add(p, n) == p + n


def test_unsigned_and_signed_extremes(backend):
    numkit = backend("numkit")
    assert numkit.u64_max() == 2**64 - 1
    assert numkit.u32_top() == 2**32 - 1
    assert numkit.i64_min() == -(2**63)


@given(pairs=st.lists(st.tuples(f32s, f32s), max_size=40))
def test_dot_of_equal_lengths_sums_f64_products(backend, pairs):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    lanes = [0.0] * 4  # the guest's order: element i into lane i % 4, then the lanes
    for i, (x, y) in enumerate(pairs):
        lanes[i % 4] += x * y  # f32 * f32 is exact in f64
    expected = ((0.0 + lanes[0]) + lanes[1] + lanes[2]) + lanes[3]
    result = backend("numkit").dot(a, b)
    assert type(result) is float
    assert result == expected


def test_dot_of_different_lengths_is_nan(backend):
    assert math.isnan(backend("numkit").dot([1.0, 2.0], [1.0]))


# ---- cfib ------------------------------------------------------------------------------


def test_fibonacci_c_matches_python_fib(backend):
    cfib = backend("cfib")
    assert [cfib.fibonacci_c(n) for n in range(26)] == [py_fib(n) for n in range(26)]


@given(data=SMALL_DATA)
@example(data=b"")
@example(data=b"123456789")
def test_crc32_matches_zlib(backend, data):
    assert backend("cfib").crc32(data) == zlib.crc32(data)


@given(text=texts)
@example(text="Hello, World! ß")
def test_rot13_matches_codec(backend, text):
    assert backend("cfib").rot13(text) == codecs.encode(text, "rot13")


@given(pairs=st.lists(st.tuples(u8s, u8s), max_size=100))
def test_xor_bytes(backend, pairs):
    a = bytes(x for x, _ in pairs)
    b = bytes(y for _, y in pairs)
    assert backend("cfib").xor_bytes(a, b) == bytes(x ^ y for x, y in pairs)


@given(xs=st.lists(i32s, max_size=100))
@example(xs=[2**31 - 1, 1])
@example(xs=[-(2**31), -1])
def test_sum_i32_wraps(backend, xs):
    assert backend("cfib").sum_i32(xs) == wrap(sum(xs), 32, signed=True)


@given(n=u64s)
@example(n=2**64 - 1)
@example(n=2**64 - 2)
def test_is_even_is_a_bool(backend, n):
    assert_bool(backend("cfib").is_even(n), n % 2 == 0)


# ---- rust_user -------------------------------------------------------------------------


@given(data=SMALL_DATA)
@example(data=b"\xff" * 300)
def test_checksum_is_position_weighted(backend, data):
    expected = sum(b * (i + 1) for i, b in enumerate(data)) % 2**64
    assert backend("rust_user").checksum(data) == expected


def ascii_upper(text: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in text)


@given(text=texts)
@example(text="straße")  # only ASCII changes: "STRAßE!"
def test_shout_ascii_upper_and_bang(backend, text):
    assert backend("rust_user").shout(text) == ascii_upper(text) + "!"


@given(xs=st.lists(u32s, max_size=100))
@example(xs=[2**32 - 2, 3, 4, 2**32 - 1, 0])
def test_evens_keeps_even_numbers_in_order(backend, xs):
    assert backend("rust_user").evens(xs) == [x for x in xs if x % 2 == 0]


@given(x=u64s)
@example(x=2**64 - 1)
def test_popcount(backend, x):
    assert backend("rust_user").popcount(x) == x.bit_count()


@given(text=texts)
def test_is_ascii_is_a_bool(backend, text):
    assert_bool(backend("rust_user").is_ascii(text), text.isascii())


@given(a=u32s, b=u32s)
@example(a=2**31, b=2**31 - 1)  # a signed comparison would pick the wrong one
@example(a=2**32 - 1, b=0)
def test_max_u32_is_unsigned(backend, a, b):
    assert backend("rust_user").max_u32(a, b) == max(a, b)


# ---- c_user ----------------------------------------------------------------------------


@given(data=SMALL_DATA)
@example(data=b"\xff" * 6000)  # longer than the guest's 5552-byte modulo block
def test_adler32_matches_zlib(backend, data):
    assert backend("c_user").adler32(data) == zlib.adler32(data)


@given(text=st.text(alphabet=st.sampled_from("ab é😀  "), max_size=40))
@example(text=" a  b ")
@example(text="one")
def test_reverse_words_splits_on_single_spaces(backend, text):
    assert backend("c_user").reverse_words(text) == " ".join(reversed(text.split(" ")))


@given(xs=st.lists(i64s, max_size=60))
@example(xs=[2**32, -(2**63), 3_037_000_500])
def test_squares_wrap_like_i64(backend, xs):
    assert backend("c_user").squares(xs) == [wrap(x * x, 64, signed=True) for x in xs]


@given(data=SMALL_DATA)
def test_has_zero_is_a_bool(backend, data):
    assert_bool(backend("c_user").has_zero(data), 0 in data)


@given(a=u64s, b=u64s)
@example(a=2**64 - 1, b=2**64 - 1)
def test_mul_u64_wraps(backend, a, b):
    assert backend("c_user").mul_u64(a, b) == a * b % 2**64


# ---- big inputs ------------------------------------------------------------------------

MIB = 1 << 20


@pytest.fixture(scope="module")
def mebibyte() -> bytes:
    return os.urandom(MIB)


def test_one_mebibyte_through_textkit(backend, mebibyte):
    textkit = backend("textkit")
    assert textkit.sha256(mebibyte) == hashlib.sha256(mebibyte).digest()
    assert textkit.reverse(mebibyte) == mebibyte[::-1]
    assert textkit.sum_bytes(mebibyte) == sum(mebibyte)
    assert textkit.byte_len(mebibyte) == MIB


def test_one_mebibyte_through_cfib(backend, mebibyte):
    cfib = backend("cfib")
    assert cfib.crc32(mebibyte) == zlib.crc32(mebibyte)
    other = os.urandom(MIB)
    expected = (
        int.from_bytes(mebibyte, "little") ^ int.from_bytes(other, "little")
    ).to_bytes(MIB, "little")
    assert cfib.xor_bytes(mebibyte, other) == expected


def test_one_mebibyte_fills_the_spec_modules_arenas(backend, mebibyte):
    # Exactly the 1 MiB arena of rust_user and c_user: still fits.
    assert backend("c_user").adler32(mebibyte) == zlib.adler32(mebibyte)
    expected = sum(b * (i + 1) for i, b in enumerate(mebibyte)) % 2**64
    assert backend("rust_user").checksum(mebibyte) == expected
