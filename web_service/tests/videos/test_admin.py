"""The admin sits behind Django's login; deleting a video there deletes its objects too."""

from __future__ import annotations

import pytest
from django.test import Client

from videos.models import Video

from ..conftest import source_keys
from ..factories import video_with_job
from .services.test_videos import sent_tasks, source_exists, stored_video

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/videos/video/",
        "/admin/videos/job/",
        "/admin/django_celery_results/taskresult/",
    ],
)
def test_admin_pages_redirect_an_anonymous_visitor_to_the_login(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.usefixtures("empty_sources")
def test_deleting_a_video_in_the_admin_deletes_its_source_and_asks_for_its_outputs(
    admin_client,
    memory_broker,
    object_store,
    web_s3,
    transcoder_s3,
    django_capture_on_commit_callbacks,
):
    video, job = stored_video(object_store, web_s3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/videos/video/{video.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not source_exists(object_store, transcoder_s3, video.source_key)
    assert sent_tasks(memory_broker) == [
        ("transcode.delete_outputs", {"job_id": str(job.id), "contract_version": 2})
    ]


@pytest.mark.usefixtures("empty_sources")
def test_the_bulk_delete_action_deletes_every_videos_objects(
    admin_client,
    memory_broker,
    object_store,
    web_s3,
    transcoder_s3,
    django_capture_on_commit_callbacks,
):
    videos = [stored_video(object_store, web_s3) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/videos/video/",
            {
                "action": "delete_selected",
                "_selected_action": [str(video.pk) for video, _ in videos],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert Video.objects.count() == 0
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert sorted(kwargs["job_id"] for _, kwargs in sent_tasks(memory_broker)) == sorted(
        str(job.id) for _, job in videos
    )


def test_staff_see_every_owners_videos_with_the_owner_and_a_filter(admin_client, user, other_user):
    mine, _ = video_with_job(owner=user)
    theirs, _ = video_with_job(owner=other_user)
    html = admin_client.get("/admin/videos/video/").content.decode()
    assert str(mine.pk) in html
    assert str(theirs.pk) in html
    assert ">alice<" in html
    assert ">bob<" in html
    filtered = admin_client.get(f"/admin/videos/video/?owner__id__exact={user.pk}")
    assert str(mine.pk) in filtered.content.decode()
    assert str(theirs.pk) not in filtered.content.decode()
