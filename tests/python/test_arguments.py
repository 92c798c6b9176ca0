"""The argument boundary, on both backends: range checks, wrong types, bytes-like inputs,
empty and large inputs, inputs a guest refuses, and an exhausted arena.

What a call raises for a bad argument is part of the API, so every case here runs on both
backends with the same expectation.
"""

from __future__ import annotations

import hashlib
import sys
import zlib
from array import array

import pytest

MIB = 1 << 20


def input_error_of(instance: object) -> type[Exception]:
    """The <Class>InputError of the package an instance comes from."""
    package = sys.modules[type(instance).__module__.rpartition(".")[0]]
    public = next(c for c in type(instance).__mro__ if c.__module__ == package.__name__)
    error: type[Exception] = getattr(package, public.__name__ + "InputError")
    return error

# (guest, method, args): one argument is just outside the range of its annotated type.
OUT_OF_RANGE = [
    ("fib", "gcd", (-1, 1)),
    ("fib", "gcd", (2**32, 1)),
    ("fib", "gcd", (1, 2**32)),
    ("fib", "fibonacci", (-1,)),
    ("fib", "fibonacci", (2**64,)),
    ("fib", "add", (2**31, 0)),
    ("fib", "add", (0, -(2**31) - 1)),
    ("fib", "is_prime", (2**32,)),
    ("fib", "divide", (2**31, 1)),
    ("fib", "mix", (2**31, 0)),  # unannotated: i32 from the core type
    ("fib", "mix", (0, 2**63)),  # unannotated: i64 from the core type
    ("textkit", "count_char", ("a", -1)),
    ("textkit", "count_char", ("a", 2**32)),
    ("numkit", "clamp_i8", (2**15,)),
    ("numkit", "clamp_i8", (-(2**15) - 1,)),
    ("numkit", "wrap_u8", (-1,)),
    ("numkit", "wrap_u8", (2**16,)),
    ("numkit", "neg_i16", (2**15,)),
    ("numkit", "ptr_add", (-1, 0)),
    ("numkit", "ptr_add", (0, 2**32)),
    ("numkit", "ptr_add", (0, -1)),
    ("numkit", "sum_u16", ([1, -1],)),
    ("numkit", "sum_u16", ([2**16],)),
    ("numkit", "minmax_i8", ([128],)),
    ("numkit", "minmax_i8", ([0, -129],)),
    ("numkit", "prefix_sums", ([2**63],)),
    ("numkit", "prefix_sums", ([-(2**63) - 1],)),
    ("cfib", "fibonacci_c", (2**64,)),
    ("cfib", "is_even", (-1,)),
    ("cfib", "sum_i32", ([2**31],)),
    ("rust_user", "popcount", (2**64,)),
    ("rust_user", "max_u32", (2**32, 0)),
    ("rust_user", "evens", ([2**32],)),
    ("rust_user", "evens", ([-1],)),
    ("c_user", "squares", ([2**63],)),
    ("c_user", "mul_u64", (2**64, 1)),
    ("c_user", "mul_u64", (1, -1)),
]


@pytest.mark.parametrize(("guest", "method", "args"), OUT_OF_RANGE)
def test_out_of_range_int_raises_overflow_error(backend, guest, method, args):
    with pytest.raises(OverflowError):
        getattr(backend(guest), method)(*args)


# (guest, method, args, expected): the ends of each range are accepted.
RANGE_ENDS = [
    ("fib", "gcd", (2**32 - 1, 0), 2**32 - 1),
    ("fib", "add", (-(2**31), 2**31 - 1), -1),
    ("fib", "fibonacci", (0,), 0),
    ("numkit", "clamp_i8", (-(2**15),), -128),
    ("numkit", "wrap_u8", (2**16 - 1,), 0xFF),
    ("numkit", "minmax_i8", ([127, -128],), [-128, 127]),
    ("numkit", "sum_u16", ([0, 2**16 - 1],), 2**16 - 1),
    ("numkit", "prefix_sums", ([2**63 - 1, -(2**63)],), [2**63 - 1, -1]),
    ("numkit", "ptr_add", (2**32 - 2, 1), 2**32 - 1),
    ("cfib", "is_even", (2**64 - 1,), False),
    ("rust_user", "popcount", (2**64 - 1,), 64),
    ("rust_user", "evens", ([2**32 - 1, 2**32 - 2],), [2**32 - 2]),
    ("c_user", "mul_u64", (2**64 - 1, 1), 2**64 - 1),
]


