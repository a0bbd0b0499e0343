"""Two transcoder hosts share nothing but the broker and the object store.

What a person sees goes through the web's HTTP API only: uploads, statuses,
and the outputs played through /media/ (a redirect to a signed store URL).
Which host did what is read where it really is: the STARTED states the
collector stored (tests/multihost/conftest.py records each one), the
broker's consumer count, and the processes under each worker.
"""

from __future__ import annotations

import time

from tests.multihost.checks import assert_outputs_served, assert_store_holds_exactly, upload
from tests.multihost.system import System
from tests.support.api import ApiClient
from tests.support.media import ffprobe
from tests.support.observe import files_under, job_of, queue_state, wait_until
from tests.support.processes import ffmpeg_pids

JOBS = 4
LONG_CLIP_SECONDS = 30


def test_jobs_spread_over_both_hosts_and_each_completes_once(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    jobs = [upload(api, two_hosts, clips["short"], f"clip {n}") for n in range(JOBS)]

    finals = [api.wait_final(video_id, timeout=150)[0] for video_id, _ in jobs]

    assert [final["status"] for final in finals] == ["ready"] * JOBS, finals
    for final in finals:
        assert_outputs_served(api, final)
    started = {job_id: two_hosts.started_on(job_id) for _, job_id in jobs}
    # Each job was started exactly once: no host lost, so no redelivery.
    assert all(len(hosts) == 1 for hosts in started.values()), started
    # Both hosts worked: with one job at a time each and the jobs queued at
    # once, the second job can only go to the host the first did not take.
    assert {hosts[0] for hosts in started.values()} == {
        worker.celery_hostname for worker in two_hosts.workers
    }, started
    assert all(two_hosts.final_states(job_id) == ["SUCCESS"] for _, job_id in jobs)
    assert_store_holds_exactly(two_hosts, [job_id for _, job_id in jobs], uploads=JOBS)
    for worker in two_hosts.workers:
        # Every attempt removed its scratch folder when it ended.
        assert files_under(worker.scratch) == [], worker.host.name


def test_a_host_lost_mid_job_hands_the_job_to_the_other_host(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    video_id, job_id = upload(api, two_hosts, clips["long"], "cut mid-job")
    (lost,) = wait_until(
        lambda: [w for w in two_hosts.workers if ffmpeg_pids(w.process.pid, mentioning=job_id)],
        timeout=60,
        what="a host runs ffmpeg on the job",
    )
    (other,) = [w for w in two_hosts.workers if w is not lost]

    lost.host.link_down()
    cut_at = time.monotonic()

    # The lost worker is still running: only RabbitMQ's heartbeat check can
    # tell that its consumer is gone and hand the unacked job back.
    wait_until(
        lambda: queue_state(two_hosts.stack.broker_url, "transcode_queue") == (0, 1),
        timeout=60,
        what="RabbitMQ dropped the lost host's consumer",
        diagnostics=lambda: str(queue_state(two_hosts.stack.broker_url, "transcode_queue")),
    )
    noticed_after = time.monotonic() - cut_at
    assert lost.process.running
    final, seen = api.wait_final(video_id, timeout=150)

    assert final["status"] == "ready", final
    assert "processing" in {body["status"] for body in seen}
    assert two_hosts.started_on(job_id) == [lost.celery_hostname, other.celery_hostname]
    assert two_hosts.final_states(job_id) == ["SUCCESS"]
    assert job_of(two_hosts.stack.database_url, video_id)["status"] == "ready"
    # About two missed 5 s heartbeats; far below the 60 s default's two minutes.
    assert noticed_after < 45, f"RabbitMQ noticed the lost host after {noticed_after:.1f} s"
    assert_outputs_served(api, final)
    (output,) = final["outputs"]
    duration = float(ffprobe(api.signed_url(output["url"]))["format"]["duration"])
    assert abs(duration - LONG_CLIP_SECONDS) <= 0.25
    assert_store_holds_exactly(two_hosts, [job_id], uploads=1)
    assert files_under(other.scratch) == []
    # A lost host is switched off, not shut down: nothing it could send now matters.
    lost.process.kill()
