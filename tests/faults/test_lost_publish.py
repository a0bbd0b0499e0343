"""A job message lost after the broker confirmed it still ends final.

Publisher confirms prove the broker had the message, not that a worker will
see it: here it is purged from transcode_queue, as a broker crash before the
write or a person's `rabbitmqctl purge_queue` would lose it. The collector's
reaper sends it again once JOB_RESEND_AFTER has passed with no word from a
worker, and gives up, with a reason, once the re-sends are spent.
"""

from __future__ import annotations

from kombu import Connection

from tests.support.api import ApiClient
from tests.support.observe import job_of, wait_until

QUEUE = "transcode_queue"


def _purge(broker_url: str) -> int:
    with Connection(broker_url, connect_timeout=5) as connection:
        return connection.default_channel.queue_purge(QUEUE)


def test_a_purged_job_is_sent_again_and_completes(start_stack, make_clip):
    # No worker yet, so the message sits in the queue until the test drops it.
    stack = start_stack(start=("web", "collector"), JOB_RESEND_AFTER="3", JOB_RESEND_LIMIT="3")
    api = ApiClient(stack.base_url)
    response = api.upload(make_clip(seconds=2))
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    assert job_of(stack.database_url, video_id)["dispatch_state"] == "sent"  # confirmed
    assert _purge(stack.broker_url) == 1  # the message is lost

    collector = stack.processes["collector"]
    wait_until(
        lambda: "re-sent" in collector.log_text(),
        timeout=30,
        what="the reaper re-sent the lost job",
        diagnostics=lambda: stack.logs("collector"),
    )
    stack.start("worker")
    final, _ = api.wait_final(video_id, timeout=120)
    assert final["status"] == "ready", final


def test_a_job_no_worker_ever_takes_is_given_up_with_a_reason(start_stack, make_clip):
    stack = start_stack(start=("web", "collector"), JOB_RESEND_AFTER="2", JOB_RESEND_LIMIT="1")
    api = ApiClient(stack.base_url)
    response = api.upload(make_clip(seconds=2))
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]

    final, _ = api.wait_final(video_id, timeout=60)

    assert final["status"] == "failed", final
    job = job_of(stack.database_url, video_id)
    assert job["error_code"] == "NotTaken"
    assert job["error"].startswith("No transcoder took this video in")
