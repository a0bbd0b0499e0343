"""Decoding the result messages the worker publishes to the reply queue.

Pure functions: they take the decoded JSON body and return a typed value, or
raise MalformedReply. The collector never trusts a message's shape either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.messaging import contract

KNOWN_STATES = frozenset(
    {
        contract.STATE_STARTED,
        contract.STATE_PROGRESS,
        contract.STATE_RETRY,
        contract.STATE_SUCCESS,
        contract.STATE_FAILURE,
        contract.STATE_REVOKED,
    }
)


UNEXPECTED_FAILURE = "The transcoder failed unexpectedly. Try again, or ask an operator."
# Celery's own failures that can reach a caller, in words a person can act on.
# https://docs.celeryq.dev/en/stable/reference/celery.exceptions.html
UNLISTED_FAILURES = {
    "TimeLimitExceeded": "The transcode ran past the hard time limit and was stopped.",
    "WorkerLostError": "The transcoder process stopped while working on this video.",
}


class MalformedReply(ValueError):
    """A message on the reply queue that does not follow the contract."""


@dataclass(frozen=True)
class Reply:
    task_id: str
    status: str
    result: Any
    traceback: str | None

    @property
    def is_final(self) -> bool:
        return self.status in contract.FINAL_STATES

    @property
    def percent(self) -> int:
        """PROGRESS percent clamped to 0-100; 0 when absent or malformed."""
        meta = self.result if isinstance(self.result, dict) else {}
        value = meta.get("percent", 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        return max(0, min(100, int(value)))

    @property
    def stage(self) -> str:
        meta = self.result if isinstance(self.result, dict) else {}
        stage = meta.get("stage", "")
        return stage[:32] if isinstance(stage, str) else ""

    @property
    def failure_reason(self) -> tuple[str, str]:
        """(code, sentence for a person) from a FAILURE/RETRY body.

        Celery serializes the exception as {"exc_type", "exc_message", ...};
        the contract promises exc_message[0] is readable as it is, but only
        for its own codes. Another code's text (a Celery internal, a stray
        KeyError) may name paths or code, so it is logged, not shown.
        """
        meta = self.result if isinstance(self.result, dict) else {}
        exc_type = meta.get("exc_type")
        code = exc_type[:64] if isinstance(exc_type, str) else "Unknown"
        message = meta.get("exc_message")
        if isinstance(message, list | tuple) and message:
            message = message[0]
        if code not in contract.FAILURE_CODES:
            return code, UNLISTED_FAILURES.get(code, UNEXPECTED_FAILURE)
        if not isinstance(message, str) or not message.strip():
            message = "The transcoder failed without giving a reason."
        return code, message.strip()[:2000]


def reply_decode(*, body: Any) -> Reply:
    if not isinstance(body, dict):
        raise MalformedReply(f"expected a JSON object, got {type(body).__name__}")
    task_id = body.get("task_id")
    status = body.get("status")
    if not isinstance(task_id, str) or not task_id or len(task_id) > 255:
        raise MalformedReply("missing or invalid task_id")
    if status not in KNOWN_STATES:
        raise MalformedReply(f"unknown status {status!r}")
    traceback = body.get("traceback")
    if isinstance(traceback, str) and "\x00" in traceback:
        # PostgreSQL text cannot hold NUL; say so here rather than as a DataError.
        raise MalformedReply(f"task {task_id} {status}: NUL byte in the traceback")
    return Reply(
        task_id=task_id,
        status=status,
        result=body.get("result"),
        traceback=traceback if isinstance(traceback, str) else None,
    )
