"""Playback: /media/<key> redirects to a signed URL that the real store serves, with Range.

Only the owner of the key's job gets a signed URL, and only for the attempt
the job is played from (the ready result's here; the preview's in
test_media_attempts.py); anyone else a 404.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.test import Client

from jobs.models import JobStatus

from ...conftest import logged_in_client
from ...factories import hls_result, video_with_job

pytestmark = pytest.mark.django_db

CONTENT = bytes(range(256)) * 4  # 1024 bytes
JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
KEY = f"outputs/{JOB_ID}/9f2c4e1a7b3d5f60/720p.mp4"


def ready_job(*, owner) -> None:
    """The job of JOB_ID, ready, its result naming attempt 9f2c4e1a7b3d5f60."""
    video_with_job(owner=owner, id=JOB_ID, status=JobStatus.READY, result=hls_result(job_id=JOB_ID))


@pytest.fixture
def output_object(object_store, transcoder_s3, user) -> str:
    ready_job(owner=user)
    # Written with the transcoder's key: the web's may not write outputs/.
    transcoder_s3.put_object(
        Bucket=object_store.bucket, Key=KEY, Body=CONTENT, ContentType="video/mp4"
    )
    return KEY


@pytest.fixture
def owner_client(user) -> Client:
    return logged_in_client(user)[0]


def _fetch(url: str, **headers: str):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)


def test_redirects_to_a_presigned_url_of_the_public_endpoint(
    output_object, object_store, owner_client
):
    response = owner_client.get(f"/media/{output_object}")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{object_store.endpoint_url}/{object_store.bucket}/{KEY}?")
    assert "X-Amz-Signature=" in location
    assert "X-Amz-Expires=300" in location
    assert response["Cache-Control"] == "private, no-store"
    with _fetch(location) as stored:
        assert (stored.status, stored.read()) == (200, CONTENT)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-4", 1020, 1023)],
)
def test_the_signed_url_serves_ranges(output_object, header, start, end, owner_client):
    location = owner_client.get(f"/media/{output_object}")["Location"]
    with _fetch(location, Range=header) as stored:
        assert stored.status == 206
        assert stored.headers["Content-Range"] == f"bytes {start}-{end}/1024"
        assert stored.read() == CONTENT[start : end + 1]


def test_a_download_link_asks_the_store_for_an_attachment(output_object, owner_client):
    location = owner_client.get(f"/media/{output_object}?download=1")["Location"]
    with _fetch(location) as stored:
        assert stored.headers["Content-Disposition"] == 'attachment; filename="720p.mp4"'


def test_the_signature_is_checked(output_object, owner_client):
    location = owner_client.get(f"/media/{output_object}")["Location"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        _fetch(location.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert refused.value.code == 403


def test_public_endpoint_is_the_one_signed_for(output_object, settings, owner_client):
    settings.S3_PUBLIC_ENDPOINT_URL = "https://videos-store.example.com"
    location = owner_client.get(f"/media/{output_object}")["Location"]
    assert location.startswith(f"https://videos-store.example.com/{settings.S3_BUCKET}/{KEY}?")


@pytest.mark.parametrize(
    "path",
    [
        "sources/secret",
        "outputs/../sources/secret",
        "outputs/job/../../sources/secret",
        "outputs/./job/720p.mp4",
        "outputs//720p.mp4",
        "outputs/",
        "outputs/job/.lock",
        "outputs/job/%01.mp4",
        "Outputs/job/720p.mp4",
        "manifest.json",
    ],
)
def test_only_output_keys_are_signed(path, owner_client):
    response = owner_client.get(f"/media/{path}")
    assert response.status_code == 404
    assert "Location" not in response


def test_another_persons_output_is_a_404(output_object, other_user):
    response = logged_in_client(other_user)[0].get(f"/media/{output_object}")
    assert response.status_code == 404
    assert "Location" not in response


def test_an_anonymous_visitor_is_sent_to_the_login(output_object):
    response = Client().get(f"/media/{output_object}")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/media/{output_object}"


def test_a_huge_range_header_is_not_a_server_error(output_object, owner_client):
    # /media never serves bytes itself (the store does), so a Range header,
    # however absurd, changes nothing here.
    response = owner_client.get(f"/media/{output_object}", HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 302


# ---- HLS playlists and the storyboard: served by the web, rewritten ----------

ATTEMPT = f"outputs/{JOB_ID}/9f2c4e1a7b3d5f60"
HLS_OBJECTS = {
    "hls/master.m3u8": (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n720p/index.m3u8\n"
    ),
    "hls/720p/index.m3u8": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n'
    ),
    "hls/720p/init.mp4": "init-bytes",
    "hls/720p/seg_00001.m4s": "segment-one-bytes",
    "hls/evil/index.m3u8": "#EXTM3U\n#EXTINF:4.0,\n../../../../../sources/secret\n",
    "storyboard.vtt": "WEBVTT\n\n00:00.000 --> 00:02.000\nstoryboard.jpg#xywh=160,0,160,90\n",
    "storyboard.jpg": "sprite-bytes",
}


@pytest.fixture
def hls_objects(object_store, transcoder_s3, user) -> str:
    ready_job(owner=user)
    for name, body in HLS_OBJECTS.items():
        transcoder_s3.put_object(Bucket=object_store.bucket, Key=f"{ATTEMPT}/{name}", Body=body)
    return ATTEMPT


def test_the_master_playlist_is_served_with_its_children_through_the_web(hls_objects, owner_client):
    response = owner_client.get(f"/media/{ATTEMPT}/hls/master.m3u8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.decode().splitlines() == [
        "#EXTM3U",
        "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720",
        f"/media/{ATTEMPT}/hls/720p/index.m3u8",
    ]


def test_a_media_playlist_lists_working_signed_urls_valid_while_the_video_plays(
    hls_objects, owner_client, object_store
):
    response = owner_client.get(f"/media/{ATTEMPT}/hls/720p/index.m3u8")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    segment = lines[lines.index("#EXTINF:4.0,") + 1]
    assert segment.startswith(f"{object_store.endpoint_url}/{object_store.bucket}/{ATTEMPT}/")
    # 4 s of video + the 30-minute margin: longer than S3_PRESIGN_SECONDS (300).
    assert "X-Amz-Expires=1804" in segment
    with _fetch(segment) as stored:
        assert (stored.status, stored.read()) == (200, b"segment-one-bytes")
    init = lines[3].removeprefix('#EXT-X-MAP:URI="').removesuffix('"')
    with _fetch(init) as stored:
        assert stored.read() == b"init-bytes"


def test_the_storyboard_is_served_with_its_sprite_signed(hls_objects, owner_client):
    response = owner_client.get(f"/media/{ATTEMPT}/storyboard.vtt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    cue = response.content.decode().splitlines()[3]
    url, tile = cue.split("#")
    assert tile == "xywh=160,0,160,90"
    with _fetch(url) as stored:
        assert stored.read() == b"sprite-bytes"


def test_a_playlist_of_another_person_is_a_404(hls_objects, other_user):
    client = logged_in_client(other_user)[0]
    for name in ("hls/master.m3u8", "hls/720p/index.m3u8", "storyboard.vtt"):
        response = client.get(f"/media/{ATTEMPT}/{name}")
        assert response.status_code == 404
        assert b"X-Amz-Signature" not in response.content


def test_a_playlist_asks_an_anonymous_visitor_to_log_in(hls_objects):
    response = Client().get(f"/media/{ATTEMPT}/hls/master.m3u8")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/media/{ATTEMPT}/hls/master.m3u8"


def test_a_missing_playlist_is_a_404(hls_objects, owner_client):
    assert owner_client.get(f"/media/{ATTEMPT}/hls/1080p/index.m3u8").status_code == 404


def test_a_playlist_pointing_outside_its_job_is_refused_not_signed(hls_objects, owner_client):
    response = owner_client.get(f"/media/{ATTEMPT}/hls/evil/index.m3u8")
    assert response.status_code == 502
    assert response.content == b"This video's playlist is damaged and cannot be played."
    assert b"sources" not in response.content


def test_segments_and_mp4s_still_redirect(hls_objects, owner_client):
    response = owner_client.get(f"/media/{ATTEMPT}/hls/720p/seg_00001.m4s")
    assert response.status_code == 302
    with _fetch(response["Location"]) as stored:
        assert stored.read() == b"segment-one-bytes"


def test_a_short_video_keeps_the_configured_lifetime_floor(settings):
    from videos.views.media import playback_seconds

    settings.S3_PRESIGN_SECONDS = 3600
    assert playback_seconds(media_seconds=10) == 3600
    assert playback_seconds(media_seconds=7200) == 7200 + 1800
    assert playback_seconds(media_seconds=10**7) == 7 * 24 * 3600
