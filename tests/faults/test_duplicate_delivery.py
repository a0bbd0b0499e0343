"""The same job delivered twice gives one set of outputs and one final state.

Delivery is at least once: the outbox sends a job again if the web died
between publishing and marking it sent, and RabbitMQ redelivers what a dead
worker held. The transcoder makes that harmless per job_id: a per-job lock
serialises deliveries, and a manifest written last answers every later one.
"""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.celery_client import bare_client
from tests.support.observe import db_rows, files_under, job_of, queue_state, wait_until

RESULTS_QUEUE = "web.transcode_results"
JOB_FILES = [".lock", "720p.mp4", "poster.jpg", "result.json"]


def _convert_kwargs(video_id: str, job_id: str) -> dict:
    """The message the web sends for this job (docs/messages.md)."""
    return {
        "job_id": job_id,
        "source_path": f"sources/{video_id}",
        "profiles": ["720p"],
        "contract_version": 1,
    }


def _ffmpeg_runs(worker_log: str, job_id: str) -> int:
    """ffmpeg processes started for the job: one per rendition, one for the poster."""
    return worker_log.count(f"job={job_id}")


def _task_results(stack, task_id: str) -> list[dict]:
    return db_rows(
        stack.database_url,
        "SELECT status FROM django_celery_results_taskresult WHERE task_id = %s",
        [task_id],
    )


def _file_identities(folder) -> dict[str, tuple[int, int]]:
    return {
        name: ((folder / name).stat().st_ino, (folder / name).stat().st_mtime_ns)
        for name in ("720p.mp4", "poster.jpg")
    }


def test_a_job_sent_again_after_it_finished_is_not_transcoded_again(start_stack, make_clip):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    worker, collector = stack.processes["worker"], stack.processes["collector"]
    video_id = api.upload(make_clip(seconds=3)).json()["id"]
    first, _ = api.wait_final(video_id, timeout=60)
    assert first["status"] == "ready", first
    job = job_of(stack.database_url, video_id)
    job_dir = stack.media_root / "outputs" / job["id"]
    outputs_before = _file_identities(job_dir)

    # What the outbox relay does when the web died after publishing but
    # before marking the job sent: the same message, the same task id.
    client = bare_client(stack.broker_url)
    try:
        client.send_task(
            "transcode.convert_video",
            kwargs=_convert_kwargs(video_id, job["id"]),
            task_id=job["id"],
            reply_to=RESULTS_QUEUE,
        )
    finally:
        client.close()

    wait_until(
        lambda: worker.log_text().count(f"convert_video[{job['id']}] succeeded") == 2,
        timeout=60,
        what="the worker answered the second delivery",
    )
    wait_until(
        lambda: f"job {job['id']} is ready already; ignoring late SUCCESS" in collector.log_text(),
        timeout=30,
        what="the collector received the second SUCCESS",
    )
    assert f"job {job['id']} was already done" in worker.log_text()
    assert _ffmpeg_runs(worker.log_text(), job["id"]) == 2  # the first delivery's only
    assert _file_identities(job_dir) == outputs_before  # the same files, untouched
    assert files_under(job_dir) == JOB_FILES
    again = job_of(stack.database_url, video_id)
    assert (again["status"], again["finished_at"]) == ("ready", job["finished_at"])
    assert _task_results(stack, job["id"]) == [{"status": "SUCCESS"}]
    assert queue_state(stack.broker_url, f"{RESULTS_QUEUE}.dead") == (0, 0)


def test_a_job_delivered_twice_at_once_is_transcoded_once(start_stack, make_clip):
    # No worker yet, so both deliveries wait in the queue and start together.
    stack = start_stack(start=("web", "collector"), TRANSCODER_CONCURRENCY="2")
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    video_id = api.upload(make_clip(seconds=10)).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    client = bare_client(stack.broker_url)
    try:
        # A second copy with its own task id and reply queue, as a second
        # caller would send it.
        copy = client.send_task("transcode.convert_video", kwargs=_convert_kwargs(video_id, job_id))
        wait_until(
            lambda: queue_state(stack.broker_url, "transcode_queue") == (2, 0),
            timeout=30,
            what="both deliveries wait in the queue",
        )
        worker.start()
        copy_result = copy.get(timeout=120)
    finally:
        client.close()
    final, _ = api.wait_final(video_id, timeout=120)

    assert final["status"] == "ready", final
    log = worker.log_text()
    assert f"waiting for another delivery of job {job_id}" in log  # they did overlap
    assert _ffmpeg_runs(log, job_id) == 2  # one rendition and one poster: transcoded once
    assert files_under(stack.media_root / "outputs" / job_id) == JOB_FILES
    job = job_of(stack.database_url, video_id)
    assert copy_result["outputs"] == job["result"]["outputs"]
    assert _task_results(stack, job_id) == [{"status": "SUCCESS"}]
