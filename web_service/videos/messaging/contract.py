"""The web's side of the message contract (docs/messages.md).

These literals are the only thing the web shares with the transcoder. They
are written out here, not imported, and pinned by tests/videos/messaging/
test_contract.py; the transcoder pins the same values in its own test.
"""

from __future__ import annotations

from django.conf import settings
from kombu import Exchange, Queue

CONTRACT_VERSION = 2

TASK_CONVERT_VIDEO = "transcode.convert_video"
TASK_PING = "transcode.ping"
# Deletes every object under outputs/<job_id>/; publishes no result.
TASK_DELETE_OUTPUTS = "transcode.delete_outputs"
TASK_PREFIX_PATTERN = "transcode.*"

QUEUE = "transcode_queue"
EXCHANGE = "transcode_queue"
EXCHANGE_TYPE = "direct"
ROUTING_KEY = "transcode_queue"

DEFAULT_PROFILES = ("720p",)
PROFILES = ("720p", "480p")

# Celery states the worker publishes, plus the contract's custom one.
STATE_STARTED = "STARTED"
STATE_PROGRESS = "PROGRESS"
STATE_RETRY = "RETRY"
STATE_SUCCESS = "SUCCESS"
STATE_FAILURE = "FAILURE"
STATE_REVOKED = "REVOKED"
FINAL_STATES = frozenset({STATE_SUCCESS, STATE_FAILURE, STATE_REVOKED})

# The failure codes (`exc_type`) whose `exc_message[0]` is written for a
# person. Anything else is Celery's own (TimeLimitExceeded when the hard
# limit kills the process) or a bug, and its text is not meant to be shown.
FAILURE_CODES = frozenset(
    {
        "InvalidPayload",
        "InvalidMedia",
        "TranscodeFailed",
        "TranscodeTimeout",
        "StorageDenied",
        "StorageError",
        "WorkerCrashed",
    }
)


def transcode_queue() -> Queue:
    """The transcoder's queue, declared exactly as the worker declares it."""
    return Queue(
        QUEUE,
        Exchange(EXCHANGE, type=EXCHANGE_TYPE, durable=True),
        routing_key=ROUTING_KEY,
        durable=True,
    )


def results_queue() -> Queue:
    """The fixed, durable reply queue the collector consumes.

    It is bound to the default exchange (as every queue is), which is where
    Celery's rpc backend publishes, with the queue name as routing key.
    A message the collector cannot use is dead-lettered, not dropped.
    """
    return Queue(
        settings.RESULTS_QUEUE,
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead_letter_queue().name,
        },
    )


def dead_letter_queue() -> Queue:
    """Where malformed replies go, kept for a person to inspect."""
    return Queue(f"{settings.RESULTS_QUEUE}.dead", durable=True, auto_delete=False)


def convert_video_kwargs(*, job_id: str, source_key: str, profiles: list[str]) -> dict:
    return {
        "job_id": job_id,
        "source_key": source_key,
        "profiles": list(profiles),
        "contract_version": CONTRACT_VERSION,
    }


def delete_outputs_kwargs(*, job_id: str) -> dict:
    return {"job_id": job_id, "contract_version": CONTRACT_VERSION}


def result_output_key(*, output: dict) -> str | None:
    """An output's object key: v2's `key`, or a v1 result's `path` (the same key)."""
    value = output.get("key", output.get("path"))
    return value if isinstance(value, str) and value else None


def result_poster_key(*, result: dict) -> str | None:
    value = result.get("poster_key", result.get("poster_path"))
    return value if isinstance(value, str) and value else None
