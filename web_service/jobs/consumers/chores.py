"""The collector's housekeeping: three chores, each on its own interval.

kombu's ConsumerMixin calls the collector's `on_iteration` after each
message, and about once a second when none comes; `Chores.run_due` runs
there each chore whose time has come:

- `outbox_relay` sends the jobs the web could not send (services/dispatch.py):
  when the broker is reachable for the collector, it is for them too;
- `uploads_sweep` aborts the multipart uploads of web processes that died,
  and forgets their rows: the collector is the web service's one
  long-running process besides gunicorn;
- `jobs_reap_if_drained` re-sends lost jobs and fails stalled ones
  (services/reaper.py), but only once the reply queue is read.

A chore that raises one of the errors it `survives` is logged and waits for
its next turn, and the others still run. Anything else leaves the loop: a
broker error reaches kombu, which reconnects; a bug stops the collector.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from core import metrics, objectstore
from ingest.services.direct_uploads import direct_uploads_forget_abandoned
from jobs.selectors import jobs_pending_count
from jobs.services.dispatch import jobs_dispatch_pending
from jobs.services.reaper import jobs_reap

logger = logging.getLogger(__name__)

# Listing multipart uploads is a request to the store: far less often than
# the outbox relay, yet often against UPLOAD_ABANDONED_AFTER.
SWEEP_INTERVAL = 60.0


@dataclass(frozen=True)
class Chore:
    """`run`, every `interval` seconds; the errors in `survives` skip one turn."""

    name: str
    interval: float
    run: Callable[[], None]
    survives: tuple[type[Exception], ...] = ()


class Chores:
    """Runs each chore whose time has come, each on its own interval."""

    def __init__(self, *chores: Chore) -> None:
        self.chores = chores
        self._due = [-math.inf] * len(chores)  # each runs at the first call

    def run_due(self, *, now: float) -> None:
        """Run, in order, the chores due at `now` (a `time.monotonic()` reading)."""
        for index, chore in enumerate(self.chores):
            if now < self._due[index]:
                continue
            # Set before it runs: a chore that fails waits its interval too,
            # rather than retrying at every message.
            self._due[index] = now + chore.interval
            try:
                chore.run()
            except chore.survives as exc:
                logger.warning(
                    "%s skipped until its next turn: %s: %s", chore.name, type(exc).__name__, exc
                )


def collector_chores(*, relay_interval: float, replies_channel: Callable[[], Any]) -> Chores:
    """The collector's three chores; `replies_channel` returns the channel it consumes, if any."""
    return Chores(
        Chore(
            name="outbox_relay",
            interval=relay_interval,
            run=outbox_relay,
            survives=(DatabaseError,),
        ),
        Chore(
            name="uploads_sweep",
            interval=SWEEP_INTERVAL,
            run=uploads_sweep,
            # OSError too: kombu's loop would take one for a lost broker
            # connection and reconnect, whatever the store's client let through.
            survives=(objectstore.ObjectStoreError, DatabaseError, OSError),
        ),
        # As often as the relay: a few indexed queries and one passive
        # declare, and a lost job is noticed soon after its deadline.
        Chore(
            name="jobs_reap",
            interval=relay_interval,
            run=lambda: jobs_reap_if_drained(channel=replies_channel()),
            survives=(DatabaseError,),
        ),
    )


def outbox_relay() -> None:
    """Send the jobs left in the outbox, and report how many still wait."""
    close_old_connections()
    sent = jobs_dispatch_pending()
    metrics.outbox_pending.set(jobs_pending_count())
    if sent:
        logger.info("outbox relay sent %d job(s)", sent)


def uploads_sweep() -> None:
    """Abort the multipart uploads older than UPLOAD_ABANDONED_AFTER, then forget their rows."""
    older_than = timedelta(seconds=settings.UPLOAD_ABANDONED_AFTER)
    aborted = objectstore.multipart_uploads_abort_abandoned(older_than=older_than)
    # The rows of direct uploads whose parts just went: a client could only
    # get errors from them.
    direct_uploads_forget_abandoned(older_than=older_than, aborted_keys=aborted)


def jobs_reap_if_drained(*, channel: Any) -> None:
    """Reap stuck jobs, once no reply waits in the queue `channel` consumes.

    A state still waiting there (say, after the collector was down for an
    hour) would make a live job look stuck. Nothing happens before the first
    connection (`channel` None); a broker error from the passive declare
    goes to kombu's loop, which reconnects.
    """
    if channel is None:
        return
    _, waiting, _ = channel.queue_declare(queue=settings.RESULTS_QUEUE, passive=True)
    if waiting:
        return
    close_old_connections()
    report = jobs_reap(
        resend_after=timedelta(seconds=settings.JOB_RESEND_AFTER),
        stalled_after=timedelta(seconds=settings.JOB_STALLED_AFTER),
        resend_limit=settings.JOB_RESEND_LIMIT,
    )
    for action in metrics.REAPER_ACTIONS:
        metrics.reaper_actions.labels(action=action).inc(getattr(report, action))
    # Both make the job failed (services/reaper.py).
    metrics.jobs_finished.labels(status="failed").inc(report.given_up + report.stalled)
    if report.resent or report.given_up or report.stalled:
        logger.warning("reaper: %s", report)
