"""The S3 bucket shared with the web, through boto3.

Every call the transcoder makes to the store goes through `ObjectStore`,
inside `store_errors` (store_failures.py says what each failure means to a
job). Every write is over before a SIGTERM or a time limit goes on past it
(interrupts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from transcoder.errors import InvalidMedia, StorageDenied, StorageError
from transcoder.interrupts import call_to_the_end
from transcoder.scratch import scratch_errors
from transcoder.settings import Settings
from transcoder.store_failures import (
    DENIED_CODES,
    MISSING_CODES,
    denied_sentence,
    error_code,
    store_errors,
)

MIB = 1024 * 1024
# Multipart above 8 MiB, in 8 MiB parts (docs/storage.md, "The transcoder's
# pipeline"): a failed part is resent alone, and memory stays bounded.
TRANSFER_CONFIG = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
# How much of the source is read from the network per write to scratch.
DOWNLOAD_CHUNK_BYTES = 1 * MIB
# S3's limit per DeleteObjects request.
DELETE_BATCH = 1000

# (bytes done, bytes in all) while a source downloads.
DownloadProgress = Callable[[int, int], None]


class ObjectStore:
    """The one bucket, seen with the transcoder's own credentials."""

    def __init__(self, *, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def source_download(
        self, *, key: str, target: Path, max_bytes: int, on_progress: DownloadProgress
    ) -> int:
        """Stream the object at `key` into `target`; return its size in bytes.

        The limit is enforced before the first byte when the store announces
        the size, and again while the bytes arrive, so an oversized source
        never fills the scratch disk. On any failure `target` is removed.
        """
        try:
            with store_errors(f"reading the source {key!r}", missing_key=key):
                response = self._client.get_object(Bucket=self.bucket, Key=key)
                body = response["Body"]
                try:
                    size = int(response.get("ContentLength") or 0)
                    _check_size(size, max_bytes=max_bytes)
                    with scratch_errors("downloading the source"), target.open("wb") as handle:
                        done = _copy_limited(
                            body, handle, total=size, max_bytes=max_bytes, on_progress=on_progress
                        )
                finally:
                    body.close()
        except BaseException:
            # Also on a time limit or SystemExit: a partial source is useless.
            target.unlink(missing_ok=True)
            raise
        return done

    def output_upload(self, *, path: Path, key: str, content_type: str) -> None:
        """Upload a local file: in one PUT below the multipart threshold (most
        outputs: segments, playlists, the poster); above it, in parts, then
        check with a HEAD that the store holds all of it."""
        with scratch_errors(f"reading {path.name}"):
            size = path.stat().st_size
            whole = path.read_bytes() if size < TRANSFER_CONFIG.multipart_threshold else None
        if whole is not None:
            # No managed transfer: its thread pool, started per call, cost
            # more CPU than the request itself beside a running ffmpeg.
            self.output_put(key=key, body=whole, content_type=content_type)
            return
        with store_errors(f"uploading {key!r}"):
            # boto3's managed transfer: multipart above the threshold, parts
            # retried on their own. An object appears only when complete.
            call_to_the_end(
                lambda: self._client.upload_file(
                    Filename=str(path),
                    Bucket=self.bucket,
                    Key=key,
                    ExtraArgs={"ContentType": content_type},
                    Config=TRANSFER_CONFIG,
                )
            )
        stored = self.object_size(key=key)
        if stored != size:
            raise StorageError(
                f"The object store holds {stored} bytes for {key!r} after uploading {size}."
            )

    def output_put(self, *, key: str, body: bytes, content_type: str) -> None:
        """Store `body` at `key` in one PUT (a playlist: small, and rewritten in memory)."""
        with store_errors(f"uploading {key!r}"):
            # One request, answered only once the whole object is stored: no
            # managed transfer whose parts would need the HEAD check above.
            call_to_the_end(
                lambda: self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
                )
            )

    def object_size(self, *, key: str) -> int | None:
        """The size of the object at `key`, or None if there is none."""
        with store_errors(f"checking {key!r}"):
            try:
                return int(self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
            except ClientError as exc:
                if error_code(exc) in MISSING_CODES:
                    return None
                raise

    def json_read(self, *, key: str) -> bytes | None:
        """The body of the object at `key`, or None if there is none."""
        with store_errors(f"reading {key!r}"):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in MISSING_CODES:
                    return None
                raise
            body: bytes = response["Body"].read()
            return body

    def json_create(self, *, key: str, body: bytes) -> bool:
        """Create the object at `key` unless one exists; False if one already did.

        `If-None-Match: *` makes the store itself grant the write to exactly
        one of several writers racing for the key, on one host or many.
        """
        with store_errors(f"writing {key!r}"):
            try:
                call_to_the_end(
                    lambda: self._client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=body,
                        ContentType="application/json",
                        IfNoneMatch="*",
                    )
                )
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
                    return False
                raise
        return True

    def keys_list(self, *, prefix: str) -> list[str]:
        """The keys of every object under `prefix`."""
        keys: list[str] = []
        with store_errors(f"listing the objects under {prefix!r}"):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def prefix_delete(self, *, prefix: str, first: str | None = None) -> int:
        """Delete every object under `prefix` and abort its unfinished multipart uploads.

        `first`, a key under the prefix, is deleted alone before the others,
        so an interrupted deletion never leaves it naming missing objects.
        Returns how many objects were deleted.
        """
        deleted = 0
        with store_errors(f"deleting the objects under {prefix!r}"):
            if first is not None:
                deleted += self._delete_keys([first]) if self.object_size(key=first) else 0
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": DELETE_BATCH}
            ):
                keys = [item["Key"] for item in page.get("Contents", [])]
                if keys:
                    deleted += self._delete_keys(keys)
            uploads = self._client.get_paginator("list_multipart_uploads")
            for page in uploads.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
        return deleted

    def _delete_keys(self, keys: list[str]) -> int:
        response = self._client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        # DeleteObjects answers 200 and lists refusals per key instead of failing.
        errors = response.get("Errors", [])
        if errors:
            code, key = errors[0].get("Code", ""), errors[0].get("Key", "")
            if code in DENIED_CODES:
                raise StorageDenied(denied_sentence(f"deleting {key!r}"))
            raise StorageError(f"The object store could not delete {key!r} ({code}).")
        return len(keys)


