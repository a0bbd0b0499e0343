"""Store writes that an interruption cannot cut short: over, landed or failed, before it goes on.

SIGTERM (a cancel, or the worker giving the job up when its broker link is
lost) and the soft time limit raise in the pool process's main thread,
wherever that thread waits. Raised inside boto3, or inside the wait for a
thread that uploads, the exception would leave a request behind: still
running on another thread, or its bytes in the kernel, waiting for a link
to come back. The attempt would then delete its objects (pipeline.py) and
the request land afterwards: an object that no manifest names, under a job
that is long ready. So the main thread's writes run on a thread of their
own, and an interrupted wait for such a thread still waits for its end
before the exception goes on; the store client's connect and read timeouts,
and its retries, bound that wait. tests/test_objectstore.py and
tests/test_live.py hold a write on the wire while SIGTERM's SystemExit arrives.

The waits are on a Future, not `Thread.join`: CPython 3.11's join, once
interrupted, takes the thread for ended while it still runs.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def thread_started(call: Callable[[], T], *, name: str) -> Future[T]:
    """Run `call` on a new daemon thread, in a copy of this context; the future ends with it."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # the caller decides what it means
            future.set_exception(exc)

    # The copy carries the job's log fields and trace into the thread.
    threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name=name, daemon=True
    ).start()
    return future


def future_wait_to_the_end(future: Future[T]) -> None:
    """Wait until `future` is done; an exception raised in this thread meanwhile goes on after."""
    interrupted: BaseException | None = None
    while not future.done():
        try:
            future.exception()  # waits; the call's own failure is returned, not raised
        except BaseException as exc:  # SystemExit, a time limit: kept for after
            interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def call_to_the_end(call: Callable[[], T]) -> T:
    """`call()`; if this thread is interrupted meanwhile, the call still ends first."""
    if threading.current_thread() is not threading.main_thread():
        return call()  # only the main thread gets signals' exceptions
    future = thread_started(call, name="store-write")
    future_wait_to_the_end(future)
    return future.result()
