{{ header }}
"""The wasmtime-py backend of {{ package }}.

One ``wasmtime.Module`` is compiled per process (and cached on disk, see ``_compile``);
every thread gets its own store and instance on its first call, so instances never cross
threads.

Calls take the fast path when this wasmtime-py's low-level bindings look as expected:
``wasmtime_func_call_unchecked`` through a ctypes function object whose arguments are all
prebuilt, with the values written into one reusable 16-byte slot buffer per export. Each
export's type is checked once, when the instance is created. Otherwise, or with
``WASM2PY_FAST_PATH=0``, calls go through wasmtime-py's public API: slower, same results.
"""

from __future__ import annotations

import atexit as _atexit
import ctypes as _ctypes
import functools as _functools
import mmap as _mmap
import os as _os
{%- if uses_arena %}
import struct as _struct
{%- endif %}
import threading as _threading
import weakref as _weakref
import zlib as _zlib
{%- if uses_arena %}
from array import array as _array
{%- endif %}
from collections.abc import Callable as _Callable
{%- if uses_sequence %}
from collections.abc import Sequence as _Sequence
{%- endif %}
from typing import Any as _Any
from typing import NoReturn as _NoReturn

import wasmtime as _wt

from . import {{ class }}
from ._errors import {{ class }}Error, {% if uses_arena %}{{ class }}InputError, {% endif %}{{ class }}Trap{% if uses_index %}, _index_arg{% endif %}{% if uses_real %}, _real_arg{% endif %}

_WASM_PATH = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "{{ wasm_file }}")
_WASM_SHA256 = "{{ sha256 }}"
_TRAPS = (_wt.Trap, _wt.WasmtimeError)
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_compiled: tuple[_wt.Engine, _wt.Module] | None = None
_compile_lock = _threading.Lock()

# wasmtime-py's low-level bindings, for the fast path. Private API: checked here, and the
# public API is used when anything is not as expected.
try:
    from wasmtime import _ffi as _wffi

    # A library object of our own: its function objects have no argtypes (no per-call
    # conversion) and wasmtime-py's own prototypes stay untouched.
    _LIB = _ctypes.CDLL(_wffi.dll._name)
    _RAW_CALL = _LIB.wasmtime_func_call_unchecked
    _RAW_CALL.restype = _ctypes.c_void_p
    _RAW_MEMORY_DATA = _LIB.wasmtime_memory_data
    _RAW_MEMORY_DATA.restype = _ctypes.c_void_p
    _RAW_MEMORY_SIZE = _LIB.wasmtime_memory_data_size
    _RAW_MEMORY_SIZE.restype = _ctypes.c_size_t
    _FAST = (
        _ctypes.sizeof(_wffi.wasmtime_val_raw_t) == 16
        and _ctypes.sizeof(_wffi.wasmtime_func_t) == 16
        and callable(getattr(_wt.Store, "_context", None))
        and _os.environ.get("WASM2PY_FAST_PATH", "1") != "0"
    )
    _RUNTIME_FILE: str | None = _wffi.dll._name
except Exception:  # noqa: BLE001 (any surprise in private API means: not usable)
    _FAST = False
    _RUNTIME_FILE = None

FAST_PATH: bool = _FAST
"""True when calls take the fast path (see the module docstring)."""


def _cache_files() -> tuple[str, str] | None:
    """Where the compiled module is cached: ``(artifact, its checksum)``, or None when off.

    The key covers the module (its SHA-256, known when the package was generated), the
    wasmtime runtime library (its size and mtime stand for its version) and the engine
    configuration (the default one). Nothing is hashed at start-up.
    """
    if _os.environ.get("WASM2PY_CACHE", "1") == "0" or _RUNTIME_FILE is None:
        return None
    directory = _os.environ.get("WASM2PY_CACHE_DIR") or _os.path.join(
        _os.environ.get("XDG_CACHE_HOME") or _os.path.expanduser("~/.cache"), "wasm2py"
    )
    runtime = _os.stat(_RUNTIME_FILE)
    key = f"{_WASM_SHA256[:32]}-{runtime.st_size:x}-{runtime.st_mtime_ns:x}-default"
    base = _os.path.join(directory, f"{{ package }}-{key}.cwasm")
    return base, base + ".crc32"


