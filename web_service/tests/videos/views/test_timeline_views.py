"""The job's timeline in the API's detail answer and on the detail page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from videos.messaging.reply_decoding import reply_decode
from videos.services.replies import reply_apply

from ...factories import success_result, video_with_job

pytestmark = pytest.mark.django_db


def _apply(task_id: str, status: str, result=None) -> None:
    reply_apply(reply=reply_decode(body={"task_id": task_id, "status": status, "result": result}))


def _redelivered_ready_video(owner):
    video, job = video_with_job(owner=owner, sent_at=timezone.now())
    task_id = str(job.id)
    for host, pid in (("worker-a", 11), ("worker-b", 22)):
        _apply(task_id, "STARTED", {"pid": pid, "hostname": host})
        for stage in ("downloading", "probing", "transcoding", "uploading"):
            _apply(task_id, "PROGRESS", {"percent": 50, "stage": stage})
    _apply(task_id, "SUCCESS", success_result(job_id=task_id))
    return video


def test_the_detail_answer_has_the_timeline_of_both_attempts(session, user):
    video = _redelivered_ready_video(user)

    timeline = session[0].get(f"/api/videos/{video.id}/").json()["timeline"]

    worker = ["downloading", "probing", "transcoding", "uploading"]
    assert [bar["stage"] for bar in timeline] == [
        *["queued", *worker],
        *["queued", *worker],
        "collected",
    ]
    assert set(timeline[0]) == {"stage", "started_at", "seconds", "attempt", "host"}
    assert [bar["attempt"] for bar in timeline] == [1] * 5 + [2] * 6
    assert {bar["host"] for bar in timeline if bar["stage"] in worker} == {"worker-a", "worker-b"}
    assert all(bar["seconds"] >= 0 for bar in timeline)


def test_the_list_answer_carries_no_timeline(session, user):
    _redelivered_ready_video(user)
    rows = session[0].get("/api/videos/").json()["results"]
    assert rows
    assert all("timeline" not in row for row in rows)


def test_the_detail_page_draws_a_bar_per_stage_and_names_the_hosts(session, user):
    video = _redelivered_ready_video(user)

    html = session[0].get(f"/videos/{video.id}/").content.decode()

    stages = re.findall(r'class="timeline-row" data-stage="([a-z]+)"', html)
    worker = ["downloading", "probing", "transcoding", "uploading"]
    assert stages == ["queued", *worker, "queued", *worker, "collected"]
    # Placed by SVG attributes: the CSP forbids inline styles.
    assert (
        len(re.findall(r'<rect class="timeline-bar [^"]+" x="[\d.]+" y="0" width="[\d.]+"', html))
        == 11
    )
    assert "style=" not in html[html.index("data-timeline") :]
    assert "Attempt 1 ran on <strong data-host>worker-a</strong>" in html
    assert "Attempt 2 ran on <strong data-host>worker-b</strong>" in html


def test_a_video_no_worker_took_yet_has_no_timeline_section(session, user):
    video, _ = video_with_job(owner=user, sent_at=timezone.now())
    html = session[0].get(f"/videos/{video.id}/").content.decode()
    assert "data-timeline" not in html
    assert session[0].get(f"/api/videos/{video.id}/").json()["timeline"] == []


def test_the_openapi_schema_describes_the_timeline(session):
    schema = session[0].get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/videos/{video_id}/"]["get"]["responses"]["200"]
    bar = answer["content"]["application/json"]["schema"]["properties"]["timeline"]["items"]
    assert set(bar["required"]) == {"stage", "started_at", "seconds", "attempt", "host"}
