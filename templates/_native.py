{{ header }}
"""The native backend of {{ package }}: ctypes on the native build of the same source.

Prototypes (``argtypes``/``restype``) are set once per instance. Arguments get the same
range checks as on the wasm backend, because ctypes would wrap them silently. Native code
runs without a sandbox: a trap there (a Rust panic, ``__builtin_trap``) ends the process.
{%- if uses_arena %}

The calls that use the guest's arena (bytes, str or list parameters or results) hold the
loaded library's lock from the call to ``bump_reset()``, unless the library exports the
per-thread-arena marker ``{{ arena_marker }}`` (see wasm2py's guest protocol),
so a guest with one global arena is correct from any thread. Scalar calls never lock.
{%- endif %}
"""

from __future__ import annotations

import ctypes as _ctypes
{% if uses_arena || errors -%}
import threading as _threading
{% endif -%}
{% if uses_arena -%}
from array import array as _array
{% endif -%}
from collections.abc import Callable as _Callable
{% if uses_iterable -%}
from collections.abc import Iterable as _Iterable
{% endif -%}
from typing import Any as _Any
from typing import NoReturn as _NoReturn

from . import {{ class }}
from ._errors import {{ class }}Error{% if uses_arena || errors %}, {{ class }}InputError{% endif %}{% if uses_index %}, _index_arg{% endif %}{% if uses_real %}, _real_arg{% endif %}
{%- if uses_list %}
from ._runtime import ITEMSIZE as _ITEMSIZE
from ._runtime import list_view as _list_view
{%- endif %}


def _bind(
    lib: _ctypes.CDLL, path: str, name: str, argtypes: list[_Any] | None, restype: _Any
) -> _Callable[..., _Any]:
    """The function ``name`` with its prototype; ``argtypes=None`` leaves ctypes'
    default conversion (int to C int), used where the generated checks make it exact."""
    try:
        func = lib[name]
    except AttributeError:
        raise ImportError(f"{{ package }}: the native library {path} does not export {name!r}") from None
    if argtypes is not None:
        func.argtypes = argtypes
    func.restype = restype
    return func


def _bad_argument(function: str, error: _ctypes.ArgumentError) -> _NoReturn:
    raise TypeError(f"{function}(): {error}") from None


def _no_c_abi(function: str) -> _NoReturn:
    raise {{ class }}Error(f"{function}: multi-value results have no C ABI; use the wasm backend")
{%- if errors %}


class _ErrorRecord(_ctypes.Structure):
    """The guest's error record, one per thread: ``wasm2py_error()`` returns the calling
    thread's (see "Guest errors" in wasm2py's guest protocol)."""

    _fields_ = [("status", _ctypes.c_size_t), ("ptr", _ctypes.c_void_p), ("len", _ctypes.c_size_t)]


# This thread's error records, by the library they belong to (``_error_key``).
_records = _threading.local()


def _guest_error(function: str, record: _ErrorRecord) -> _NoReturn:
    """Raises what a set error record says, and clears it for the next call."""
    status, ptr, length = record.status, record.ptr, record.len
    record.status = 0
    if status == 2:
        raise MemoryError(f"{function}: the guest has no room for the result in its arena")
    if status != 1:
        raise {{ class }}Error(f"{function}: the guest's error record has status {status}")
    if not ptr and length:
        raise {{ class }}Error(f"{function}: the guest's error message is a null pointer with length {length}")
    text = _ctypes.string_at(ptr or 0, min(length, 64 * 1024)).decode("utf-8", "replace")
    raise {{ class }}InputError(function, text)
{%- endif %}
{% if uses_arena %}

class _Pair(_ctypes.Structure):
    """The {data pointer, length} pair a bytes, str or list result points to."""

    _fields_ = [("ptr", _ctypes.c_void_p), ("len", _ctypes.c_size_t)]


