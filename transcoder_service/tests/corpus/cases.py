"""The file cases: a generated source uploaded to the bucket, and how each must end.

Fake, damaged and oversized files (broken.py), awkward but decodable ones
(sources.py), and good files stored under hostile names. messages.py holds
the cases about the message itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..seaweed import SeaweedStore
from ..support import source_put
from . import broken, sources
from .model import Case, Corpus, Failed, Message, Ready, refused


def media(case_id: str, key: str, make: Callable[[Path], None], expect: Ready | Failed) -> Case:
    """A case whose file `make` builds, uploaded (as the web does) under `key`."""

    def prepare(store: SeaweedStore, corpus: Corpus) -> Message:
        name = PurePosixPath(key)
        built = corpus.build(case_id, make, name.name)
        # Files made beside it (a playlist's segment) go beside it here too:
        # the worker must still never read them.
        for file in built.parent.iterdir():
            source_put(store, file, key=key if file == built else f"{name.parent}/{file.name}")
        return Message(kwargs={"source_key": key}, source_file=built)

    return Case(id=case_id, expect=expect, prepare=prepare)


NOT_ACCEPTED = "is not in a video format this service accepts"
UNREADABLE = "could not be read as a media file"
SILENT = Ready(audio=False)
NAMED = Ready(size=(160, 120))
# Landscape frames that the metadata turns upright: portrait they stay.
PORTRAIT = Ready(size=(240, 320), source_size=(240, 320))

FAKE = [
    media("empty-file", "sources/empty.mp4", broken.empty, refused("The file is empty.")),
    media("text-named-mp4", "sources/notes.mp4", broken.text, refused(UNREADABLE)),
    media("png-image", "sources/photo.png", broken.png_picture, refused("a still image")),
    media("audio-only", "sources/song.m4a", broken.audio_only, refused("no video stream")),
    media("concat-script", "sources/list.mp4", broken.concat_list, refused(NOT_ACCEPTED)),
    media("hls-playlist", "sources/live.mp4", broken.hls_playlist, refused(NOT_ACCEPTED)),
]
DAMAGED = [
    media(
        "truncated-index-lost",
        "sources/cut.mp4",
        broken.truncated_index_lost,
        refused("cut short or damaged: the index at the end of the video is missing"),
    ),
    media("truncated-data", "sources/cut-short.mp4", broken.truncated_data, refused("cut short")),
    media("garbage-in-the-middle", "sources/garbled.mp4", broken.garbage_in_the_middle, Ready()),
    media("index-at-the-end", "sources/moov-last.mp4", broken.index_at_the_end, Ready()),
    media(
        "no-streams", "sources/hollow.mp4", broken.no_streams, refused("no audio or video at all")
    ),
]
EXTREME = [
    media("one-frame", "sources/one.mp4", broken.one_frame, Ready(audio=False, frames=1)),
    media(
        "one-frame-under-a-soundtrack",
        "sources/song-video.mp4",
        broken.one_frame_under_a_soundtrack,
        Ready(frames=1),
    ),
    media(
        "too-long", "sources/long.mp4", broken.too_long, refused("too long: 10 s, the limit is 5 s")
    ),
    media(
        "frame-8000x8000",
        "sources/big.mp4",
        broken.frame_8000x8000,
        refused("too large: 8000x8000 pixels, the limit is 2073600 pixels per frame"),
    ),
    media("bomb-header", "sources/bomb.avi", broken.bomb_header, refused("16000x16000 pixels")),
    media(
        "over-max-bytes", "sources/raw.avi", broken.over_max_bytes, refused("the limit is 2500000")
    ),
]
CODECS = [
    media("hevc", "sources/hevc.mp4", sources.hevc, Ready()),
    media("hevc-10bit", "sources/hevc10.mp4", sources.hevc_10bit, SILENT),
    media("vp9-webm", "sources/vp9.webm", sources.vp9_webm, Ready()),
    media("av1-svt-mp4", "sources/av1.mp4", sources.av1_svt, SILENT),
    media("av1-aom-webm", "sources/av1.webm", sources.av1_aom_webm, Ready()),
    media("mpeg2-program-stream", "sources/dvd.mpg", sources.mpeg2_program_stream, Ready()),
    media("mpeg2-transport-stream", "sources/tv.ts", sources.mpeg2_transport_stream, Ready()),
    media("prores-422-10bit", "sources/edit.mov", sources.prores_422_10bit, Ready()),
    media("h264-422-10bit", "sources/hi422.mp4", sources.h264_422_10bit, SILENT),
    media("mjpeg-avi", "sources/camera.avi", sources.mjpeg_avi, Ready()),
]
PICTURE = [
    media(
        "odd-321x241",
        "sources/odd.mp4",
        sources.odd_dimensions,
        Ready(source_size=(321, 241), audio=False),
    ),
    media("rotated-90", "sources/phone.mp4", sources.rotated(90), PORTRAIT),
    media("rotated-180", "sources/upside.mp4", sources.rotated(180), Ready()),
    media("rotated-270", "sources/phone270.mp4", sources.rotated(270), PORTRAIT),
    media("vfr-jitter", "sources/vfr.mp4", sources.variable_frame_rate, Ready(frames=60)),
    media(
        "vfr-24-then-60",
        "sources/mixed.mp4",
        sources.mixed_frame_rates,
        Ready(audio=False, frames=24 + 60),
    ),
    media(
        "interlaced-mpeg2-ts",
        "sources/50i.ts",
        sources.interlaced_mpeg2_ts,
        Ready(deinterlaced=True),
    ),
    media(
        "interlaced-h264",
        "sources/50i.mp4",
        sources.interlaced_h264,
        Ready(audio=False, deinterlaced=True),
    ),
    media("several-audio-tracks", "sources/dub.mp4", sources.several_audio_tracks, Ready()),
    media("no-audio", "sources/mute.mp4", sources.no_audio, SILENT),
    media("240fps", "sources/slowmo.mp4", sources.high_frame_rate, Ready(audio=False, frames=60)),
]
# Accepted keys that a shell, ffmpeg's option parser or its protocol
# detection would misread: stored under them, they must simply work (the
# worker names its scratch copy itself, so no key ever reaches ffmpeg).
NAMES = [
    media("name-unicode", "sources/vidéo ñandú 日本語 🎬.mp4", sources.small_clip, NAMED),
    media("name-quotes", 'sources/my "holiday"  it\'s.mp4', sources.small_clip, NAMED),
    media(
        "name-shell-metacharacters",
        "sources/a;b $(touch pwned) `touch pwned` | c & d > e.mp4",
        sources.small_clip,
        NAMED,
    ),
    media("name-leading-dash", "sources/-i evil.mp4", sources.small_clip, NAMED),
    media("name-url-like", "sources/concat:a.mp4|file:b.mp4", sources.small_clip, NAMED),
    media("name-glob-percent", "sources/100% [final] *?.mp4", sources.small_clip, NAMED),
    media("name-255-bytes", f"sources/{'é' * 125}x.mp4", sources.small_clip, NAMED),
]

MEDIA_CASES = [*FAKE, *DAMAGED, *EXTREME, *CODECS, *PICTURE, *NAMES]
