"""The video's JSON shape: the HLS ladder and the storyboard, added beside the old keys."""

from __future__ import annotations

import pytest

from jobs.models import JobStatus
from videos.views.presenters import video_to_dict

from ...conftest import logged_in_client
from ...factories import hls_result, success_result, video_with_job

pytestmark = pytest.mark.django_db

JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
PREFIX = f"outputs/{JOB_ID}/9f2c4e1a7b3d5f60"


def test_a_video_with_a_ladder_links_its_master_playlist_rungs_and_storyboard():
    video, _ = video_with_job(id=JOB_ID, status=JobStatus.READY, result=hls_result(job_id=JOB_ID))
    data = video_to_dict(video=video)
    assert data["hls_url"] == f"/media/{PREFIX}/hls/master.m3u8"
    assert data["storyboard_url"] == f"/media/{PREFIX}/storyboard.vtt"
    assert data["rungs"] == [
        {"name": "720p", "width": 1280, "height": 720, "bandwidth": 3000000},
        {"name": "480p", "width": 854, "height": 480, "bandwidth": 1500000},
        {"name": "360p", "width": 640, "height": 360, "bandwidth": 800000},
    ]
    # The keys outside tools already read are still there, unchanged.
    assert data["outputs"][0]["url"] == f"/media/{PREFIX}/720p.mp4"
    assert data["poster_url"] == f"/media/{PREFIX}/poster.jpg"


def test_a_video_without_a_ladder_has_null_urls_and_no_rungs():
    video, _ = video_with_job(status=JobStatus.READY, result=success_result(job_id=JOB_ID))
    data = video_to_dict(video=video)
    assert (data["hls_url"], data["rungs"], data["storyboard_url"]) == (None, [], None)


def test_a_queued_video_has_no_ladder_yet():
    video, _ = video_with_job()
    data = video_to_dict(video=video)
    assert (data["hls_url"], data["rungs"], data["storyboard_url"]) == (None, [], None)


def test_the_page_plays_the_ladder_and_keeps_the_mp4_download(user):

    video, _ = video_with_job(
        owner=user, id=JOB_ID, status=JobStatus.READY, result=hls_result(job_id=JOB_ID)
    )
    html = logged_in_client(user)[0].get(f"/videos/{video.id}/").content.decode()
    assert f'data-hls-url="/media/{PREFIX}/hls/master.m3u8"' in html
    assert (
        f'<track kind="metadata" label="Scrub previews" src="/media/{PREFIX}/storyboard.vtt"'
        in html
    )
    assert '<option value="480p" data-height="480">480p</option>' in html
    assert f'href="/media/{PREFIX}/720p.mp4?download=1"' in html
    assert "videos/vendor/hls.min.js" in html
    assert "videos/player.js" in html
    assert "<script>" not in html  # no inline script: the URLs travel in data attributes


def test_a_ladder_only_video_plays_without_an_mp4(user):
    result = {**hls_result(job_id=JOB_ID), "outputs": []}
    video, _ = video_with_job(owner=user, id=JOB_ID, status=JobStatus.READY, result=result)
    html = logged_in_client(user)[0].get(f"/videos/{video.id}/").content.decode()
    assert f'data-hls-url="/media/{PREFIX}/hls/master.m3u8"' in html
    assert 'data-mp4-url=""' in html
    assert "Download MP4" not in html
    assert "videos/player.js" in html


def test_rung_names_from_the_worker_are_escaped_in_the_page(user):

    result = hls_result(job_id=JOB_ID)
    result["hls"]["rungs"][0]["name"] = '"><script>alert(1)</script>'
    video, _ = video_with_job(owner=user, id=JOB_ID, status=JobStatus.READY, result=result)
    html = logged_in_client(user)[0].get(f"/videos/{video.id}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_another_persons_queued_jobs_do_not_move_my_queue_position(user, other_user):
    """The place counts only the person's own waiting jobs: it must not tell the site's load."""
    for n in range(3):
        video_with_job(owner=other_user, source_key=f"sources/theirs-{n}")
    mine_first, _ = video_with_job(owner=user, source_key="sources/mine-1")
    mine_second, _ = video_with_job(owner=user, source_key="sources/mine-2")
    video_with_job(owner=user, status=JobStatus.PROCESSING, source_key="sources/mine-3")
    client = logged_in_client(user)[0]
    first = client.get(f"/api/videos/{mine_first.id}/").json()
    second = client.get(f"/api/videos/{mine_second.id}/").json()
    assert (first["queue_position"], second["queue_position"]) == (1, 2)
