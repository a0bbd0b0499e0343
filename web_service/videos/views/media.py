"""Playback: `/media/<key>` redirects to a short-lived signed URL of the store.

The browser then fetches the object from the store itself, Range requests
and seeking included, so no web thread is held for a download
(docs/storage.md, "Playback"). The web decides at each request whether to
sign: only outputs of the requesting person's own videos are signed
(keys are outputs/<job_id>/<attempt>/...), and of one attempt only: the
ready result's, or the one the job is playable from while it runs
(selectors.output_key_servable). Uploaded sources are never signed. Anyone
else gets a 404, so nobody learns that a key exists.

An HLS playlist or a storyboard VTT is the exception: it is small text whose
relative URIs a signature would not cover, so the web reads it and answers
with it rewritten (videos/playlists.py), its segments signed for as long as
the video plays. A playlist still being written (EVENT, no ENDLIST) is served
the same way: it is never cached, so each reload shows its new segments.
"""

from __future__ import annotations

import logging
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe

from core import objectstore
from videos import playlists
from videos.selectors import ServableOutput, output_key_servable

logger = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024
# A 10-hour video in 4-second segments is about 400 KB of playlist.
MAX_PLAYLIST_BYTES = 4 * 1024 * 1024
# hls.js reads a VOD playlist once, then fetches its segments while the video
# plays, so they are signed for the video's length plus this, for pauses and
# a slow start. Past it, the player loads the playlist again (player.js).
PLAYBACK_MARGIN_SECONDS = 30 * 60
# SigV4 presigned URLs are valid at most seven days.
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
TEXT_TYPES = {
    playlists.PLAYLIST_SUFFIX: "application/vnd.apple.mpegurl",
    ".vtt": "text/vtt; charset=utf-8",
}


def output_key_is_public(*, key: str) -> bool:
    """True for a plain key under outputs/: no `..`, `.` or empty segment, no hidden name."""
    if not key.startswith(objectstore.OUTPUTS_PREFIX) or len(key.encode()) > MAX_KEY_BYTES:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return False
    segments = key.split("/")
    # A segment starting with "." covers "." and "..", and a worker's hidden files.
    return all(segment and not segment.startswith(".") for segment in segments)


def playback_seconds(*, media_seconds: float) -> int:
    """How long the URLs in a playlist of `media_seconds` of video stay valid."""
    wanted = int(media_seconds) + PLAYBACK_MARGIN_SECONDS
    return min(PRESIGN_MAX_SECONDS, max(settings.S3_PRESIGN_SECONDS, wanted))


def _playlist_response(*, output: ServableOutput) -> HttpResponse:
    key = output.key
    try:
        text = objectstore.object_text_read(key=key, max_bytes=MAX_PLAYLIST_BYTES)
    except objectstore.ObjectStoreUnavailable:
        logger.warning("playlist %s not read: the store is unavailable", key, exc_info=True)
        return HttpResponse(
            "The video storage is not reachable right now. Try again in a moment.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    except objectstore.ObjectStoreError as exc:
        if exc.status == 404:
            raise Http404("No such playlist.") from exc
        raise
    is_playlist = key.endswith(playlists.PLAYLIST_SUFFIX)
    seconds = (playlists.playlist_seconds if is_playlist else playlists.storyboard_seconds)(
        text=text
    )
    # A playlist still being written lists the seconds encoded so far, and
    # grows while the person watches: its URLs last for the whole source.
    lifetime = playback_seconds(media_seconds=max(seconds, output.min_media_seconds))

    def sign(target: str) -> str:
        return objectstore.object_url_presign(key=target, expires_seconds=lifetime)

    def proxy(target: str) -> str:
        return f"{settings.MEDIA_URL}{quote(target)}"

    try:
        if is_playlist:
            body = playlists.playlist_rewrite(text=text, key=key, sign=sign, proxy=proxy)
        else:
            body = playlists.storyboard_rewrite(text=text, key=key, sign=sign)
    except playlists.PlaylistRefused:
        # Our transcoder writes relative URIs inside its own folder only.
        logger.exception("playlist %s refused", key)
        return HttpResponse(
            "This video's playlist is damaged and cannot be played.",
            status=502,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(body, content_type=TEXT_TYPES[posixpath.splitext(key)[1]])
    # It holds signed URLs: neither a shared cache nor the browser's may keep it.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def media_redirect(request: HttpRequest, path: str) -> HttpResponse:
    if not output_key_is_public(key=path):
        raise Http404("Not a public media file.")
    output = output_key_servable(owner=request.user, key=path)
    if output is None:
        raise Http404("Not a media file of yours.")
    if posixpath.splitext(path)[1] in TEXT_TYPES:
        return _playlist_response(output=output)
    download = posixpath.basename(path) if request.GET.get("download") == "1" else None
    response = HttpResponseRedirect(
        objectstore.object_url_presign(key=path, download_name=download)
    )
    # The signed URL expires; a cached redirect must not outlive it.
    response["Cache-Control"] = "private, no-store"
    return response
