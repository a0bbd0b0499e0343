"""The one clip builder: media generated with ffmpeg's lavfi sources at test time.

No media is committed to the repository. Tests ask for a clip by name
(`Clips.path`, and the `sources` fixture for its key in the store), and it is
built the first time some test of the session asks, so a run that needs two
clips builds two. corpus/sources.py and corpus/broken.py build the bad-input
corpus from the same helpers.
"""

from __future__ import annotations

import functools
import itertools
import subprocess
from collections.abc import Callable
from pathlib import Path

from .seaweed import SeaweedStore
from .support import source_put

X264 = ("-c:v", "libx264", "-preset", "ultrafast")
AAC = ("-c:a", "aac")


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail with its own words if it cannot build the file."""
    for encoder in _encoders_named(args):
        require_encoder(encoder)
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"ffmpeg could not build a test file: {done.stderr[-800:]}")


def _encoders_named(args: tuple[str, ...]) -> list[str]:
    return [value for flag, value in itertools.pairwise(args) if flag.startswith("-c:")]


@functools.cache
def _available_encoders() -> frozenset[str]:
    listing = subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    # Lines look like " V....D libx265   libx265 H.265 / HEVC (codec hevc)".
    return frozenset(line.split()[1] for line in listing.splitlines() if line[:2] in (" V", " A"))


def require_encoder(name: str) -> None:
    """Fail, not skip, when this ffmpeg lacks an encoder a test file is made with."""
    if name != "copy" and name not in _available_encoders():
        raise AssertionError(
            f"This ffmpeg has no {name} encoder, which the tests need to build their "
            "sources; install a full ffmpeg build (Debian's `ffmpeg` package has it)."
        )


def video(size: str = "320x240", seconds: float = 1, rate: int = 25) -> tuple[str, ...]:
    return ("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}")


def tone(seconds: float = 1, frequency: int = 440) -> tuple[str, ...]:
    return ("-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}")


def h264_clip(
    path: Path, *, size: str = "320x240", seconds: float = 2, faststart: bool = True
) -> None:
    """H.264 + AAC; without faststart the index (moov) is written last."""
    mux = ("-movflags", "+faststart") if faststart else ()
    inputs = (*video(size=size, seconds=seconds), *tone(seconds))
    ffmpeg(*inputs, *X264, *AAC, *mux, "-f", "mp4", str(path))


def silent_clip(path: Path, *, size: str = "320x240", seconds: float = 1) -> None:
    """H.264 without an audio stream."""
    ffmpeg(*video(size=size, seconds=seconds), *X264, "-f", "mp4", str(path))


def rotated_clip(path: Path, *, degrees: int, size: str = "320x240", seconds: float = 1) -> None:
    """Phone-style: landscape frames plus a display rotation in the metadata."""
    plain = path.with_name(f"plain-{path.name}")
    h264_clip(plain, size=size, seconds=seconds)
    # ffmpeg 5.1 turns the `rotate` tag into a display matrix when copying.
    tag = ("-metadata:s:v:0", f"rotate={degrees}")
    ffmpeg("-i", str(plain), "-c", "copy", *tag, "-f", "mp4", str(path))
    plain.unlink()


def odd_clip(path: Path) -> None:
    # 4:2:0 cannot have odd sizes, so the odd source is 4:4:4; and testsrc2
    # rounds its own size down to even numbers, hence the scale filter.
    odd = ("-vf", "scale=321:241", "-pix_fmt", "yuv444p")
    ffmpeg(*video(), *X264, *odd, "-f", "mp4", str(path))


def _cover_art(path: Path) -> None:
    cover = path.with_name(f"{path.stem}.png")
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", str(cover))
    maps = ("-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "mjpeg")
    ffmpeg(*tone(), "-i", str(cover), *maps, "-disposition:v", "attached_pic", str(path))


class Clips:
    """The clips most tests share, by file name; each is built when first asked for."""

    clip = "clip.mp4"  # 2 s, 320x240, H.264 + AAC
    silent = "silent.mp4"  # 2 s, 320x240, no audio
    odd = "odd.mp4"  # 1 s, 321x241 (stored as yuv444p: 4:2:0 cannot be odd)
    portrait = "portrait.mp4"  # 1 s, stored 320x240, rotated 90 degrees
    full_hd = "full_hd.mp4"  # 1 s, 1920x1080, with audio
    audio_only = "audio_only.m4a"  # 1 s of sine, no video
    cover_art = "cover_art.mp3"  # audio with an attached picture
    raw_h264 = "raw.h264"  # a raw stream, which has no duration
    still = "still.jpg"  # a single picture
    text = "notes.txt"  # not media at all

    BUILDERS: dict[str, Callable[[Path], None]] = {
        clip: h264_clip,
        silent: functools.partial(silent_clip, seconds=2),
        odd: odd_clip,
        portrait: functools.partial(rotated_clip, degrees=90),
        full_hd: functools.partial(h264_clip, size="1920x1080", seconds=1),
        audio_only: lambda path: ffmpeg(*tone(), *AAC, str(path)),
        cover_art: _cover_art,
        raw_h264: lambda path: ffmpeg(*video(), *X264, "-f", "h264", str(path)),
        still: lambda path: ffmpeg(*video(), "-frames:v", "1", str(path)),
        text: lambda path: path.write_text("These are meeting notes, not a video.\n"),
    }

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory
        self._built: set[str] = set()

    def path(self, name: str) -> Path:
        """The clip called `name`, built on first use."""
        path = self.directory / name
        if name not in self._built:
            self.BUILDERS[name](path)
            self._built.add(name)
        return path


class SourceKeys:
    """The source key of each shared clip, uploaded the first time a test asks for it."""

    def __init__(self, *, clips: Clips, store: SeaweedStore) -> None:
        self._clips = clips
        self._store = store
        self._keys: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._keys:
            self._keys[name] = source_put(self._store, self._clips.path(name))
        return self._keys[name]
