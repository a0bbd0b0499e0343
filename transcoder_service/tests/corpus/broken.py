"""Fake, damaged and oversized corpus files, one function per file as in sources.py.

Most must be refused; some damage (garbage in the frames, the index at the
end) ffmpeg decodes, and then the worker must transcode it.

Damaged files are made from good ones with a seeded RNG, so every run sees
the same bytes.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from ..clips import AAC, X264, ffmpeg, h264_clip, tone, video

# --- empty and fake files -------------------------------------------------------------


def empty(path: Path) -> None:
    path.write_bytes(b"")


def text(path: Path) -> None:
    path.write_text("Minutes of the meeting.\nAttendees: everyone.\n" * 20)


def png_picture(path: Path) -> None:
    ffmpeg(*video(seconds=1), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(path))


def audio_only(path: Path) -> None:
    ffmpeg(*tone(), *AAC, "-f", "mp4", str(path))


def concat_list(path: Path) -> None:
    """An ffconcat script naming a file beside it: reading it would leak another upload."""
    path.write_text("ffconcat version 1.0\nfile neighbour.mp4\n")
    h264_clip(path.with_name("neighbour.mp4"), seconds=1)


def hls_playlist(path: Path) -> None:
    """An HLS playlist whose one segment is a file beside it."""
    path.write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n"
        "neighbour.ts\n#EXT-X-ENDLIST\n"
    )
    ffmpeg(*video(), *X264, "-f", "mpegts", str(path.with_name("neighbour.ts")))


# --- damaged files --------------------------------------------------------------------


def truncated_index_lost(path: Path) -> None:
    """The first half of an MP4 whose index was written last: the index is gone."""
    h264_clip(path, faststart=False)
    _truncate(path, keep=0.5)


def truncated_data(path: Path) -> None:
    """The start of a faststart MP4, as an interrupted upload leaves it: the index
    promises 3 s, the frames stop after about 1 s."""
    h264_clip(path, seconds=3, faststart=True)
    _truncate(path, keep=0.4)


def _truncate(path: Path, *, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def garbage_in_the_middle(path: Path) -> None:
    """An MP4 with a fifth of its bytes, in the middle of the frames, overwritten at random."""
    h264_clip(path, faststart=True)
    data = bytearray(path.read_bytes())
    rng = random.Random(20240505)
    start, end = int(len(data) * 0.4), int(len(data) * 0.6)
    data[start:end] = rng.randbytes(end - start)
    path.write_bytes(bytes(data))


def index_at_the_end(path: Path) -> None:
    """The plain mp4 muxer's layout (no faststart): moov after mdat. Decodable."""
    h264_clip(path, faststart=False)


def no_streams(path: Path) -> None:
    """A well-formed MP4 header (ftyp + moov with only mvhd) that holds no track at all."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    identity = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 0)  # version, flags, dates, timescale, duration
        + struct.pack(">IH10x", 0x10000, 0x100)  # rate 1.0, volume 1.0, reserved
        + identity
        + bytes(24)  # pre_defined
        + struct.pack(">I", 1),  # next_track_ID
    )
    path.write_bytes(ftyp + _box(b"moov", mvhd))


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


# --- extreme sizes --------------------------------------------------------------------


def one_frame(path: Path) -> None:
    ffmpeg(*video(), "-frames:v", "1", *X264, "-f", "mp4", str(path))


def one_frame_under_a_soundtrack(path: Path) -> None:
    """One picture and 3 s of sound, as a song "video" is often made."""
    ffmpeg(*video(seconds=0.04), *tone(3), *X264, *AAC, "-f", "mp4", str(path))


def too_long(path: Path) -> None:
    """10 s, longer than the corpus worker's MAX_DURATION_SECONDS; tiny, so cheap to build."""
    ffmpeg(*video(size="64x48", seconds=10, rate=5), *X264, "-f", "mp4", str(path))


def frame_8000x8000(path: Path) -> None:
    """One flat 8000x8000 frame: a few hundred KB that decode to 64 megapixels."""
    color = ("-f", "lavfi", "-i", "color=c=navy:size=8000x8000:duration=0.04")
    ffmpeg(*color, "-frames:v", "1", *X264, "-f", "mp4", str(path))


def bomb_header(path: Path) -> None:
    """A 2 KB MJPEG AVI whose headers (AVI and JPEG) claim 16000x16000 frames."""
    color = ("-f", "lavfi", "-i", "color=c=red:size=64x48:duration=0.2")
    ffmpeg(*color, "-c:v", "mjpeg", "-f", "avi", str(path))
    data = path.read_bytes()
    # AVI's avih and strf headers store the size as little-endian int32 pairs;
    # JPEG's SOF0 segment as big-endian height and width after the precision byte.
    data = data.replace(struct.pack("<ii", 64, 48), struct.pack("<ii", 16000, 16000))
    sof0 = b"\xff\xc0\x00\x11\x08"  # marker, segment length 17, 8-bit samples
    data = data.replace(sof0 + struct.pack(">HH", 48, 64), sof0 + struct.pack(">HH", 16000, 16000))
    path.write_bytes(data)


def over_max_bytes(path: Path) -> None:
    """1 s of uncompressed 320x240 video: 2.9 MB, over the corpus worker's MAX_SOURCE_BYTES."""
    ffmpeg(*video(), "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "avi", str(path))
