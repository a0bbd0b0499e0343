from __future__ import annotations

import pytest
from django.test import Client

from videos.models import JobStatus, Video

from ...factories import success_result, video_with_job

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def test_home_lists_videos_and_escapes_titles_and_file_names():
    video, _ = video_with_job()
    Video.objects.filter(pk=video.pk).update(title=XSS, original_filename=XSS + ".mp4")
    html = Client().get("/").content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_detail_of_a_failed_job_shows_the_reason():
    video, job = video_with_job(status=JobStatus.FAILED, error="The file is not a video.")
    html = Client().get(f"/videos/{video.id}/").content.decode()
    assert "The file is not a video." in html
    assert "<video" not in html


def test_detail_of_a_ready_video_plays_through_the_media_redirect():
    video, job = video_with_job(status=JobStatus.READY)
    job.result = success_result(job_id=str(job.id))
    job.save()
    html = Client().get(f"/videos/{video.id}/").content.decode()
    prefix = f"/media/outputs/{job.id}/9f2c4e1a7b3d5f60"
    assert f'src="{prefix}/720p.mp4"' in html
    assert f'poster="{prefix}/poster.jpg"' in html
    assert f'href="{prefix}/720p.mp4?download=1"' in html


def test_form_post_without_csrf_is_refused():
    assert Client(enforce_csrf_checks=True).post("/", {}).status_code == 403


def test_healthz():
    assert Client().get("/healthz").json() == {"status": "ok"}
