"""The store's side of direct uploads (ingest/services/direct_uploads.py).

The browser PUTs each part to the store itself, to a URL the web signs; the
web starts (objectstore.multipart_create), lists, completes and checks.

Each part URL is signed with the part's exact length: `Content-Length`
becomes a signed header (X-Amz-SignedHeaders=content-length;host), so the
store refuses a body of any other size with 403 SignatureDoesNotMatch
before it keeps a byte, a chunked body (no Content-Length) included.
Checked on SeaweedFS 4.48 (tests/ingest/views/test_direct_upload_parts_signed.py); AWS S3 and
MinIO check signed headers the same way. Without it a URL for an 8 MiB
part took any size, so a declared 1 MiB upload could store 300 MiB.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.objectstore import client, public_client, translated_errors


def multipart_part_url_presign(*, key: str, upload_id: str, number: int, length: int) -> str:
    """A PUT URL for part `number` of exactly `length` bytes, valid S3_PRESIGN_SECONDS.

    Signed for the address browsers use (S3_PUBLIC_ENDPOINT_URL).
    """
    params = {
        "Bucket": settings.S3_BUCKET,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": number,
        "ContentLength": length,
    }
    with translated_errors("presign UploadPart"):
        return public_client().generate_presigned_url(
            "upload_part", Params=params, ExpiresIn=settings.S3_PRESIGN_SECONDS
        )


def multipart_parts_list(*, key: str, upload_id: str) -> list[dict[str, Any]]:
    """The parts the store holds: [{"PartNumber", "ETag", "Size"}], in order."""
    parts: list[dict[str, Any]] = []
    marker: dict[str, int] = {}
    while True:
        with translated_errors("ListParts"):
            page = client().list_parts(
                Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id, **marker
            )
        parts += [{k: p[k] for k in ("PartNumber", "ETag", "Size")} for p in page.get("Parts", [])]
        if not page.get("IsTruncated"):
            return parts
        marker = {"PartNumberMarker": page["NextPartNumberMarker"]}


def multipart_complete_parts(*, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
    """Complete with the client's (number, ETag) list; the store checks each against its parts."""
    listed = [{"PartNumber": number, "ETag": etag} for number, etag in parts]
    with translated_errors("CompleteMultipartUpload"):
        client().complete_multipart_upload(
            Bucket=settings.S3_BUCKET,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
        )