def store_connect(*, settings: Settings) -> ObjectStore:
    """An `ObjectStore` for the configured bucket, with the transcoder's own key pair."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=Config(
            # Path-style keeps the bucket out of the host name, which a local
            # store (an IP address and a port) cannot serve.
            s3={"addressing_style": "path"},
            # botocore retries a dropped connection or a 5xx a few times
            # within one call; past that the task's own retries take over.
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=settings.s3_connect_timeout,
            read_timeout=settings.s3_read_timeout,
        ),
    )
    return ObjectStore(client=client, bucket=settings.s3_bucket)


def _check_size(size: int, *, max_bytes: int) -> None:
    if size > max_bytes:
        # The same sentence as probe.check_limits, which sees the file later.
        raise InvalidMedia(f"The file is too large: {size} bytes, the limit is {max_bytes}.")


def _copy_limited(
    body: Any, handle: IO[bytes], *, total: int, max_bytes: int, on_progress: DownloadProgress
) -> int:
    done = 0
    for chunk in body.iter_chunks(chunk_size=DOWNLOAD_CHUNK_BYTES):
        done += len(chunk)
        # A store that announced no size (or a wrong one) still cannot push
        # more than the limit onto the scratch disk.
        if done > max_bytes:
            raise InvalidMedia(
                f"The file is too large: more than {max_bytes} bytes, the limit is {max_bytes}."
            )
        handle.write(chunk)
        on_progress(done, total)
    return done
