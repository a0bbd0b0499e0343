"""Two transcoder hosts share nothing but the broker and the object store.

What a person sees goes through the web's HTTP API only: uploads, statuses,
and the outputs played through /media/ (a redirect to a signed store URL).
Which host did what is read where it really is: the STARTED states the
collector stored (tests/multihost/conftest.py records each one), the
broker's consumer count, and the processes under each worker.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from tests.multihost.system import System
from tests.support.api import ApiClient
from tests.support.media import ffprobe
from tests.support.observe import files_under, job_of, queue_state, wait_until
from tests.support.processes import ffmpeg_pids

JOBS = 4
LONG_CLIP_SECONDS = 30


def _upload(api: ApiClient, system: System, clip: Any, title: str) -> tuple[str, str]:
    response = api.upload(clip, title=title)
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    return video_id, job_of(system.stack.database_url, video_id)["id"]


def _assert_outputs_served(api: ApiClient, video: dict[str, Any]) -> None:
    """Each output and the poster, fetched as a browser would, has the recorded size."""
    assert video["outputs"], video
    for output in video["outputs"]:
        response = api.get(output["url"])
        assert response.status_code == 200, (output, response.status_code)
        assert len(response.content) == output["size_bytes"], output
    assert api.get(video["poster_url"]).status_code == 200


def _assert_store_holds_exactly(system: System, job_ids: list[str], uploads: int) -> None:
    """One source per upload; per job one manifest and the objects it names, nothing else.

    The spec lets a losing or dead attempt leave objects the manifest does
    not name. Here there are none to allow: every job but the cut one ran
    once, and the cut host lost its link while ffmpeg ran, before its
    upload stage, and never got it back, so it could write nothing. Any
    extra object would be a duplicate run or a partial upload, so the check
    is strict: nothing outside the manifests, no unfinished multipart upload.
    """
    store = system.stack.store
    stored = store.objects()  # the whole bucket: key -> size
    sources = {key for key in stored if key.startswith("sources/")}
    allowed = set(sources)
    for job_id in job_ids:
        manifest = store.manifest(job_id)
        assert manifest is not None, f"no manifest for job {job_id}"
        result = manifest["result"]
        assert result["job_id"] == job_id
        assert manifest["request"]["source_key"] in sources
        named = store.manifest_keys(job_id)
        for key, size in named.items():
            assert key.startswith(f"outputs/{job_id}/"), key
            assert key in stored, f"{key}: not stored"
            assert size in (-1, stored[key]), f"{key}: {stored[key]} bytes stored, {size} recorded"
        allowed |= {*named, f"outputs/{job_id}/manifest.json"}
    assert len(sources) == uploads
    assert set(stored) == allowed, f"unexpected or missing: {sorted(set(stored) ^ allowed)}"
    assert store.multipart_uploads() == [], "an unfinished multipart upload is left"


def test_a_host_sees_only_its_lines_its_name_and_its_own_files(two_hosts: System):
    # The isolation the other tests rely on, checked from inside a host.
    east, west = two_hosts.workers
    store_port = two_hosts.stack.s3.endpoint_url.rsplit(":", 1)[1]
    probe = (
        "import os, socket, sys\n"
        "print(socket.gethostname())\n"
        f"print(sorted(os.listdir({str(two_hosts.stack.workdir)!r})))\n"
        f"print(sorted(os.listdir({str(west.scratch.parent)!r})))\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {store_port}), timeout=2)\n"
        "    print('store reachable on loopback')\n"
        "except OSError as error:\n"
        "    print(type(error).__name__)\n"
        f"socket.create_connection(({east.host.gateway!r}, {east.store_line.port}), timeout=2)\n"
        "print('store line reachable')\n"
    )
    seen = subprocess.run(
        [*east.prefix, sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.splitlines() == [
        east.host.name,
        "[]",  # the store's data and every log: hidden
        "[]",  # the other host's scratch: hidden
        "ConnectionRefusedError",  # this host's loopback is its own
        "store line reachable",
    ]
    assert east.process.env["S3_ENDPOINT_URL"].startswith(f"http://{east.host.gateway}:")
    assert east.process.env["BROKER_URL"].split("@")[1].startswith(f"{east.host.gateway}:")


def test_jobs_spread_over_both_hosts_and_each_completes_once(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    jobs = [_upload(api, two_hosts, clips["short"], f"clip {n}") for n in range(JOBS)]

    finals = [api.wait_final(video_id, timeout=150)[0] for video_id, _ in jobs]

    assert [final["status"] for final in finals] == ["ready"] * JOBS, finals
    for final in finals:
        _assert_outputs_served(api, final)
    started = {job_id: two_hosts.started_on(job_id) for _, job_id in jobs}
    # Each job was started exactly once: no host lost, so no redelivery.
    assert all(len(hosts) == 1 for hosts in started.values()), started
    # Both hosts worked: with one job at a time each and the jobs queued at
    # once, the second job can only go to the host the first did not take.
    assert {hosts[0] for hosts in started.values()} == {
        worker.celery_hostname for worker in two_hosts.workers
    }, started
    assert all(two_hosts.final_states(job_id) == ["SUCCESS"] for _, job_id in jobs)
    _assert_store_holds_exactly(two_hosts, [job_id for _, job_id in jobs], uploads=JOBS)
    for worker in two_hosts.workers:
        # Every attempt removed its scratch folder when it ended.
        assert files_under(worker.scratch) == [], worker.host.name


def test_a_host_lost_mid_job_hands_the_job_to_the_other_host(two_hosts: System, clips):
    api = ApiClient(two_hosts.stack.base_url)
    video_id, job_id = _upload(api, two_hosts, clips["long"], "cut mid-job")
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
    _assert_outputs_served(api, final)
    (output,) = final["outputs"]
    duration = float(ffprobe(api.signed_url(output["url"]))["format"]["duration"])
    assert abs(duration - LONG_CLIP_SECONDS) <= 0.25
    _assert_store_holds_exactly(two_hosts, [job_id], uploads=1)
    assert files_under(other.scratch) == []
    # A lost host is switched off, not shut down: nothing it could send now matters.
    lost.process.kill()
