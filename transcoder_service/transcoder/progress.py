"""Rate-limited, never-backwards progress reporting.

Every PROGRESS state is a message on the caller's reply queue and, on the
web side, most likely a database write. The contract promises at most one
per PROGRESS_INTERVAL within a stage, so all progress goes through one
`ProgressReporter` per job, which drops updates that come too soon. A new
stage is sent at once: there are five, and one dropped could leave the page
(and an operator) on the old stage until the next update, seconds later.

Once the attempt's ladder is playable (live.py), every report also carries
its `preview` (docs/messages.md, "Results and states"); the first one that
does is sent at once, whatever the interval: it is what lets the page play.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class ProgressCallback(Protocol):
    """Receives a job's progress: `percent` of the whole job, and its stage.

    `preview` is passed only once the attempt is playable, as the field is
    on the wire, so a callback for jobs without the ladder may ignore it.
    """

    def __call__(self, *, stage: str, percent: int, preview: dict[str, Any] = ...) -> None: ...


class ProgressReporter:
    """Thread-safe: the ladder's publisher (live.py) sets the preview from its own thread."""

    def __init__(
        self,
        *,
        emit: ProgressCallback,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._last: tuple[str, int] | None = None
        self._last_at = float("-inf")
        self._preview: dict[str, Any] | None = None
        # Held while a report is sent too, so two threads never publish at once
        # and the reports leave in the order they were decided.
        self._lock = threading.Lock()

    def report(self, *, stage: str, percent: int) -> None:
        """Forward the update unless it repeats the last one or comes too soon in its stage.

        A dropped update is simply lost: the next one (or the final SUCCESS)
        supersedes it, so there is nothing to catch up on.
        """
        with self._lock:
            if self._last is not None:
                # Stages run one after another and the percentage covers the
                # whole job, so a lower number can only be noise.
                percent = max(percent, self._last[1])
            percent = max(0, min(percent, 100))
            if (stage, percent) == self._last:
                return
            now = self._clock()
            same_stage = self._last is not None and self._last[0] == stage
            if same_stage and now - self._last_at < self._interval:
                return
            self._send(stage=stage, percent=percent, now=now)

    def preview_set(self, preview: dict[str, Any]) -> None:
        """Carry `preview` in every report from now on; the first one is reported at once."""
        with self._lock:
            first = self._preview is None
            self._preview = dict(preview)
            if first and self._last is not None:
                stage, percent = self._last
                self._send(stage=stage, percent=percent, now=self._clock())

    def _send(self, *, stage: str, percent: int, now: float) -> None:
        self._last, self._last_at = (stage, percent), now
        if self._preview is None:
            self._emit(stage=stage, percent=percent)
        else:
            self._emit(stage=stage, percent=percent, preview=dict(self._preview))
