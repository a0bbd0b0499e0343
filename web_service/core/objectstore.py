"""The object store: the one place the web talks to S3 (docs/storage.md).

Every call reads the settings when it runs (the client is cached per
endpoint and key), so a test or a management command can point the web at
another store without re-importing anything.

Errors reach callers as two types only, never as botocore's:

- `ObjectStoreUnavailable`: the store is unreachable or answered 5xx. Views
  turn it into a 503 with `STORE_UNAVAILABLE_MESSAGE`; trying again later
  can succeed.
- `ObjectStoreError`: anything else the store refused (403, 404, ...). For
  the web that is a configuration error, so it is not shown to a person.

Why boto3 directly, not django-storages: an upload is streamed into a
multipart upload while the request body arrives, with at most two 8 MiB
parts in flight and an abort when the upload is cut or refused
(ingest/multipart.py). django-storages' S3Storage writes a file it is given,
so it would need the whole upload on disk or in memory first, and it hides
the upload id that an abort needs. We also presign GET URLs for another
endpoint (S3_PUBLIC_ENDPOINT_URL), and its S3 backend declares support up to
Django 5.1 while we run 5.2. The handful of calls below is all we need.
https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/s3.html
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.conf import settings

logger = logging.getLogger(__name__)

SOURCES_PREFIX = "sources/"
OUTPUTS_PREFIX = "outputs/"

STORE_UNAVAILABLE_MESSAGE = (
    "The video storage is not reachable right now, so nothing was saved."
    " Please try again in a few minutes."
)


class ObjectStoreError(Exception):
    """The store refused a request (403, 404, ...). `status` is its HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ObjectStoreUnavailable(ObjectStoreError):
    """The store is unreachable or answered 5xx: trying again later can succeed."""


@contextmanager
def translated_errors(operation: str) -> Iterator[None]:
    """botocore's errors as ours (see above); ingest/direct_store.py uses it too."""
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "?")
        error_type = ObjectStoreUnavailable if status and status >= 500 else ObjectStoreError
        raise error_type(f"{operation}: {code} ({status})", status=status) from exc
    except (BotoConnectionError, HTTPClientError) as exc:
        raise ObjectStoreUnavailable(f"{operation}: {exc}") from exc
    except BotoCoreError as exc:
        raise ObjectStoreError(f"{operation}: {exc}") from exc


@functools.lru_cache(maxsize=8)
def _client_for(endpoint_url: str, region: str, access_key: str, secret_key: str) -> Any:
    # Clients are thread-safe, sessions are not: one session per client.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
    )
    config = Config(
        signature_version="s3v4",
        # S3-compatible stores (SeaweedFS, MinIO) serve path-style URLs.
        s3={"addressing_style": "path" if endpoint_url else "virtual"},
        # Fail fast when the store is down: the person gets a 503 in seconds.
        # Read when the client is made (once per endpoint and key).
        connect_timeout=settings.S3_CONNECT_TIMEOUT,
        read_timeout=settings.S3_READ_TIMEOUT,
        retries={"max_attempts": 3, "mode": "standard"},
        # gunicorn threads x parts in flight, plus the collector's calls.
        max_pool_connections=16,
    )
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


def client() -> Any:
    """The web's S3 client (its own key, so its own, limited, rights)."""
    return _client_for(
        settings.S3_ENDPOINT_URL,
        settings.S3_REGION,
        settings.WEB_S3_ACCESS_KEY_ID,
        settings.WEB_S3_SECRET_ACCESS_KEY,
    )


def public_client() -> Any:
    """The web's key, for the address browsers use: to sign URLs only.

    Signing is local (no request), but the signature covers the host, so
    URLs are signed for the address browsers use.
    """
    return _client_for(
        settings.S3_PUBLIC_ENDPOINT_URL,
        settings.S3_REGION,
        settings.WEB_S3_ACCESS_KEY_ID,
        settings.WEB_S3_SECRET_ACCESS_KEY,
    )


def source_key_new() -> str:
    """A fresh key for an uploaded source. Ours, never the client's file name."""
    return f"{SOURCES_PREFIX}{uuid.uuid4()}"


def multipart_create(*, key: str) -> str:
    """Start a multipart upload of `key`; returns its upload id."""
    with translated_errors("CreateMultipartUpload"):
        return client().create_multipart_upload(Bucket=settings.S3_BUCKET, Key=key)["UploadId"]


