"""Upload size enforcement while the bytes stream in.

Django's TemporaryFileUploadHandler (next in FILE_UPLOAD_HANDLERS) writes
every upload to disk in chunks. This handler runs first and stops the
transfer as soon as it passes UPLOAD_MAX_BYTES, so an oversize upload never
fills the disk, and the view can answer 413 with a clear message.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest

# Django's multipart parser reads the body in the smallest chunk_size of all
# upload handlers, so every handler here sets it. Its 64 KiB default makes
# gunicorn copy its read-ahead buffer on every read; 1 MiB reads were
# 1.5-1.7x faster at the same memory (bench/results.md, section 3).
# https://docs.djangoproject.com/en/5.2/ref/files/uploads/#django.core.files.uploadhandler.FileUploadHandler.chunk_size
UPLOAD_CHUNK_BYTES = 1024 * 1024

# Multipart framing (boundaries, headers, a title field) around the file.
MULTIPART_OVERHEAD = 64 * 1024


def human_size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return (
                f"{size:.0f} {unit}"
                if unit == "bytes" or size.is_integer()
                else f"{size:.1f} {unit}"
            )
        size /= 1024
    raise AssertionError("unreachable")


def upload_too_large_message() -> str:
    return f"The file is larger than the {human_size(settings.UPLOAD_MAX_BYTES)} upload limit."


def upload_declared_too_large(request: HttpRequest) -> bool:
    """True when Content-Length alone says the body is over the limit.

    Checked before the body is read, so the client is refused at once.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return declared > settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD


def upload_was_cut(request: HttpRequest) -> bool:
    """True when SizeLimitedUploadHandler stopped this request's upload."""
    return getattr(request, "_upload_over_limit", False)


class SizeLimitedUploadHandler(FileUploadHandler):
    chunk_size = UPLOAD_CHUNK_BYTES

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            self.request._upload_over_limit = True
            # connection_reset: stop reading; the rest of the body is not ours to store.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class LargeChunkTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's streaming-to-disk handler, reading 1 MiB at a time."""

    chunk_size = UPLOAD_CHUNK_BYTES
