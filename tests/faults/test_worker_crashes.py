"""The transcoder dies mid-job: the job is delivered again and finishes.

With `acks_late` a job stays unacknowledged while it runs, so RabbitMQ still
holds it when the process dies; `reject_on_worker_lost` makes Celery hand
it back (requeue) when only a pool process dies. The task is idempotent per
job_id: each delivery works in its own scratch folder and attempt prefix,
and only the manifest, written last, makes outputs final.
"""

from __future__ import annotations

import os
import signal

from tests.support.api import ApiClient
from tests.support.media import ffprobe
from tests.support.observe import job_of, queue_state, wait_until
from tests.support.processes import alive, ffmpeg_pids, parent_of

# Long enough (about 3 s of ffmpeg on two cores) for a kill to land mid-transcode.
LONG_CLIP_SECONDS = 30


def test_a_pool_process_killed_mid_transcode_is_redelivered_and_completes(start_stack, make_clip):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    response = api.upload(make_clip(seconds=LONG_CLIP_SECONDS))
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]

    (ffmpeg,) = wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="ffmpeg runs the job"
    )
    pool_process = parent_of(ffmpeg)
    # The pool process, not the worker's main process, runs the task.
    assert pool_process != worker.pid
    assert parent_of(pool_process) == worker.pid
    os.kill(pool_process, signal.SIGKILL)

    # ffmpeg dies with its parent (PR_SET_PDEATHSIG), mid-file.
    wait_until(lambda: not alive(ffmpeg), timeout=10, what=f"ffmpeg {ffmpeg} is gone")
    # Nothing of the dead attempt reached the store, let alone a manifest:
    # only its marker, which counts it as a death (docs/messages.md, "Poison jobs").
    left = stack.store.objects(f"outputs/{job_id}/")
    assert [key.split("/")[2] for key in left] == ["attempts"], "a partial output was uploaded"

    # The main process starts a new pool process, and the broker delivers the job again.
    (again,) = wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="the job runs again"
    )
    assert parent_of(again) != pool_process

    final, _ = api.wait_final(video_id, timeout=120)
    assert final["status"] == "ready", final
    (output,) = final["outputs"]
    # Played the way a browser does: /media/ redirects to a signed store URL.
    duration = float(ffprobe(api.signed_url(output["url"]))["format"]["duration"])
    assert abs(duration - LONG_CLIP_SECONDS) <= 0.25
    # The store's "no *.tmp file": nothing unfinished, nothing outside the manifest.
    stack.store.assert_job_outputs_whole(job_id)
    assert "WorkerLostError" in worker.log_text()  # Celery saw the loss and requeued


def test_jobs_sent_while_the_worker_is_dead_wait_in_the_queue_and_complete_after_restart(
    start_stack, make_clip
):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    first = api.upload(make_clip(seconds=LONG_CLIP_SECONDS)).json()["id"]
    first_job = job_of(stack.database_url, first)["id"]
    jobs = [first_job]
    (ffmpeg,) = wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=first_job), timeout=60, what="ffmpeg runs"
    )

    worker.kill()  # the whole process group at once: main process, pool, ffmpeg
    assert not alive(ffmpeg)
    later = []
    for n in range(2):
        response = api.upload(make_clip(seconds=3), title=f"sent while the worker is dead {n}")
        assert response.status_code == 201, response.text
        later.append(response.json()["id"])
        jobs.append(job_of(stack.database_url, later[-1])["id"])

    # All three wait in the durable queue: the job that was running came back
    # when its unacknowledged delivery died with the worker's connection.
    wait_until(
        lambda: queue_state(stack.broker_url, "transcode_queue") == (3, 0),
        timeout=30,
        what="3 ready messages and no consumer in transcode_queue",
        diagnostics=lambda: str(queue_state(stack.broker_url, "transcode_queue")),
    )
    assert {api.video(video)["status"] for video in later} == {"queued"}

    worker.start()
    for video, job_id in zip([first, *later], jobs, strict=True):
        final, _ = api.wait_final(video, timeout=120)
        assert final["status"] == "ready", final
        (output,) = final["outputs"]
        assert output["size_bytes"] > 0
        stack.store.assert_job_outputs_whole(job_id)