@pytest.mark.parametrize(("guest", "method", "args", "expected"), RANGE_ENDS)
def test_range_ends_are_accepted(backend, guest, method, args, expected):
    assert getattr(backend(guest), method)(*args) == expected


# (guest, method, args): a float where the annotation (or core type) says an integer.
FLOAT_FOR_INT = [
    ("fib", "gcd", (12.0, 18)),
    ("fib", "fibonacci", (10.0,)),
    ("fib", "is_prime", (7.0,)),
    ("fib", "mix", (1.0, 2)),
    ("textkit", "count_char", ("aa", 97.0)),
    ("numkit", "clamp_i8", (1.5,)),
    ("numkit", "ptr_add", (16.0, 1)),
    ("cfib", "is_even", (2.0,)),
    ("rust_user", "popcount", (1.0,)),
    ("c_user", "mul_u64", (2.0, 3)),
    # list elements
    ("numkit", "sum_u16", ([1.0],)),
    ("cfib", "sum_i32", ([1, 2.5],)),
    ("rust_user", "evens", ([2.0],)),
]


@pytest.mark.parametrize(("guest", "method", "args"), FLOAT_FOR_INT)
def test_float_for_an_int_raises_type_error(backend, guest, method, args):
    with pytest.raises(TypeError):
        getattr(backend(guest), method)(*args)


# (guest, method, args): a str where the annotation says bytes, or bytes where it says str.
WRONG_BUFFER_TYPE = [
    ("textkit", "sha256", ("abc",)),
    ("textkit", "reverse", ("abc",)),
    ("textkit", "sum_bytes", ("abc",)),
    ("cfib", "crc32", ("abc",)),
    ("cfib", "xor_bytes", ("a", b"a")),
    ("cfib", "xor_bytes", (b"a", "a")),
    ("rust_user", "checksum", ("abc",)),
    ("c_user", "adler32", ("abc",)),
    ("c_user", "has_zero", ("abc",)),
    ("textkit", "upper", (b"abc",)),
    ("textkit", "parse_u32", (b"12",)),
    ("cfib", "rot13", (b"abc",)),
    ("rust_user", "shout", (bytearray(b"abc"),)),
    ("c_user", "reverse_words", (b"a b",)),
    ("textkit", "sha256", (12,)),
    ("textkit", "upper", (None,)),
]


@pytest.mark.parametrize(("guest", "method", "args"), WRONG_BUFFER_TYPE)
def test_str_for_bytes_and_bytes_for_str_raise_type_error(backend, guest, method, args):
    with pytest.raises(TypeError):
        getattr(backend(guest), method)(*args)


# (guest, method, args): a str where the annotation says f32/f64 (ints are accepted there,
# strings are not: float("2") would silently parse it).
STR_FOR_FLOAT = [
    ("numkit", "half", ("2",)),
    ("textkit", "scale", ([1.0], "2")),
    ("textkit", "scale", (["1"], 2.0)),
    ("numkit", "dot", (["1"], [1.0])),
]


@pytest.mark.parametrize(("guest", "method", "args"), STR_FOR_FLOAT)
def test_str_for_a_float_raises_type_error(backend, guest, method, args):
    with pytest.raises(TypeError):
        getattr(backend(guest), method)(*args)


# ---- bytes-like inputs -----------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 3 + b"\x00tail"


