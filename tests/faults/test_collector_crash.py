"""The collector dies mid-job: the worker's states wait in the durable reply
queue, and a restarted collector applies them."""

from __future__ import annotations

import re

from tests.support.api import ApiClient
from tests.support.observe import job_of, queue_state, wait_until

RESULTS_QUEUE = "web.transcode_results"


def test_results_published_while_the_collector_is_dead_are_applied_after_restart(
    start_stack, make_clip
):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    collector = stack.processes["collector"]
    video_id = api.upload(make_clip(seconds=20)).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    wait_until(
        lambda: api.video(video_id)["status"] == "processing",
        timeout=60,
        what="the collector recorded that the job started",
    )

    collector.kill()
    # The worker finishes without anyone to hear it. Celery logs "succeeded"
    # only after it has published the SUCCESS state.
    wait_until(
        lambda: f"convert_video[{job_id}] succeeded" in stack.processes["worker"].log_text(),
        timeout=120,
        what="the worker finished the job",
    )
    # Its PROGRESS and SUCCESS messages are kept, unread, in the reply queue...
    messages, consumers = queue_state(stack.broker_url, RESULTS_QUEUE)
    assert messages >= 2
    assert consumers == 0
    # ...and the database does not know yet.
    assert job_of(stack.database_url, video_id)["status"] == "processing"

    collector.start()
    final, _ = api.wait_final(video_id, timeout=60)
    assert final["status"] == "ready", final
    assert final["progress"] == 100
    # The job's own output, under one of its attempt prefixes (docs/messages.md).
    assert re.fullmatch(
        rf"/media/outputs/{job_id}/[0-9a-f]{{16}}/720p\.mp4", final["outputs"][0]["url"]
    )
    stack.store.assert_job_outputs_whole(job_id)
    # Every waiting reply was applied and acknowledged, none dead-lettered.
    wait_until(
        lambda: queue_state(stack.broker_url, RESULTS_QUEUE) == (0, 1),
        timeout=30,
        what="the reply queue is drained by the one collector",
    )
    assert queue_state(stack.broker_url, f"{RESULTS_QUEUE}.dead") == (0, 0)
