"""Store writes that an interruption cannot cut short: over, landed or failed, before it goes on.

SIGTERM (a cancel, or the worker giving the job up when its broker link is
lost) and the soft time limit raise in the pool process's main thread,
wherever that thread waits. Raised inside boto3, the exception would leave
the request behind: still running on s3transfer's threads, or its bytes in
the kernel, waiting for a link to come back. The attempt would then delete
its objects (pipeline.py) and the request land afterwards: an object that no
manifest names, under a job that is long ready. So a write from the main
thread runs on a thread of its own, and an interrupted caller still waits
for it before the exception goes on; the client's connect and read timeouts,
and its retries, bound that wait. tests/test_objectstore.py holds a write
on the wire while SIGTERM's SystemExit arrives.

Other threads (the ladder publisher, the upload pool) are never interrupted
this way, and are joined by whoever started them.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import TypeVar

T = TypeVar("T")


def call_to_the_end(call: Callable[[], T]) -> T:
    """`call()`; if this thread is interrupted meanwhile, the call still ends first."""
    if threading.current_thread() is not threading.main_thread():
        return call()
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to the caller, whatever it is
            future.set_exception(exc)

    # In a copy of this context, so the request's span and log fields are the job's.
    runner = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name="store-write", daemon=True
    )
    runner.start()
    try:
        return future.result()
    except BaseException:
        # The call's own failure (the future is done), or an interruption of
        # this wait: then the request is still out, and is waited for.
        while not future.done():
            # A second signal during the wait: the first exception goes on.
            with contextlib.suppress(BaseException):
                wait([future])
        raise
