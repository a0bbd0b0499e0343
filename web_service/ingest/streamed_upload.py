"""What the streamed upload path knows about one request, in one object.

The page's form POST and the API's multipart POST stream the file through
Django into the store (upload_handlers.py). Several parts see that request,
each at its moment: the upload middleware before the body (its declared
size, who may send it, whether the upload rate counted it), the upload
handlers while Django parses it (the store's writers, a cut, an unreachable
store), the view after (the stored key a video keeps), and the cleanup at
the very end. They share this one object, attached once to Django's request
by `streamed_upload`; nothing else of the upload is kept on the request.

Not to be confused with models.Upload and its UploadState: those are a
direct upload's row in the database, which outlives any request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from ingest.multipart import MultipartWriter

# Multipart framing (boundaries, headers, a title field) around the file.
MULTIPART_OVERHEAD = 64 * 1024

_ATTRIBUTE = "_streamed_upload"


@dataclass
class StreamedUpload:
    # Content-Length; None when missing (a chunked body) or not a number.
    declared_length: int | None
    # The pk of the person UploadGateMiddleware let send this body.
    cleared_for: Any = None
    # Counted against the upload rate before the body, so the view's
    # throttle (views/rest.py, UploadRateThrottle) does not count it again.
    rate_counted: bool = False
    # A file part arrived: only the first, if it is the form's `file`, is stored.
    file_seen: bool = False
    writers: list[MultipartWriter] = field(default_factory=list)
    # SizeLimitedUploadHandler stopped the body: over UPLOAD_MAX_BYTES.
    over_limit: bool = False
    # The store was unreachable while the file arrived.
    store_unavailable: bool = False
    # The stored source a video records: the cleanup keeps it.
    kept_key: str | None = None

    @property
    def declared_file_bytes(self) -> int:
        """The least the file can be: the declared body less the framing allowance."""
        return max(0, (self.declared_length or 0) - MULTIPART_OVERHEAD)

    def clear(self, *, owner: AbstractBaseUser) -> None:
        """The gate decided, before the body, that `owner` may send this upload."""
        self.cleared_for = owner.pk

    def is_cleared_for(self, *, owner: AbstractBaseUser) -> bool:
        return owner.pk is not None and self.cleared_for == owner.pk


def streamed_upload(request: HttpRequest) -> StreamedUpload:
    """This request's upload: made on first use (the upload middleware's, for an upload
    request), the same object after.

    Django's own request, not DRF's wrapper (pass `request._request`): the
    handlers and the middleware only ever see Django's.
    """
    upload = getattr(request, _ATTRIBUTE, None)
    if upload is None:
        upload = StreamedUpload(declared_length=_content_length(request))
        setattr(request, _ATTRIBUTE, upload)
    return upload


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None
