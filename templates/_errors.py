{{ header }}
"""Exceptions raised by the {{ package }} package."""

from __future__ import annotations

import operator as _operator
from typing import Any as _Any

__all__ = ["{{ class }}Error", "{{ class }}Exit", "{{ class }}InputError", "{{ class }}Timeout", "{{ class }}Trap"]


class {{ class }}Error(Exception):
    """Base class of the errors this package raises on purpose."""


class {{ class }}Trap({{ class }}Error):
    """The guest trapped (e.g. ``unreachable``, division by zero, stack overflow).

    The arena was reset and the instance can be called again.
    """

    def __init__(self, function: str, message: str) -> None:
        super().__init__(f"{function}: wasm trap: {message}")
        self.function = function
        self.message = message


class {{ class }}Exit({{ class }}Trap):
    """The guest called WASI's ``proc_exit`` (e.g. ``std::process::exit``, C's ``exit``),
    also with code 0. ``code`` is the exit status. The thread's next call gets a fresh
    instance (the exited one's globals are gone)."""

    def __init__(self, function: str, code: int) -> None:
        super().__init__(function, f"the guest exited with code {code}")
        self.code = code


class {{ class }}Timeout({{ class }}Trap):
    """A call ran longer than the instance's ``timeout`` and was stopped (within a few
    milliseconds of it). The arena was reset and the instance can be called again."""

    def __init__(self, function: str, seconds: float) -> None:
        super().__init__(function, f"the call ran past its {seconds:g} s timeout")
        self.seconds = seconds


class {{ class }}InputError({{ class }}Error, ValueError):
    """The guest refused the input. ``message`` is the guest's own text when it gave one
    (a function annotated ``raises``: ``Err(...)`` in Rust, ``w2p_fail`` in C); else it is
    None and the guest returned a null result pointer, which it also does when its arena
    has no room for the result, unless its error record says so (then ``MemoryError``;
    see docs/guest-protocol.md of wasm2py)."""

    def __init__(self, function: str, message: str | None = None) -> None:
        if message is None:
            super().__init__(
                f"{function}: the guest refused the input (it returned a null result; "
                "a guest also does that when its arena has no room for the result)"
            )
        else:
            super().__init__(f"{function}: {message}")
        self.function = function
        self.message = message


def _index_arg(function: str, name: str, value: _Any) -> int:
    """An integer argument: anything with ``__index__`` (int, bool, numpy integers)."""
    try:
        return _operator.index(value)
    except TypeError:
        raise TypeError(f"{function}(): {name} must be an int, not {type(value).__name__}") from None


def _real_arg(function: str, name: str, value: _Any) -> float:
    """A float argument: any real number (``__float__`` or ``__index__``), never text."""
    if not isinstance(value, (str, bytes, bytearray)):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{function}(): {name} must be a real number, not {type(value).__name__}")
