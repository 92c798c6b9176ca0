"""The seed article's FastAPI + WebAssembly app, on the wasm2py-generated ``fib`` package.

The article loaded ``wasm_rust_module.wasm`` by hand with wasmtime (a global ``Store``, an
``Instance``, ``exports["fibonacci_wasm"]``) in a deprecated ``@app.on_event("startup")``
hook. Here the generated ``fib.Fib()`` does all of that (the module ships inside the
package) and is created once in the lifespan handler. Routes, JSON shapes and validation are
the article's.

Run from a checkout (see examples/web/README.md):

    cd examples/web/fastapi_app && ../../../.venv/bin/python -m uvicorn main:app --port 8000
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request

# Run from a checkout without installing: the generated package lives in generated/fib.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_FIB_DIR = os.path.join(ROOT, "generated", "fib")
if _FIB_DIR not in sys.path:
    sys.path.insert(0, _FIB_DIR)

import fib

MAX_N = 40  # naive recursion: keep each request short


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the wasm instance once, at startup (compiles the module once per process)."""
    instance = fib.Fib(backend="wasm")
    instance.fibonacci(1)  # fail at startup, not on the first request, if wasm cannot run
    app.state.fib = instance
    yield
    app.state.fib = None


app = FastAPI(title="FastAPI Wasm Integration Demo", lifespan=lifespan)


@app.get("/")
async def read_root() -> dict[str, str]:
    return {"message": "FastAPI with WebAssembly"}


# A plain `def`: FastAPI runs it in its worker thread pool, so a long guest call does not
# block the event loop. `fib.Fib` is thread-safe (each thread gets its own wasm store).
@app.get("/fibonacci_wasm/{n}")
def get_fibonacci_wasm(n: int, request: Request) -> dict[str, int]:
    """The n-th Fibonacci number, computed by the Rust guest on wasmtime."""
    instance = getattr(request.app.state, "fib", None)
    if instance is None:
        raise HTTPException(status_code=500, detail="Wasm module not loaded.")
    if n < 0:
        raise HTTPException(status_code=400, detail="Input must be non-negative.")
    if n > MAX_N:
        raise HTTPException(status_code=400, detail="Input too large for demo purposes.")
    try:
        result = instance.fibonacci(n)
    except (fib.FibError, OverflowError, MemoryError) as e:  # a trap, ...: report it (500)
        raise HTTPException(status_code=500, detail=f"Error executing Wasm function: {e}") from e
    return {"n": n, "result_from_wasm": result}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
