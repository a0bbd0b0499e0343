"""The Celery tasks, run in this process with Task.apply() (no broker needed).

apply() executes the task body here and now, through Celery's tracer, and
returns its state; the results are not published because there is no
reply_to. tests/test_worker.py covers the same tasks through a real worker.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from transcoder import pipeline
from transcoder.errors import InvalidPayload, StorageError, TranscodeTimeout
from transcoder.settings import get_settings
from transcoder.tasks import STORAGE_MAX_RETRIES, convert_video, ping

from .support import add_source, ffmpeg_children, temp_files_under

KWARGS = {"job_id": "job1", "source_path": "sources/clip.mp4", "profiles": ["480p"]}


def test_ping() -> None:
    assert ping.apply().get() == {"pong": True, "contract_version": 1}


def test_convert_reports_progress_and_returns_the_result(
    worker_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        convert_video,
        "update_state",
        lambda *, state, meta: states.append((state, meta)),
    )
    result = convert_video.apply(kwargs=KWARGS, task_id="job1")
    assert result.state == "SUCCESS"
    assert result.get()["outputs"][0]["path"] == "outputs/job1/480p.mp4"
    assert states
    for state, meta in states:
        assert state == "PROGRESS"
        assert set(meta) == {"percent", "stage"}
        assert isinstance(meta["percent"], int)
        assert meta["stage"] in {"probing", "transcoding", "poster"}


def test_positional_arguments_fail_as_invalid_payload(worker_env: Path) -> None:
    result = convert_video.apply(args=["sources/clip.mp4"], kwargs=KWARGS)
    assert result.state == "FAILURE"
    assert isinstance(result.result, InvalidPayload)


def test_bad_kwargs_fail_at_once_without_retry(worker_env: Path) -> None:
    result = convert_video.apply(kwargs={**KWARGS, "source_path": "../etc/passwd"})
    assert result.state == "FAILURE"
    assert type(result.result) is InvalidPayload
    assert "'..' segment" in result.result.message


@pytest.fixture
def counted_converts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = pipeline.convert

    def spy(**kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(pipeline, "convert", spy)
    return calls


def test_storage_error_is_retried_then_fails(
    worker_env: Path, monkeypatch: pytest.MonkeyPatch, counted_converts: list[int]
) -> None:
    monkeypatch.setenv("MEDIA_ROOT", str(worker_env / "not-mounted"))
    get_settings.cache_clear()
    # apply() runs the retries at once, in this process, ignoring countdown.
    result = convert_video.apply(kwargs=KWARGS)
    assert result.state == "FAILURE"
    assert type(result.result) is StorageError
    assert "media storage is not available" in result.result.message
    assert len(counted_converts) == 1 + STORAGE_MAX_RETRIES


def test_media_errors_are_not_retried(worker_env: Path, counted_converts: list[int]) -> None:
    result = convert_video.apply(kwargs={**KWARGS, "source_path": "sources/notes.txt"})
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "InvalidMedia"
    assert len(counted_converts) == 1


@pytest.fixture
def soft_time_limit_after() -> Iterator[None]:
    """Raise SoftTimeLimitExceeded in 1 s, as billiard's SIGUSR1 handler would."""

    def handler(signum: int, frame: object) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_soft_time_limit_becomes_transcode_timeout_and_cleans_up(
    worker_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    long_clip: Path,
    soft_time_limit_after: None,
) -> None:
    monkeypatch.setenv("FFMPEG_THREADS", "1")  # keeps the 30 s clip busy for a while
    get_settings.cache_clear()
    source = add_source(worker_env, long_clip)
    result = convert_video.apply(kwargs={**KWARGS, "source_path": source})
    assert result.state == "FAILURE"
    assert type(result.result) is TranscodeTimeout
    assert result.result.message == "The transcode took longer than 1500 s."
    assert ffmpeg_children() == []
    assert temp_files_under(worker_env) == []
