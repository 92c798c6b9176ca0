"""The package-level API: module-level functions on one default instance, and choosing a
backend."""

from __future__ import annotations

import hashlib
import math

import pytest
from conftest import ALL_GUESTS, CLASS_NAMES, native_library


def test_module_level_functions_work(packages):
    fib, textkit, numkit = packages("fib"), packages("textkit"), packages("numkit")
    assert fib.gcd(3_000_000_000, 4_000_000_000) == math.gcd(
        3_000_000_000, 4_000_000_000
    )
    assert fib.fibonacci(10) == 55
    assert textkit.sha256(b"abc") == hashlib.sha256(b"abc").digest()
    assert textkit.upper("straße") == "STRASSE"
    assert numkit.not_(True) is False
    assert packages("rust_user").max_u32(2**31, 1) == 2**31
    assert packages("c_user").mul_u64(2**32, 2**32) == 0


@pytest.mark.parametrize("guest", ALL_GUESTS)
def test_module_level_functions_use_one_default_instance(packages, guest):
    module = packages(guest)
    cls = getattr(module, CLASS_NAMES[guest])
    first = module._default()
    assert isinstance(first, cls)
    assert first.backend == "wasm"  # wasmtime-py is installed
    assert module._default() is first


@pytest.mark.parametrize("guest", ALL_GUESTS)
def test_every_method_has_a_module_level_function(packages, guest):
    module = packages(guest)
    cls = getattr(module, CLASS_NAMES[guest])
    methods = {
        name
        for name in vars(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }
    assert methods, "no methods"
    for name in methods:
        assert callable(getattr(module, name)), name
        assert name in module.__all__, name


def test_a_python_keyword_export_gets_a_trailing_underscore(packages):
    numkit = packages("numkit")
    assert hasattr(numkit.Numkit, "not_")
    assert numkit.not_(0) is True


def test_library_alone_selects_the_native_backend(packages):
    fib = packages("fib")
    instance = fib.Fib(library=native_library("fib"))
    assert instance.backend == "native"
    assert instance.gcd(12, 18) == 6


def test_an_unknown_backend_is_a_value_error(packages):
    with pytest.raises(ValueError, match="backend"):
        packages("fib").Fib(backend="jit")


def test_a_missing_native_library_is_an_import_error(packages, tmp_path):
    with pytest.raises(ImportError, match="fib"):
        packages("fib").Fib(backend="native", library=tmp_path / "libnothere.so")


def test_the_library_can_come_from_the_environment(packages, monkeypatch):
    monkeypatch.setenv("FIB_LIBRARY", str(native_library("fib")))
    instance = packages("fib").Fib(backend="native")
    assert instance.backend == "native"
    assert instance.fibonacci(20) == 6765