def _checksum(data: bytes | _mmap.mmap) -> str:
    """Catches a truncated or corrupted artifact (the directory's permissions keep others
    out; wasmtime checks the format and version itself)."""
    return f"{_zlib.crc32(data):08x} {len(data)}"


def _load_cached(engine: _wt.Engine, files: tuple[str, str]) -> _wt.Module | None:
    """The cached module, if its checksum matches and wasmtime accepts it; else None."""
    artifact, checksum = files
    try:
        directory = _os.stat(_os.path.dirname(artifact))
        # Only a directory that nobody else can write to is trusted.
        if directory.st_uid != _os.getuid() or directory.st_mode & 0o022:
            return None
        with open(checksum, encoding="ascii") as f:
            expected = f.read().strip()
        # Checked through a read-only mapping: no copy of the file into a bytes object
        # (about half the time of reading it, on a warm start).
        with open(artifact, "rb") as raw, _mmap.mmap(raw.fileno(), 0, access=_mmap.ACCESS_READ) as mapped:
            actual = _checksum(mapped)
        if actual != expected:
            return None
        return _wt.Module.deserialize_file(engine, artifact)
    except (OSError, ValueError, _wt.WasmtimeError):
        return None


def _store_cached(module: _wt.Module, files: tuple[str, str]) -> None:
    """Writes the compiled module atomically (temporary file, then rename); best effort."""
    import tempfile  # only when writing: keeps warm starts lean

    artifact, checksum = files
    try:
        directory = _os.path.dirname(artifact)
        _os.makedirs(directory, mode=0o700, exist_ok=True)
        data = bytes(module.serialize())
        for path, content in ((artifact, data), (checksum, _checksum(data).encode())):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
            try:
                with _os.fdopen(fd, "wb") as f:
                    f.write(content)
                _os.replace(tmp, path)
            except BaseException:
                _os.unlink(tmp)
                raise
    except (OSError, _wt.WasmtimeError):
        pass


def _compile() -> tuple[_wt.Engine, _wt.Module]:
    """The engine and module, compiled once per process, through the on-disk cache."""
    global _compiled
    with _compile_lock:
        if _compiled is None:
            engine = _wt.Engine()
            files = _cache_files()
            module = _load_cached(engine, files) if files else None
            if module is None:
                import hashlib  # only when compiling: keeps warm starts lean

                with open(_WASM_PATH, "rb") as f:
                    wasm = f.read()
                module = _wt.Module(engine, wasm)
                # Cache only the module this package was generated from.
                if files and hashlib.sha256(wasm).hexdigest() == _WASM_SHA256:
                    _store_cached(module, files)
            _compiled = (engine, module)
        return _compiled


def _trap(function: str, error: Exception) -> _NoReturn:
    message = error.message if isinstance(error, _wt.Trap) else str(error)
    raise {{ class }}Trap(function, message) from None


def _fail(function: str, error: int | None, trap: memoryview) -> _NoReturn:
    """Turns a failed raw call (an error pointer or a filled trap slot) into a trap."""
    raise {{ class }}Trap(function, _raw_message(error, trap)) from None


def _raw_message(error: int | None, trap: memoryview) -> str:
    """The message of a failed raw call; takes ownership of the trap or error."""
    pointer = trap[0]
    if pointer:
        trap[0] = 0
        found = _wt.Trap._from_ptr(_ctypes.cast(pointer, _ctypes.POINTER(_wffi.wasm_trap_t)))
        return found.message
    err = _wt.WasmtimeError._from_ptr(_ctypes.cast(error or 0, _ctypes.POINTER(_wffi.wasmtime_error_t)))
    return str(err)


def _signature(func: _wt.Func, store: _wt.Store) -> str:
    ty = func.type(store)
    params = ", ".join(str(t) for t in ty.params)
    results = ", ".join(str(t) for t in ty.results)
    return f"({params}) -> ({results})"


def _export(exports: _Any, name: str) -> _wt.Func:
    func = exports[name]
    if not isinstance(func, _wt.Func):
        raise {{ class }}Error(f"{{ wasm_file }}: export {name!r} is not a function")
    return func


