"""A guest written with the Rust SDK from SPEC.md alone ("Guest SDKs and guest errors").

tests/spec_modules/rust_sdk_user is a safe-Rust crate (`#![forbid(unsafe_code)]`, no
sidecar, no arena of its own) using sha2, base64 and serde_json, with functions returning
`Result<String, String>`, `Result<u16, String>`, `Result<Vec<u8>, String>`,
`Result<(), String>` and plain values. tests/spec_modules/build.sh builds it for
wasm32-unknown-unknown (rust_sdk_user.wasm), for wasm32-wasip1 (rust_sdk_user_wasi.wasm)
and natively (librust_sdk_user.so); the packages are generated here, at test time, by
target/release/wasm2py from the modules alone: the annotations and docstrings come from
their `wasm2py` custom section.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import SPEC_OUT, WASM2PY, generate_package, require

THREADS = 8


def generate(out: Path, wasm_name: str, package: str) -> ModuleType:
    """Generates the package of SPEC_OUT/wasm_name as `package` and imports it."""
    wasm = require(SPEC_OUT / wasm_name, f"spec module {wasm_name}")
    assert not (SPEC_OUT / wasm_name).with_suffix(".wasm2py").exists(), "no sidecar expected"
    module: ModuleType = generate_package(wasm, out / package, name=package)
    return module


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    require(WASM2PY, "wasm2py binary")
    return generate(tmp_path_factory.mktemp("spec_sdk"), "rust_sdk_user.wasm", "rust_sdk_user")


@pytest.fixture(scope="module")
def sdk_wasi(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    require(WASM2PY, "wasm2py binary")
    out = tmp_path_factory.mktemp("spec_sdk_wasi")
    return generate(out, "rust_sdk_user_wasi.wasm", "rust_sdk_user_wasi")


@pytest.fixture(scope="module", params=["wasm", "native"])
def make(request: pytest.FixtureRequest, sdk: ModuleType) -> Callable[[], Any]:
    """A factory of instances on one backend."""
    if request.param == "wasm":
        return lambda: sdk.RustSdkUser()
    library = require(SPEC_OUT / "librust_sdk_user.so", "native library of rust_sdk_user")
    return lambda: sdk.RustSdkUser(backend="native", library=library)


def test_the_section_carries_the_annotations_and_docstrings(sdk):
    cls = sdk.RustSdkUser
    assert cls.sha256_hex.__doc__ == "The SHA-256 digest of data, as 64 lowercase hex digits."
    assert cls.pretty_json.__doc__.splitlines()[0] == (
        "text, a JSON document, pretty-printed with two-space indents."
    )
    assert "Fails when text is not JSON." in cls.pretty_json.__doc__
    for name in ("sha256_hex", "json_port", "histogram", "mean", "check_ascii", "is_even"):
        assert name in sdk.__all__
    # The SDK's own exports are the protocol, never methods.
    for name in ("bump_alloc", "bump_reset", "wasm2py_error", "wasm2py_arena_per_thread"):
        assert not hasattr(cls, name)


def test_plain_functions(make):
    m = make()
    data = b"hello, \x00\xff world"
    assert m.sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert m.b64_encode(data) == base64.b64encode(data).decode()
    assert m.add(2**31 - 1, 1) == -(2**31)
    assert m.mean([1.0, 2.0, 4.5]) == 2.5
    assert m.word_count("  un deux\ttrois\n ") == 3
    assert m.histogram(b"aab") == [2 if i == ord("a") else 1 if i == ord("b") else 0 for i in range(256)]
    assert m.is_even(2**64 - 2) is True
    assert m.is_even(7) is False
    assert m.reverse_words("été  à la plage") == "plage la à été"


def test_results_that_may_fail(make):
    m = make()
    assert m.b64_decode("aGVsbG8=") == b"hello"
    doc = {"a": [1, 2, {"b": None}], "é": "ü"}
    assert json.loads(m.pretty_json(json.dumps(doc))) == doc
    assert m.pretty_json("[1]") == "[\n  1\n]"
    assert m.json_port('{"port": 8080}') == 8080
    assert type(m.json_port('{"port": 65535}')) is int
    assert m.json_sum("[1, 2.5, -0.5]") == 3.0
    assert m.check_ascii(b"plain") is None


@pytest.mark.parametrize(
    ("call", "function", "message"),
    [
        (lambda m: m.b64_decode("%%%"), "b64_decode", "not base64: Invalid symbol 37, offset 0."),
        (lambda m: m.json_port('{"port": 0}'), "json_port", "port out of range: 0"),
        (lambda m: m.json_port('{"port": 70000}'), "json_port", "port out of range: 70000"),
        (lambda m: m.json_port("{}"), "json_port", 'no "port" member'),
        (lambda m: m.check_ascii(b""), "check_ascii", "empty input"),
        (lambda m: m.check_ascii(b"ab\xffc"), "check_ascii", "byte 2 is not ASCII"),
    ],
)
def test_errors_carry_the_guests_message(make, sdk, call, function, message):
    m = make()
    with pytest.raises(sdk.RustSdkUserInputError) as raised:
        call(m)
    assert isinstance(raised.value, ValueError)
    assert raised.value.function == function
    assert raised.value.message == message
    assert str(raised.value) == f"{function}: {message}"
    # The record was cleared: the next calls succeed.
    assert m.json_port('{"port": 443}') == 443
    assert m.b64_decode("") == b""


def test_serde_errors_are_displayed(make, sdk):
    m = make()
    with pytest.raises(sdk.RustSdkUserInputError, match="pretty_json: invalid JSON: ") as raised:
        m.pretty_json("{")
    assert "EOF while parsing an object" in raised.value.message
    with pytest.raises(sdk.RustSdkUserInputError, match="json_sum") as raised:
        m.json_sum('["x"]')
    assert "invalid type: string" in raised.value.message


def test_many_calls_keep_working(make, sdk):
    m = make()
    for i in range(300):
        text = "x" * i
        with pytest.raises(sdk.RustSdkUserInputError):
            m.json_port(text)
        assert m.b64_decode(base64.b64encode(text.encode()).decode()) == text.encode()


def in_threads(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """work(index) on `count` threads started together; their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 (reported to the main thread)
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def test_eight_native_threads_get_their_own_results_and_errors(sdk):
    library = require(SPEC_OUT / "librust_sdk_user.so", "native library of rust_sdk_user")
    m = sdk.RustSdkUser(backend="native", library=library)

    def work(index: int) -> int:
        done = 0
        for i in range(200):
            data = f"thread {index} call {i}".encode() * (1 + i % 7)
            assert m.sha256_hex(data) == hashlib.sha256(data).hexdigest()
            assert m.b64_decode(m.b64_encode(data)) == data
            with pytest.raises(sdk.RustSdkUserInputError) as raised:
                m.json_port(json.dumps({"port": 70000 + index}))
            assert raised.value.message == f"port out of range: {70000 + index}"
            assert m.json_port(json.dumps({"port": 1000 + index})) == 1000 + index
            done += 1
        return done

    assert in_threads(work) == [200] * THREADS


def test_the_wasi_build_works_too(sdk_wasi):
    m = sdk_wasi.RustSdkUserWasi()
    assert m.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert m.json_port('{"port": 22}') == 22
    with pytest.raises(sdk_wasi.RustSdkUserWasiInputError) as raised:
        m.json_port("[]")
    assert raised.value.message == 'no "port" member'
