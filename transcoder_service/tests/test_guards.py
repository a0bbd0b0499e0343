"""The Celery and kombu internals transcoder/guards.py leans on, as the pinned versions have them.

A pinned upgrade that moves one of them fails here, next to the line to
re-read, before the worker's guards go quietly inert; the outcome itself is
tested on a real worker (test_untrusted_messages.py).
"""

from __future__ import annotations

import json
import re
import zlib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.worker.request import Request
from kombu import compression
from kombu.exceptions import ContentDisallowed
from kombu.message import Message

from transcoder import guards

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
ETA = "2030-01-01T00:00:00+00:00"


def _message(**headers: object) -> Message:
    """A task message as it arrives (protocol 2), with these headers."""
    body = json.dumps([[], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return Message(
        body=body,
        headers={"lang": "py", "task": "t.job", "id": "job-1", "root_id": "job-1", **headers},
        content_type="application/json",
        content_encoding="utf-8",
        delivery_info={"exchange": "", "routing_key": "transcode_queue", "redelivered": False},
        properties={"correlation_id": "job-1", "reply_to": "replies"},
        channel=None,
    )


def _job() -> None:
    pass


@pytest.fixture(scope="module")
def task() -> Any:
    app = Celery("guards-test", broker="memory://", set_as_current=False)
    return app.task(name="t.job", base=guards.GuardedTask, max_retries=3)(_job)


@pytest.mark.parametrize("name", sorted(guards.CHECKED_AGAINST))
def test_the_installed_and_pinned_versions_are_the_checked_ones(name: str) -> None:
    pinned = re.search(rf"^{name}==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None, f"{name} is not pinned in requirements.txt"
    assert version(name) == pinned.group(1) == guards.CHECKED_AGAINST[name], (
        f"{name} changed: re-read what transcoder/guards.py relies on, then update CHECKED_AGAINST"
    )


def test_celery_still_takes_the_time_limits_and_eta_from_the_headers(task: Any) -> None:
    """Request.__init__ assigns both: the guard's property and setter sit on that path."""
    plain = Request(_message(timelimit=[1, 2], eta=ETA, retries=0), app=task.app, task=task)
    assert plain.time_limits == [1, 2]
    assert plain.eta.isoformat() == ETA
    assert plain._eta.isoformat() == ETA
    assert plain._request_dict["retries"] == 0

    guarded = guards.GuardedRequest(
        _message(timelimit=[1, 2], eta=ETA, retries=0), app=task.app, task=task
    )
    assert guarded.time_limits == (None, None)
    assert guarded.eta is None  # not a retry of its own: run at once, and refused


def test_kombu_still_keeps_its_codecs_in_the_registry_the_guard_rewrites() -> None:
    assert (
        set(compression._decoders)
        == set(compression._encoders)
        >= {
            "application/x-gzip",
            "application/x-bz2",
        }
    )
    before = dict(compression._decoders)
    try:
        guards.compression_refuse()
        with pytest.raises(ContentDisallowed):
            compression.decompress(zlib.compress(b"{}"), "application/x-gzip")
    finally:
        compression._decoders.update(before)