def bytes_likes(data: bytes) -> dict[str, object]:
    """The same bytes as every kind of bytes-like object a caller may pass."""
    padded = bytearray(b"<<" + data + b">>")
    return {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview of bytes (read-only)": memoryview(data),
        "memoryview of bytearray": memoryview(bytearray(data)),
        "sliced read-only memoryview": memoryview(b"<<" + data + b">>")[2:-2],
        "sliced writable memoryview": memoryview(padded)[2:-2],
        "bytes subclass": type("Blob", (bytes,), {})(data),
        "strided memoryview": memoryview(bytes(b for x in data for b in (x, 0xEE)))[::2],
        "array of unsigned chars": array("B", data),
    }


# (guest, method, reference) for every one-buffer bytes function.
BYTES_FUNCTIONS = [
    ("textkit", "sha256", lambda d: hashlib.sha256(d).digest()),
    ("textkit", "sum_bytes", sum),
    ("textkit", "reverse", lambda d: d[::-1]),
    ("cfib", "crc32", zlib.crc32),
    (
        "rust_user",
        "checksum",
        lambda d: sum(b * (i + 1) for i, b in enumerate(d)) % 2**64,
    ),
    ("c_user", "adler32", zlib.adler32),
    ("c_user", "has_zero", lambda d: 0 in d),
]


@pytest.mark.parametrize(("guest", "method", "reference"), BYTES_FUNCTIONS)
def test_every_bytes_like_gives_the_same_result(backend, guest, method, reference):
    function = getattr(backend(guest), method)
    expected = reference(PAYLOAD)
    for kind, data in bytes_likes(PAYLOAD).items():
        assert function(data) == expected, kind


def test_fixed16_and_xor_bytes_accept_every_bytes_like(backend):
    textkit, cfib = backend("textkit"), backend("cfib")
    block = bytes(range(16))
    for kind, data in bytes_likes(block).items():
        assert textkit.fixed16(data) == bytes(b ^ 0x5A for b in block), kind
        assert cfib.xor_bytes(data, b"\xff" * 16) == bytes(b ^ 0xFF for b in block), (
            kind
        )


def test_a_multibyte_buffer_is_read_as_its_raw_bytes(backend):
    words = array("I", [1, 2**32 - 1, 0x01020304])
    assert backend("textkit").sha256(words) == hashlib.sha256(words.tobytes()).digest()
    assert (
        backend("textkit").sha256(memoryview(words))
        == hashlib.sha256(words.tobytes()).digest()
    )


def test_a_multidimensional_buffer_is_taken_as_its_bytes(backend):
    grid = memoryview(bytes(range(24))).cast("B", (4, 6))
    assert backend("textkit").reverse(grid) == bytes(range(24))[::-1]
    strided_grid = memoryview(array("h", range(24))).cast("B")[::2]
    assert backend("textkit").reverse(strided_grid) == strided_grid.tobytes()[::-1]


def test_the_callers_buffer_is_not_modified(backend):
    data = bytearray(PAYLOAD)
    assert backend("textkit").reverse(data) == PAYLOAD[::-1]
    assert backend("cfib").xor_bytes(data, data) == bytes(len(PAYLOAD))
    assert data == PAYLOAD


def test_lists_accept_any_sequence_of_numbers(backend):
    numkit = backend("numkit")
    for xs in ([1, 2, 3], (1, 2, 3), range(1, 4), array("H", [1, 2, 3])):
        assert numkit.sum_u16(xs) == 6, type(xs).__name__
    assert backend("textkit").scale((1, 2.5), 2) == [2.0, 5.0]  # ints are floats


# ---- empty and large inputs ------------------------------------------------------------


def test_empty_bytes_like_inputs(backend):
    textkit, cfib = backend("textkit"), backend("cfib")
    for empty in (b"", bytearray(), memoryview(b""), memoryview(bytearray())):
        assert textkit.sha256(empty) == hashlib.sha256(b"").digest()
        assert textkit.sum_bytes(empty) == 0
        assert textkit.reverse(empty) == b""
        assert cfib.crc32(empty) == 0
        assert cfib.xor_bytes(empty, b"") == b""
        assert backend("rust_user").checksum(empty) == 0
        assert backend("c_user").adler32(empty) == 1
        assert backend("c_user").has_zero(empty) is False