# The per-thread-arena marker: a library exporting it keeps one arena per thread, so its
# calls are not serialised. Otherwise every instance that loaded the library shares one
# lock, keyed by the library's handle (dlopen returns the same handle for the same file,
# whatever path or link it was loaded by).
_ARENA_PER_THREAD = "{{ arena_marker }}"
_library_locks: dict[int, _threading.Lock] = {}
_library_locks_guard = _threading.Lock()


def _library_lock(lib: _ctypes.CDLL, serialise: bool | None) -> _threading.Lock | None:
    """The lock of ``lib`` for the calls that use the arena, or None when they need none
    (``serialise=None``: as the marker says)."""
    if serialise is None:
        serialise = not hasattr(lib, _ARENA_PER_THREAD)
    if not serialise:
        return None
    with _library_locks_guard:
        lock = _library_locks.get(lib._handle)
        if lock is None:
            lock = _library_locks[lib._handle] = _threading.Lock()
        return lock
{%- if arena_record %}


def _arena_record(lib: _ctypes.CDLL, path: str) -> memoryview[int]:
    """The library's arena record (arena protocol version 2), as four size_t words; one
    record for the whole library natively, whose ``busy`` word counts the threads whose
    arena holds anything."""
    address = _bind(lib, path, "wasm2py_arena", [], _ctypes.c_void_p)()
    if not address:
        raise ImportError(f"{{ package }}: wasm2py_arena() of {path} returned a null record")
    words = (_ctypes.c_size_t * 4).from_address(address)
    return memoryview(words).cast("B").cast("P")
{%- endif %}


# Passed instead of a null pointer for an empty list.
_EMPTY_BUFFER = (_ctypes.c_uint64 * 2)()
_EMPTY = _ctypes.addressof(_EMPTY_BUFFER)


def _bytes_arg(function: str, data: _Any) -> tuple[_Any, int]:
    """A pointer-compatible view of a bytes-like object, copied only when read-only and not bytes."""
    if isinstance(data, bytes):
        return data, len(data)  # ctypes passes the object's own buffer
    if isinstance(data, str):
        raise TypeError(f"{function}: expected a bytes-like object, not str")
    view = memoryview(data)
    if not view.c_contiguous:
        copy = view.tobytes()
        return copy, len(copy)
    view = view.cast("B")
    if view.readonly:
        copy = view.tobytes()
        return copy, len(copy)
    size = view.nbytes
    return (_ctypes.c_char * size).from_buffer(view), size


def _str_arg(function: str, text: str) -> tuple[bytes, int]:
    if not isinstance(text, str):
        raise TypeError(f"{function}: expected str, not {type(text).__name__}")
    data = text.encode("utf-8")
    return data, len(data)


{%- if uses_list %}
def _list_arg(items: _Any, code: str) -> tuple[_Any, int, int]:
    """(an object to keep alive for the call, the address, the count) of a list's items as
    a C array: a writable buffer of the item type in place, a read-only one copied with
    one memcpy, anything else packed element by element."""
    view = _list_view(items, code)
    if view is None:
        data = _array(code, items)
    elif not view.readonly and view.nbytes:
        buffer = (_ctypes.c_char * view.nbytes).from_buffer(view)
        return buffer, _ctypes.addressof(buffer), view.nbytes // _ITEMSIZE[code]
    else:
        data = _array(code)
        data.frombytes(view)
    return data, data.buffer_info()[0] or _EMPTY, len(data)
{%- endif %}


def _pair(function: str, result: int | None) -> _Pair:
    if not result:
        raise {{ class }}InputError(function)
    pair = _Pair.from_address(result)
    if not pair.ptr and pair.len:
        raise {{ class }}Error(f"{function}: the guest returned a null pointer with length {pair.len}")
    return pair


def _get_bytes(function: str, result: int | None) -> bytes:
    pair = _pair(function, result)
    return _ctypes.string_at(pair.ptr or 0, pair.len)