class _Raw:
    """The fast path to one export: the arguments of its ``wasmtime_func_call_unchecked``
    call, prebuilt; the call is ``_RAW_CALL(*raw.args)``."""

    __slots__ = ("args", "buffer", "func")

    def __init__(
        self, store: _wt.Store, context: _Any, trap: _Any,
        func: _wt.Func, name: str, signature: str, slots: int,
    ) -> None:
        found = _signature(func, store)
        if found != signature:
            raise {{ class }}Error(f"{{ wasm_file }}: export {name!r} has type {found}, expected {signature}")
        self.func = func  # the call refers to func._func: keep it alive with this object
        self.buffer = bytearray(16 * max(slots, 1))
        # Every argument is a prebuilt parameter object (byref() for the pointers,
        # from_param() for the length), which ctypes passes as it is. A c_void_p or
        # c_size_t instance would instead be converted into a new one on every call
        # (about 80 ns a call for the pointers, 30 ns for the length). They are kept as
        # one tuple: a star call hands it to ctypes as it is, where functools.partial
        # would build a new one per call (about 20 ns).
        self.args = (
            context,
            _ctypes.byref(func._func),
            _ctypes.byref((_ctypes.c_char * len(self.buffer)).from_buffer(self.buffer)),
            _ctypes.c_size_t.from_param(slots),
            trap,
        )

    def view(self, fmt: _Any) -> memoryview[_Any]:
        view: memoryview[_Any] = memoryview(self.buffer).cast(fmt)
        return view


# Where each core type sits in a 16-byte slot, for the generic invoker: a view format, the
# index step per slot, and a mask that folds signed and unsigned Python ints into range.
_CORE = {"i32": ("I", 4, _M32), "i64": ("Q", 2, _M64), "f32": ("f", 4, 0), "f64": ("d", 2, 0)}
_CORE_RESULT = {"i32": ("i", 4), "i64": ("q", 2), "f32": ("f", 4), "f64": ("d", 2)}


def _invoker(raw: _Raw, trap: memoryview, params: tuple[str, ...], results: tuple[str, ...]) -> _Callable[..., _Any]:
    """A callable with the public API's contract (signed results, wasmtime exceptions)
    that takes the fast path. Used for the memory protocol and for functions with several
    results; the others get specialised method bodies instead."""
    call, args = _RAW_CALL, raw.args
    # The memory protocol's two shapes, called on every arena transfer, get their own.
    if not params and not results:

        def invoke_nothing() -> None:
            error = call(*args)
            if error or trap[0]:
                raise _wt.Trap(_raw_message(error, trap))

        return invoke_nothing
    if params == ("i32",) and results == ("i32",):
        view_in, view_out = raw.view("I"), raw.view("i")

        def invoke_i32(value: int) -> int:
            view_in[0] = value & _M32
            error = call(*args)
            if error or trap[0]:
                raise _wt.Trap(_raw_message(error, trap))
            result: int = view_out[0]
            return result

        return invoke_i32
    slots = [(raw.view(_CORE[t][0]), k * _CORE[t][1], _CORE[t][2]) for k, t in enumerate(params)]
    outs = [(raw.view(_CORE_RESULT[t][0]), k * _CORE_RESULT[t][1]) for k, t in enumerate(results)]

    def invoke(*values: _Any) -> _Any:
        for (view, index, mask), value in zip(slots, values):
            view[index] = value & mask if mask else value
        error = call(*args)
        if error or trap[0]:
            raise _wt.Trap(_raw_message(error, trap))
        if len(outs) == 1:
            return outs[0][0][outs[0][1]]
        if not outs:
            return None
        return [view[index] for view, index in outs]

    return invoke