def multipart_part_upload(*, key: str, upload_id: str, number: int, body: bytearray) -> str:
    """Upload part `number` (1-based); returns its ETag for the completion.

    A bytearray, because botocore sends it without copying it; it copies a
    `bytes` body onto the request head (awsrequest.AWSConnection._send_output).
    """
    with translated_errors(f"UploadPart {number}"):
        response = client().upload_part(
            Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
    return response["ETag"]


def multipart_complete(*, key: str, upload_id: str, etags: list[str]) -> None:
    """Make the object visible, whole; a reader never sees part of it."""
    parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
    with translated_errors("CompleteMultipartUpload"):
        client().complete_multipart_upload(
            Bucket=settings.S3_BUCKET,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )


def multipart_abort(*, key: str, upload_id: str) -> bool:
    """Drop an unfinished upload and its parts. False (and logged) if the store is unreachable.

    Never raises: it runs while another error is being handled. An upload
    that could not be aborted is aborted later by the collector's sweep.
    """
    try:
        with translated_errors("AbortMultipartUpload"):
            client().abort_multipart_upload(Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id)
    except ObjectStoreError as exc:
        logger.warning("multipart upload of %s not aborted, the sweep will: %s", key, exc)
        return False
    return True


def source_delete(*, key: str) -> None:
    """Delete an uploaded source. Deleting a missing key succeeds (S3 semantics)."""
    if not key.startswith(SOURCES_PREFIX):
        raise ValueError(f"not a source key: {key!r}")
    with translated_errors("DeleteObject"):
        client().delete_object(Bucket=settings.S3_BUCKET, Key=key)


def object_url_presign(
    *, key: str, download_name: str | None = None, expires_seconds: int | None = None
) -> str:
    """A GET URL for `key` that browsers can fetch (with Range).

    Valid S3_PRESIGN_SECONDS unless `expires_seconds` says longer: the
    segments a playlist lists are fetched for as long as the video plays.
    """
    params: dict[str, str] = {"Bucket": settings.S3_BUCKET, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
    with translated_errors("presign GetObject"):
        return public_client().generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds or settings.S3_PRESIGN_SECONDS
        )


def object_text_read(*, key: str, max_bytes: int) -> str:
    """A small text object (a playlist), read with the web's key; refused above `max_bytes`."""
    with translated_errors("GetObject"):
        response = client().get_object(Bucket=settings.S3_BUCKET, Key=key)
        with response["Body"] as body:
            data = body.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ObjectStoreError(f"GetObject: {key} is over {max_bytes} bytes")
    return data.decode("utf-8")


def multipart_uploads_abort_abandoned(*, older_than: timedelta) -> list[str]:
    """Abort multipart uploads under sources/ started before `older_than` ago.

    A web process that dies mid-upload (SIGKILL, OOM, a host crash) cannot
    abort its upload, and its parts would be stored, unseen, forever.
    Returns the keys whose uploads were aborted.
    """
    cutoff = datetime.now(UTC) - older_than
    aborted: list[str] = []
    markers: dict[str, str] = {}
    while True:
        with translated_errors("ListMultipartUploads"):
            page = client().list_multipart_uploads(
                Bucket=settings.S3_BUCKET, Prefix=SOURCES_PREFIX, **markers
            )
        for upload in page.get("Uploads", []):
            if upload["Initiated"] <= cutoff and multipart_abort(
                key=upload["Key"], upload_id=upload["UploadId"]
            ):
                aborted.append(upload["Key"])
        if not page.get("IsTruncated"):
            break
        markers = {
            "KeyMarker": page["NextKeyMarker"],
            "UploadIdMarker": page["NextUploadIdMarker"],
        }
    for key in aborted:
        logger.warning("aborted abandoned upload of %s", key)
    return aborted


def sources_list(*, older_than: timedelta) -> list[str]:
    """Keys under sources/ last written before `older_than` ago."""
    cutoff = datetime.now(UTC) - older_than
    keys: list[str] = []
    pages = client().get_paginator("list_objects_v2")
    with translated_errors("ListObjectsV2 sources/"):
        for page in pages.paginate(Bucket=settings.S3_BUCKET, Prefix=SOURCES_PREFIX):
            keys += [o["Key"] for o in page.get("Contents", []) if o["LastModified"] <= cutoff]
    return keys


def outputs_job_ids() -> set[str]:
    """The job ids that have at least one object under outputs/<job_id>/.

    Every key is listed: a listing by prefix (Delimiter="/") would be
    shorter, but SeaweedFS keeps reporting a prefix whose objects are gone.
    """
    job_ids: set[str] = set()
    pages = client().get_paginator("list_objects_v2")
    with translated_errors("ListObjectsV2 outputs/"):
        for page in pages.paginate(Bucket=settings.S3_BUCKET, Prefix=OUTPUTS_PREFIX):
            for item in page.get("Contents", []):
                job_ids.add(item["Key"][len(OUTPUTS_PREFIX) :].split("/", 1)[0])
    return job_ids


def object_size(*, key: str) -> int | None:
    """The stored size of `key` (HEAD), or None if there is no such object."""
    try:
        with translated_errors("HeadObject"):
            return client().head_object(Bucket=settings.S3_BUCKET, Key=key)["ContentLength"]
    except ObjectStoreError as exc:
        if exc.status == 404:
            return None
        raise
