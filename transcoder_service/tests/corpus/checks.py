"""What a right rendition is, checked with ffprobe and ffmpeg rather than trusted.

These checks read the files themselves, independently of the worker's own
verify step: the point is to catch the worker publishing something wrong.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from pathlib import Path
from typing import Any

from .model import Ready

# The H.264 profiles of 8-bit 4:2:0 video, which every browser decodes.
# ("High 10" or "High 4:2:2" would mean a 10-bit or 4:2:2 source slipped through.)
BROWSER_PROFILES = {"Constrained Baseline", "Baseline", "Main", "High"}
# Rounding, and AAC's priming samples, make an MP4 a little longer than its source.
DURATION_TOLERANCE_SECONDS = 0.1
MAX_FRAME_RATE = 60
# idet may take a sharp moving edge for combing now and then.
MAX_COMBED_FRACTION = 0.1


def probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def streams(data: dict[str, Any], codec_type: str) -> list[dict[str, Any]]:
    return [s for s in data["streams"] if s["codec_type"] == codec_type]


def check_rendition(path: Path, *, expect: Ready, source: dict[str, Any]) -> None:
    """`source` is ffprobe's JSON of the source the rendition was made from."""
    source_duration = float(source["format"]["duration"])
    data = probe(path)
    assert "mp4" in data["format"]["format_name"]
    boxes = top_level_boxes(path)
    assert boxes.index(b"moov") < boxes.index(b"mdat"), f"not faststart: {boxes}"

    [video] = streams(data, "video")
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert video["profile"] in BROWSER_PROFILES
    width, height = video["width"], video["height"]
    assert (width, height) == expect.size
    assert width % 2 == 0
    assert height % 2 == 0
    # Already upright: a display rotation left in would make players turn it again.
    assert not [s for s in video.get("side_data_list", []) if "rotation" in s]
    assert frame_rate(video["avg_frame_rate"]) <= MAX_FRAME_RATE
    if expect.frames is not None:
        assert int(video["nb_frames"]) == expect.frames

    audio = streams(data, "audio")
    if expect.audio:
        [track] = audio
        assert track["codec_name"] == "aac"
        # Stereo at most, and never more channels than the source had.
        [source_track, *_] = streams(source, "audio")
        assert track["channels"] == min(source_track["channels"], 2)
    else:
        assert audio == []

    duration = float(data["format"]["duration"])
    assert abs(duration - source_duration) <= DURATION_TOLERANCE_SECONDS, (
        f"{duration} s out of a {source_duration} s source"
    )
    if expect.deinterlaced:
        assert combed_fraction(path) <= MAX_COMBED_FRACTION


def check_poster(path: Path, *, size: tuple[int, int]) -> None:
    [picture] = streams(probe(path), "video")
    assert picture["codec_name"] == "mjpeg"
    assert (picture["width"], picture["height"]) == size


def frame_rate(fraction: str) -> float:
    numerator, _, denominator = fraction.partition("/")
    return float(numerator) / float(denominator or 1)


def top_level_boxes(path: Path) -> list[bytes]:
    """The types of an MP4's top-level boxes, in file order."""
    kinds = []
    with path.open("rb") as handle:
        while header := handle.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:  # 64-bit size follows the type
                size = struct.unpack(">Q", handle.read(8))[0] - 8
            kinds.append(kind)
            if size == 0:  # the box runs to the end of the file
                break
            handle.seek(size - 8, 1)
    return kinds


def combed_fraction(path: Path) -> float:
    """The share of pictures ffmpeg's idet filter judges interlaced, one by one."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(path), "-map", "0:v", "-vf", "idet", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.search(
        r"Single frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)"
        r" Undetermined:\s*(\d+)",
        done.stderr,
    )
    assert found, done.stderr[-500:]
    tff, bff, progressive, undetermined = (int(n) for n in found.groups())
    return (tff + bff) / max(1, tff + bff + progressive + undetermined)
