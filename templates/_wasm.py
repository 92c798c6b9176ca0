{{ header }}
"""The wasmtime-py backend of {{ package }}.

One ``wasmtime.Module`` is compiled per process; every thread gets its own store and
instance on its first call, so instances never cross threads.
"""

from __future__ import annotations

{% if uses_arena -%}
import ctypes as _ctypes
{% endif -%}
import functools as _functools
import os as _os
{% if uses_arena -%}
import struct as _struct
{% endif -%}
import threading as _threading
{% if uses_arena -%}
from array import array as _array
{% endif -%}
from collections.abc import Callable as _Callable
{% if uses_sequence -%}
from collections.abc import Sequence as _Sequence
{% endif -%}
from typing import Any as _Any
from typing import NoReturn as _NoReturn

import wasmtime as _wt

from . import {{ class }}
from ._errors import {{ class }}Error, {% if uses_arena %}{{ class }}InputError, {% endif %}{{ class }}Trap

_WASM_PATH = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "{{ wasm_file }}")
_TRAPS = (_wt.Trap, _wt.WasmtimeError)
_M32 = 0xFFFFFFFF
_compiled: tuple[_wt.Engine, _wt.Module] | None = None
_compile_lock = _threading.Lock()


def _compile() -> tuple[_wt.Engine, _wt.Module]:
    """The engine and module, compiled once per process."""
    global _compiled
    with _compile_lock:
        if _compiled is None:
            engine = _wt.Engine()
            _compiled = (engine, _wt.Module.from_file(engine, _WASM_PATH))
        return _compiled


def _trap(function: str, error: Exception) -> _NoReturn:
    message = error.message if isinstance(error, _wt.Trap) else str(error)
    raise {{ class }}Trap(function, message) from None


def _export(exports: _Any, store: _wt.Store, name: str) -> _Callable[..., _Any]:
    func = exports[name]
    if not isinstance(func, _wt.Func):
        raise {{ class }}Error(f"{{ wasm_file }}: export {name!r} is not a function")
    return _functools.partial(func, store)
{% if uses_arena %}
_PAIR = _struct.Struct("<II")
{% endif %}

class _State:
    """One thread's store and instance, with every export bound to the store once."""

    __slots__ = ({% for s in state_slots %}"{{ s }}", {% endfor %})

    def __init__(self) -> None:
        engine, module = _compile()
        store = _wt.Store(engine)
        exports = _wt.Instance(store, module, []).exports(store)
        self.store = store
{%- if uses_arena %}
        memory = exports["memory"]
        if not isinstance(memory, _wt.Memory):
            raise {{ class }}Error("{{ wasm_file }}: export 'memory' is not a memory")
        self.memory = memory
        self.alloc = _export(exports, store, "bump_alloc")
        self.reset = _export(exports, store, "bump_reset")
{%- endif %}
{%- for f in functions %}
        self.f_{{ f.name }} = _export(exports, store, {{ f.export_literal }})
{%- endfor %}
{%- if uses_arena %}

    def _span(self, function: str, ptr: int, size: int) -> int:
        """The host address of guest bytes [ptr, ptr + size), after a bounds check."""
        store = self.store
        length = self.memory.data_len(store)
        if ptr + size > length:
            raise {{ class }}Error(
                f"{function}: the guest returned {size} bytes at {ptr:#x}, outside its {length}-byte memory"
            )
        base = _ctypes.cast(self.memory.data_ptr(store), _ctypes.c_void_p).value or 0
        return base + ptr

    def _alloc(self, function: str, size: int) -> int:
        ptr: int = self.alloc(size) & _M32
        if ptr == 0 and size:
            raise MemoryError(f"{function}: the guest arena cannot hold {size} more bytes")
        return ptr

    def put_bytes(self, function: str, data: _Any) -> tuple[int, int]:
        """Copies a bytes-like object into the arena; returns (ptr, len)."""
        if not isinstance(data, bytes):
            if isinstance(data, str):
                raise TypeError(f"{function}: expected a bytes-like object, not str")
            data = bytes(memoryview(data).cast("B"))
        size = len(data)
        ptr = self._alloc(function, size)
        _ctypes.memmove(self._span(function, ptr, size), data, size)
        return ptr, size

    def put_str(self, function: str, text: str) -> tuple[int, int]:
        if not isinstance(text, str):
            raise TypeError(f"{function}: expected str, not {type(text).__name__}")
        return self.put_bytes(function, text.encode("utf-8"))

    def put_list(self, function: str, items: _Any, code: str) -> tuple[int, int]:
        """Packs a sequence of numbers as a C array; returns (ptr, count)."""
        data = _array(code, items)
        size = len(data) * data.itemsize
        ptr = self._alloc(function, size)
        if size:
            _ctypes.memmove(self._span(function, ptr, size), data.buffer_info()[0], size)
        return ptr, len(data)

    def get_pair(self, function: str, result: int, itemsize: int) -> tuple[int, int]:
        """Reads the {ptr, len} pair a result points to: (host address, len)."""
        result &= _M32
        if result == 0:
            raise {{ class }}InputError(function)
        ptr, length = _PAIR.unpack(_ctypes.string_at(self._span(function, result, 8), 8))
        return self._span(function, ptr, length * itemsize), length

    def get_bytes(self, function: str, result: int) -> bytes:
        address, length = self.get_pair(function, result, 1)
        return _ctypes.string_at(address, length)

    def get_str(self, function: str, result: int) -> str:
        try:
            return self.get_bytes(function, result).decode("utf-8")
        except UnicodeDecodeError as error:
            raise {{ class }}Error(f"{function}: the guest returned invalid UTF-8: {error}") from None

    def get_list(self, function: str, result: int, code: str) -> list[_Any]:
        data = _array(code)
        address, length = self.get_pair(function, result, data.itemsize)
        data.frombytes(_ctypes.string_at(address, length * data.itemsize))
        return data.tolist()
{%- endif %}


class _{{ class }}Wasm({{ class }}):
    """{{ class }} on wasmtime-py."""

    __slots__ = ("_local",)
    backend = "wasm"
    _local: _threading.local

    @classmethod
    def _create(cls) -> _{{ class }}Wasm:
        self = object.__new__(cls)
        self._local = _threading.local()
        self._state()  # instantiate now, so that a broken module fails at construction
        return self

    def _state(self) -> _State:
        try:
            state: _State = self._local.state
        except AttributeError:
            state = self._local.state = _State()
        return state
{% for f in functions %}
    def {{ f.name }}(self{{ f.params_sig }}) -> {{ f.ret }}:
{%- for line in f.body %}
        {{ line }}
{%- endfor %}
{% endfor -%}
