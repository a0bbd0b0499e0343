"""Reading the HLS playlists ffmpeg wrote: pure text in, small records out.

Only what verification and the in-progress ladder (live.py) need: the
master's variants, a media playlist's init segment and segments, and the
few rewrites between ffmpeg's EVENT playlists and what is published. Every URI is also checked to be
relative, because the web rewrites each one to a signed URL or its proxy
(docs/messages.md, "Outputs in the object store") and an absolute one
would point a browser elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True, kw_only=True)
class Variant:
    uri: str
    bandwidth: int
    width: int
    height: int


@dataclass(frozen=True, kw_only=True)
class MediaPlaylist:
    init_uri: str | None
    # (EXTINF duration, URI), in playing order.
    segments: list[tuple[float, str]]
    vod: bool
    ended: bool


def master_parse(text: str) -> list[Variant]:
    """The variants of a master playlist, in its order."""
    variants = []
    attributes: dict[str, str] | None = None
    for line in _lines(text):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = _attributes(line.partition(":")[2])
        elif not line.startswith("#") and attributes is not None:
            width, _, height = attributes.get("RESOLUTION", "0x0").partition("x")
            variants.append(
                Variant(
                    uri=line,
                    bandwidth=int(attributes.get("BANDWIDTH", "0")),
                    width=int(width or 0),
                    height=int(height or 0),
                )
            )
            attributes = None
    return variants


def media_parse(text: str) -> MediaPlaylist:
    """The init segment and segments of a media playlist."""
    init_uri = None
    segments = []
    duration: float | None = None
    vod = ended = False
    for line in _lines(text):
        if line.startswith("#EXT-X-MAP:"):
            init_uri = _attributes(line.partition(":")[2]).get("URI")
        elif line.startswith("#EXTINF:"):
            duration = float(line.partition(":")[2].partition(",")[0])
        elif line == "#EXT-X-PLAYLIST-TYPE:VOD":
            vod = True
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#") and duration is not None:
            segments.append((duration, line))
            duration = None
    return MediaPlaylist(init_uri=init_uri, segments=segments, vod=vod, ended=ended)


def media_init_renamed(text: str, *, name: str) -> str:
    """`text` with its EXT-X-MAP URI replaced by `name`."""
    return re.sub(r'(#EXT-X-MAP:URI=)"[^"]*"', rf'\1"{name}"', text)


def media_in_progress(text: str, *, target_seconds: int) -> str:
    """A growing (EVENT) playlist as published while the ladder is made.

    Without `#EXT-X-ENDLIST`, which ffmpeg adds when it closes the list
    (the finished playlist is published as VOD instead), and with a
    `#EXT-X-TARGETDURATION` of at least `target_seconds` from the first
    version on: ffmpeg raises it when the first long segment comes, and
    RFC 8216 (4.3.3.1) says it must not change.
    """
    lines = []
    for line in text.splitlines():
        if line.strip() == "#EXT-X-ENDLIST":
            continue
        if line.startswith("#EXT-X-TARGETDURATION:"):
            written = line.partition(":")[2].strip()
            seconds = int(written) if written.isdigit() else 0
            line = f"#EXT-X-TARGETDURATION:{max(seconds, target_seconds)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def media_vod(text: str) -> str:
    """The finished EVENT playlist `text` made VOD: the same segments, ended."""
    text = text.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD")
    if "#EXT-X-ENDLIST" not in _lines(text):
        text = text.rstrip("\n") + "\n#EXT-X-ENDLIST\n"
    return text


def playlist_uris(text: str) -> list[str]:
    """Every URI a playlist (or a storyboard VTT's cue) names: lines and URI="..." attributes."""
    uris = []
    for line in _lines(text):
        if line.startswith("#"):
            uris += [
                value.strip('"')
                for key, value in _ATTRIBUTE.findall(line.partition(":")[2])
                if key == "URI"
            ]
        else:
            uris.append(line)
    return uris


def uri_relative(uri: str) -> bool:
    """Whether `uri` names a file beside or below the playlist, and nothing else."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or uri.startswith("/") or "\\" in uri:
        return False
    return all(segment not in ("", ".", "..") for segment in parts.path.split("/"))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _attributes(raw: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(raw)}
