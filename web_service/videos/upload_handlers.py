"""Upload handlers: the size limit, then streaming into the object store.

Django runs FILE_UPLOAD_HANDLERS in order for every chunk of the body.
SizeLimitedUploadHandler stops the transfer as soon as it passes
UPLOAD_MAX_BYTES, so the view can answer 413 with a clear message.
ObjectStoreUploadHandler streams the file into an S3 multipart upload as the
chunks arrive (videos/multipart.py), so neither memory nor a local disk holds
the file.

Both run while Django parses the body, which can be inside CsrfViewMiddleware,
before any view. So a handler never raises for an expected failure: it marks
the request and stops the upload, and the view answers (413, 503). Whatever
a request stored and did not keep is aborted or deleted by
UploadCleanupMiddleware (`uploads_discard`), however the request ended.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from videos import objectstore
from videos.content_types import content_type_is_video
from videos.multipart import MultipartWriter

logger = logging.getLogger(__name__)

# The form field whose file is streamed to the store (VideoUploadForm.file).
UPLOAD_FIELD = "file"

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
    declared = upload_declared_length(request)
    return declared is not None and declared > settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD


def upload_declared_length(request: HttpRequest) -> int | None:
    """The body's Content-Length; None when missing (a chunked body) or not a number."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def upload_declared_file_bytes(request: HttpRequest) -> int:
    """The least the file can be, from Content-Length: the body less the framing allowance."""
    return max(0, (upload_declared_length(request) or 0) - MULTIPART_OVERHEAD)


def upload_clear(*, request: HttpRequest, owner: AbstractBaseUser) -> None:
    """Mark the request as cleared for `owner` by the gate (UploadGateMiddleware)."""
    request._upload_cleared_for = owner.pk


def upload_cleared(*, request: HttpRequest, owner: AbstractBaseUser) -> bool:
    """True when the gate decided, before the body, that `owner` may send this upload."""
    return owner.pk is not None and getattr(request, "_upload_cleared_for", None) == owner.pk


def upload_was_cut(request: HttpRequest) -> bool:
    """True when SizeLimitedUploadHandler stopped this request's upload."""
    return getattr(request, "_upload_over_limit", False)


class SizeLimitedUploadHandler(FileUploadHandler):
    chunk_size = UPLOAD_CHUNK_BYTES

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        # The body may be parsed before the view runs (CsrfViewMiddleware
        # reads request.POST), so the declared size is checked here too:
        # nothing of a body declared too large is sent to the store.
        if upload_declared_too_large(self.request):
            self._stop()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            self._stop()
        return raw_data

    def _stop(self):
        self.request._upload_over_limit = True
        # connection_reset: stop reading; the rest of the body is not ours to store.
        raise StopUpload(connection_reset=True)

    def file_complete(self, file_size: int) -> None:
        return None


def upload_store_failed(request: HttpRequest) -> bool:
    """True when the object store was unreachable while this request's file arrived."""
    return getattr(request, "_upload_store_unavailable", False)


def upload_keep(*, request: HttpRequest, key: str) -> None:
    """Mark a stored source as used by a video, so the cleanup keeps it."""
    request._upload_kept_key = key


def uploads_discard(*, request: HttpRequest) -> None:
    """Abort or delete whatever this request stored and did not keep. Never raises.

    A refused, cut or invalid upload leaves nothing behind. If the store is
    unreachable even for this, the collector's sweep aborts the unfinished
    multipart upload later; a completed but unkept object is logged.
    """
    kept = getattr(request, "_upload_kept_key", None)
    for writer in getattr(request, "_upload_writers", []):
        if not writer.completed:
            writer.abort()
        elif writer.key != kept:
            try:
                objectstore.source_delete(key=writer.key)
            except objectstore.ObjectStoreError as exc:
                logger.error("unused upload %s not deleted: %s", writer.key, exc)


class StoredSource(UploadedFile):
    """What the form sees for an upload: its name, type and size, and the key it is stored at.

    `key` is None when nothing was stored: a declared type that is not video
    or an empty file, which the form then refuses.
    """

    def __init__(self, *, key: str | None, name: str, content_type: str, size: int) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.key = key

    def close(self) -> None:
        return None  # nothing local to close; Django closes every upload after the request

    def open(self, mode: str | None = None) -> StoredSource:
        raise ValueError("A stored upload has no local file; its bytes are in the object store.")

    def chunks(self, chunk_size: int | None = None):
        raise ValueError("A stored upload has no local file; its bytes are in the object store.")


class ObjectStoreUploadHandler(FileUploadHandler):
    """Streams the form's `file` into a multipart upload under sources/."""

    chunk_size = UPLOAD_CHUNK_BYTES

    def new_file(self, field_name: str, file_name: str, content_type: str, *args, **kwargs):
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        self.writer: MultipartWriter | None = None
        self.received = 0
        # Only the first `file` is ours. A declared non-video type is refused
        # by the form, so none of its bytes are stored.
        self.ours = field_name == UPLOAD_FIELD and not hasattr(self.request, "_upload_writers")
        writers = self.request.__dict__.setdefault("_upload_writers", [])
        if not self.ours or not content_type_is_video(content_type):
            return
        try:
            self.writer = MultipartWriter(key=objectstore.source_key_new())
        except objectstore.ObjectStoreUnavailable as exc:
            self._store_unavailable(exc)
        writers.append(self.writer)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.writer is not None:
            try:
                self.writer.write(raw_data)
            except objectstore.ObjectStoreUnavailable as exc:
                self._store_unavailable(exc)
        return None  # the bytes are stored (or not ours): no later handler sees them

    def file_complete(self, file_size: int) -> StoredSource | None:
        if not self.ours:
            return None
        key = None
        if self.writer is not None and self.received:
            try:
                self.writer.complete()
            except objectstore.ObjectStoreUnavailable as exc:
                self._store_unavailable(exc)
            key = self.writer.key
        elif self.writer is not None:
            self.writer.abort()  # empty: the form refuses it, nothing is kept
        return StoredSource(
            key=key, name=self.file_name, content_type=self.content_type, size=self.received
        )

    def _store_unavailable(self, exc: Exception):
        logger.warning("upload stopped, object store unavailable: %s", exc)
        self.request._upload_store_unavailable = True
        # connection_reset: stop reading; the rest of the body cannot be stored.
        raise StopUpload(connection_reset=True) from exc
