"""Idempotency without a shared lock: what decides a job delivered more than once.

Each delivery writes under its own attempt prefix, and the manifest, created
with `If-None-Match: *`, settles which one counts (docs/storage.md,
"Idempotency without a shared lock"). Real ffmpeg, real SeaweedFS.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from transcoder import pipeline
from transcoder.errors import InvalidPayload
from transcoder.objectstore import store_connect
from transcoder.payload import ConvertRequest

from .clips import SourceKeys
from .support import PipelineJob, ffmpeg_pid_lines, scratch_entries


def test_second_delivery_returns_the_first_result_without_transcoding(
    job: PipelineJob, sources: SourceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    first = job.convert(sources["clip.mp4"])
    before = job.stored()

    caplog.set_level(logging.INFO, logger="transcoder")
    second = job.convert(sources["clip.mp4"])

    assert second == first
    assert job.stored() == before
    assert not ffmpeg_pid_lines(caplog)
    assert scratch_entries(job.settings.scratch_dir) == []


def test_a_changed_request_for_a_finished_job_is_refused(
    job: PipelineJob, sources: SourceKeys
) -> None:
    job.convert(sources["clip.mp4"], profiles=("720p",))
    with pytest.raises(InvalidPayload) as caught:
        job.convert(sources["clip.mp4"], profiles=("480p",))
    assert caught.value.message == (
        f"The job {job.job_id!r} already finished with a different source or profiles; "
        "send the new request under a new job_id."
    )


def test_two_deliveries_at_once_end_with_one_manifest_and_no_leftovers(
    job: PipelineJob, sources: SourceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    settings, job_id = job.settings, job.job_id
    caplog.set_level(logging.INFO, logger="transcoder")
    # Both deliveries pass the "already done?" check and transcode; the
    # barrier then holds each before its upload, so both race for the
    # manifest. Each has its own client, as two hosts would.
    barrier = threading.Barrier(2, timeout=60)
    results: dict[int, dict[str, Any]] = {}
    failures: list[BaseException] = []

    def delivery(number: int) -> None:
        waited = False

        def on_progress(*, stage: str, percent: int) -> None:
            nonlocal waited
            if stage == "uploading" and not waited:
                waited = True
                barrier.wait()

        request = ConvertRequest(
            job_id=job_id, source_key=sources["clip.mp4"], profiles=("480p",), contract_version=2
        )
        try:
            results[number] = pipeline.convert(
                request=request,
                store=store_connect(settings=settings),
                on_progress=on_progress,
                settings=settings,
            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=delivery, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    # Both uploaded; the store granted the manifest to one, the other got 412.
    lost = f"job {job_id} was finished first by another delivery"
    assert [r.getMessage() for r in caplog.records].count(lost) == 1
    assert results[1] == results[2]  # the loser returned the winner's result
    result = results[1]
    stored = job.stored()
    manifests = [key for key in stored if key.endswith("/manifest.json")]
    assert manifests == [f"outputs/{job_id}/manifest.json"]
    # Only the winner's attempt is left, and every key it names is whole.
    assert stored == {
        result["outputs"][0]["key"]: result["outputs"][0]["size_bytes"],
        result["poster_key"]: stored[result["poster_key"]],
        result["manifest_key"]: stored[result["manifest_key"]],
    }
    attempts = {key.split("/")[2] for key in stored if key != result["manifest_key"]}
    assert len(attempts) == 1
    assert scratch_entries(settings.scratch_dir) == []


def test_the_winner_removes_what_an_attempt_that_gave_up_left_behind(
    job: PipelineJob, sources: SourceKeys
) -> None:
    """An attempt that gave up on a stalled store could not delete its own
    objects; the attempt whose manifest wins deletes them, and nothing else."""
    left = f"outputs/{job.job_id}/00000000deadbeef/720p.mp4"
    job.store.json_create(key=left, body=b"half an upload")
    assert left in job.stored()

    result = job.convert(sources["clip.mp4"])

    stored = job.stored()
    assert left not in stored
    manifest = f"outputs/{job.job_id}/manifest.json"
    assert set(stored) - {manifest} == {output["key"] for output in result["outputs"]} | {
        result["poster_key"]
    }
