"""One small function per corpus file: each writes its file at `path`, nothing else.

Here: the sources a worker must transcode although they are awkward (codecs,
picture properties, names). broken.py holds the fake, damaged and oversized
ones; both build with the ffmpeg helpers of tests/clips.py.

Clips are 1-2 s at 320x240 or less with the fastest encoder settings, so the
whole corpus builds in seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from ..clips import AAC, X264, ffmpeg, odd_clip, rotated_clip, silent_clip, tone, video

# --- source codecs --------------------------------------------------------------------


def hevc(path: Path) -> None:
    x265 = ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error")
    ffmpeg(*video(), *tone(), *x265, "-tag:v", "hvc1", *AAC, "-f", "mp4", str(path))


def hevc_10bit(path: Path) -> None:
    x265 = ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error")
    ten_bit = ("-pix_fmt", "yuv420p10le", "-tag:v", "hvc1")
    ffmpeg(*video(), *x265, *ten_bit, "-f", "mp4", str(path))


def vp9_webm(path: Path) -> None:
    vp9 = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")
    ffmpeg(*video(), *tone(), *vp9, "-c:a", "libopus", "-f", "webm", str(path))


def av1_svt(path: Path) -> None:
    ffmpeg(*video(), "-c:v", "libsvtav1", "-preset", "12", "-f", "mp4", str(path))


def av1_aom_webm(path: Path) -> None:
    aom = ("-c:v", "libaom-av1", "-cpu-used", "8", "-usage", "realtime")
    ffmpeg(*video(), *tone(), *aom, "-c:a", "libopus", "-f", "webm", str(path))


def mpeg2_program_stream(path: Path) -> None:
    ffmpeg(*video(), *tone(), "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpeg", str(path))


def mpeg2_transport_stream(path: Path) -> None:
    ffmpeg(*video(), *tone(), "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts", str(path))


def prores_422_10bit(path: Path) -> None:
    """ProRes 422 HQ: 4:2:2 chroma at 10 bits, with PCM audio, as cameras and editors write."""
    prores = ("-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le")
    ffmpeg(*video(), *tone(), *prores, "-c:a", "pcm_s16le", "-f", "mov", str(path))


def h264_422_10bit(path: Path) -> None:
    """H.264 High 4:2:2 at 10 bits: H.264, yet no browser plays it."""
    ffmpeg(*video(), *X264, "-pix_fmt", "yuv422p10le", "-f", "mp4", str(path))


def mjpeg_avi(path: Path) -> None:
    ffmpeg(*video(), *tone(), "-c:v", "mjpeg", "-c:a", "pcm_s16le", "-f", "avi", str(path))


# --- picture properties ---------------------------------------------------------------


# Shared with the clips most tests use (tests/clips.py), under the corpus's names.
odd_dimensions = odd_clip


def rotated(degrees: int) -> Callable[[Path], None]:
    """Phone-style: landscape frames plus a display rotation of `degrees`."""
    return functools.partial(rotated_clip, degrees=degrees)


def variable_frame_rate(path: Path) -> None:
    """Jittered timestamps in a 1/90000 time base, as phones record."""
    jitter = "settb=1/90000,setpts=(N/30+0.012*sin(N*1.7))/TB"
    source = f"testsrc2=size=320x240:rate=30:duration=2,{jitter}"
    vfr = ("-fps_mode", "vfr", "-enc_time_base:v", "-1")
    ffmpeg("-f", "lavfi", "-i", source, *tone(2), *vfr, *X264, *AAC, "-f", "mp4", str(path))


def mixed_frame_rates(path: Path) -> None:
    """1 s at 24 fps then 1 s at 60 fps in one stream: ffprobe guesses 120 fps for it."""
    parts = "[0][1]concat=n=2:v=1:a=0"
    graph = (*video(rate=24), *video(rate=60), "-filter_complex", parts)
    ffmpeg(*graph, "-fps_mode", "vfr", *X264, "-f", "mp4", str(path))


def _interlaced_source() -> tuple[str, ...]:
    # Two fields from two moments in each frame, as a camera at 50i records.
    # mandelbrot rather than testsrc2: ffmpeg's idet filter, which the test
    # uses to see combing, mistakes testsrc2's fine lines for fields.
    fields = "mandelbrot=size=320x240:rate=50,trim=duration=1,tinterlace=mode=interleave_top"
    return ("-f", "lavfi", "-i", f"{fields},setfield=tff")


def interlaced_mpeg2_ts(path: Path) -> None:
    coding = ("-c:v", "mpeg2video", "-flags", "+ildct+ilme", "-top", "1", "-b:v", "2M")
    ffmpeg(*_interlaced_source(), *tone(), *coding, "-c:a", "mp2", "-f", "mpegts", str(path))


def interlaced_h264(path: Path) -> None:
    coding = (*X264, "-flags", "+ildct+ilme", "-x264-params", "tff=1")
    ffmpeg(*_interlaced_source(), *coding, "-f", "mp4", str(path))


def several_audio_tracks(path: Path) -> None:
    """A 5.1 track and two stereo ones (say, dubbed languages)."""
    surround = ("-f", "lavfi", "-i", "sine=frequency=300:duration=1,aformat=channel_layouts=5.1")
    maps = ("-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a")
    inputs = (*video(), *surround, *tone(frequency=500), *tone(frequency=700))
    ffmpeg(*inputs, *maps, *X264, *AAC, "-f", "mp4", str(path))


no_audio = silent_clip  # tests/clips.py


def high_frame_rate(path: Path) -> None:
    ffmpeg(*video(rate=240), *X264, "-f", "mp4", str(path))


# --- names ----------------------------------------------------------------------------


def small_clip(path: Path) -> None:
    """A tiny good clip; the name cases store it under awkward names."""
    ffmpeg(*video(size="160x120"), *tone(), *X264, *AAC, "-f", "mp4", str(path))


def known_good(path: Path) -> None:
    """What the worker must still transcode after every case: half a second, no audio."""
    ffmpeg(*video(size="160x120", seconds=0.5), *X264, "-f", "mp4", str(path))
