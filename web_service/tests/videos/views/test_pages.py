from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import JobStatus
from videos.models import Video

from ...conftest import logged_in_client, source_keys
from ...factories import success_result, video_with_job
from ..services.test_videos import sent_tasks, stored_video

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def test_home_lists_own_videos_and_escapes_titles_and_file_names(session, user, other_user):
    video, _ = video_with_job(owner=user)
    theirs, _ = video_with_job(owner=other_user)
    Video.objects.filter(pk=video.pk).update(title=XSS, original_filename=XSS + ".mp4")
    html = session[0].get("/").content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert str(video.id) in html
    assert str(theirs.id) not in html


def test_the_header_shows_the_user_and_a_logout_form(session):
    html = session[0].get("/").content.decode()
    assert "alice" in html
    assert '<form method="post" action="/accounts/logout/"' in html


@pytest.mark.parametrize("path", ["/", "/videos/00000000-0000-0000-0000-000000000000/"])
def test_an_anonymous_visitor_is_sent_to_the_login(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_detail_of_a_failed_job_shows_the_reason(session, user):
    video, _job = video_with_job(
        owner=user, status=JobStatus.FAILED, error="The file is not a video."
    )
    html = session[0].get(f"/videos/{video.id}/").content.decode()
    assert "The file is not a video." in html
    assert "<video" not in html


def test_detail_of_a_ready_video_plays_through_the_media_redirect(session, user):
    video, job = video_with_job(owner=user, status=JobStatus.READY)
    job.result = success_result(job_id=str(job.id))
    job.save()
    html = session[0].get(f"/videos/{video.id}/").content.decode()
    prefix = f"/media/outputs/{job.id}/9f2c4e1a7b3d5f60"
    assert f'src="{prefix}/720p.mp4"' in html
    assert f'poster="{prefix}/poster.jpg"' in html
    assert f'href="{prefix}/720p.mp4?download=1"' in html


def test_another_persons_video_is_a_404_and_cannot_be_deleted(session, other_user):
    theirs, _ = video_with_job(owner=other_user)
    client, token = session
    assert client.get(f"/videos/{theirs.id}/").status_code == 404
    deleted = client.post(f"/videos/{theirs.id}/delete/", HTTP_X_CSRFTOKEN=token)
    assert deleted.status_code == 404
    assert Video.objects.filter(pk=theirs.pk).exists()


@pytest.mark.usefixtures("empty_sources")
def test_the_delete_button_deletes_rows_and_the_source(
    user, memory_broker, object_store, web_s3, transcoder_s3, django_capture_on_commit_callbacks
):
    video, job = stored_video(object_store, web_s3, owner=user)
    client, _token = logged_in_client(user)
    html = client.get(f"/videos/{video.id}/").content.decode()
    assert f'action="/videos/{video.id}/delete/"' in html
    token = client.cookies["csrftoken"].value
    # A page's form sends the token as a field, as the browser does.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/videos/{video.id}/delete/", {"csrfmiddlewaretoken": token})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert not Video.objects.filter(pk=video.pk).exists()
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert sent_tasks(memory_broker) == [
        ("transcode.delete_outputs", {"job_id": str(job.id), "contract_version": 2})
    ]


def test_delete_without_csrf_is_refused(session, user):
    video, _ = video_with_job(owner=user)
    assert session[0].post(f"/videos/{video.id}/delete/").status_code == 403
    assert Video.objects.filter(pk=video.pk).exists()


def test_form_post_without_csrf_is_refused(session):
    assert session[0].post("/", {}).status_code == 403


def test_healthz():
    assert Client().get("/healthz").json() == {"status": "ok"}
