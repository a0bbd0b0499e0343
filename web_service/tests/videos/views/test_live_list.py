"""The video list: finished rows drawn whole by the server, and the state of the
rows still moving in one request (`GET /api/videos/?ids=a,b,c`), owner-only."""

from __future__ import annotations

import re
import uuid

import pytest

from jobs.models import JobStatus

from ...factories import success_result, video_with_job

pytestmark = pytest.mark.django_db


def _row(html: str, video_id: object) -> str:
    """The <li> of one video in the home page's list."""
    match = re.search(rf'<li [^>]*data-api-url="/api/videos/{video_id}/".*?</li>', html, re.S)
    assert match, f"no row for {video_id}"
    return match.group(0)


def _ready(owner):
    video, job = video_with_job(owner=owner, status=JobStatus.READY, progress=100)
    job.result = success_result(job_id=str(job.id))
    job.save()
    return video, job


def test_a_ready_row_is_drawn_whole_without_a_progress_bar(session, user):
    video, job = _ready(user)
    row = _row(session[0].get("/").content.decode(), video.id)
    # success_result's 720p output: 1280x720, 10.0 s, 734003 bytes.
    assert '<span class="muted" data-field="detail">1280×720 · 10.0 s · 716.8 KiB</span>' in row
    assert re.search(r"<progress [^>]*\bhidden\b[^>]*>", row), "a finished row shows a bar"
    assert f'src="/media/outputs/{job.id}/9f2c4e1a7b3d5f60/poster.jpg"' in row
    assert 'data-status="ready"' in row


def test_failed_and_cancelled_rows_have_no_bar_and_a_moving_one_has(session, user):
    failed, _ = video_with_job(owner=user, status=JobStatus.FAILED, error="Not a video.")
    cancelled, _ = video_with_job(owner=user, status=JobStatus.CANCELLED)
    running, _ = video_with_job(
        owner=user, status=JobStatus.PROCESSING, progress=40, stage="encode"
    )
    html = session[0].get("/").content.decode()
    for video in (failed, cancelled):
        assert re.search(r"<progress [^>]*\bhidden\b", _row(html, video.id))
    moving = _row(html, running.id)
    assert not re.search(r"<progress [^>]*\bhidden\b", moving)
    assert '<span class="muted" data-field="detail">40% encode</span>' in moving


def test_the_list_asks_for_states_in_one_request(session, user):
    html = session[0].get("/").content.decode()
    assert 'data-live-url="/api/videos/"' in html
    assert 'data-live-batch="20"' in html


def test_ids_gives_only_the_persons_own_videos_asked_for(session, user, other_user):
    mine_a, _ = video_with_job(owner=user, status=JobStatus.PROCESSING, progress=5)
    mine_b, _ = video_with_job(owner=user)
    not_asked, _ = video_with_job(owner=user)
    theirs, _ = video_with_job(owner=other_user)
    nobodys = uuid.uuid4()
    ids = ",".join(str(i) for i in (mine_a.id, theirs.id, mine_b.id, nobodys))
    response = session[0].get(f"/api/videos/?ids={ids}")
    assert response.status_code == 200
    body = response.json()
    assert {video["id"] for video in body["results"]} == {str(mine_a.id), str(mine_b.id)}
    assert body["count"] == 2
    by_id = {video["id"]: video for video in body["results"]}
    assert by_id[str(mine_a.id)]["status_text"] == "5%"
    assert by_id[str(mine_b.id)]["status_text"] == "Waiting · #1 in queue"
    assert str(not_asked.id) not in response.content.decode()


def test_ids_of_another_person_only_is_an_empty_list_not_an_error(session, user, other_user):
    video_with_job(owner=user)  # not asked for
    theirs, _ = video_with_job(owner=other_user)
    response = session[0].get(f"/api/videos/?ids={theirs.id}")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "ids",
    ["", "not-an-id", f"{uuid.uuid4()},", ",".join(str(uuid.uuid4()) for _ in range(21))],
    # Named, not shown: every process of pytest-xdist must collect the same ids.
    ids=["empty", "not-an-id", "a-trailing-comma", "21-ids"],
)
def test_malformed_ids_are_a_400_with_a_sentence(session, ids):
    response = session[0].get("/api/videos/", {"ids": ids})
    assert response.status_code == 400
    assert response.json() == {"error": "ids: give 1 to 20 video ids, separated by commas."}
