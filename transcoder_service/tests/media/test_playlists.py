"""Reading playlists: variants, segments, the init rename, the in-progress and VOD
rewrites, and what counts as a relative URI."""

from __future__ import annotations

import pytest

from transcoder.media.playlists import (
    Variant,
    master_parse,
    media_in_progress,
    media_init_renamed,
    media_parse,
    media_vod,
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


# ffmpeg's EVENT playlist as it is after the first segments (target 1 s so
# far), and once closed (target raised to 4 s, ENDLIST added).
GROWING = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:1.000000,
seg_00001.m4s
#EXTINF:1.000000,
seg_00002.m4s
"""
CLOSED = GROWING.replace("TARGETDURATION:1", "TARGETDURATION:4") + (
    "#EXTINF:4.000000,\nseg_00003.m4s\n#EXT-X-ENDLIST\n"
)


def test_in_progress_keeps_its_target_duration_and_has_no_end() -> None:
    growing = media_in_progress(GROWING, target_seconds=4)
    assert growing == GROWING.replace("TARGETDURATION:1", "TARGETDURATION:4")
    closed = media_in_progress(CLOSED, target_seconds=4)
    assert closed == CLOSED.replace("#EXT-X-ENDLIST\n", "")
    assert not media_parse(closed).ended
    # Never lowered: a longer segment keeps ffmpeg's higher target.
    assert "#EXT-X-TARGETDURATION:6" in media_in_progress(
        CLOSED.replace("TARGETDURATION:4", "TARGETDURATION:6"), target_seconds=4
    )


def test_vod_is_the_same_segments_ended() -> None:
    vod = media_vod(CLOSED)
    assert vod == CLOSED.replace("PLAYLIST-TYPE:EVENT", "PLAYLIST-TYPE:VOD")
    assert media_parse(vod).vod
    assert media_parse(vod).ended
    # The published in-progress playlist, made VOD, is the final one.
    assert media_vod(media_in_progress(CLOSED, target_seconds=4)) == vod
    # Already VOD and ended: unchanged.
    assert media_vod(MEDIA) == MEDIA


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
