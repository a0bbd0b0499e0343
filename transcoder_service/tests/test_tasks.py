"""The Celery tasks, run in this process with Task.apply() (no broker needed).

apply() executes the task body here and now, through Celery's tracer, and
returns its state; the results are not published because there is no
reply_to. The store is the session's real SeaweedFS. tests/test_worker.py
covers the same tasks through a real worker.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from transcoder import pipeline
from transcoder.errors import InvalidPayload, StorageDenied, StorageError, TranscodeTimeout
from transcoder.settings import get_settings
from transcoder.tasks import (
    STORAGE_MAX_RETRIES,
    convert_video,
    delete_outputs,
    ping,
    retry_countdown,
)

from .clips import SourceKeys
from .processes import process_children_named
from .seaweed import SeaweedStore, _free_port_pairs
from .support import (
    keys_under,
    make_settings,
    new_job_id,
    scratch_entries,
    source_put,
)


@pytest.fixture
def kwargs(sources: SourceKeys, job_id: str) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "source_key": sources["clip.mp4"],
        "profiles": ["480p"],
        "contract_version": 2,
    }


def test_ping() -> None:
    assert ping.apply().get() == {"pong": True, "contract_version": 2}


def test_convert_reports_progress_and_returns_the_result(
    worker_env: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any]
) -> None:
    states: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        convert_video,
        "update_state",
        lambda *, state, meta: states.append((state, meta)),
    )
    result = convert_video.apply(kwargs=kwargs, task_id=kwargs["job_id"])
    assert result.state == "SUCCESS"
    (output,) = result.get()["outputs"]
    assert output["key"].startswith(f"outputs/{kwargs['job_id']}/")
    assert output["key"].endswith("/480p.mp4")
    assert {state for state, _ in states} == {"PROGRESS"}
    for _, meta in states:
        assert set(meta) == {"percent", "stage"}
        assert isinstance(meta["percent"], int)
    assert states[0][1]["stage"] == "downloading"
    assert {meta["stage"] for _, meta in states} == {
        "downloading",
        "probing",
        "transcoding",
        "poster",
        "uploading",
    }
    assert scratch_entries(worker_env) == []


def test_positional_arguments_fail_as_invalid_payload(
    worker_env: Path, kwargs: dict[str, Any]
) -> None:
    result = convert_video.apply(args=["sources/clip.mp4"], kwargs=kwargs)
    assert result.state == "FAILURE"
    assert isinstance(result.result, InvalidPayload)


def test_bad_kwargs_fail_at_once_without_retry(worker_env: Path, kwargs: dict[str, Any]) -> None:
    result = convert_video.apply(kwargs={**kwargs, "source_key": "sources/../etc/passwd"})
    assert result.state == "FAILURE"
    assert type(result.result) is InvalidPayload
    assert "'..' segment" in result.result.message


def test_a_v1_message_fails_with_a_sentence_that_says_so(worker_env: Path) -> None:
    result = convert_video.apply(kwargs={"job_id": "old", "source_path": "sources/a.mp4"})
    assert result.state == "FAILURE"
    assert type(result.result) is InvalidPayload
    assert result.result.message.startswith("This is a contract v1 message: ")


@pytest.fixture
def counted_converts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = pipeline.convert

    def spy(**kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(pipeline, "convert", spy)
    return calls


def test_an_unreachable_store_is_retried_then_fails(
    worker_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    counted_converts: list[int],
    kwargs: dict[str, Any],
) -> None:
    (port,) = _free_port_pairs(1)  # nothing listens there
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    # apply() runs the retries at once, in this process, ignoring countdown.
    result = convert_video.apply(kwargs=kwargs)
    assert result.state == "FAILURE"
    assert type(result.result) is StorageError
    assert result.result.message.startswith("The object store could not be reached while ")
    assert len(counted_converts) == 1 + STORAGE_MAX_RETRIES
    assert scratch_entries(worker_env) == []


def test_refused_credentials_fail_at_once_as_storage_denied(
    worker_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    counted_converts: list[int],
    seaweed: SeaweedStore,
    kwargs: dict[str, Any],
) -> None:
    # The web's key: a real identity, which may not read sources.
    monkeypatch.setenv("TRANSCODER_S3_ACCESS_KEY_ID", seaweed.web.access_key)
    monkeypatch.setenv("TRANSCODER_S3_SECRET_ACCESS_KEY", seaweed.web.secret_key)
    get_settings.cache_clear()
    result = convert_video.apply(kwargs=kwargs)
    assert result.state == "FAILURE"
    assert type(result.result) is StorageDenied
    assert "refused the transcoder's credentials" in result.result.message
    assert len(counted_converts) == 1


def test_a_missing_source_is_not_retried(
    worker_env: Path, counted_converts: list[int], kwargs: dict[str, Any]
) -> None:
    result = convert_video.apply(kwargs={**kwargs, "source_key": "sources/gone.mp4"})
    assert result.state == "FAILURE"
    assert type(result.result) is InvalidPayload
    assert result.result.message == "The source object 'sources/gone.mp4' does not exist."
    assert len(counted_converts) == 1


def test_media_errors_are_not_retried(
    worker_env: Path, counted_converts: list[int], kwargs: dict[str, Any], sources: SourceKeys
) -> None:
    result = convert_video.apply(kwargs={**kwargs, "source_key": sources["notes.txt"]})
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "InvalidMedia"
    assert len(counted_converts) == 1


def test_the_retry_delay_doubles_from_its_setting(seaweed: SeaweedStore, scratch_dir: Path) -> None:
    default = make_settings(seaweed, scratch_dir)
    assert [retry_countdown(settings=default, retries=n) for n in range(3)] == [10, 20, 40]
    quick = make_settings(seaweed, scratch_dir, STORAGE_RETRY_DELAY="0.5")
    assert [retry_countdown(settings=quick, retries=n) for n in range(3)] == [0.5, 1, 2]


@pytest.fixture
def soft_time_limit_after() -> Iterator[Callable[[float], None]]:
    """Start a timer raising SoftTimeLimitExceeded, as billiard's SIGUSR1 handler would.

    Started by the test itself, once its own uploads are done: s3transfer
    swallows an exception that lands while it shuts its threads down.
    """

    def handler(signum: int, frame: object) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, handler)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_soft_time_limit_becomes_transcode_timeout_and_cleans_up(
    worker_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    seaweed: SeaweedStore,
    long_clip: Path,
    kwargs: dict[str, Any],
    soft_time_limit_after: Callable[[float], None],
) -> None:
    monkeypatch.setenv("FFMPEG_THREADS", "1")  # keeps the 30 s clip busy for a while
    get_settings.cache_clear()
    source = source_put(seaweed, long_clip)

    # The limit strikes once ffmpeg really runs, whatever the machine's load:
    # started from the first transcoding progress, it lands mid-encode.
    def on_state(*, state: str, meta: dict[str, Any]) -> None:
        if meta["stage"] == "transcoding" and not started:
            started.append(True)
            soft_time_limit_after(0.5)

    started: list[bool] = []
    monkeypatch.setattr(convert_video, "update_state", on_state)
    result = convert_video.apply(kwargs={**kwargs, "source_key": source})
    assert started
    assert result.state == "FAILURE"
    assert type(result.result) is TranscodeTimeout
    assert result.result.message == "The transcode took longer than 1500 s."
    assert process_children_named(name="ffmpeg") == []
    assert scratch_entries(worker_env) == []
    assert keys_under(seaweed, f"outputs/{kwargs['job_id']}/") == {}


def test_delete_outputs_removes_everything_of_the_job_and_nothing_else(
    worker_env: Path, seaweed: SeaweedStore, kwargs: dict[str, Any]
) -> None:
    other = {**kwargs, "job_id": new_job_id("other")}
    for job in (kwargs, other):
        assert convert_video.apply(kwargs=job).state == "SUCCESS"
    # A dead attempt's leftovers and an unfinished multipart upload go too.
    raw = seaweed.client(seaweed.transcoder)
    leftover = f"outputs/{kwargs['job_id']}/00000000000000aa/720p.mp4"
    raw.put_object(Bucket=seaweed.bucket, Key=leftover, Body=b"x")
    raw.create_multipart_upload(Bucket=seaweed.bucket, Key=leftover)
    assert len(keys_under(seaweed, f"outputs/{kwargs['job_id']}/")) == 4

    message = {"job_id": kwargs["job_id"], "contract_version": 2}
    result = delete_outputs.apply(kwargs=message)

    assert result.state == "SUCCESS"
    assert result.result is None
    assert keys_under(seaweed, f"outputs/{kwargs['job_id']}/") == {}
    uploads = raw.list_multipart_uploads(
        Bucket=seaweed.bucket, Prefix=f"outputs/{kwargs['job_id']}/"
    )
    assert not uploads.get("Uploads")
    assert len(keys_under(seaweed, f"outputs/{other['job_id']}/")) == 3
    # Idempotent: a second delivery finds nothing and succeeds.
    assert delete_outputs.apply(kwargs=message).state == "SUCCESS"


def test_delete_outputs_refuses_a_bad_message(worker_env: Path) -> None:
    result = delete_outputs.apply(kwargs={"job_id": "../x", "contract_version": 2})
    assert result.state == "FAILURE"
    assert type(result.result) is InvalidPayload
    result = delete_outputs.apply(kwargs={"job_id": "j", "contract_version": 1})
    assert type(result.result) is InvalidPayload


def test_delete_outputs_retries_an_unreachable_store(
    worker_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = pipeline.outputs_delete

    def spy(**kwargs: Any) -> int:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(pipeline, "outputs_delete", spy)
    (port,) = _free_port_pairs(1)
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    result = delete_outputs.apply(kwargs={"job_id": "j", "contract_version": 2})
    assert result.state == "FAILURE"
    assert type(result.result) is StorageError
    assert len(calls) == 1 + STORAGE_MAX_RETRIES