def test_empty_strings(backend):
    assert backend("textkit").upper("") == ""
    assert backend("textkit").count_char("", ord("a")) == 0
    assert backend("cfib").rot13("") == ""
    assert backend("rust_user").shout("") == "!"
    assert backend("rust_user").is_ascii("") is True
    assert backend("c_user").reverse_words("") == ""


def test_empty_lists(backend):
    numkit = backend("numkit")
    assert numkit.sum_u16([]) == 0
    assert numkit.prefix_sums([]) == []
    assert numkit.dot([], []) == 0.0
    assert backend("textkit").scale([], 3.0) == []
    assert backend("cfib").sum_i32([]) == 0
    assert backend("rust_user").evens([]) == []
    assert backend("c_user").squares([]) == []


def test_large_lists(backend):
    xs = list(range(100_000))
    assert backend("cfib").sum_i32(xs) == (sum(xs) + 2**31) % 2**32 - 2**31  # wraps
    assert backend("rust_user").evens(xs) == xs[::2]
    assert backend("numkit").prefix_sums(xs)[-1] == sum(xs)


# ---- inputs a guest refuses ------------------------------------------------------------

# (guest, class name, method, args): the guest returns a null result pointer.
REFUSED = [
    ("textkit", "Textkit", "fixed16", (bytes(15),)),
    ("textkit", "Textkit", "fixed16", (bytes(17),)),
    ("textkit", "Textkit", "fixed16", (b"",)),
    ("cfib", "Cfib", "xor_bytes", (b"ab", b"a")),
    ("cfib", "Cfib", "xor_bytes", (b"", b"a")),
    ("numkit", "Numkit", "minmax_i8", ([],)),
]


@pytest.mark.parametrize(("guest", "cls", "method", "args"), REFUSED)
def test_refused_input_raises_input_error_naming_the_function(
    backend, packages, guest, cls, method, args
):
    instance = backend(guest)
    module = packages(guest)
    with pytest.raises(getattr(module, f"{cls}InputError")) as caught:
        getattr(instance, method)(*args)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, getattr(module, f"{cls}Error"))
    assert caught.value.function == method
    assert method in str(caught.value)


def test_an_unencodable_str_raises_unicode_encode_error(backend):
    # A lone surrogate cannot be UTF-8: refused by Python before the guest is called.
    with pytest.raises(UnicodeEncodeError):
        backend("textkit").upper("\udcff")


def test_instance_works_after_refused_input(backend, packages):
    textkit = backend("textkit")
    for _ in range(3):
        with pytest.raises(packages("textkit").TextkitInputError):
            textkit.fixed16(b"short")
        assert textkit.fixed16(bytes(16)) == b"\x5a" * 16
    numkit = backend("numkit")
    with pytest.raises(ValueError, match="minmax_i8"):
        numkit.minmax_i8([])
    assert numkit.minmax_i8([5]) == [5, 5]


# ---- an exhausted arena ----------------------------------------------------------------

# rust_user and c_user have a 1 MiB arena; 2 MiB cannot fit in it.
TWO_MIB = 2 * MIB


def checksum(data: bytes) -> int:
    return sum(b * (i + 1) for i, b in enumerate(data)) % 2**64


def reverse_words(text: str) -> str:
    return " ".join(reversed(text.split(" ")))


def shout(text: str) -> str:  # for ASCII text
    return text.upper() + "!"


def evens(xs: list[int]) -> list[int]:
    return [x for x in xs if x % 2 == 0]


def squares(xs: list[int]) -> list[int]:
    return [x * x for x in xs]


