"""Playback: `/media/<key>` redirects to a short-lived signed URL of the store.

The browser then fetches the object from the store itself, Range requests
and seeking included, so no web thread is held for a download
(docs/storage.md, "Playback"). The web decides at each request whether to
sign: only outputs of the requesting person's own videos are signed
(keys are outputs/<job_id>/...); uploaded sources are never signed. Anyone
else gets a 404, so nobody learns that a key exists.
"""

from __future__ import annotations

import posixpath

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_safe

from videos import objectstore
from videos.selectors import job_output_owned

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


@login_required
@require_safe
def media_redirect(request: HttpRequest, path: str) -> HttpResponseRedirect:
    if not output_key_is_public(key=path):
        raise Http404("Not a public media file.")
    job_id = path.split("/")[1]
    if not job_output_owned(owner=request.user, job_id=job_id):
        raise Http404("Not a media file of yours.")
    download = posixpath.basename(path) if request.GET.get("download") == "1" else None
    response = HttpResponseRedirect(
        objectstore.object_url_presign(key=path, download_name=download)
    )
    # The signed URL expires; a cached redirect must not outlive it.
    response["Cache-Control"] = "private, no-store"
    return response
