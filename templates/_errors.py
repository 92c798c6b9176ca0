{{ header }}
"""Exceptions raised by the {{ package }} package."""

from __future__ import annotations

__all__ = ["{{ class }}Error", "{{ class }}InputError", "{{ class }}Trap"]


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


class {{ class }}InputError({{ class }}Error, ValueError):
    """The guest refused the input: it returned a null result pointer."""

    def __init__(self, function: str) -> None:
        super().__init__(f"{function}: the guest refused the input (it returned a null result)")
        self.function = function
