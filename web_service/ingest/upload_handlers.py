"""Upload handlers: the size limit, then streaming into the object store.

Django runs FILE_UPLOAD_HANDLERS in order for every chunk of the body.
SizeLimitedUploadHandler stops the transfer as soon as it passes
UPLOAD_MAX_BYTES, so the view can answer 413 with a clear message.
ObjectStoreUploadHandler streams the file into an S3 multipart upload as the
chunks arrive (ingest/multipart.py), so neither memory nor a local disk holds
the file.

Both run while Django parses the body, which can be inside CsrfViewMiddleware,
before any view. So a handler never raises for an expected failure: it marks
the request and stops the upload, and the view answers (413, 503). Whatever
a request stored and did not keep is aborted or deleted by
UploadCleanupMiddleware (`uploads_discard`), however the request ended.
What they mark is the request's StreamedUpload (streamed_upload.py).
"""

from __future__ import annotations

import logging
from typing import NoReturn

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from core import objectstore
from ingest.content_types import content_type_is_video
from ingest.limits import upload_size_refusal
from ingest.multipart import MultipartWriter
from ingest.streamed_upload import streamed_upload

logger = logging.getLogger(__name__)

# The form field whose file is streamed to the store (VideoUploadForm.file).
UPLOAD_FIELD = "file"

# Django's multipart parser reads the body in the smallest chunk_size of all
# upload handlers, so every handler here sets it. Its 64 KiB default makes
# gunicorn copy its read-ahead buffer on every read; 1 MiB reads were
# 1.5-1.7x faster at the same memory (bench/results.md, section 3).
# https://docs.djangoproject.com/en/5.2/ref/files/uploads/#django.core.files.uploadhandler.FileUploadHandler.chunk_size
UPLOAD_CHUNK_BYTES = 1024 * 1024


class SizeLimitedUploadHandler(FileUploadHandler):
    chunk_size = UPLOAD_CHUNK_BYTES

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        # The body may be parsed before the view runs (CsrfViewMiddleware
        # reads request.POST), so the declared size is checked here too:
        # nothing of a body declared too large is sent to the store.
        if upload_size_refusal(size_bytes=streamed_upload(self.request).declared_file_bytes):
            self._stop()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if upload_size_refusal(size_bytes=start + len(raw_data)):
            self._stop()
        return raw_data

    def _stop(self) -> NoReturn:
        streamed_upload(self.request).over_limit = True
        # connection_reset: stop reading; the rest of the body is not ours to store.
        raise StopUpload(connection_reset=True)

    def file_complete(self, file_size: int) -> None:
        return None


def uploads_discard(*, request: HttpRequest) -> None:
    """Abort or delete whatever this request stored and did not keep. Never raises.

    A refused, cut or invalid upload leaves nothing behind. If the store is
    unreachable even for this, the collector's sweep aborts the unfinished
    multipart upload later; a completed but unkept object is logged.
    """
    upload = streamed_upload(request)
    for writer in upload.writers:
        if not writer.completed:
            writer.abort()
        elif writer.key != upload.kept_key:
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
        # Only the first `file` of a body the upload gate cleared for someone
        # is ours. Django parses any form body that a view or the CSRF check
        # reads (the login page's too), and runs these handlers on it: without
        # the gate's word, an anonymous file would stream into the store.
        # A declared non-video type is refused by the form, so none of its
        # bytes are stored.
        upload = streamed_upload(self.request)
        self.ours = (
            field_name == UPLOAD_FIELD and not upload.file_seen and upload.cleared_for is not None
        )
        upload.file_seen = True
        if not self.ours or not content_type_is_video(content_type):
            return
        try:
            writer = MultipartWriter(key=objectstore.source_key_new())
        except objectstore.ObjectStoreUnavailable as exc:
            self._store_unavailable(exc)
        upload.writers.append(writer)
        self.writer = writer

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

    def _store_unavailable(self, exc: Exception) -> NoReturn:
        logger.warning("upload stopped, object store unavailable: %s", exc)
        streamed_upload(self.request).store_unavailable = True
        # connection_reset: stop reading; the rest of the body cannot be stored.
        raise StopUpload(connection_reset=True) from exc
