"""Reading playlists: variants, segments, the init rename, and what counts as a relative URI."""

from __future__ import annotations

import pytest

from transcoder.media.playlists import (
    Variant,
    master_parse,
    media_init_renamed,
    media_parse,
    playlist_uris,
    uri_relative,
)

MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=3440800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=950400,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
360p/index.m3u8
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:4.000000,
seg_00001.m4s
#EXTINF:2.000000,
seg_00002.m4s
#EXT-X-ENDLIST
"""


def test_master() -> None:
    assert master_parse(MASTER) == [
        Variant(uri="720p/index.m3u8", bandwidth=3440800, width=1280, height=720),
        Variant(uri="360p/index.m3u8", bandwidth=950400, width=640, height=360),
    ]


def test_media_and_init_rename() -> None:
    playlist = media_parse(MEDIA)
    assert playlist.init_uri == "init_0.mp4"
    assert playlist.segments == [(4.0, "seg_00001.m4s"), (2.0, "seg_00002.m4s")]
    assert playlist.vod
    assert playlist.ended
    renamed = media_init_renamed(MEDIA, name="init.mp4")
    assert media_parse(renamed).init_uri == "init.mp4"
    assert playlist_uris(renamed) == ["init.mp4", "seg_00001.m4s", "seg_00002.m4s"]
    unfinished = media_parse(MEDIA.replace("#EXT-X-ENDLIST\n", ""))
    assert not unfinished.ended


@pytest.mark.parametrize(
    ("uri", "relative"),
    [
        ("720p/index.m3u8", True),
        ("seg_00001.m4s", True),
        ("storyboard.jpg#xywh=0,0,160,90", True),
        ("/outputs/j/a/hls/720p/index.m3u8", False),
        ("http://store:8333/bucket/seg.m4s", False),
        ("//store/seg.m4s", False),
        ("file:///etc/passwd", False),
        ("../other/seg.m4s", False),
        ("a//b.m4s", False),
    ],
)
def test_uri_relative(uri: str, relative: bool) -> None:
    assert uri_relative(uri) is relative
