"""Faults across containers: a transcoder killed or cut off the network
mid-job, and a broker restart. Each fault lands while an ffmpeg of the job
runs (seen before the fault), and each job still ends as the native suite
demands: one SUCCESS, its outputs whole and alone, of the right duration.
"""

from __future__ import annotations

import pytest

from tests.compose.conftest import TRANSCODERS
from tests.compose.helpers import (
    consumers_ready,
    final_watching,
    job_left_whole,
    running_in_one_transcoder,
    transcoding_in,
    upload,
    wait_for,
)
from tests.support.docker import docker

# The first test here builds and starts the stack (minutes on a cold machine),
# the last one stops it and, if this suite started it, the Docker daemon.
pytestmark = [pytest.mark.timeout(1200), pytest.mark.usefixtures("states_recorded")]
LONG_SECONDS, SHORT_SECONDS = 30, 8  # conftest's long_clip and short_clip


def test_a_killed_transcoders_job_completes_on_the_other(api, compose_project, long_clip, tmp_path):
    consumers_ready(compose_project, TRANSCODERS)
    video_id = upload(api, long_clip, "killed")
    victim = running_in_one_transcoder(compose_project, api, video_id)

    # SIGKILL: the container's connection to the broker drops, so RabbitMQ
    # hands the unacknowledged job to the other transcoder.
    docker("kill", victim)
    try:
        final, seen = final_watching(compose_project, api, video_id)
        assert final["status"] == "ready", (final, compose_project.logs(80))
        assert seen - {victim}, "no other transcoder ran the job"
        job_left_whole(compose_project, api, final, seconds=LONG_SECONDS, tmp=tmp_path)
    finally:
        # `docker kill` counts as a manual stop: restart policies leave it down.
        docker("start", victim)
    consumers_ready(compose_project, TRANSCODERS)


def test_a_transcoder_cut_off_the_network_mid_job_its_job_completes_elsewhere(
    api, compose_project, long_clip, tmp_path
):
    consumers_ready(compose_project, TRANSCODERS)
    video_id = upload(api, long_clip, "cut off")
    victim = running_in_one_transcoder(compose_project, api, video_id)
    network = f"{compose_project.name}_default"
    # Its names on the network (the service's among them), which a bare
    # `network connect` would not give back: without them Docker's DNS no
    # longer answers `transcoder` with this replica, and Prometheus's
    # discovery (test_2e_monitoring.py) would never find it again.
    aliases = compose_project.states()[victim]["NetworkSettings"]["Networks"][network]["Aliases"]

    # The process lives on, unreachable: only the missed heartbeats
    # (BROKER_HEARTBEAT=2 here) tell RabbitMQ to hand its job on.
    docker("network", "disconnect", network, victim)
    try:
        final, seen = final_watching(compose_project, api, video_id)
        assert final["status"] == "ready", (final, compose_project.logs(80))
        assert seen - {victim}, "no other transcoder ran the job"
    finally:
        docker("network", "connect", *(f"--alias={alias}" for alias in aliases or []),
               network, victim)  # fmt: skip
    # Back on the network, the worker reconnects by itself; whatever its
    # late attempt wrote is removed, and the job stays as the other left it.
    consumers_ready(compose_project, TRANSCODERS, timeout=120)
    job_left_whole(compose_project, api, final, seconds=LONG_SECONDS, tmp=tmp_path)


def test_a_broker_restart_loses_no_job(api, compose_project, short_clip, tmp_path):
    consumers_ready(compose_project, TRANSCODERS)
    rabbitmq = compose_project.container("rabbitmq")
    started = compose_project.states()[rabbitmq]["State"]["StartedAt"]
    # More jobs than transcoders: some run, some wait in the queue.
    videos = [upload(api, short_clip, f"restart {n}") for n in range(4)]
    # The restart must hit a running transcode, not merely a queued job.
    wait_for(lambda: transcoding_in(compose_project), "an ffmpeg of these jobs running", 60)
    in_flight = [api.video(video_id)["status"] for video_id in videos]
    assert "processing" in in_flight, in_flight

    docker("restart", rabbitmq, timeout=120)
    assert compose_project.states()[rabbitmq]["State"]["StartedAt"] != started

    for video_id in videos:
        final, _ = final_watching(compose_project, api, video_id)
        assert final["status"] == "ready", (final, compose_project.logs(80))
        job_left_whole(compose_project, api, final, seconds=SHORT_SECONDS, tmp=tmp_path)
    # Every process reconnected: both transcoders consume again.
    consumers_ready(compose_project, TRANSCODERS)
