{{ header }}
"""The wasmtime-py backend of {{ package }}: the module's tables and the method bodies.

What every package shares (compile cache, stores, WASI, host imports, the arena protocol)
is the runtime, ``_runtime.py``. Calls take its fast path when wasmtime-py's low-level
bindings look as expected (``FAST_PATH``); ``WASM2PY_FAST_PATH=0`` forces the public API.
"""

from __future__ import annotations

import os as _os
{%- if uses_array %}
from array import array as _array
{%- endif %}
from collections.abc import Callable as _Callable
{%- if uses_iterable %}
from collections.abc import Iterable as _Iterable
{%- endif %}
from collections.abc import Mapping as _Mapping
from typing import Any as _Any

import wasmtime as _wasmtime

from . import {{ class }}
from . import _runtime as _rt
from ._errors import (
    {{ class }}Error,
    {{ class }}Exit,
    {{ class }}InputError,
    {{ class }}Timeout,
    {{ class }}Trap,
{%- if uses_index %}
    _index_arg,
{%- endif %}
{%- if uses_real %}
    _real_arg,
{%- endif %}
)

FAST_PATH: bool = _rt.FAST
"""True when calls take the fast path (see ``_runtime.py``)."""

_TRAPS = (_wasmtime.Trap, _wasmtime.WasmtimeError)
_RAW_CALL = _rt.RAW_CALL
{%- if inline_arena %}
_ZEROS = _rt.ZEROS
{%- endif %}
_RUNTIME = _rt.Runtime(
    _rt.Spec(
        package="{{ package }}",
        wasm_path=_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "{{ wasm_file }}"),
        sha256="{{ sha256 }}",
        exports=(
{%- for f in functions %}
            {{ f.export_spec }},
{%- endfor %}
        ),
        imports=(
{%- for i in imports %}
            {{ i }},
{%- endfor %}
        ),
        wasi={{ wasi }},
        initialize={{ initialize }},
        arena={{ arena }},
        errors={{ errors }},
        arena_record={{ arena_record }},
        error={{ class }}Error,
        trap={{ class }}Trap,
        input_error={{ class }}InputError,
        exit={{ class }}Exit,
        timeout={{ class }}Timeout,
    )
)


class _{{ class }}Wasm({{ class }}, _rt.Instance):
    """{{ class }} on wasmtime-py's public API."""

    __slots__ = ()
    backend = "wasm"
    _RUNTIME = _RUNTIME

    @classmethod
    def _create(
        cls,
        imports: _Mapping[str, _Callable[..., _Any]] | None = None,
        wasi: _rt.Wasi | None = None,
        timeout: float | None = None,
        max_memory: int | None = None,
    ) -> _{{ class }}Wasm:
        self = object.__new__(_{{ class }}WasmFast if FAST_PATH else _{{ class }}Wasm)
        self._init_runtime(imports, wasi, timeout, max_memory)
        return self

    def __copy__(self) -> _{{ class }}Wasm:
        """A new instance with this one's settings (``imports``, ``wasi``, ``timeout``,
        ``max_memory``, shared); its guests start fresh, as a new thread's do."""
        return self._create(self._imports, self._wasi, self._timeout, self._max_memory)
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
{%- endfor %}

