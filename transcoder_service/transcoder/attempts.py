"""Poison jobs: a job that kills its worker every time is stopped after a few tries.

With acks_late and reject_on_worker_lost, a delivery whose pool process
dies (SIGKILL, the OOM killer, a lost host) goes back to the queue, which is
right once and endless for a file that kills every process that opens it.
RabbitMQ's own delivery count needs a quorum queue, which would change the
queue's declaration in the contract; so the deliveries are counted where
every worker on every host sees them, in the object store:

    outputs/<job_id>/attempts/<attempt>.json

A delivery writes its marker before any work and deletes it however it
ends in Python: failure, retry, a time limit, SIGTERM (SystemExit); a success
deletes every marker of the job, since its earlier deaths no longer matter.
Only a delivery that died without running Python leaves its marker, so the
markers found at the start are the deaths. The delivery that finds
MAX_CRASHED_ATTEMPTS of them fails with WorkerCrashed at once, without
opening the file, and clears them.

Each marker also keeps its delivery's job span ids (telemetry.py), so the
redelivery that finds it records the span the dead one never exported.

Two live deliveries of one job (a duplicate, another host) see each
other's marker too; it takes three at once to be mistaken for deaths.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator

from transcoder import contract, telemetry
from transcoder.errors import WorkerCrashed
from transcoder.objectstore import ObjectStore

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def attempt_marked(*, store: ObjectStore, job_id: str, attempt: str) -> Iterator[None]:
    """Run the block with this delivery's marker in place; refuse a poison job."""
    prefix = contract.attempts_prefix(job_id)
    dead = store.keys_list(prefix=prefix)
    # The job span's ids, for the delivery after a death to record it; and
    # the dead deliveries' spans, recorded now (a poison job's too).
    ids = telemetry.attempt_begun(attempt=attempt, dead=_markers_read(store=store, keys=dead))
    if len(dead) >= contract.MAX_CRASHED_ATTEMPTS:
        logger.warning("job %s: %d earlier deliveries died; not trying again", job_id, len(dead))
        store.prefix_delete(prefix=prefix)
        raise WorkerCrashed(
            f"The worker crashed {len(dead)} times while working on this file; "
            "it was not tried again."
        )
    key = contract.attempt_marker_key(job_id=job_id, attempt=attempt)
    # Who and where, for an operator looking at a job's leftovers.
    marker = {"attempt": attempt, "host": socket.gethostname(), **({"trace": ids} if ids else {})}
    body = json.dumps(marker).encode()
    store.json_create(key=key, body=body)
    try:
        yield
    except BaseException:
        _markers_delete(store=store, prefix=key)
        raise
    # The job is done: earlier deaths are history now, and nothing of the
    # job is left under outputs/ beyond what its manifest names.
    _markers_delete(store=store, prefix=prefix)


def _markers_read(*, store: ObjectStore, keys: list[str]) -> list[object]:
    """The dead deliveries' markers, for their spans; what cannot be read is left out."""
    found = []
    for key in keys:
        try:
            found.append(json.loads(store.json_read(key=key) or b"null"))
        except Exception:
            logger.warning("could not read the attempt marker %s", key, exc_info=True)
    return found


def _markers_delete(*, store: ObjectStore, prefix: str) -> None:
    try:
        store.prefix_delete(prefix=prefix)
    except Exception:
        # Best effort: another failure may be on its way out, and a marker
        # left here counts as one death, never as a lost job.
        logger.warning("could not delete the attempt markers under %s", prefix, exc_info=True)
