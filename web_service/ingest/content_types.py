"""Which declared content types may be uploaded as a video.

Types a browser or HTTP client may declare for a video container it does not
know better are let through. Anything else (image/png, text/plain,
audio/mpeg...) is refused up front, with the same message the page shows
before sending a byte. The declared type is only a courtesy check: the
transcoder probes the content, and that decides.
"""

from __future__ import annotations

NEUTRAL_TYPES = frozenset(
    {"", "application/octet-stream", "application/mp4", "application/x-matroska"}
)


def content_type_is_video(content_type: str | None) -> bool:
    content_type = (content_type or "").split(";")[0].strip().lower()
    return content_type.startswith("video/") or content_type in NEUTRAL_TYPES


def not_a_video_message(content_type: str | None) -> str:
    # The page shows it too, from ingest/limits.py's data (static/videos/uploader.js).
    return f"Only video files can be uploaded; this file is {content_type}."
