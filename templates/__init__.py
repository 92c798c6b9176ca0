{{ header }}
"""{{ module_doc }}"""

from __future__ import annotations

import os as _os
import threading as _threading
{%- if uses_array %}
from array import array as _array
{%- endif %}
from collections.abc import Callable as _Callable
{%- if uses_iterable %}
from collections.abc import Iterable as _Iterable
{%- endif %}
from collections.abc import Mapping as _Mapping
from typing import Any as _Any
from typing import NoReturn as _NoReturn

from ._errors import (
    {{ class }}Error,
    {{ class }}Exit,
    {{ class }}InputError,
    {{ class }}Timeout,
    {{ class }}Trap,
)
from ._runtime import Wasi

__all__ = [
{%- for name in all %}
    "{{ name }}",
{%- endfor %}
]
{% if !skipped.is_empty() %}
# Exports not wrapped (their types cannot cross to Python):
{%- for s in skipped %}
#   {{ s }}
{%- endfor %}
{% endif %}
_LIBRARY_ENV = "{{ library_env }}"
# The host imports the module needs (wasm backend only).
_HOST_IMPORTS: tuple[str, ...] = ({% for i in import_keys %}"{{ i }}", {% endfor %})
_LIBRARY_NAMES = ({% for n in library_names %}"{{ n }}", {% endfor %})


def _find_library(library: str | _os.PathLike[str] | None) -> str | None:
    """The native library to load: the argument, ${{ library_env }}, or one next to the package."""
    if library is not None:
        return _os.fspath(library)
    env = _os.environ.get(_LIBRARY_ENV)
    if env:
        return env
    here = _os.path.dirname(_os.path.abspath(__file__))
    for name in _LIBRARY_NAMES:
        path = _os.path.join(here, name)
        if _os.path.exists(path):
            return path
    return None


def _require_library(library: str | _os.PathLike[str] | None) -> str:
    path = _find_library(library)
    if path is None:
        raise ImportError(
            "{{ package }}: no native library found; pass library=PATH, set "
            f"${_LIBRARY_ENV}, or put {_LIBRARY_NAMES[0]} next to {__file__}"
        )
    return path


class {{ class }}:
    """{{ class_doc }}

    ``{{ class }}()`` runs the module on wasmtime-py{% if import_keys.is_empty() %} (falling back to the native library when
    wasmtime-py is not installed){% endif %}; ``{{ class }}(backend="native", library=PATH)`` loads the
    native build of the same source through ctypes. An instance may be shared between
    threads: each thread gets its own wasm store and instance (guest globals are per thread).

    ``wasi`` (a :class:`Wasi`) grants a WASI module what it names; ``imports`` maps
    ``"module.name"`` to the Python function behind each host import; a call running longer
    than ``timeout`` seconds raises ``{{ class }}Timeout``; the guest's memory cannot grow past
    ``max_memory`` bytes. All four are wasm-only.
    """

    __slots__ = ()

    backend: str
    """``"wasm"`` or ``"native"``."""

    def __new__(  # noqa: PYI034 (returns an instance of a backend's subclass)
        cls,
        backend: str | None = None,
        library: str | _os.PathLike[str] | None = None,
        *,
        wasi: Wasi | None = None,
        imports: _Mapping[str, _Callable[..., _Any]] | None = None,
        timeout: float | None = None,
        max_memory: int | None = None,
    ) -> {{ class }}:
        if backend is None and library is not None:
            backend = "native"
        wasm_only = wasi is not None or imports is not None or timeout is not None or max_memory is not None
        if backend == "native" and wasm_only:
            raise ValueError(
                "{{ package }}: wasi=, imports=, timeout= and max_memory= apply to the wasm backend only "
                "(native code has no sandbox)"
            )
        if backend is None:
            try:
                from ._wasm import _{{ class }}Wasm
            except ImportError as wasm_missing:
                path = _find_library(None)
                if path is None or _HOST_IMPORTS or wasm_only:
                    raise ImportError(
                        "{{ package }}: no backend can load: wasmtime-py is not installed "
                        "(pip install '{{ wasmtime_requirement }}')"
                        + (
                            "; the native backend cannot serve host imports, WASI settings or limits"
                            if _HOST_IMPORTS or wasm_only
                            else f" and no native library was found (pass library=PATH, set ${_LIBRARY_ENV}, "
                            f"or put {_LIBRARY_NAMES[0]} next to the package)"
                        )
                    ) from wasm_missing
                from ._native import _{{ class }}Native

                return _{{ class }}Native._create(path)
            return _{{ class }}Wasm._create(imports, wasi, timeout, max_memory)
        if backend == "wasm":
            from ._wasm import _{{ class }}Wasm

            return _{{ class }}Wasm._create(imports, wasi, timeout, max_memory)
        if backend == "native":
            if _HOST_IMPORTS:
                raise {{ class }}Error(
                    "{{ package }}: the module needs host imports ("
                    + ", ".join(_HOST_IMPORTS)
                    + "), which only the wasm backend provides; use backend='wasm'"
                )
            from ._native import _{{ class }}Native

            return _{{ class }}Native._create(_require_library(library))
        raise ValueError(f"backend must be 'wasm', 'native' or None, not {backend!r}")

    def __init__(
        self,
        backend: str | None = None,
        library: str | _os.PathLike[str] | None = None,
        *,
        wasi: Wasi | None = None,
        imports: _Mapping[str, _Callable[..., _Any]] | None = None,
        timeout: float | None = None,
        max_memory: int | None = None,
    ) -> None:
        """Backends are set up in ``__new__``; nothing to do here."""

    def __copy__(self) -> {{ class }}:
        """A new instance on the same backend with the same settings (shared, not copied).
        Guest state is not copied: the copy's wasm instances start fresh, as a new thread's
        do; on the native backend every instance shares the library's globals anyway."""
        raise NotImplementedError

    def __deepcopy__(self, memo: dict[int, _Any]) -> {{ class }}:
        """The same as ``copy.copy()``: a new instance with the same settings."""
        return self.__copy__()

    def __reduce_ex__(self, protocol: _Any) -> _NoReturn:
        raise TypeError(
            "cannot pickle a {{ package }}.{{ class }} instance: it holds wasm instances or a loaded "
            "native library; make a new {{ class }} where it would be unpickled"
        )
{% for f in functions %}
    def {{ f.name }}(self{{ f.params_sig }}) -> {{ f.ret }}:
        """{{ f.doc }}"""
        raise NotImplementedError
{% endfor %}

_default_instance: {{ class }} | None = None
_default_lock = _threading.Lock()


def _default() -> {{ class }}:
    """The instance behind the module-level functions, created on first use."""
    global _default_instance
    instance = _default_instance
    if instance is None:
        with _default_lock:
            if _default_instance is None:
                _default_instance = {{ class }}()
            instance = _default_instance
    return instance
{% for f in functions %}

def {{ f.name }}({{ f.params_sig_free }}) -> {{ f.ret }}:
    """{{ f.doc_free }}"""
    return _default().{{ f.name }}({{ f.args }})
{% endfor -%}
