"""`preview` in the API: what the page plays while the job runs, in the detail and in the list.

The page polls the list (`?ids=`) while jobs run and the detail on a
video's page; both carry the same `preview`, and the OpenAPI schema says so.
"""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import JobStatus
from videos.views.presenters import video_to_dict

from ...factories import hls_result, video_with_job

pytestmark = pytest.mark.django_db

JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
MASTER = f"outputs/{JOB_ID}/9f2c4e1a7b3d5f60/hls/master.m3u8"
PREVIEW_FIELDS = {"preview_master_key": MASTER, "preview_encoded_seconds": 9.5}
EXPECTED = {"hls_url": f"/media/{MASTER}", "encoded_seconds": 9.5, "duration": 60.0}


def _playable(owner=None, *, status: str = JobStatus.PROCESSING, **fields):
    return video_with_job(
        owner=owner, id=JOB_ID, status=status, preview_duration=60.0, **PREVIEW_FIELDS, **fields
    )[0]


def test_a_playable_job_has_a_preview():
    assert video_to_dict(video=_playable())["preview"] == EXPECTED


def test_no_preview_before_it_is_playable_or_once_it_is_final():
    video, job = video_with_job(status=JobStatus.PROCESSING)
    assert video_to_dict(video=video)["preview"] is None
    job.status = JobStatus.QUEUED
    job.save()
    assert video_to_dict(video=video)["preview"] is None
    # A stale row (written before a final state cleared it) says nothing either:
    # a ready video plays its result, a stopped one nothing.
    for status in (JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED):
        video = _playable(status=status, result=hls_result(job_id=JOB_ID))
        assert video_to_dict(video=video)["preview"] is None
        video.delete()


def test_the_detail_and_the_polled_list_carry_it(session, user):
    video = _playable(user)
    client = session[0]
    assert client.get(f"/api/videos/{video.id}/").json()["preview"] == EXPECTED
    listed = client.get(f"/api/videos/?ids={video.id}").json()["results"]
    assert [item["preview"] for item in listed] == [EXPECTED]
    assert client.get("/api/videos/").json()["results"][0]["preview"] == EXPECTED


def test_the_schema_documents_it():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    detail = response.json()["paths"]["/api/videos/{video_id}/"]["get"]["responses"]["200"]
    schema = detail["content"]["application/json"]["schema"]
    assert "preview" in schema["required"]
    preview = schema["properties"]["preview"]
    assert (preview["type"], preview["nullable"]) == ("object", True)
    assert preview["required"] == ["hls_url", "encoded_seconds", "duration"]
    assert {name: p["type"] for name, p in preview["properties"].items()} == {
        "hls_url": "string",
        "encoded_seconds": "number",
        "duration": "number",
    }
    # The timeline the detail already documented is still there.
    assert "timeline" in schema["properties"]
