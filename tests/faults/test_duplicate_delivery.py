"""The same job delivered twice gives one set of outputs and one final state.

Delivery is at least once: the outbox sends a job again if the web died
between publishing and marking it sent, and RabbitMQ redelivers what a dead
worker held. The transcoder makes that harmless per job_id without a shared
lock (docs/storage.md, "Idempotency without a shared lock"): each delivery
writes its own attempt prefix, the manifest is created only if none exists,
and a delivery that finds a manifest returns its result.
"""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.celery_client import bare_client
from tests.support.observe import db_rows, job_of, queue_state, wait_until

RESULTS_QUEUE = "web.transcode_results"


def _convert_kwargs(stack, job_id: str) -> dict:
    """The message the web sends for this job (docs/messages.md, contract v2)."""
    (source_key,) = stack.store.objects("sources/")  # the stack's only upload
    (job,) = db_rows(
        stack.database_url, "SELECT profiles FROM videos_transcodejob WHERE id = %s", [job_id]
    )
    return {
        "job_id": job_id,
        "source_key": source_key,
        "profiles": job["profiles"],  # the web's default: ["720p", "hls"]
        "contract_version": 2,
    }


def _task_results(stack, task_id: str) -> list[dict]:
    return db_rows(
        stack.database_url,
        "SELECT status FROM django_celery_results_taskresult WHERE task_id = %s",
        [task_id],
    )


def _object_identities(stack, job_id: str) -> dict[str, tuple[str, str]]:
    """Every object of the job with its ETag and Last-Modified: any rewrite changes them."""
    return {key: stack.store.identity(key) for key in stack.store.objects(f"outputs/{job_id}/")}


def test_a_job_sent_again_after_it_finished_is_not_transcoded_again(start_stack, make_clip):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    worker, collector = stack.processes["worker"], stack.processes["collector"]
    video_id = api.upload(make_clip(seconds=3)).json()["id"]
    first, _ = api.wait_final(video_id, timeout=60)
    assert first["status"] == "ready", first
    job = job_of(stack.database_url, video_id)
    stack.store.assert_job_outputs_whole(job["id"])
    objects_before = _object_identities(stack, job["id"])

    # What the outbox relay does when the web died after publishing but
    # before marking the job sent: the same message, the same task id.
    client = bare_client(stack.broker_url)
    try:
        client.send_task(
            "transcode.convert_video",
            kwargs=_convert_kwargs(stack, job["id"]),
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
    # No new attempt prefix, no object written again: the manifest answered it.
    assert _object_identities(stack, job["id"]) == objects_before
    stack.store.assert_job_outputs_whole(job["id"])
    again = job_of(stack.database_url, video_id)
    assert (again["status"], again["finished_at"]) == ("ready", job["finished_at"])
    assert again["result"]["outputs"] == job["result"]["outputs"]
    assert _task_results(stack, job["id"]) == [{"status": "SUCCESS"}]
    assert queue_state(stack.broker_url, f"{RESULTS_QUEUE}.dead") == (0, 0)


def test_a_job_delivered_twice_at_once_ends_with_one_set_of_outputs(start_stack, make_clip):
    # No worker yet, so both deliveries wait in the queue and start together,
    # one in each pool process, as two hosts would run them.
    stack = start_stack(start=("web", "collector"), TRANSCODER_CONCURRENCY="2")
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    video_id = api.upload(make_clip(seconds=10)).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    client = bare_client(stack.broker_url)
    try:
        # A second copy with its own task id and reply queue, as a second
        # caller would send it.
        copy = client.send_task("transcode.convert_video", kwargs=_convert_kwargs(stack, job_id))
        wait_until(
            lambda: queue_state(stack.broker_url, "transcode_queue") == (2, 0),
            timeout=30,
            what="both deliveries wait in the queue",
        )
        worker.start()
        copy_result = copy.get(timeout=180)
    finally:
        client.close()
    final, _ = api.wait_final(video_id, timeout=180)

    assert final["status"] == "ready", final
    job = job_of(stack.database_url, video_id)
    # Both deliveries answer with the one result the manifest holds...
    manifest = stack.store.manifest(job_id)
    assert copy_result["outputs"] == job["result"]["outputs"] == manifest["result"]["outputs"]
    assert copy_result["poster_key"] == job["result"]["poster_key"]
    # ...and the losing delivery removed its own attempt: one set of objects.
    wait_until(
        lambda: len({key.split("/")[2] for key in stack.store.objects(f"outputs/{job_id}/")}) == 2,
        timeout=30,
        what="one attempt prefix and the manifest are left",
        diagnostics=lambda: str(sorted(stack.store.objects(f"outputs/{job_id}/"))),
    )
    stack.store.assert_job_outputs_whole(job_id)
    assert _task_results(stack, job_id) == [{"status": "SUCCESS"}]
