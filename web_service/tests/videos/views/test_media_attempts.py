"""/media/ serves one attempt of a job: the ready result's, or the preview's while it runs.

Two attempts of one job both have objects in the real store here, as after a
redelivery: the page must never get the other one's playlists or segments,
and nobody but the owner gets either.
"""

from __future__ import annotations

import urllib.request

import pytest
from django.test import Client

from jobs.models import JobStatus

from ...conftest import logged_in_client
from ...factories import hls_result, success_result_v1, video_with_job

pytestmark = pytest.mark.django_db

JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
ATTEMPT_A = "9f2c4e1a7b3d5f60"
ATTEMPT_B = "0123456789abcdef"
A_BYTES = ATTEMPT_A.encode()
DURATION = 7200.0  # the source's length: far more than the playlist lists yet

MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n720p/index.m3u8\n"
IN_PROGRESS = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
    '#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI="init.mp4"\n'
    "#EXTINF:1.000000,\nseg_00001.m4s\n#EXTINF:1.000000,\nseg_00002.m4s\n"
)


def _objects(attempt: str) -> dict[str, str]:
    return {
        f"outputs/{JOB_ID}/{attempt}/hls/master.m3u8": MASTER,
        f"outputs/{JOB_ID}/{attempt}/hls/720p/index.m3u8": IN_PROGRESS,
        f"outputs/{JOB_ID}/{attempt}/hls/720p/init.mp4": f"init-{attempt}",
        f"outputs/{JOB_ID}/{attempt}/hls/720p/seg_00001.m4s": f"one-{attempt}",
        f"outputs/{JOB_ID}/{attempt}/hls/720p/seg_00002.m4s": f"two-{attempt}",
        f"outputs/{JOB_ID}/{attempt}/720p.mp4": f"mp4-{attempt}",
    }


@pytest.fixture
def two_attempts(object_store, transcoder_s3) -> None:
    """Both attempts' objects, plus the job's own bookkeeping, in the real store."""
    objects = {
        **_objects(ATTEMPT_A),
        **_objects(ATTEMPT_B),
        f"outputs/{JOB_ID}/manifest.json": "{}",
        f"outputs/{JOB_ID}/attempts/{ATTEMPT_B}.json": "{}",
    }
    for key, body in objects.items():
        transcoder_s3.put_object(Bucket=object_store.bucket, Key=key, Body=body.encode())


def _processing(owner, *, attempt: str | None = ATTEMPT_A) -> None:
    preview = f"outputs/{JOB_ID}/{attempt}/hls/master.m3u8" if attempt else ""
    video_with_job(
        owner=owner,
        id=JOB_ID,
        status=JobStatus.PROCESSING,
        preview_master_key=preview,
        preview_encoded_seconds=2.0 if attempt else None,
        preview_duration=DURATION if attempt else None,
    )


def _ready(owner, *, result: dict) -> None:
    video_with_job(owner=owner, id=JOB_ID, status=JobStatus.READY, result=result)


def _url(attempt: str, name: str) -> str:
    return f"/media/outputs/{JOB_ID}/{attempt}/{name}"


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as stored:
        return stored.read()


def test_the_preview_attempt_plays_while_processing(two_attempts, user):
    _processing(user)
    client = logged_in_client(user)[0]
    master = client.get(_url(ATTEMPT_A, "hls/master.m3u8"))
    assert master.status_code == 200
    assert master.content.decode().splitlines()[-1] == _url(ATTEMPT_A, "hls/720p/index.m3u8")
    playlist = client.get(_url(ATTEMPT_A, "hls/720p/index.m3u8"))
    assert playlist.status_code == 200
    assert playlist["Cache-Control"] == "private, no-store"
    lines = playlist.content.decode().splitlines()
    # Rewritten, and the in-progress tags pass through untouched: EVENT, no ENDLIST.
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in lines
    assert "#EXT-X-MEDIA-SEQUENCE:0" in lines
    assert not any("ENDLIST" in line for line in lines)
    segments = [line for line in lines if "seg_0000" in line]
    assert [_read(url) for url in segments] == [b"one-" + A_BYTES, b"two-" + A_BYTES]
    # Signed for the source's length, not the 2 s listed so far: the playlist
    # grows while the person watches, and hls.js keeps the URLs it was given.
    assert all(f"X-Amz-Expires={int(DURATION) + 1800}" in url for url in segments)
    segment = client.get(_url(ATTEMPT_A, "hls/720p/seg_00002.m4s"))
    assert segment.status_code == 302
    assert _read(segment["Location"]) == f"two-{ATTEMPT_A}".encode()


def test_a_growing_playlist_is_read_again_at_each_request(
    two_attempts, user, object_store, transcoder_s3
):
    _processing(user)
    client = logged_in_client(user)[0]
    key = f"outputs/{JOB_ID}/{ATTEMPT_A}/hls/720p/index.m3u8"
    assert "seg_00003" not in client.get(f"/media/{key}").content.decode()
    grown = IN_PROGRESS + "#EXTINF:4.000000,\nseg_00003.m4s\n#EXT-X-ENDLIST\n"
    transcoder_s3.put_object(Bucket=object_store.bucket, Key=key, Body=grown.encode())
    lines = client.get(f"/media/{key}").content.decode().splitlines()
    assert any("seg_00003.m4s?" in line for line in lines)
    assert lines[-1] == "#EXT-X-ENDLIST"


