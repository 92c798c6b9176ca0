"""List parameters from buffers (issue 11, item 2): numpy arrays, `array.array`,
memoryviews and `bytes` of the item type are copied with one memcpy (in place natively);
anything else (other types, strides, byte orders, lists) goes element by element, with the
same results. On both backends, through textkit's `scale(xs: list[f64], k: f64)`, numkit's
`prefix_sums(xs: list[i64])` and `minmax_i8(xs: list[i8])`.
"""

from __future__ import annotations

import array
import ctypes
import threading
from typing import Any

import numpy as np
import pytest
from conftest import Factory


def test_numpy_and_array_buffers_give_the_list_results(backend: Factory) -> None:
    t = backend("textkit")
    xs = [0.5, -1.25, 3.0, 1e300, -0.0]
    want = [x * 2.0 for x in xs]
    assert t.scale(xs, 2.0) == want
    assert t.scale(np.array(xs), 2.0) == want
    assert t.scale(array.array("d", xs), 2.0) == want
    assert t.scale(memoryview(array.array("d", xs)), 2.0) == want
    assert t.scale(np.array(xs).data, 2.0) == want  # a memoryview of the ndarray
    # Read-only buffers too.
    ro = np.array(xs)
    ro.flags.writeable = False
    assert t.scale(ro, 2.0) == want
    assert t.scale(memoryview(bytes(array.array("d", xs))).cast("d"), 2.0) == want


def test_integer_buffers(backend: Factory) -> None:
    n = backend("numkit")
    values = [1, -2, 3, 2**62, -(2**62)]
    want = n.prefix_sums(values)
    assert n.prefix_sums(np.array(values, dtype=np.int64)) == want
    assert n.prefix_sums(array.array("q", values)) == want
    assert n.prefix_sums(memoryview(array.array("q", values))) == want
    assert n.minmax_i8(np.array([5, -128, 127, 0], dtype=np.int8)) == [-128, 127]
    assert n.minmax_i8(array.array("b", [3, -3])) == [-3, 3]


def test_other_buffers_fall_back_to_element_by_element(backend: Factory) -> None:
    t = backend("textkit")
    n = backend("numkit")
    base = np.arange(10, dtype=np.float64)
    # Strided, another dtype, another byte order, two dimensions flattened by the caller:
    assert t.scale(base[::2], 1.0) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert t.scale(np.arange(4, dtype=np.float32), 2.0) == [0.0, 2.0, 4.0, 6.0]
    assert t.scale(np.arange(3, dtype=np.int32), 0.5) == [0.0, 0.5, 1.0]
    assert t.scale(np.arange(3, dtype=">f8"), 2.0) == [0.0, 2.0, 4.0]
    assert t.scale(np.arange(6.0).reshape(2, 3)[0], 1.0) == [0.0, 1.0, 2.0]
    assert n.prefix_sums(np.array([1, 2, 3], dtype=np.int32)) == [1, 3, 6]
    assert n.prefix_sums(np.array([1, 2, 3], dtype=np.uint64)) == [1, 3, 6]
    assert n.prefix_sums(range(4)) == [0, 1, 3, 6]
    assert n.prefix_sums(x for x in (5, 5)) == [5, 10]  # any iterable
    # Unsigned items of the same size are not i64: converted one by one, range-checked.
    with pytest.raises(OverflowError):
        n.prefix_sums(np.array([2**63], dtype=np.uint64))


def test_empty_buffers(backend: Factory) -> None:
    t = backend("textkit")
    assert t.scale(np.array([], dtype=np.float64), 3.0) == []
    assert t.scale(array.array("d"), 3.0) == []


def test_wrong_buffers_are_type_errors(backend: Factory) -> None:
    t = backend("textkit")
    with pytest.raises(TypeError):
        t.scale("1.0", 2.0)
    with pytest.raises(TypeError):
        t.scale(np.array(["a"]), 2.0)


def test_a_large_numpy_array_is_copied_once(backend: Factory) -> None:
    t = backend("textkit")
    xs = np.random.default_rng(7).standard_normal(200_000)
    assert t.scale(xs, 3.0) == (xs * 3.0).tolist()


