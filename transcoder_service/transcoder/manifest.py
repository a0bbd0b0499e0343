"""The job manifest, `outputs/<job_id>/manifest.json`: what settles a job.

Its body is `{"request": {...}, "result": <the SUCCESS result>, "objects":
{<key>: <size>, ...}}`, `objects` naming every object of the winning attempt
(docs/messages.md, "Outputs in the object store"). It is created last and
only if absent (`If-None-Match: *`), so the first delivery to finish wins and
every other delivery of the job returns the winner's result.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from transcoder import contract
from transcoder.errors import InvalidPayload, StorageError
from transcoder.objectstore import ObjectStore
from transcoder.payload import ConvertRequest

logger = logging.getLogger(__name__)


def manifest_read(*, store: ObjectStore, request: ConvertRequest) -> dict[str, Any] | None:
    """The result of a finished delivery of this job, or None if there is none yet.

    Raises `InvalidPayload` if the job finished for a different request: one
    job_id ends with one set of outputs, so a changed request needs a new id.
    """
    key = contract.manifest_key(request.job_id)
    body = store.json_read(key=key)
    if body is None:
        return None
    try:
        manifest = json.loads(body)
        recorded, result = manifest["request"], manifest["result"]
    except (ValueError, TypeError, KeyError):
        # Only a hand-edited manifest can look like this; retrying will not
        # mend it, but the store is where a person must look.
        raise StorageError(f"The job manifest {key!r} is damaged.") from None
    if recorded != manifest_request(request):
        raise InvalidPayload(
            f"The job {request.job_id!r} already finished with a different source or "
            "profiles; send the new request under a new job_id."
        )
    if not isinstance(result, dict):
        raise StorageError(f"The job manifest {key!r} is damaged.")
    return result


def manifest_create(
    *,
    store: ObjectStore,
    request: ConvertRequest,
    result: dict[str, Any],
    objects: dict[str, int],
) -> dict[str, Any] | None:
    """Record `result` as the job's outcome; None if we did, else the winner's result.

    `objects` is every object the attempt uploaded, key to size: the result
    names a ladder by its master playlist only, yet a reader checking that
    a job is whole (or a cleanup keeping what is final) needs every segment.
    """
    manifest = {"request": manifest_request(request), "result": result, "objects": objects}
    body = json.dumps(manifest, indent=2).encode()
    if store.json_create(key=contract.manifest_key(request.job_id), body=body):
        return None
    logger.info("job %s was finished first by another delivery", request.job_id)
    winner = manifest_read(store=store, request=request)
    if winner is None:
        # 412 said it exists; only a delete_outputs in between removes it.
        raise StorageError("The job manifest vanished right after another delivery wrote it.")
    return winner


def manifest_request(request: ConvertRequest) -> dict[str, Any]:
    """Everything that decides what the outputs are; job_id is in the key."""
    return {
        "source_key": request.source_key,
        "profiles": list(request.profiles),
        "contract_version": request.contract_version,
    }
