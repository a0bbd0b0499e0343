"""Rate-limited, never-backwards progress reporting.

Every PROGRESS state is a message on the caller's reply queue and, on the
web side, most likely a database write. The contract promises at most one
per PROGRESS_INTERVAL within a stage, so all progress goes through one
`ProgressReporter` per job, which drops updates that come too soon. A new
stage is sent at once: there are five, and one dropped could leave the page
(and an operator) on the old stage until the next update, seconds later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class ProgressCallback(Protocol):
    """Receives a job's progress: `percent` of the whole job, and its stage."""

    def __call__(self, *, stage: str, percent: int) -> None: ...


class ProgressReporter:
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

    def report(self, *, stage: str, percent: int) -> None:
        """Forward the update unless it repeats the last one or comes too soon in its stage.

        A dropped update is simply lost: the next one (or the final SUCCESS)
        supersedes it, so there is nothing to catch up on.
        """
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
        self._last, self._last_at = (stage, percent), now
        self._emit(stage=stage, percent=percent)
