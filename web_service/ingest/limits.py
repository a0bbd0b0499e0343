"""What one upload may be, and the sentences that refuse one.

The streamed upload (the page's form and the API's multipart POST), the
direct upload (services/direct_uploads.py) and the page say the same
sentence for the same refusal: each is built here, from the settings it
quotes. The page gets its checks and sentences as data (`upload_limits_for_page`,
rendered with json_script and read by static/videos/uploader.js), so no
sentence or number is written twice.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from ingest.content_types import NEUTRAL_TYPES, not_a_video_message
from ratelimits.services import wait_sentence

LENGTH_REQUIRED_MESSAGE = (
    "Send the upload with a Content-Length header; uploads of unknown length are not accepted."
)
NO_FILE_MESSAGE = "Choose a video file to upload."
EMPTY_MESSAGE = "The file is empty."
SITE_BUSY_MESSAGE = (
    "Too many uploads are in progress on the site right now. Please try again in a minute."
)


def human_size(num_bytes: int) -> str:
    """`num_bytes` as the sentences quote it: 512 bytes, 1.5 KiB, 8 MiB, 2 GiB.

    static/videos/uploader.js (humanSize) writes the sizes it fills in the same way.
    """
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


def upload_size_refusal(*, size_bytes: int) -> str | None:
    """The sentence refusing a file of `size_bytes` over UPLOAD_MAX_BYTES; None when it fits.

    The one comparison with the limit: a streamed upload's declared size
    (before its body is read, and again when the body is parsed), its bytes
    as they arrive, and a direct upload's declared size.
    """
    return upload_too_large_message() if size_bytes > settings.UPLOAD_MAX_BYTES else None


def _over_quota_sentence(*, needs: str, left: str, held: str | None) -> str:
    in_progress = f" ({held} is held by uploads in progress)" if held else ""
    return (
        f"This upload needs {needs} but only {left} of your "
        f"{human_size(settings.USER_QUOTA_BYTES)} quota is left{in_progress}."
        f" Delete videos{' or cancel uploads' if held else ''} to make room."
    )


def over_quota_message(*, size_bytes: int, left_bytes: int, held_bytes: int) -> str:
    """`size_bytes` does not fit the `left_bytes` of USER_QUOTA_BYTES; `held_bytes` are
    held by the person's uploads in progress."""
    return _over_quota_sentence(
        needs=human_size(size_bytes),
        left=human_size(left_bytes),
        held=human_size(held_bytes) if held_bytes else None,
    )


def site_full_message(*, size_bytes: int, left_bytes: int) -> str:
    """`size_bytes` does not fit what is left of SITE_QUOTA_BYTES."""
    return (
        f"The site's video storage is full: this upload needs {human_size(size_bytes)} but"
        f" only {human_size(max(0, left_bytes))} is left for everyone. Please try again later."
    )


def uploads_open_message(*, wait_seconds: int) -> str:
    """The person has USER_OPEN_UPLOADS_MAX uploads in progress; the oldest is dropped in
    `wait_seconds`."""
    minutes = math.ceil(wait_seconds / 60)
    return (
        f"You already have {settings.USER_OPEN_UPLOADS_MAX} uploads in progress, the most"
        f" at once. Finish or cancel one, or try again in {minutes}"
        f" minute{'' if minutes == 1 else 's'}, when the oldest is dropped."
    )


def upload_rate_message(*, wait_seconds: int) -> str:
    """The person is over the upload rate (API_THROTTLE_UPLOADS) for `wait_seconds` more."""
    return f"Too many uploads. {wait_sentence(wait_seconds)}"


def upload_limits_for_page(*, quota_left_bytes: int) -> dict[str, Any]:
    """What the page checks a chosen file against before it sends a byte, and what it says.

    The sentences are the server's own; uploader.js fills in `{type}`,
    `{needs}` and `{left}` (the quota left goes down as the page uploads).
    """
    return {
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "quota_left_bytes": quota_left_bytes,
        "neutral_types": sorted(NEUTRAL_TYPES),
        "messages": {
            "too_large": upload_too_large_message(),
            "not_a_video": not_a_video_message("{type}"),
            "empty": EMPTY_MESSAGE,
            "over_quota": _over_quota_sentence(needs="{needs}", left="{left}", held=None),
            "no_file": NO_FILE_MESSAGE,
        },
    }
