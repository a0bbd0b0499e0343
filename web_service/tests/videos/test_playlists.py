"""The playlist and storyboard rewriting: every relative URI made absolute, nothing else."""

from __future__ import annotations

import pytest

from videos.playlists import (
    PlaylistRefused,
    playlist_rewrite,
    playlist_seconds,
    playlist_uri_resolve,
    storyboard_rewrite,
    storyboard_seconds,
)

JOB = "outputs/0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
MASTER_KEY = f"{JOB}/a1/hls/master.m3u8"
MEDIA_KEY = f"{JOB}/a1/hls/720p/index.m3u8"

MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"
480p/index.m3u8?v=2
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=300000,URI="720p/iframes.m3u8"
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"
#EXTINF:4.000,
seg_00001.m4s
#EXTINF:4.000,
#EXT-X-BYTERANGE:1000@0
seg_00002.m4s
#EXTINF:3.5,
seg_00002.m4s
#EXT-X-ENDLIST
"""


def sign(key: str) -> str:
    return f"https://store.example/{key}?X-Amz-Signature=s"


def proxy(key: str) -> str:
    return f"/media/{key}"


def test_a_master_playlist_sends_child_playlists_back_through_the_web():
    out = playlist_rewrite(text=MASTER, key=MASTER_KEY, sign=sign, proxy=proxy)
    lines = out.splitlines()
    assert lines[4] == f"/media/{JOB}/a1/hls/720p/index.m3u8"
    # The query is not part of the key, and would break a signature.
    assert lines[6] == f"/media/{JOB}/a1/hls/480p/index.m3u8"
    assert lines[7] == (
        f'#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=300000,URI="/media/{JOB}/a1/hls/720p/iframes.m3u8"'
    )
    # Tags and their other attributes are untouched.
    assert lines[3] == MASTER.splitlines()[3]
    assert out.endswith("\n")


def test_a_media_playlist_signs_segments_and_the_init_section_keeping_byte_ranges():
    signed: list[str] = []

    def counting_sign(key: str) -> str:
        signed.append(key)
        return sign(key)

    out = playlist_rewrite(text=MEDIA, key=MEDIA_KEY, sign=counting_sign, proxy=proxy)
    base = f"https://store.example/{JOB}/a1/hls/720p"
    assert f'#EXT-X-MAP:URI="{base}/init.mp4?X-Amz-Signature=s",BYTERANGE="720@0"' in out
    assert f"{base}/seg_00001.m4s?X-Amz-Signature=s" in out.splitlines()
    assert "#EXT-X-BYTERANGE:1000@0" in out.splitlines()
    assert out.count(f"{base}/seg_00002.m4s?X-Amz-Signature=s") == 2
    # One signature per object, however often the playlist lists it.
    assert signed == [
        f"{JOB}/a1/hls/720p/{name}" for name in ("init.mp4", "seg_00001.m4s", "seg_00002.m4s")
    ]
    assert "#EXT-X-ENDLIST" in out


def test_a_sibling_folder_of_the_same_job_is_allowed():
    assert playlist_uri_resolve(uri="../480p/seg_1.m4s", key=MEDIA_KEY) == (
        f"{JOB}/a1/hls/480p/seg_1.m4s",
        "",
    )
    assert (
        playlist_uri_resolve(uri="seg%201.m4s", key=MEDIA_KEY)[0] == f"{JOB}/a1/hls/720p/seg 1.m4s"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/seg.m4s",
        "//evil.example/seg.m4s",
        "/outputs/other/seg.m4s",
        "data:video/mp4;base64,AAAA",
        "../../../../other-job/a1/seg.m4s",
        "../../../../../sources/secret",
        "..%2F..%2F..%2F..%2F..%2Fsources%2Fsecret",
        "../../../../",
        ".hidden/seg.m4s",
        "seg%0a.m4s",
        "..\\..\\seg.m4s",
    ],
)
def test_absolute_uris_and_uris_outside_the_job_are_refused(uri):
    with pytest.raises(PlaylistRefused):
        playlist_rewrite(
            text=f"#EXTM3U\n#EXTINF:4,\n{uri}\n", key=MEDIA_KEY, sign=sign, proxy=proxy
        )
    with pytest.raises(PlaylistRefused):
        playlist_rewrite(
            text=f'#EXTM3U\n#EXT-X-MAP:URI="{uri}"\n', key=MEDIA_KEY, sign=sign, proxy=proxy
        )


# Every way a URI attribute can be written that some player may still read.
URI_ATTRIBUTE_FORMS = [
    pytest.param('URI="{}"', id="double-quoted"),
    pytest.param("URI={}", id="unquoted"),
    pytest.param("URI='{}'", id="single-quoted"),
    pytest.param('uri="{}"', id="lower-case"),
    pytest.param('Uri="{}"', id="mixed-case"),
    pytest.param('URI = "{}"', id="spaces-around-equals"),
    pytest.param('BYTERANGE="720@0", URI="{}"', id="space-after-comma"),
    pytest.param("BYTERANGE=720@0,\tURI={}", id="tab-unquoted-after-comma"),
]


@pytest.mark.parametrize("form", URI_ATTRIBUTE_FORMS)
def test_a_uri_attribute_is_rewritten_however_it_is_written(form):
    text = f"#EXTM3U\n#EXT-X-MAP:{form.format('init.mp4')}\n"
    out = playlist_rewrite(text=text, key=MEDIA_KEY, sign=sign, proxy=proxy)
    signed = sign(f"{JOB}/a1/hls/720p/init.mp4")
    assert f'URI="{signed}"' in out.splitlines()[1]
    assert "init.mp4" not in out.replace(signed, ""), "the unsigned URI is still there"


@pytest.mark.parametrize("form", URI_ATTRIBUTE_FORMS)
@pytest.mark.parametrize(
    "uri", ["https://evil.example/seg.m4s", "//evil.example/seg.m4s", "../../../../other/a.m4s"]
)
def test_a_foreign_uri_attribute_is_refused_however_it_is_written(form, uri):
    text = f"#EXTM3U\n#EXT-X-MAP:{form.format(uri)}\n#EXTINF:4,\nseg_1.m4s\n"
    with pytest.raises(PlaylistRefused):
        playlist_rewrite(text=text, key=MEDIA_KEY, sign=sign, proxy=proxy)


@pytest.mark.parametrize(
    "line",
    [
        # Content steering: hls.js fetches SERVER-URI itself.
        '#EXT-X-CONTENT-STEERING:SERVER-URI="https://evil.example/steer.json"',
        '#EXT-X-CONTENT-STEERING:SERVER-URI="steer.json"',
        # A URI hidden in a quoted value, for a parser that splits commas first.
        '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1,URI=https://evil.example/x.m3u8"',
        # An unbalanced quote swallows the rest of the line.
        '#EXT-X-MAP:BYTERANGE="720@0,URI=https://evil.example/init.mp4',
        '#EXT-X-MAP:URI=\'init.mp4",BYTERANGE="1@0"',
        # A URL in any other attribute, a tag without attributes, a comment.
        '#EXT-X-SESSION-DATA:DATA-ID="x",VALUE="https://evil.example/x"',
        "#https://evil.example/seg.m4s",
        "# see uri=https://evil.example/seg.m4s",
        # A variable is substituted by the player after the URI was checked.
        '#EXT-X-DEFINE:NAME="host",VALUE="https://evil.example"',
        "{$host}/seg.m4s",
    ],
)
def test_any_uri_left_after_the_rewrite_is_refused(line):
    text = f"#EXTM3U\n#EXT-X-VERSION:11\n{line}\n#EXTINF:4,\nseg_1.m4s\n"
    with pytest.raises(PlaylistRefused):
        playlist_rewrite(text=text, key=MEDIA_KEY, sign=sign, proxy=proxy)


def test_playlist_seconds_sums_the_segments():
    assert playlist_seconds(text=MEDIA) == pytest.approx(11.5)
    assert playlist_seconds(text=MASTER) == 0


STORYBOARD = """WEBVTT

