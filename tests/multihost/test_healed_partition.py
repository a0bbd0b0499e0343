"""A cut host gets its link back: the job still ends with one result and one set of outputs.

The cut is silent (tests/support/hosts.py, `link_down`): no FIN, no RST, the
host's interface stays up. The worker's broker socket gives up on data left
unacknowledged for a second (py-amqp's default TCP_USER_TIMEOUT), and the
worker then gives the job up (worker_cancel_long_running_tasks_on_connection_loss);
RabbitMQ hands the job on only after missing two heartbeats. So:

- healed within a second, while the cut host's ffmpeg still runs: that host
  may keep the job or give it up and have it delivered again, whichever the
  timing gives; either way one result, one set of outputs, nothing left;
- healed after the other host finished: the cut host's attempt is late, and
  when its link returns it must leave nothing behind, store no second
  result, and move no job away from ready.
"""

from __future__ import annotations

import time

from tests.multihost.checks import assert_outputs_served, assert_store_holds_exactly, upload
from tests.multihost.system import System, Worker
from tests.support.api import ApiClient
from tests.support.observe import files_under, queue_state, wait_until
from tests.support.processes import alive, ffmpeg_pids

RESULTS_QUEUE = "web.transcode_results"
# Shorter than the worker socket's one-second TCP_USER_TIMEOUT, so the cut
# host may well keep its job; long enough for packets to be lost.
BRIEF_CUT_SECONDS = 0.5


def _transcoding(system: System, job_id: str) -> tuple[Worker, int]:
    """The host running ffmpeg on the job, and that ffmpeg's pid."""
    found = wait_until(
        lambda: [
            (w, pids[0])
            for w in system.workers
            if (pids := ffmpeg_pids(w.process.pid, mentioning=job_id))
        ],
        timeout=60,
        what="a host runs ffmpeg on the job",
    )
    assert len(found) == 1, found
    return found[0]


def _assert_ready_once(system: System, job_id: str) -> None:
    """One SUCCESS stored, and once ready, the job's row was never written otherwise."""
    assert system.final_states(job_id) == ["SUCCESS"]
    statuses = system.job_statuses(job_id)
    assert "ready" in statuses, statuses
    after = statuses[statuses.index("ready") :]
    assert set(after) == {"ready"}, statuses


def _quiet(system: System) -> None:
    """Both hosts consume again and every state they sent has been applied."""
    wait_until(
        lambda: (
            queue_state(system.stack.broker_url, "transcode_queue") == (0, 2)
            and (queue_state(system.stack.broker_url, RESULTS_QUEUE) or (1,))[0] == 0
        ),
        timeout=90,
        what="both hosts consume again and the collector has read every reply",
        diagnostics=lambda: system.stack.logs(),
    )


def test_a_partition_healed_while_the_cut_host_transcodes(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    video_id, job_id = upload(api, two_hosts, clips["long"], "healed at once")
    cut, pid = _transcoding(two_hosts, job_id)

    cut.host.link_down()
    time.sleep(BRIEF_CUT_SECONDS)
    # The cut landed while this very ffmpeg ran, and it runs still.
    assert alive(pid)
    assert pid in ffmpeg_pids(cut.process.pid, mentioning=job_id)
    cut.host.link_up()

    final, _ = api.wait_final(video_id, timeout=150)
    assert final["status"] == "ready", final
    _quiet(two_hosts)
    started = two_hosts.started_on(job_id)
    assert started[0] == cut.celery_hostname, started
    assert len(started) <= 2, started  # kept, or given up once and delivered again
    _assert_ready_once(two_hosts, job_id)
    assert_outputs_served(api, final)
    assert_store_holds_exactly(two_hosts, [job_id], uploads=1)
    for worker in two_hosts.workers:
        assert files_under(worker.scratch) == [], worker.host.name


def test_a_partition_healed_after_the_other_host_finished(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    video_id, job_id = upload(api, two_hosts, clips["long"], "healed late")
    late, pid = _transcoding(two_hosts, job_id)
    (other,) = [w for w in two_hosts.workers if w is not late]

    late.host.link_down()
    assert alive(pid), "the cut must land while the cut host's ffmpeg runs"

    final, _ = api.wait_final(video_id, timeout=150)
    assert final["status"] == "ready", final
    assert two_hosts.started_on(job_id) == [late.celery_hostname, other.celery_hostname]
    late.host.link_up()

    _quiet(two_hosts)
    # The late host is back, idle, and its attempt left no file behind.
    assert late.process.running
    assert ffmpeg_pids(late.process.pid) == []
    wait_until(
        lambda: files_under(late.scratch) == [],
        timeout=30,
        what="the late attempt's scratch folder is removed",
    )
    _assert_ready_once(two_hosts, job_id)
    assert_outputs_served(api, final)
    # One set of outputs, the winner's: the late attempt's objects (its
    # marker) are gone from the bucket.
    assert_store_holds_exactly(two_hosts, [job_id], uploads=1)
