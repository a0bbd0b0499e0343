"""The detail page of a job still running carries the player that plays it
while it transcodes (issue 26): hidden until the poll brings a `preview`
(static/videos/live_player.js), with no inline script. The browser side is
tests/browser/test_progressive_playback.py."""

from __future__ import annotations

import pytest

from jobs.models import JobStatus

from ...conftest import logged_in_client
from ...factories import hls_result, video_with_job

pytestmark = pytest.mark.django_db

JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING])
def test_a_running_job_has_the_live_player_hidden_and_its_scripts(user, status):
    video, _ = video_with_job(owner=user, id=JOB_ID, status=status)
    html = logged_in_client(user)[0].get(f"/videos/{video.id}/").content.decode()
    assert '<div class="player" data-player data-live hidden>' in html
    assert "data-live-seek" in html
    for script in ("videos/vendor/hls.min.js", "videos/player.js", "videos/live_player.js"):
        assert script in html
    assert "<script>" not in html  # no inline script: the poll brings the URL


@pytest.mark.parametrize("status", [JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_finished_job_has_no_live_player(user, status):
    result = hls_result(job_id=JOB_ID) if status == JobStatus.READY else None
    video, _ = video_with_job(owner=user, id=JOB_ID, status=status, result=result)
    html = logged_in_client(user)[0].get(f"/videos/{video.id}/").content.decode()
    assert "data-player data-live" not in html
    assert "videos/live_player.js" not in html
