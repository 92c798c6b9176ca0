"""Many threads calling one shared instance (and the module-level functions) at once.

On wasm each thread gets its own store and instance; on native each thread has its own
guest arena. Either way every result must be right: a call must never see another
thread's arena or store.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable

THREADS = 8
ROUNDS = 300  # x 4 calls per round and thread


def run_together(work: Callable[[int], None]) -> None:
    """Runs work(index) on THREADS threads started at the same moment; re-raises the
    first failure."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(index)
        except BaseException as error:  # noqa: BLE001 (reported to the main thread)
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]


def mixed_calls(fib, textkit, index: int) -> None:
    for i in range(ROUNDS):
        a, b = 2**31 + 977 * index + i, 3 * (index + 1) * (i + 1)
        assert fib.gcd(a, b) == math.gcd(a, b)
        data = f"thread {index} round {i}".encode() * (index + 1)
        assert textkit.sha256(data) == hashlib.sha256(data).digest()
        text = f"straße {index}-{i} ǆ"
        assert textkit.upper(text) == text.upper()
        xs = [float(index), float(i), -1.5 * index]
        assert textkit.scale(xs, i + 0.5) == [x * (i + 0.5) for x in xs]


def test_eight_threads_share_one_instance(backend):
    fib, textkit = backend("fib"), backend("textkit")
    run_together(lambda index: mixed_calls(fib, textkit, index))


def test_eight_threads_share_one_instance_of_each_spec_module(backend):
    rust_user, c_user = backend("rust_user"), backend("c_user")

    def work(index: int) -> None:
        for i in range(ROUNDS):
            text = f"t{index} r{i} " * (index + 1)
            assert rust_user.shout(text) == text.upper() + "!"
            assert c_user.reverse_words(text) == " ".join(reversed(text.split(" ")))
            xs = list(range(index, index + i))
            assert rust_user.evens(xs) == [x for x in xs if x % 2 == 0]
            assert c_user.squares(xs) == [x * x for x in xs]

    run_together(work)


def test_eight_threads_on_the_module_level_functions(packages):
    fib, textkit = packages("fib"), packages("textkit")
    # Start with no default instance, so the threads race to create it.
    fib._default_instance = textkit._default_instance = None
    defaults: list[tuple[object, object]] = []

    def work(index: int) -> None:
        mixed_calls(fib, textkit, index)
        defaults.append((fib._default(), textkit._default()))

    run_together(work)
    # All of them used one default instance of each package, created once.
    assert len({id(pair[0]) for pair in defaults}) == 1
    assert len({id(pair[1]) for pair in defaults}) == 1
    assert defaults[0][0] is fib._default_instance
