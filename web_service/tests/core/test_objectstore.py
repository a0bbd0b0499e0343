"""The web's key against the real store: least privilege, and how outages look."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from core import objectstore


def _status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_webs_key_cannot_write_or_delete_outputs(object_store, web_s3, transcoder_s3):
    key = "outputs/job-1/9f2c4e1a7b3d5f60/720p.mp4"
    transcoder_s3.put_object(Bucket=object_store.bucket, Key=key, Body=b"rendition")

    with pytest.raises(ClientError) as overwrite:
        web_s3.put_object(Bucket=object_store.bucket, Key=key, Body=b"forged")
    assert _status(overwrite) == 403
    with pytest.raises(ClientError) as delete:
        web_s3.delete_object(Bucket=object_store.bucket, Key=key)
    assert _status(delete) == 403
    with pytest.raises(ClientError) as start:
        web_s3.create_multipart_upload(Bucket=object_store.bucket, Key="outputs/job-1/x.mp4")
    assert _status(start) == 403

    body = web_s3.get_object(Bucket=object_store.bucket, Key=key)["Body"].read()
    assert body == b"rendition"  # it may read them, and they are untouched


def test_the_transcoders_key_cannot_write_sources(object_store, transcoder_s3):
    with pytest.raises(ClientError) as write:
        transcoder_s3.put_object(Bucket=object_store.bucket, Key="sources/forged", Body=b"x")
    assert _status(write) == 403


def test_the_web_deletes_its_sources(object_store, transcoder_s3, empty_sources):
    key = objectstore.source_key_new()
    upload_id = objectstore.multipart_create(key=key)
    etag = objectstore.multipart_part_upload(key=key, upload_id=upload_id, number=1, body=b"v")
    objectstore.multipart_complete(key=key, upload_id=upload_id, etags=[etag])
    assert transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)["ContentLength"] == 1

    objectstore.source_delete(key=key)
    objectstore.source_delete(key=key)  # deleting a missing key succeeds

    with pytest.raises(ClientError) as gone:
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    assert _status(gone) == 404


def test_source_delete_refuses_other_keys():
    with pytest.raises(ValueError, match="not a source key"):
        objectstore.source_delete(key="outputs/job-1/manifest.json")


def test_an_unreachable_store_is_one_exception_type(settings):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"
    with pytest.raises(objectstore.ObjectStoreUnavailable):
        objectstore.multipart_create(key=objectstore.source_key_new())
    with pytest.raises(objectstore.ObjectStoreUnavailable):
        objectstore.multipart_uploads_abort_abandoned(older_than=timedelta(0))
    assert objectstore.multipart_abort(key="sources/x", upload_id="u") is False  # never raises


def test_a_refusal_is_an_object_store_error_not_an_outage(settings):
    settings.WEB_S3_SECRET_ACCESS_KEY = "wrong"
    with pytest.raises(objectstore.ObjectStoreError) as refused:
        objectstore.multipart_create(key=objectstore.source_key_new())
    assert not isinstance(refused.value, objectstore.ObjectStoreUnavailable)
    assert refused.value.status == 403