def test_the_buffer_is_not_changed_and_may_be_used_from_threads(backend: Factory) -> None:
    t = backend("textkit")
    xs = np.arange(1000, dtype=np.float64)
    before = xs.copy()
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(50):
            got = t.scale(xs, float(k))
            if got != (before * k).tolist():
                errors.append(f"thread {k}: wrong result")
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 9)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert (xs == before).all()


def test_native_writable_buffers_are_passed_in_place(native_backend: Factory) -> None:
    # The native backend passes a writable buffer's own memory: the address the guest sees
    # is the array's. Observed through _list_arg, which the generated bodies call.
    from textkit import _native

    xs = np.arange(8, dtype=np.float64)
    keep, address, count = _native._list_arg(xs, "d")
    assert address == xs.ctypes.data
    assert count == 8
    del keep
    data = array.array("d", [1.0, 2.0])
    _, address, count = _native._list_arg(data, "d")
    assert address == data.buffer_info()[0]
    assert count == 2
    # A list is packed into a new array.
    packed, address, count = _native._list_arg([1.0, 2.0, 3.0], "d")
    assert isinstance(packed, array.array) and address == packed.buffer_info()[0] and count == 3


def test_the_wasm_copy_is_one_memcpy_of_the_buffer() -> None:
    from textkit import _runtime

    xs = np.arange(5, dtype=np.float64)
    view = _runtime.list_view(xs, "d")
    assert view is not None and view.format == "B" and view.nbytes == 40
    assert ctypes.addressof(ctypes.c_char.from_buffer(view)) == xs.ctypes.data  # no copy made
    assert _runtime.list_view([1.0], "d") is None
    assert _runtime.list_view(xs[::2], "d") is None
    assert _runtime.list_view(np.arange(3, dtype=np.int64), "d") is None
    assert _runtime.list_view(np.arange(3, dtype=np.int64), "q") is not None
    assert _runtime.list_view(np.arange(3, dtype=np.uint64), "q") is None
    assert _runtime.list_view(b"abc", "B") is not None
    assert _runtime.list_view(b"abc", "b") is None


# ---- array[T]: the same inputs, and array.array results ------------------------------


@pytest.fixture(scope="module")
def textarr(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """textkit's module with `scale` annotated `array[f64]`, as the package `textarr`."""
    from conftest import GUESTS_OUT, generate_package, native_library, require

    work = tmp_path_factory.mktemp("textarr")
    (work / "textarr.wasm2py").write_text(
        "/// Every element of xs times k, as an array.\nscale(xs: array[f64], k: f64) -> array[f64]\n"
    )
    textarr = generate_package(
        require(GUESTS_OUT / "textkit.wasm"), work / "out", name="textarr", sig=work / "textarr.wasm2py"
    )
    textarr.LIBRARY = str(native_library("textkit"))
    return textarr


@pytest.mark.parametrize("backend_name", ["wasm", "native"])
def test_array_results_are_array_array(textarr: Any, backend_name: str) -> None:
    cls = textarr.Textarr
    t = cls() if backend_name == "wasm" else cls(backend="native", library=textarr.LIBRARY)
    xs = np.arange(1000, dtype=np.float64)
    got = t.scale(xs, 2.0)
    assert type(got) is array.array and got.typecode == "d"
    assert np.frombuffer(got, dtype=np.float64).tolist() == (xs * 2.0).tolist()  # no copy
    assert t.scale([1.0, 2.0], 3.0) == array.array("d", [3.0, 6.0])
    assert t.scale(array.array("d", [0.5]), 2.0) == array.array("d", [1.0])
    assert t.scale([], 2.0) == array.array("d")
    assert cls.scale.__annotations__["return"] == "_array[float]"


def test_the_rust_sdk_exports_arrays_on_request(backend: Factory) -> None:
    # numkit's `scaled` is `#[wasm2py_guest::export(array)]`: `&[f64]` in and `Vec<f64>`
    # out are annotated array[f64] in the module's section.
    n = backend("numkit")
    xs = np.arange(5, dtype=np.float64)
    got = n.scaled(xs, 1.5)
    assert type(got) is array.array and got.typecode == "d"
    assert got.tolist() == (xs * 1.5).tolist()
    assert n.scaled([1.0, 2.0], 2.0) == array.array("d", [2.0, 4.0])
    assert type(n).scaled.__annotations__["return"] == "_array[float]"
