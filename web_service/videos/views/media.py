"""Serving transcoded outputs and posters, with HTTP range requests.

Browsers fetch video in ranges to seek, so a plain FileResponse is not
enough. In a larger deployment a CDN or nginx (X-Accel-Redirect) serves
these files; this view keeps the reference runnable with gunicorn alone.
Only files under `outputs/` are served: uploaded sources stay private.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils._os import safe_join
from django.views.decorators.http import require_safe

PUBLIC_PREFIX = "outputs/"
CHUNK_SIZE = 256 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _file_range(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_SIZE, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _range_parse(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single satisfiable range, else None."""
    match = RANGE_RE.match(header.strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), int(last) if last else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    end = min(end, size - 1)
    return (start, end) if start <= end else None


@require_safe
def media_serve(request: HttpRequest, path: str) -> HttpResponse:
    public_root = (Path(settings.MEDIA_ROOT) / PUBLIC_PREFIX).resolve()
    try:
        # resolve() follows symlinks and `..`, so the check below sees the real target.
        full_path = Path(safe_join(settings.MEDIA_ROOT, path)).resolve()
    except SuspiciousFileOperation:  # the path leaves MEDIA_ROOT
        raise Http404("Not a public media file.") from None
    if not full_path.is_relative_to(public_root) or full_path.name.startswith("."):
        raise Http404("Not a public media file.")
    if not full_path.is_file():
        raise Http404("No such file.")
    size = full_path.stat().st_size
    content_type = mimetypes.guess_type(full_path.name)[0] or "application/octet-stream"
    range_header = request.headers.get("Range")
    if range_header:
        byte_range = _range_parse(range_header, size)
        if byte_range is None:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        start, end = byte_range
        response = StreamingHttpResponse(
            _file_range(full_path, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        # FileResponse closes the file when the response is done.
        response = FileResponse(open(full_path, "rb"), content_type=content_type)  # noqa: SIM115
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "public, max-age=3600"
    if request.GET.get("download") == "1":
        response["Content-Disposition"] = f'attachment; filename="{os.path.basename(path)}"'
    return response
