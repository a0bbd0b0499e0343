"""RabbitMQ goes away and comes back: no job is lost, nobody needs a restart.

Two outages. A broker cut off from one stack only (a TCP line between the
stack and RabbitMQ, reset like a crashed broker would): that one can last
as long as the test needs. And the real thing, `rabbitmqctl stop_app`,
which stops the broker for the whole machine, so it lasts only seconds.
"""

from __future__ import annotations

import time

from tests.support.api import ApiClient
from tests.support.media import ffprobe
from tests.support.observe import job_of, queue_state, wait_until
from tests.support.outages import rabbitmq_app_stopped
from tests.support.processes import ffmpeg_pids

RECONNECT_WITHIN = 30  # seconds, for every process, after the broker is back


def test_an_upload_while_the_broker_is_down_waits_in_the_outbox_and_is_sent_when_it_returns(
    broker_line, start_stack, make_clip
):
    # `broker_line` is listed before `start_stack`, so pytest opens it before
    # the stack starts and cuts it only after the stack has stopped.
    stack = start_stack(broker_line=broker_line, TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    collector, web = stack.processes["collector"], stack.processes["web"]

    broker_line.cut()
    response = api.upload(make_clip(seconds=3))

    assert response.status_code == 201, response.text  # the upload does not need the broker
    video_id = response.json()["id"]
    job = job_of(stack.database_url, video_id)
    assert (job["dispatch_state"], job["sent_at"]) == ("pending", None)
    assert f"job {job['id']} stays in the outbox" in web.log_text()
    # The relay runs every second, but only while the collector has a broker:
    # once it has noticed the outage, the job still waits.
    wait_until(
        lambda: "broker connection lost" in collector.log_text(),
        timeout=30,
        what="the collector noticed the outage",
    )
    assert api.video(video_id)["status"] == "queued"
    assert job_of(stack.database_url, video_id)["dispatch_state"] == "pending"

    broker_line.open()
    final, _ = api.wait_final(video_id, timeout=120)

    assert final["status"] == "ready", final
    job = job_of(stack.database_url, video_id)
    assert job["dispatch_state"] == "sent"
    assert "outbox relay sent 1 job(s)" in collector.log_text()  # the relay, not the web, sent it


def test_a_rabbitmq_restart_loses_no_job_and_every_process_reconnects(start_stack, make_clip):
    in_flight, waiting = 5, 3
    stack = start_stack(TRANSCODER_CONCURRENCY=str(in_flight))
    api = ApiClient(stack.base_url)
    worker, web = stack.processes["worker"], stack.processes["web"]
    videos = []
    for n in range(in_flight + waiting):
        # Long clips for the jobs the restart must interrupt, short ones for the rest.
        response = api.upload(make_clip(seconds=15 if n < in_flight else 3), title=f"clip {n}")
        assert response.status_code == 201, response.text
        videos.append(response.json()["id"])
    # Five jobs being transcoded (unacknowledged), three waiting in the queue.
    wait_until(
        lambda: (
            len(ffmpeg_pids(worker.pid)) == in_flight
            and queue_state(stack.broker_url, "transcode_queue") == (waiting, 1)
        ),
        timeout=60,
        what=f"{in_flight} ffmpeg processes running and {waiting} jobs queued",
        diagnostics=lambda: str(queue_state(stack.broker_url, "transcode_queue")),
    )

    with rabbitmq_app_stopped():
        pass  # stop_app closed every connection; start_app follows at once
    back = time.monotonic()

    # Each process finds the broker again by itself, none is restarted.
    for queue in ("transcode_queue", "web.transcode_results"):
        wait_until(
            lambda queue=queue: (state := queue_state(stack.broker_url, queue)) and state[1] >= 1,
            timeout=RECONNECT_WITHIN,
            what=f"{queue} has its consumer again",
        )
    late = None
    while (
        late is None or f"job {job_of(stack.database_url, late)['id']} sent" not in web.log_text()
    ):
        # The web's own publish (not the collector's relay) must work again.
        assert time.monotonic() - back < RECONNECT_WITHIN, "the web never published again"
        response = api.upload(make_clip(seconds=3), title="after the restart")
        assert response.status_code == 201, response.text
        late = response.json()["id"]
        videos.append(late)

    for video_id in videos:
        final, _ = api.wait_final(video_id, timeout=180)
        assert final["status"] == "ready", final
        (output,) = final["outputs"]
        probe = ffprobe(api.signed_url(output["url"]))
        assert float(probe["format"]["duration"]) > 2
        # Whole outputs only: no unfinished upload, no object outside the manifest.
        stack.store.assert_job_outputs_whole(job_of(stack.database_url, video_id)["id"])