00:00:00.000 --> 00:00:02.000
storyboard.jpg#xywh=0,0,160,90

2
00:02.000 --> 00:04.500
storyboard.jpg#xywh=160,0,160,90
"""


def test_a_storyboard_signs_the_sprite_and_keeps_each_tile():
    out = storyboard_rewrite(text=STORYBOARD, key=f"{JOB}/a1/storyboard.vtt", sign=sign)
    sprite = f"https://store.example/{JOB}/a1/storyboard.jpg?X-Amz-Signature=s"
    assert out.splitlines() == [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:02.000",
        f"{sprite}#xywh=0,0,160,90",
        "",
        "2",
        "00:02.000 --> 00:04.500",
        f"{sprite}#xywh=160,0,160,90",
    ]
    assert storyboard_seconds(text=STORYBOARD) == pytest.approx(4.5)


def test_a_storyboard_pointing_elsewhere_is_refused():
    text = "WEBVTT\n\n00:00.000 --> 00:02.000\nhttps://evil.example/a.jpg#xywh=0,0,1,1\n"
    with pytest.raises(PlaylistRefused):
        storyboard_rewrite(text=text, key=f"{JOB}/a1/storyboard.vtt", sign=sign)


def test_an_in_progress_playlist_keeps_its_event_tags_and_only_its_own_attempt():
    # Written while the ladder is encoded (docs/messages.md): EVENT, no ENDLIST yet.
    event = MEDIA.replace("#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-PLAYLIST-TYPE:EVENT").replace(
        "#EXT-X-ENDLIST\n", ""
    )
    out = playlist_rewrite(text=event, key=MEDIA_KEY, sign=sign, proxy=proxy).splitlines()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in out
    assert not any("ENDLIST" in line for line in out)
    assert playlist_seconds(text=event) == 11.5
    # Another attempt's folder of the same job is as foreign as another job.
    for uri in ("../../../b2/hls/720p/seg_00001.m4s", "../../../b2/hls/master.m3u8"):
        with pytest.raises(PlaylistRefused):
            playlist_uri_resolve(uri=uri, key=MEDIA_KEY)
