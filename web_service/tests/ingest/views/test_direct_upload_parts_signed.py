"""A direct upload stores what was declared, no more (issue 23, hole 2).

Part URLs were signed without a length, for any part number from 1 to
10000: declaring 1 MiB and PUTting three 100 MiB parts stored 300 MiB. Each
URL is now signed with its part's exact length, and only the parts the
declared size needs are signed. The store itself (the real SeaweedFS)
refuses any other body; these tests PUT to it over HTTP, as a browser does.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.test import Client

from ingest.services.direct_uploads import MIN_PART_BYTES

from ...conftest import multipart_keys, source_keys

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]

PART = MIN_PART_BYTES
MiB = 1024 * 1024


def _start(client: Client, token: str, size: int) -> dict:
    body = {"filename": "clip.mp4", "size": size, "content_type": "video/mp4"}
    started = client.post(
        "/api/uploads/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert started.status_code == 201, started.content
    return started.json()


def _sign(client: Client, token: str, upload_id: str, number: int):
    return client.post(f"/api/uploads/{upload_id}/parts/{number}/", HTTP_X_CSRFTOKEN=token)


def _stored_parts(web_s3, bucket: str, started: dict) -> list[tuple[int, int]]:
    listed = web_s3.list_parts(Bucket=bucket, Key=started["key"], UploadId=started["upload_id"])
    return [(p["PartNumber"], p["Size"]) for p in listed.get("Parts", [])]


def test_a_part_url_takes_its_exact_length_and_the_store_refuses_any_other(
    session, object_store, web_s3
):
    client, token = session
    started = _start(client, token, PART + 100)  # part 1: PART bytes, part 2: 100
    first = _sign(client, token, started["id"], 1).json()["url"]
    assert parse_qs(urlsplit(first).query)["X-Amz-SignedHeaders"] == ["content-length;host"]

    for body in (os.urandom(PART + 1), os.urandom(PART - 1), b"x" * 10 * MiB):
        refused = urllib3.request("PUT", first, body=body)
        assert refused.status == 403, len(body)
        assert b"SignatureDoesNotMatch" in refused.data
    # A chunked body declares no length at all: refused too.
    chunked = urllib3.PoolManager().request("PUT", first, body=iter([b"x" * MiB] * 9), chunked=True)
    assert chunked.status == 403
    assert _stored_parts(web_s3, object_store.bucket, started) == []

    last = _sign(client, token, started["id"], 2).json()["url"]
    assert urllib3.request("PUT", last, body=b"y" * PART).status == 403
    assert urllib3.request("PUT", first, body=os.urandom(PART)).status == 200
    assert urllib3.request("PUT", last, body=b"y" * 100).status == 200
    assert _stored_parts(web_s3, object_store.bucket, started) == [(1, PART), (2, 100)]


def test_only_the_parts_the_declared_size_needs_are_signed(session, object_store, transcoder_s3):
    client, token = session
    started = _start(client, token, MiB)  # the 1 MiB: one part
    assert _sign(client, token, started["id"], 1).status_code == 200
    for number in (2, 3, 10000):
        refused = _sign(client, token, started["id"], number)
        assert (refused.status_code, refused.json()) == (
            400,
            {"error": "This upload has 1 part: part numbers run from 1 to 1."},
        )
    # Nothing reached the store but the upload itself, which holds no part.
    assert multipart_keys(transcoder_s3, object_store.bucket) == [started["key"]]
    assert source_keys(transcoder_s3, object_store.bucket) == []


def test_a_completion_that_names_an_unsigned_part_is_refused(session):
    client, token = session
    started = _start(client, token, 3 * PART)
    refused = client.post(
        f"/api/uploads/{started['id']}/complete/",
        {"parts": [{"PartNumber": 4, "ETag": '"x"'}]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "This upload has 3 parts: part numbers run from 1 to 3."},
    )


def _sign_batch(client: Client, token: str, upload_id: str, **body):
    return client.post(
        f"/api/uploads/{upload_id}/parts/",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )


def test_part_urls_signed_together_each_take_their_exact_length(session, object_store, web_s3):
    # The page asks for the next parts' URLs in one request (issue 26): each is
    # still signed for its own part's length, and none for a part not needed.
    client, token = session
    started = _start(client, token, 2 * PART + 100)  # three parts: PART, PART, 100
    answer = _sign_batch(client, token, started["id"], first=1)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["expires_in"] > 0
    urls = {p["PartNumber"]: p["url"] for p in body["parts"]}
    assert sorted(urls) == [1, 2, 3]
    for url in urls.values():
        assert parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"] == ["content-length;host"]

    assert urllib3.request("PUT", urls[3], body=b"z" * PART).status == 403
    assert urllib3.request("PUT", urls[1], body=b"z" * 100).status == 403
    assert _stored_parts(web_s3, object_store.bucket, started) == []
    assert urllib3.request("PUT", urls[1], body=os.urandom(PART)).status == 200
    assert urllib3.request("PUT", urls[2], body=os.urandom(PART)).status == 200
    assert urllib3.request("PUT", urls[3], body=b"z" * 100).status == 200
    assert _stored_parts(web_s3, object_store.bucket, started) == [(1, PART), (2, PART), (3, 100)]

    later = _sign_batch(client, token, started["id"], first=2, count=1).json()["parts"]
    assert [p["PartNumber"] for p in later] == [2]


def test_part_urls_signed_together_only_for_parts_the_upload_has(session):
    client, token = session
    started = _start(client, token, MiB)  # one part
    for body, error in (
        ({"first": 2}, "This upload has 1 part: part numbers run from 1 to 1."),
        ({"first": 10000, "count": 1}, "This upload has 1 part: part numbers run from 1 to 1."),
    ):
        refused = _sign_batch(client, token, started["id"], **body)
        assert (refused.status_code, refused.json()) == (400, {"error": error})
    for body in ({"first": 0}, {"first": 1, "count": 17}, {"first": 1, "count": 0}, {}):
        assert _sign_batch(client, token, started["id"], **body).status_code == 400, body
    assert len(_sign_batch(client, token, started["id"], first=1).json()["parts"]) == 1