# (guest, method, make input, reference): the input alone does not fit in the arena.
INPUT_BEYOND_ARENA = [
    ("c_user", "adler32", lambda: bytes(TWO_MIB), zlib.adler32),
    ("c_user", "has_zero", lambda: b"\x01" * TWO_MIB, lambda d: 0 in d),
    ("c_user", "reverse_words", lambda: "ab " * (TWO_MIB // 3), reverse_words),
    ("c_user", "squares", lambda: [3] * (TWO_MIB // 8), squares),
    ("rust_user", "checksum", lambda: bytes(TWO_MIB), checksum),
    ("rust_user", "shout", lambda: "a" * TWO_MIB, shout),
    ("rust_user", "evens", lambda: [2] * (TWO_MIB // 4), evens),
]


@pytest.mark.parametrize(
    ("guest", "method", "make", "reference"),
    INPUT_BEYOND_ARENA,
    ids=[f"{case[0]}.{case[1]}" for case in INPUT_BEYOND_ARENA],
)
def test_input_beyond_the_arena_raises_memory_error(
    backend, guest, method, make, reference
):
    """On wasm every input is copied into the arena, so it cannot fit: MemoryError. The
    native backend passes the caller's buffer in place (no copy), so a function whose
    result is a scalar may simply compute it; but when the result has to be built in the
    exhausted arena, the call must still be a MemoryError, not a refused input."""
    instance = backend(guest)
    function = getattr(instance, method)
    input_error = input_error_of(instance)
    data = make()
    try:
        result = function(data)
    except MemoryError:
        pass
    except input_error:
        # Native: the input was passed in place, but the result did not fit in the arena;
        # the protocol's one failure value (a null result) then reads as a refusal.
        assert instance.backend == "native", "wasm copies every input into the arena"
        assert method in ("reverse_words", "squares", "shout", "evens")
    else:
        assert instance.backend == "native", "wasm copies every input into the arena"
        assert result == reference(data)
    # The instance still works, even with an input that fills the arena exactly.
    small = make()[:10]
    assert function(small) == reference(small)
    exact = bytes(MIB)
    if guest == "c_user":
        assert instance.adler32(exact) == zlib.adler32(exact)
    else:
        assert instance.checksum(exact) == 0


# (guest, method, input, reference): the input fits in the 1 MiB arena, but input and
# result together do not.
RESULT_BEYOND_ARENA = [
    ("rust_user", "shout", "a" * (600 * 1024), shout),
    ("c_user", "reverse_words", "ab " * (200 * 1024), reverse_words),
    ("c_user", "squares", [3] * (80 * 1024), squares),
]


@pytest.mark.parametrize(
    ("guest", "method", "data", "reference"),
    RESULT_BEYOND_ARENA,
    ids=[f"{case[0]}.{case[1]}" for case in RESULT_BEYOND_ARENA],
)
def test_result_beyond_the_arena_is_a_null_result(backend, guest, method, data, reference):
    """The protocol has one failure value for results: a guest whose arena cannot hold
    the result returns NULL, as for a refused input, and Python raises InputError saying
    both (docs/guest-protocol.md). The instance stays usable."""
    instance = backend(guest)
    function = getattr(instance, method)
    input_error = input_error_of(instance)
    if instance.backend == "native":
        # Inputs are passed in place natively: the whole arena is free for the result.
        assert function(data) == reference(data)
    else:
        with pytest.raises(input_error, match=f"{method}: .*no room for the result"):
            function(data)
    assert function(data[:9]) == reference(data[:9])  # still usable


def test_textkit_input_beyond_the_256_mib_cap_raises_memory_error(wasm_backend):
    # wasm only: wasm2py-guest caps the arena at 256 MiB (MAX_TOTAL), so the input cannot
    # be copied in; bump_alloc refuses before memory grows, which makes this cheap. The
    # native backend passes the buffer in place and would hash 256 MiB.
    textkit = wasm_backend("textkit")
    with pytest.raises(MemoryError, match="sha256"):
        textkit.sha256(bytes((256 << 20) + 1))
    assert textkit.sha256(b"abc") == hashlib.sha256(b"abc").digest()