# The per-thread tuples of the specialised bodies, copied onto the thread-local object
# (with the state in front for the bodies that use the arena).
_FAST_CALLS: tuple[str, ...] = ({% for f in functions %}{% if f.fast_views.is_some() && !f.fast_arena %}"x_{{ f.name }}", {% endif %}{% endfor %})
_FAST_ARENA_CALLS: tuple[str, ...] = ({% for f in functions %}{% if f.fast_arena %}"x_{{ f.name }}", {% endif %}{% endfor %})
{%- if uses_arena %}
_PAIR = _struct.Struct("<II")
{%- endif %}


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
        self.memory_bytes = -1
        self.memory_view = memoryview(b"")
{%- endif %}
        if _FAST:
            context = _ctypes.byref(store._context().contents)
            self.trap = bytearray(8)
            trap_address = _ctypes.byref((_ctypes.c_char * 8).from_buffer(self.trap))
            trap = memoryview(self.trap).cast("Q")

            # The raw calls refer to these objects by address: they live as long as the state.
            self.raws: list[_Raw] = []

            def raw(name: str, signature: str, slots: int) -> _Raw:
                made = _Raw(store, context, trap_address, _export(exports, name), name, signature, slots)
                self.raws.append(made)
                return made
{%- if uses_arena %}
            self.alloc = _invoker(raw("bump_alloc", "(i32) -> (i32)", 1), trap, ("i32",), ("i32",))
            self.reset = _invoker(raw("bump_reset", "() -> ()", 0), trap, (), ())
            memory_ref = _ctypes.byref(memory._memory)
            self.memory_base = _functools.partial(_RAW_MEMORY_DATA, context, memory_ref)
            self.memory_size = _functools.partial(_RAW_MEMORY_SIZE, context, memory_ref)
{%- endif %}
{%- for f in functions %}
            raw_{{ f.name }} = raw({{ f.export_literal }}, "{{ f.core_sig }}", {{ f.slots }})
{%- if let Some(views) = f.fast_views %}
            self.x_{{ f.name }} = (raw_{{ f.name }}.args, trap{% for v in views %}, raw_{{ f.name }}.view("{{ v }}"){% endfor %})
{%- else %}
            # No specialised body (several results): the base class's body calls this.
            self.f_{{ f.name }} = _invoker(raw_{{ f.name }}, trap, ({% for t in f.core_params %}"{{ t }}", {% endfor %}), ({% for t in f.core_results %}"{{ t }}", {% endfor %}))
{%- endif %}
{%- endfor %}
        else:
{%- if uses_arena %}
            self.alloc = _functools.partial(_export(exports, "bump_alloc"), store)
            self.reset = _functools.partial(_export(exports, "bump_reset"), store)
            self.memory_base = _functools.partial(self._public_memory_base, memory, store)
            self.memory_size = _functools.partial(memory.data_len, store)
{%- endif %}
{%- for f in functions %}
            self.f_{{ f.name }} = _functools.partial(_export(exports, {{ f.export_literal }}), store)
{%- endfor %}
{%- if uses_arena %}

    @staticmethod
    def _public_memory_base(memory: _wt.Memory, store: _wt.Store) -> int:
        return _ctypes.cast(memory.data_ptr(store), _ctypes.c_void_p).value or 0

    def _memory(self) -> memoryview[int]:
        """A byte view of the whole guest memory, made again only when the memory grew
        (growing is the only thing that can move or resize it)."""
        size: int = self.memory_size()
        if size != self.memory_bytes:
            base: int = self.memory_base()
            self.memory_view = memoryview((_ctypes.c_char * size).from_address(base)).cast("B")
            self.memory_bytes = size
        return self.memory_view

    def _outside(self, function: str, memory: memoryview[int], ptr: int, size: int) -> _NoReturn:
        raise {{ class }}Error(
            f"{function}: the guest returned {size} bytes at {ptr:#x}, outside its {len(memory)}-byte memory"
        )

    def put_bytes(self, function: str, data: _Any) -> tuple[int, int]:
        """Copies a bytes-like object into the arena, once; returns (ptr, len)."""
        if not isinstance(data, bytes):
            if isinstance(data, str):
                raise TypeError(f"{function}: expected a bytes-like object, not str")
            view = memoryview(data)
            if view.format != "B" or view.ndim != 1:
                # Slice assignment below takes any 1-D byte view, even a strided one;
                # other shapes are flattened (with a copy only when not contiguous).
                view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
            data = view
        size = len(data)
        if size > _M32:
            raise MemoryError(f"{function}: {size} bytes do not fit in a 32-bit guest memory")
        ptr: int = self.alloc(size) & _M32
        if ptr == 0 and size:
            raise MemoryError(f"{function}: the guest arena cannot hold {size} more bytes")
        # Looked up after the allocation: growing the memory is what can move it.
        memory = self._memory()
        if ptr + size > len(memory):
            self._outside(function, memory, ptr, size)
        memory[ptr : ptr + size] = data
        return ptr, size

    def put_str(self, function: str, text: str) -> tuple[int, int]:
        if not isinstance(text, str):
            raise TypeError(f"{function}: expected str, not {type(text).__name__}")
        return self.put_bytes(function, text.encode("utf-8"))

    def put_list(self, function: str, items: _Any, code: str) -> tuple[int, int]:
        """Packs a sequence of numbers as a C array; returns (ptr, count)."""
        data = _array(code, items)
        ptr, _ = self.put_bytes(function, memoryview(data).cast("B"))
        return ptr, len(data)

    def get_pair(self, function: str, result: int, itemsize: int) -> tuple[memoryview[int], int, int]:
        """The guest memory and the [start, end) of the data a result's {ptr, len} pair
        points to, both bounds-checked."""
        result &= _M32
        if result == 0:
            raise {{ class }}InputError(function)
        memory = self._memory()
        if result + 8 > len(memory):
            self._outside(function, memory, result, 8)
        ptr, length = _PAIR.unpack_from(memory, result)
        end = ptr + length * itemsize
        if end > len(memory):
            self._outside(function, memory, ptr, length * itemsize)
        return memory, ptr, end

    def get_bytes(self, function: str, result: int) -> bytes:
        memory, start, end = self.get_pair(function, result, 1)
        return memory[start:end].tobytes()

    def get_str(self, function: str, result: int) -> str:
        try:
            return self.get_bytes(function, result).decode("utf-8")
        except UnicodeDecodeError as error:
            raise {{ class }}Error(f"{function}: the guest returned invalid UTF-8: {error}") from None

    def get_list(self, function: str, result: int, code: str) -> list[_Any]:
        data = _array(code)
        memory, start, end = self.get_pair(function, result, data.itemsize)
        data.frombytes(memory[start:end])
        return data.tolist()
{%- endif %}


