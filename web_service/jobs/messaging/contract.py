"""The web's side of the message contract (docs/messages.md).

These literals are the only thing the web shares with the transcoder. They
are written out here, not imported, and pinned by tests/jobs/messaging/
test_contract.py; the transcoder pins the same values in its own test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from kombu import Exchange, Queue

CONTRACT_VERSION = 2

TASK_CONVERT_VIDEO = "transcode.convert_video"
# Deletes every object under outputs/<job_id>/; publishes no result.
TASK_DELETE_OUTPUTS = "transcode.delete_outputs"
TASK_PREFIX_PATTERN = "transcode.*"

QUEUE = "transcode_queue"
EXCHANGE = "transcode_queue"
EXCHANGE_TYPE = "direct"
ROUTING_KEY = "transcode_queue"

# Cancelling a job: {"job_id": ..., "contract_version": 2} on this durable
# fanout exchange, which every worker binds its own queue to. Not Celery's
# remote control: publishing there could also stop every worker.
CANCEL_EXCHANGE = "transcode_cancel"
CANCEL_EXCHANGE_TYPE = "fanout"

# "hls" is the adaptive ladder (fMP4 segments, a master playlist) and the
# scrub-preview storyboard; the MP4 profiles stay for download and old browsers.
PROFILES = ("720p", "480p", "hls")

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


def profiles_default() -> tuple[str, ...]:
    """What a new upload asks for: settings.TRANSCODE_PROFILES, checked at start-up."""
    return tuple(settings.TRANSCODE_PROFILES)


def __getattr__(name: str) -> tuple[str, ...]:
    # DEFAULT_PROFILES is read when it is used, not when this module is
    # imported: tests may override the setting.
    if name == "DEFAULT_PROFILES":
        return profiles_default()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def transcode_queue() -> Queue:
    """The transcoder's queue, declared exactly as the worker declares it."""
    return Queue(
        QUEUE,
        Exchange(EXCHANGE, type=EXCHANGE_TYPE, durable=True),
        routing_key=ROUTING_KEY,
        durable=True,
    )


def cancel_exchange() -> Exchange:
    """The exchange the web cancels through, declared exactly as the worker declares it."""
    return Exchange(CANCEL_EXCHANGE, type=CANCEL_EXCHANGE_TYPE, durable=True)


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


def cancel_body(*, job_id: str) -> dict:
    return {"job_id": job_id, "contract_version": CONTRACT_VERSION}


def result_output_key(*, output: dict) -> str | None:
    """An output's object key: v2's `key`, or a v1 result's `path` (the same key)."""
    value = output.get("key", output.get("path"))
    return value if isinstance(value, str) and value else None


def result_poster_key(*, result: dict) -> str | None:
    value = result.get("poster_key", result.get("poster_path"))
    return value if isinstance(value, str) and value else None


def _key_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def result_hls_master_key(*, result: dict) -> str | None:
    """The master playlist's key, when "hls" was asked for and made."""
    hls = result.get("hls")
    return _key_or_none(hls.get("master_key")) if isinstance(hls, dict) else None


def result_hls_rungs(*, result: dict) -> list[dict]:
    """The ladder's rungs, in the worker's order: name, width, height, bandwidth."""
    hls = result.get("hls")
    rungs = hls.get("rungs") if isinstance(hls, dict) else None
    return [
        {name: rung.get(name) for name in ("name", "width", "height", "bandwidth")}
        for rung in rungs or []
        if isinstance(rung, dict)
    ]


def result_storyboard_vtt_key(*, result: dict) -> str | None:
    storyboard = result.get("storyboard")
    return _key_or_none(storyboard.get("vtt_key")) if isinstance(storyboard, dict) else None


# The `preview` a PROGRESS carries once the attempt's ladder is playable
# (docs/messages.md, "Watching while it transcodes"): its master playlist
# under the attempt's own keys. Nothing else is accepted: the key is the one
# thing the web will later serve from the store, so it must name this job's
# master in an attempt folder, not another job's or another object.
PREVIEW_MASTER_SUFFIX = "hls/master.m3u8"
_ATTEMPT = re.compile(r"[0-9a-f]{16}")
# No source is longer than a week (the transcoder's own cap is hours); a
# larger number is not a duration but a forged or broken field.
PREVIEW_MAX_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Preview:
    master_key: str
    attempt: str
    encoded_seconds: float
    duration: float


def _seconds_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # Compared before float(): JSON integers are unbounded, float(10**400) raises.
    if not 0 <= value <= PREVIEW_MAX_SECONDS:  # NaN fails this too
        return None
    return float(value)


def output_key_attempt(*, key: str, job_id: str) -> str | None:
    """The <attempt> of a key outputs/<job_id>/<attempt>/..., or None for any other key."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "outputs" or parts[1] != job_id:
        return None
    return parts[2] if _ATTEMPT.fullmatch(parts[2]) else None


def progress_preview(*, result: object, job_id: str) -> Preview | None:
    """A PROGRESS result's valid `preview` for the job `job_id`, or None.

    Raises ValueError, with what is wrong, when a `preview` is there but
    invalid; None when there is none (an attempt not yet playable, an older worker).
    """
    preview = result.get("preview") if isinstance(result, dict) else None
    if preview is None:
        return None
    if not isinstance(preview, dict):
        raise ValueError(f"preview is not an object: {preview!r:.200}")
    key = preview.get("master_key")
    attempt = output_key_attempt(key=key, job_id=job_id) if isinstance(key, str) else None
    if attempt is None or key != f"outputs/{job_id}/{attempt}/{PREVIEW_MASTER_SUFFIX}":
        raise ValueError(f"preview.master_key is not this job's master: {key!r:.200}")
    encoded = _seconds_or_none(preview.get("encoded_seconds"))
    duration = _seconds_or_none(preview.get("duration"))
    if encoded is None or duration is None:
        raise ValueError(f"preview seconds out of range: {preview!r:.200}")
    return Preview(master_key=key, attempt=attempt, encoded_seconds=encoded, duration=duration)


def result_keys(*, result: dict) -> frozenset[str]:
    """Every key a SUCCESS result names itself: MP4s, poster, master, storyboard cues."""
    keys = [result_output_key(output=o) for o in result.get("outputs") or [] if isinstance(o, dict)]
    keys += [
        result_poster_key(result=result),
        result_hls_master_key(result=result),
        result_storyboard_vtt_key(result=result),
    ]
    return frozenset(key for key in keys if key)


def result_attempts(*, result: dict, job_id: str) -> frozenset[str]:
    """The attempts whose folders a SUCCESS result names: one for v2, none for v1 (no folders)."""
    attempts = (output_key_attempt(key=key, job_id=job_id) for key in result_keys(result=result))
    return frozenset(attempt for attempt in attempts if attempt)
