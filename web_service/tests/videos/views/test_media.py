"""Playback: /media/<key> redirects to a signed URL that the real store serves, with Range.

Only the owner of the key's job gets a signed URL; anyone else a 404.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.test import Client

from ...conftest import logged_in_client
from ...factories import video_with_job

pytestmark = pytest.mark.django_db

CONTENT = bytes(range(256)) * 4  # 1024 bytes
JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
KEY = f"outputs/{JOB_ID}/9f2c4e1a7b3d5f60/720p.mp4"


@pytest.fixture
def output_object(object_store, transcoder_s3, user) -> str:
    video_with_job(owner=user, id=JOB_ID)
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
