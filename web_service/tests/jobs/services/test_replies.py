"""The collector's state machine, applied straight to the database."""

from __future__ import annotations

import json

import pytest
from django_celery_results.models import TaskResult

from jobs.messaging.reply_decoding import reply_decode
from jobs.models import JobStatus
from jobs.services.replies import reply_apply
from videos.services.jobs import job_cancel

from ...factories import hls_result, success_result, success_result_v1, video_with_job

pytestmark = pytest.mark.django_db


def _apply(task_id: str, status: str, result=None) -> None:
    reply_apply(reply=reply_decode(body={"task_id": task_id, "status": status, "result": result}))


def test_full_lifecycle_to_ready():
    _, job = video_with_job()
    task_id = str(job.id)

    _apply(task_id, "STARTED", {"pid": 1, "hostname": "w"})
    job.refresh_from_db()
    assert (job.status, job.started_at is not None) == (JobStatus.PROCESSING, True)

    _apply(task_id, "PROGRESS", {"percent": 40, "stage": "transcoding"})
    job.refresh_from_db()
    assert (job.progress, job.stage) == (40, "transcoding")

    _apply(task_id, "SUCCESS", success_result(job_id=task_id))
    job.refresh_from_db()
    assert job.status == JobStatus.READY
    assert job.progress == 100
    assert job.result["outputs"][0]["key"] == f"outputs/{task_id}/9f2c4e1a7b3d5f60/720p.mp4"
    assert job.source_metadata["width"] == 1920
    assert job.finished_at is not None

    stored = TaskResult.objects.get(task_id=task_id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "transcode.convert_video"
    assert json.loads(stored.result)["job_id"] == task_id


def test_a_late_progress_never_overwrites_a_final_state():
    _, job = video_with_job()
    task_id = str(job.id)
    _apply(task_id, "SUCCESS", success_result(job_id=task_id))
    _apply(task_id, "PROGRESS", {"percent": 10, "stage": "transcoding"})
    _apply(task_id, "STARTED", {})
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.READY, 100)
    assert TaskResult.objects.get(task_id=task_id).status == "SUCCESS"


def test_a_job_the_person_cancelled_stays_cancelled_when_its_revoked_arrives():
    video, job = video_with_job()
    task_id = str(job.id)
    _apply(task_id, "STARTED", {"pid": 1, "hostname": "w"})
    job_cancel(video=video)
    _apply(task_id, "REVOKED")
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.CANCELLED, "Cancelled.")


def test_failure_stores_the_reason_for_a_person():
    _, job = video_with_job(status=JobStatus.PROCESSING)
    _apply(
        str(job.id),
        "FAILURE",
        {
            "exc_type": "InvalidMedia",
            "exc_message": ["The file is not a video."],
            "exc_module": "x",
        },
    )
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert (job.error_code, job.error) == ("InvalidMedia", "The file is not a video.")


def test_a_success_without_outputs_is_a_failure_not_a_crash():
    _, job = video_with_job()
    _apply(str(job.id), "SUCCESS", {"outputs": "nope"})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_code == "UnexpectedResult"


def test_a_ladder_only_success_is_ready():
    # TRANSCODE_PROFILES=hls: no MP4, the ladder is the job's output.
    _, job = video_with_job()
    result = {**hls_result(job_id=str(job.id)), "outputs": []}
    _apply(str(job.id), "SUCCESS", result)
    job.refresh_from_db()
    assert job.status == JobStatus.READY


def test_a_success_with_neither_outputs_nor_a_ladder_is_a_failure():
    _, job = video_with_job()
    result = {**success_result(job_id=str(job.id)), "outputs": []}
    _apply(str(job.id), "SUCCESS", result)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "UnexpectedResult")


def test_a_v1_success_still_counts_as_ready():
    # A v1 worker finishing a job during the upgrade names `path`: the same key.
    _, job = video_with_job()
    _apply(str(job.id), "SUCCESS", success_result_v1(job_id=str(job.id)))
    job.refresh_from_db()
    assert job.status == JobStatus.READY


def test_a_success_whose_outputs_have_no_key_is_a_failure():
    _, job = video_with_job()
    result = success_result(job_id=str(job.id))
    del result["outputs"][0]["key"]
    _apply(str(job.id), "SUCCESS", result)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "UnexpectedResult")


def test_a_storage_denied_failure_is_shown_as_it_is():
    _, job = video_with_job(status=JobStatus.PROCESSING)
    reason = "The object store refused the transcoder's credentials."
    _apply(str(job.id), "FAILURE", {"exc_type": "StorageDenied", "exc_message": [reason]})
    job.refresh_from_db()
    assert (job.error_code, job.error) == ("StorageDenied", reason)


def test_applying_the_same_message_twice_is_harmless():
    _, job = video_with_job()
    for _ in range(2):
        _apply(str(job.id), "SUCCESS", success_result(job_id=str(job.id)))
    job.refresh_from_db()
    assert job.status == JobStatus.READY
    assert TaskResult.objects.filter(task_id=str(job.id)).count() == 1


def test_unknown_task_ids_are_kept_in_task_result_only():
    _apply("not-a-job", "SUCCESS", {"pong": True, "contract_version": 1})
    assert TaskResult.objects.get(task_id="not-a-job").status == "SUCCESS"