# Every instance, so that their stores can be freed at exit while wasmtime-py can still do
# it (thread-local state outlives module teardown otherwise).
_INSTANCES: _weakref.WeakSet[_{{ class }}Wasm] = _weakref.WeakSet()


@_atexit.register
def _close() -> None:
    global _compiled
    for instance in list(_INSTANCES):
        instance._local = _threading.local()
    _compiled = None


class _{{ class }}Wasm({{ class }}):
    """{{ class }} on wasmtime-py's public API."""

    __slots__ = ("__weakref__", "_local")
    backend = "wasm"
    _local: _threading.local

    @classmethod
    def _create(cls) -> _{{ class }}Wasm:
        self = object.__new__(_{{ class }}WasmFast if _FAST else _{{ class }}Wasm)
        self._local = _threading.local()
        self._state()  # instantiate now, so that a broken module fails at construction
        _INSTANCES.add(self)
        return self

    def _state(self) -> _State:
        try:
            state: _State = self._local.state
        except AttributeError:
            state = _State()
            if _FAST:
                for name in _FAST_CALLS:
                    setattr(self._local, name, getattr(state, name))
                for name in _FAST_ARENA_CALLS:
                    setattr(self._local, name, (state, *getattr(state, name)))
            self._local.state = state
        return state
{% for f in functions %}
    def {{ f.name }}(self{{ f.params_sig }}) -> {{ f.ret }}:
{%- for line in f.body %}
        {{ line }}
{%- endfor %}
{% endfor %}

class _{{ class }}WasmFast(_{{ class }}Wasm):
    """{{ class }} on the fast path: every function with at most one result gets a
    specialised body."""

    __slots__ = ()
{% for f in functions %}
{%- if let Some(body) = f.fast_body %}
    def {{ f.name }}(self{{ f.params_sig }}) -> {{ f.ret }}:
{%- for line in body %}
        {{ line }}
{%- endfor %}
{% endif %}
{%- endfor -%}
