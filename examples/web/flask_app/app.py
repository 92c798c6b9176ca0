"""The seed article's Flask + native extension app, on the wasm2py-generated ``cfib`` package.

The article loaded ``libfibonacci.so`` with ``ctypes.CDLL`` and set ``argtypes``/``restype``
by hand; here ``cfib.Cfib(backend="native", library=...)`` does that (with range checks on
the argument). The library is ``$CFIB_LIBRARY``, else ``guests/out/libcfib.so`` in the
checkout (built by ``scripts/build-guests.sh``), loaded once at import. The instance is
shared by the server's threads (ctypes releases the GIL during the call, and the generated
native backend keeps its arena per thread).

Run from a checkout (see examples/web/README.md):

    cd examples/web/flask_app && ../../../.venv/bin/python -m flask --app app run --port 8002
"""

from __future__ import annotations

import os
import sys

from flask import Flask, Response, jsonify

# Run from a checkout without installing: the generated package lives in generated/cfib.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_CFIB_DIR = os.path.join(ROOT, "generated", "cfib")
if _CFIB_DIR not in sys.path:
    sys.path.insert(0, _CFIB_DIR)

import cfib

MAX_N = 45  # naive recursion: keep each request short
LIB_PATH = os.environ.get("CFIB_LIBRARY") or os.path.join(ROOT, "guests", "out", "libcfib.so")

app = Flask(__name__)

lib: cfib.Cfib | None
try:
    lib = cfib.Cfib(backend="native", library=LIB_PATH)
except (OSError, ImportError) as e:  # ctypes cannot load it; an export is missing
    lib = None
    app.logger.error("Failed to load native library %s: %s", LIB_PATH, e)


@app.route("/")
def hello_world() -> Response:
    return jsonify({"message": "Flask with Native Extension"})


# `signed=True`: a negative n reaches the view and gets the article's 400 (not a 404).
@app.route("/fibonacci_native/<int(signed=True):n>")
def fibonacci_native_route(n: int) -> Response | tuple[Response, int]:
    """The n-th Fibonacci number, computed by the C library through ctypes."""
    if lib is None:
        return jsonify({"error": "Native library not loaded."}), 500
    if n < 0:
        return jsonify({"error": "Input must be non-negative."}), 400
    if n > MAX_N:
        return jsonify({"error": "Input too large for demo purposes."}), 400
    try:
        result = lib.fibonacci_c(n)
    except (cfib.CfibError, OverflowError, MemoryError) as e:  # what the bindings raise
        return jsonify({"error": f"Error executing native function: {e}"}), 500
    return jsonify({"n": n, "result_from_native": result})


if __name__ == "__main__":
    # No debug mode (its reloader and debugger are not for a server); threaded, local only.
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8002")), threaded=True)
