"""Rewriting an HLS playlist or a storyboard VTT for one viewer. Pure: no store, no request.

The transcoder writes playlists with relative URIs only (docs/messages.md),
and the bucket is private, so a browser could not follow them. The web
serves each playlist itself, with every URI made absolute
(docs/storage.md, "Playback"):

- a child playlist becomes `proxy(key)`, the web's own /media/<key>, so it
  is checked for ownership and rewritten in its turn;
- anything else (segments, init sections, the sprite) becomes `sign(key)`,
  a presigned URL of the store, which serves it with Range.

A URI that is absolute, or resolves outside the playlist's own
outputs/<job_id>/<attempt>/, is refused with `PlaylistRefused`: our transcoder never
writes one, so it is a bug or a tampered object, and signing it would hand
out a URL to another person's video.

Every tag's attribute list is parsed (RFC 8216, 4.2), and a URI attribute is
found however it is written (`URI="a"`, `URI=a`, `uri='a'`, ` URI = "a"`),
because players differ in what they accept. Whatever is left after the
rewrite must not name a URI at all: a leftover `...URI=` (SERVER-URI
included) or `://` is refused, as is a variable reference `{$name}`, which
a player would substitute after we checked the URI.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

PLAYLIST_SUFFIX = ".m3u8"
# What must not remain in a tag once its URI attributes are rewritten.
_LEFTOVER_URI = re.compile(r"uri\s*=|://", re.IGNORECASE)
_QUOTES = "\"'"
_EXTINF = re.compile(r"^#EXTINF:\s*([0-9.]+)")
_CUE_TIMING = re.compile(r"-->\s*(?:(\d+):)?(\d{2}):(\d{2}(?:\.\d+)?)")


class PlaylistRefused(ValueError):
    """A URI in a playlist that must not be served; the message says which and why."""


def playlist_uri_resolve(*, uri: str, key: str) -> tuple[str, str]:
    """(the object key `uri` names, relative to the playlist at `key`; its #fragment).

    The query is dropped: it is not part of a key, and an unsigned parameter
    would break the store's signature. The fragment is kept (a sprite's
    `#xywh=` is read by the page).
    """
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or uri.startswith("/") or "\\" in uri:
        raise PlaylistRefused(f"{key}: absolute URI {uri!r}")
    path = unquote(parts.path)
    if not path or any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise PlaylistRefused(f"{key}: empty or control characters in URI {uri!r}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(key), path))
    # outputs/<job_id>/<attempt>/: a playlist names only its own attempt's
    # objects, so one attempt's playlist never hands out another's segments
    # (outputs/<job_id>/ for a key with no attempt folder).
    segments = key.split("/")
    folder = "/".join(segments[:3] if len(segments) > 3 else segments[:2]) + "/"
    inside = resolved.startswith(folder) and len(resolved) > len(folder)
    if not inside or any(part.startswith(".") for part in resolved.split("/")):
        raise PlaylistRefused(f"{key}: URI {uri!r} resolves outside {folder}")
    return resolved, f"#{parts.fragment}" if parts.fragment else ""


def _attributes_split(text: str) -> list[str]:
    """A tag's attribute list, split at each comma outside a double-quoted string."""
    items, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(text[start:index])
            start = index + 1
    return [*items, text[start:]]


def _tag_rewrite(*, line: str, key: str, absolute: Callable[[str], str]) -> str:
    """A tag (or comment) line with each URI attribute, however written, made absolute."""
    name, colon, attributes = line.partition(":")
    items: list[str] = []
    kept: list[str] = []
    for item in _attributes_split(attributes) if colon else []:
        attribute, equals, value = item.partition("=")
        if equals and attribute.strip().upper() == "URI":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES:
                value = value[1:-1]
            if any(quote in value for quote in _QUOTES):
                raise PlaylistRefused(f"{key}: malformed URI attribute in {line!r}")
            items.append(f'URI="{absolute(value)}"')
        else:
            items.append(item)
            kept.append(item)
    # The safety net: a URI in any form this parser did not rewrite.
    if _LEFTOVER_URI.search(f"{name}{colon}{','.join(kept)}"):
        raise PlaylistRefused(f"{key}: a URI that is not rewritten in {line!r}")
    return f"{name}{colon}{','.join(items)}"


def playlist_rewrite(
    *, text: str, key: str, sign: Callable[[str], str], proxy: Callable[[str], str]
) -> str:
    """The playlist at `key` with every URI, in a URI line or a URI attribute, made absolute.

    Raises `PlaylistRefused` for any URI it cannot make absolute inside the job.
    """
    signed: dict[str, str] = {}  # one signature per object, however often it is listed

    def absolute(uri: str) -> str:
        target, fragment = playlist_uri_resolve(uri=uri, key=key)
        if target.endswith(PLAYLIST_SUFFIX):
            return proxy(target) + fragment
        if target not in signed:
            signed[target] = sign(target)
        return signed[target] + fragment

    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if "{$" in line:
            raise PlaylistRefused(f"{key}: a variable reference in {line!r}")
        if stripped.startswith("#"):
            line = _tag_rewrite(line=line, key=key, absolute=absolute)
        elif stripped:
            line = absolute(stripped)
        lines.append(line)
    return "\n".join(lines) + "\n"


def playlist_seconds(*, text: str) -> float:
    """A media playlist's length: the sum of its segments' EXTINF durations (0 for a master)."""
    return sum(float(m.group(1)) for line in text.splitlines() if (m := _EXTINF.match(line)))


def storyboard_rewrite(*, text: str, key: str, sign: Callable[[str], str]) -> str:
    """The storyboard VTT at `key` with each cue's payload (`sprite.jpg#xywh=...`) signed."""
    signed: dict[str, str] = {}
    lines = []
    in_cue = False
    for line in text.splitlines():
        if "-->" in line:
            in_cue = True
        elif not line.strip():
            in_cue = False
        elif in_cue:
            target, fragment = playlist_uri_resolve(uri=line.strip(), key=key)
            if target not in signed:
                signed[target] = sign(target)
            line = signed[target] + fragment
        lines.append(line)
    return "\n".join(lines) + "\n"


def storyboard_seconds(*, text: str) -> float:
    """When the storyboard's last cue ends."""
    ends = [
        int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        for hours, minutes, seconds in _CUE_TIMING.findall(text)
    ]
    return max(ends, default=0.0)