@pytest.mark.parametrize(
    "name", ["hls/master.m3u8", "hls/720p/index.m3u8", "hls/720p/seg_00001.m4s", "720p.mp4"]
)
def test_another_attempt_of_the_same_job_is_a_404_while_processing(two_attempts, user, name):
    _processing(user)
    response = logged_in_client(user)[0].get(_url(ATTEMPT_B, name))
    assert response.status_code == 404
    assert "Location" not in response
    assert b"X-Amz-Signature" not in response.content


def test_a_job_that_is_not_playable_yet_serves_nothing(two_attempts, user):
    _processing(user, attempt=None)
    client = logged_in_client(user)[0]
    for attempt in (ATTEMPT_A, ATTEMPT_B):
        assert client.get(_url(attempt, "hls/master.m3u8")).status_code == 404


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED])
def test_a_stopped_or_waiting_job_serves_nothing(two_attempts, user, status):
    video_with_job(
        owner=user,
        id=JOB_ID,
        status=status,
        # Even with a stale preview left on the row.
        preview_master_key=f"outputs/{JOB_ID}/{ATTEMPT_A}/hls/master.m3u8",
    )
    assert logged_in_client(user)[0].get(_url(ATTEMPT_A, "hls/master.m3u8")).status_code == 404


def test_the_preview_is_a_404_for_another_person(two_attempts, user, other_user):
    _processing(user)
    client = logged_in_client(other_user)[0]
    for name in ("hls/master.m3u8", "hls/720p/index.m3u8", "hls/720p/seg_00001.m4s"):
        response = client.get(_url(ATTEMPT_A, name))
        assert response.status_code == 404
        assert b"X-Amz-Signature" not in response.content


def test_the_preview_asks_an_anonymous_visitor_to_log_in(two_attempts, user):
    _processing(user)
    for name in ("hls/master.m3u8", "hls/720p/seg_00001.m4s"):
        response = Client().get(_url(ATTEMPT_A, name))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert b"X-Amz-Signature" not in response.content


def test_a_ready_job_serves_only_its_results_attempt(two_attempts, user):
    # Attempt B was playable first, but A's manifest won: only A is served.
    _ready(user, result=hls_result(job_id=JOB_ID, attempt=ATTEMPT_A))
    client = logged_in_client(user)[0]
    for name in ("hls/master.m3u8", "hls/720p/index.m3u8"):
        assert client.get(_url(ATTEMPT_A, name)).status_code == 200
    for name in ("hls/720p/seg_00001.m4s", "720p.mp4"):
        assert client.get(_url(ATTEMPT_A, name)).status_code == 302
    for name in ("hls/master.m3u8", "hls/720p/index.m3u8", "hls/720p/seg_00001.m4s", "720p.mp4"):
        assert client.get(_url(ATTEMPT_B, name)).status_code == 404, name
    # The job's bookkeeping was never media.
    for key in ("manifest.json", f"attempts/{ATTEMPT_B}.json"):
        assert client.get(f"/media/outputs/{JOB_ID}/{key}").status_code == 404


def test_a_ready_playlist_is_signed_for_its_own_length(two_attempts, user):
    _ready(user, result=hls_result(job_id=JOB_ID, attempt=ATTEMPT_A))
    lines = logged_in_client(user)[0].get(_url(ATTEMPT_A, "hls/720p/index.m3u8")).content.decode()
    assert f"X-Amz-Expires={2 + 1800}" in lines


def test_a_v1_result_still_plays_the_keys_it_names(object_store, transcoder_s3, user):
    # v1 outputs have no attempt folder: exactly the keys the result names.
    _ready(user, result=success_result_v1(job_id=JOB_ID))
    transcoder_s3.put_object(
        Bucket=object_store.bucket, Key=f"outputs/{JOB_ID}/720p.mp4", Body=b"v1-mp4"
    )
    client = logged_in_client(user)[0]
    response = client.get(f"/media/outputs/{JOB_ID}/720p.mp4")
    assert response.status_code == 302
    assert _read(response["Location"]) == b"v1-mp4"
    assert client.get(f"/media/outputs/{JOB_ID}/480p.mp4").status_code == 404


def test_a_playlist_naming_another_attempts_segment_is_refused(
    two_attempts, user, object_store, transcoder_s3
):
    _processing(user)
    key = f"outputs/{JOB_ID}/{ATTEMPT_A}/hls/720p/index.m3u8"
    forged = f"#EXTM3U\n#EXTINF:4,\n../../../{ATTEMPT_B}/hls/720p/seg_00001.m4s\n"
    transcoder_s3.put_object(Bucket=object_store.bucket, Key=key, Body=forged.encode())
    response = logged_in_client(user)[0].get(f"/media/{key}")
    assert response.status_code == 502
    assert ATTEMPT_B.encode() not in response.content
