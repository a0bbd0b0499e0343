"""A user of the composed stack: upload, watch, play (with a seek), cancel.

Only HTTP, as a browser would, except to look for ffmpeg processes in the
containers. The files are numbered because they run in order on one stack:
test_3_down.py removes it.
"""

from __future__ import annotations

import urllib.parse

import pytest
import requests

from tests.compose.conftest import TRANSCODERS
from tests.compose.helpers import (
    post,
    running_in_one_transcoder,
    transcoding_in,
    upload,
    wait_for,
)
from tests.support.media import ffprobe

# The first test here builds and starts the stack (minutes on a cold machine),
# the last one stops it and, if this suite started it, the Docker daemon.
pytestmark = pytest.mark.timeout(1200)


def test_the_stack_runs_two_healthy_transcoders_and_publishes_only_on_loopback(
    compose_project, web_url
):
    transcoders = compose_project.containers("transcoder")
    assert len(transcoders) == TRANSCODERS
    states = compose_project.states()
    assert all(states[c]["State"]["Health"]["Status"] == "healthy" for c in transcoders)
    # Every published port is on 127.0.0.1 (web and the store's S3 port).
    bound = {
        binding["HostIp"]
        for item in states.values()
        for bindings in (item["NetworkSettings"]["Ports"] or {}).values()
        for binding in bindings or []
    }
    assert bound == {"127.0.0.1"}, bound
    assert requests.get(f"{web_url}/healthz", timeout=10).status_code == 200


def test_an_upload_shows_progress_becomes_ready_and_plays_with_a_seek(
    api, compose_project, long_clip
):
    # The long clip: ffmpeg reports progress once a second, so a short job
    # can go from 0 to ready between two polls.
    video_id = upload(api, long_clip, "composed")
    body, seen = api.wait_final(video_id, timeout=180)
    assert body["status"] == "ready", (body, compose_project.logs(60))
    # Progress as the page shows it, from ffmpeg through the collector.
    assert any(b["status"] == "processing" and 0 < b["progress"] < 100 for b in seen), seen
    assert body["progress"] == 100

    (output,) = body["outputs"]
    redirect = api.session.get(f"{api.base_url}{output['url']}", allow_redirects=False, timeout=30)
    assert redirect.status_code == 302, redirect.text
    signed = redirect.headers["Location"]
    # Signed for the store's port published on the host, as browsers reach it.
    published = compose_project.setting("S3_PUBLISHED_PORT")
    assert urllib.parse.urlsplit(signed).netloc == f"127.0.0.1:{published}"
    ranged = requests.get(signed, headers={"Range": "bytes=100-1123"}, timeout=30)
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 100-1123/{output['size_bytes']}"
    assert len(ranged.content) == 1024
    head = requests.get(signed, headers={"Range": "bytes=0-7"}, timeout=30)
    assert head.content[4:8] == b"ftyp"
    probe = ffprobe(signed)
    assert abs(float(probe["format"]["duration"]) - 30) <= 0.25


def test_cancelling_a_running_job_stops_its_ffmpeg(api, compose_project, long_clip):
    video_id = upload(api, long_clip, "to cancel")
    running_in_one_transcoder(compose_project, api, video_id)

    response = post(api, f"/api/videos/{video_id}/cancel/")
    assert response.status_code == 200, response.text
    final, _ = api.wait_final(video_id, timeout=60)
    assert final["status"] == "cancelled", final
    # The ffmpeg is really killed, in whichever container ran it.
    wait_for(lambda: not transcoding_in(compose_project), "no ffmpeg left", timeout=30)
    assert final["outputs"] == []