def _get_str(function: str, result: int | None) -> str:
    try:
        return _get_bytes(function, result).decode("utf-8")
    except UnicodeDecodeError as error:
        raise {{ class }}Error(f"{function}: the guest returned invalid UTF-8: {error}") from None


def _get_array(function: str, result: int | None, code: str) -> _array[_Any]:
    pair = _pair(function, result)
    data = _array(code)
    if pair.len:  # one copy, straight from the guest's memory
        data.frombytes((_ctypes.c_char * (pair.len * data.itemsize)).from_address(pair.ptr or 0))
    return data


def _get_list(function: str, result: int | None, code: str) -> list[_Any]:
    return _get_array(function, result, code).tolist()
{%- endif %}


class _{{ class }}Native({{ class }}):
    """{{ class }} on the native library, through ctypes."""

    __slots__ = ({% for s in native_slots %}"{{ s }}", {% endfor %})
    backend = "native"
    _lib: _ctypes.CDLL
{%- if uses_arena %}
    _reset: _Callable[[], None]
    _arena_lock: _threading.Lock | None
    """The library's lock around calls that use the arena; None if its arena is per thread."""
{%- endif %}
{%- if arena_record %}
    _arena: memoryview[int]
    """The library's arena record (four size_t words); ``_arena[3]`` (busy) counts the
    threads whose arena holds anything: ``bump_reset()`` is called only when it is nonzero."""
{%- endif %}
{%- if errors %}
    _error_fn: _Callable[[], int | None]
    _error_key: str
    """The key of this library's record in the thread's ``_records``."""
{%- endif %}
{%- for f in functions %}
    _f_{{ f.name }}: _Callable[..., _Any]
{%- endfor %}

    @classmethod
{%- if uses_arena %}
    def _create(cls, path: str, serialise: bool | None = None) -> _{{ class }}Native:
        """An instance on the library at ``path``; ``serialise`` overrides the
        per-thread-arena marker (True: lock even so, as the benchmark does)."""
{%- else %}
    def _create(cls, path: str) -> _{{ class }}Native:
{%- endif %}
        self = object.__new__(cls)
        try:
            lib = _ctypes.CDLL(path)
        except OSError as error:
            raise ImportError(f"{{ package }}: cannot load the native library {path}: {error}") from error
        self._lib = lib
{%- if uses_arena %}
        self._reset = _bind(lib, path, "bump_reset", [], None)
        self._arena_lock = _library_lock(lib, serialise)
{%- endif %}
{%- if arena_record %}
        self._arena = _arena_record(lib, path)
{%- endif %}
{%- if errors %}
        self._error_fn = _bind(lib, path, "wasm2py_error", [], _ctypes.c_void_p)
        self._error_key = f"library_{lib._handle:x}"
{%- endif %}
{%- for f in functions %}
        self._f_{{ f.name }} = _bind(lib, path, {{ f.export_literal }}, {{ f.argtypes }}, {{ f.restype }})
{%- endfor %}
        return self

    def __copy__(self) -> _{{ class }}Native:
        """A new instance on the same loaded library, with this one's settings."""
        new = object.__new__(type(self))
        for name in _{{ class }}Native.__slots__:
            setattr(new, name, getattr(self, name))
        return new
{%- if errors %}

    def _check(self, function: str) -> None:
        """After a call: raises what this thread's error record says, if anything."""
        record: _ErrorRecord | None = _records.__dict__.get(self._error_key)
        if record is None:
            address = self._error_fn()
            if not address:
                raise {{ class }}Error(f"{function}: wasm2py_error() returned a null record")
            record = _records.__dict__[self._error_key] = _ErrorRecord.from_address(address)
        if record.status:
            _guest_error(function, record)
{%- endif %}
{% for f in functions %}
    def {{ f.name }}(self{{ f.params_sig }}) -> {{ f.ret }}:
{%- for line in f.native_body %}
        {{ line }}
{%- endfor %}
{% endfor -%}
