"""The job's timeline in the API's detail answer and on the detail page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.messaging.reply_decoding import reply_decode
from jobs.services.replies import reply_apply
from videos.timelines import TimelineBar
from videos.views.timeline import timeline_to_dict

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


REPORTED = ["downloading", "probing", "transcoding", "uploading"]
# The attempt that succeeded, broken down by its result's timings (factories.success_result).
BROKEN_DOWN = ["downloading", "probing", "encode:720p", "verify", "upload"]


def test_the_detail_answer_has_the_timeline_of_both_attempts(session, user):
    video = _redelivered_ready_video(user)

    timeline = session[0].get(f"/api/videos/{video.id}/").json()["timeline"]

    assert [bar["stage"] for bar in timeline] == [
        *["queued", *REPORTED],
        *["queued", *BROKEN_DOWN],
        "collected",
    ]
    assert set(timeline[0]) == {"stage", "started_at", "seconds", "attempt", "host"}
    assert [bar["attempt"] for bar in timeline] == [1] * 5 + [2] * 7
    hosts = [(bar["attempt"], bar["host"]) for bar in timeline if bar["host"] is not None]
    assert hosts == [(1, "worker-a")] * 4 + [(2, "worker-b")] * 5
    assert all(bar["seconds"] >= 0 for bar in timeline)
    verify, upload = timeline[-3:-1]
    assert verify["started_at"] == upload["started_at"]  # side by side


def test_the_list_answer_carries_no_timeline(session, user):
    _redelivered_ready_video(user)
    rows = session[0].get("/api/videos/").json()["results"]
    assert rows
    assert all("timeline" not in row for row in rows)


def test_the_detail_page_draws_a_bar_per_stage_and_names_the_hosts(session, user):
    video = _redelivered_ready_video(user)

    html = session[0].get(f"/videos/{video.id}/").content.decode()

    stages = re.findall(r'class="timeline-row" data-stage="([a-z0-9:]+)"', html)
    assert stages == ["queued", *REPORTED, "queued", *BROKEN_DOWN, "collected"]
    # Placed by SVG attributes: the CSP forbids inline styles.
    rects = re.findall(
        r'<rect class="timeline-bar ([^"]+)" x="([\d.]+)" y="0" width="[\d.]+"', html
    )
    assert len(rects) == 12
    # An encode pass is coloured as the transcoding it is part of.
    assert rects[8][0] == "timeline-bar-transcoding"
    # Verify and upload are drawn from the same place: they run side by side.
    assert rects[9][1] == rects[10][1]
    labels = re.findall(r'<span class="timeline-label">([^<]+)', html)
    assert labels[6:11] == ["Download ", "Probe ", "Encode 720p ", "Verify ", "Upload "]
    assert "style=" not in html[html.index("data-timeline") :]
    assert "Attempt 1 ran on <strong data-host>worker-a</strong>" in html
    assert "Attempt 2 ran on <strong data-host>worker-b</strong>" in html


def test_a_video_no_worker_took_yet_has_no_timeline_section(session, user):
    video, _ = video_with_job(owner=user, sent_at=timezone.now())
    html = session[0].get(f"/videos/{video.id}/").content.decode()
    assert "data-timeline" not in html
    assert session[0].get(f"/api/videos/{video.id}/").json()["timeline"] == []


def test_a_running_job_has_its_timeline_in_the_api_and_none_on_the_page(session, user):
    # Drawn at the moment of loading, a running job's bars would say it ran
    # on "an unknown host" for as long as it had waited "to be collected".
    video, job = video_with_job(owner=user, sent_at=timezone.now())
    _apply(str(job.id), "STARTED", {"pid": 11, "hostname": "worker-a"})
    _apply(str(job.id), "PROGRESS", {"percent": 50, "stage": "transcoding"})

    html = session[0].get(f"/videos/{video.id}/").content.decode()

    assert "data-timeline" not in html
    timeline = session[0].get(f"/api/videos/{video.id}/").json()["timeline"]
    assert [bar["stage"] for bar in timeline] == ["queued", "transcoding"]


def test_the_openapi_schema_describes_the_timeline(session):
    schema = session[0].get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/videos/{video_id}/"]["get"]["responses"]["200"]
    bar = answer["content"]["application/json"]["schema"]["properties"]["timeline"]["items"]
    assert set(bar["required"]) == {"stage", "started_at", "seconds", "attempt", "host"}


def test_overlapping_bars_are_placed_on_one_axis_that_ends_with_the_last_bar():
    start = timezone.now()

    def bar(stage: str, at: float, seconds: float) -> TimelineBar:
        return TimelineBar(
            stage=stage,
            started_at=start + timedelta(seconds=at),
            seconds=seconds,
            attempt=1,
            host=None if stage == "collected" else "worker-a",
        )

    # Verify for 2 s beside an upload of 1 s, then 1 s to be collected: 4 s, not 5.
    drawn = timeline_to_dict(
        bars=[
            bar("encode:hls", 0, 1),
            bar("verify", 1, 2),
            bar("upload", 1, 1),
            bar("collected", 3, 1),
        ]
    )

    assert drawn["total_text"] == "4.0 s"
    assert [(row["x"], row["width"]) for row in drawn["rows"]] == [
        ("0.00", "250.00"),
        ("250.00", "500.00"),
        ("250.00", "250.00"),
        ("750.00", "250.00"),
    ]
    assert [row["label"] for row in drawn["rows"]] == [
        "Encode HLS ladder",
        "Verify",
        "Upload",
        "Collected",
    ]
