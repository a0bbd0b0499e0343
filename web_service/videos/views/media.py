"""Playback: `/media/<key>` redirects to a short-lived signed URL of the store.

The browser then fetches the object from the store itself, Range requests
and seeking included, so no web thread is held for a download
(docs/storage.md, "Playback"). The web decides at each request whether to
sign: only transcoded outputs are public; uploaded sources stay private.
"""

from __future__ import annotations

import posixpath

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_safe

from videos import objectstore

MAX_KEY_BYTES = 1024


def output_key_is_public(*, key: str) -> bool:
    """True for a plain key under outputs/: no `..`, `.` or empty segment, no hidden name."""
    if not key.startswith(objectstore.OUTPUTS_PREFIX) or len(key.encode()) > MAX_KEY_BYTES:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return False
    segments = key.split("/")
    # A segment starting with "." covers "." and "..", and a worker's hidden files.
    return all(segment and not segment.startswith(".") for segment in segments)


@require_safe
def media_redirect(request: HttpRequest, path: str) -> HttpResponseRedirect:
    if not output_key_is_public(key=path):
        raise Http404("Not a public media file.")
    download = posixpath.basename(path) if request.GET.get("download") == "1" else None
    response = HttpResponseRedirect(
        objectstore.object_url_presign(key=path, download_name=download)
    )
    # The signed URL expires; a cached redirect must not outlive it.
    response["Cache-Control"] = "private, no-store"
    return response
