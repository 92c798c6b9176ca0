"""Views of the seed article's Django app, on the wasm2py-generated ``cfib`` package.

The article loaded ``libfibonacci.so`` with ``ctypes.CDLL`` and set ``argtypes``/``restype``
by hand; here ``cfib.Cfib(backend="native", library=...)`` does that (with range checks on
the argument). The library is ``$CFIB_LIBRARY``, else ``guests/out/libcfib.so`` in the
checkout (built by ``scripts/build-guests.sh``). It is loaded once, when the URLconf is
imported; the instance is shared by runserver's threads (ctypes releases the GIL during
the call, and the generated native backend keeps its arena per thread).
"""

from __future__ import annotations

import logging
import os
import sys

from django.http import HttpRequest, JsonResponse

# Run from a checkout without installing: the generated package lives in generated/cfib.
ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
)
_CFIB_DIR = os.path.join(ROOT, "generated", "cfib")
if _CFIB_DIR not in sys.path:
    sys.path.insert(0, _CFIB_DIR)

import cfib

MAX_N = 45  # naive recursion: keep each request short
LIB_PATH = os.environ.get("CFIB_LIBRARY") or os.path.join(ROOT, "guests", "out", "libcfib.so")

logger = logging.getLogger(__name__)

lib: cfib.Cfib | None
try:
    lib = cfib.Cfib(backend="native", library=LIB_PATH)
except (OSError, ImportError) as e:  # ctypes cannot load it; an export is missing
    lib = None
    logger.error("Failed to load native library %s: %s", LIB_PATH, e)


def home_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Django with Native Extension"})


def fibonacci_native_view(request: HttpRequest, n: int) -> JsonResponse:
    """The n-th Fibonacci number, computed by the C library through ctypes."""
    if lib is None:
        return JsonResponse({"error": "Native library not loaded."}, status=500)
    if n < 0:
        return JsonResponse({"error": "Input must be non-negative."}, status=400)
    if n > MAX_N:
        return JsonResponse({"error": "Input too large for demo purposes."}, status=400)
    try:
        result = lib.fibonacci_c(n)
    except (cfib.CfibError, OverflowError, MemoryError) as e:  # what the bindings raise
        return JsonResponse({"error": f"Error executing native function: {e}"}, status=500)
    return JsonResponse({"n": n, "result_from_native": result})
