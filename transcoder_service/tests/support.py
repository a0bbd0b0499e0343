"""Helpers shared by the tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from transcoder.settings import Settings, load_settings

SERVICE_DIR = Path(__file__).resolve().parent.parent


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


def video_input(size: str, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]


def audio_input(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]


@dataclass(frozen=True)
class Clips:
    """Generated source files; names are relative to `directory`."""

    directory: Path
    clip: str = "clip.mp4"  # 2 s, 320x240, H.264 + AAC
    silent: str = "silent.mp4"  # 2 s, 320x240, no audio
    odd: str = "odd.mp4"  # 1 s, 321x241 (stored as yuv444p: 4:2:0 cannot be odd)
    portrait: str = "portrait.mp4"  # 1 s, stored 320x240, rotated 90 degrees
    full_hd: str = "full_hd.mp4"  # 1 s, 1920x1080, with audio
    audio_only: str = "audio_only.m4a"  # 1 s of sine, no video
    cover_art: str = "cover_art.mp3"  # audio with an attached picture
    raw_h264: str = "raw.h264"  # a raw stream, which has no duration
    still: str = "still.jpg"  # a single picture
    text: str = "notes.txt"  # not media at all


def add_source(media_root: Path, source: Path) -> str:
    """Put `source` under media_root/sources/ and return its relative path."""
    relative = f"sources/{source.name}"
    target = media_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # A hard link is free; a symlink would (rightly) be refused for pointing
    # outside the media root.
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return relative


def make_settings(media_root: Path, **overrides: str) -> Settings:
    environ = {"MEDIA_ROOT": str(media_root), "PROGRESS_INTERVAL": "0", **overrides}
    return load_settings(environ=environ)


def children_of(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Format: pid (comm) state ppid ...; comm may contain spaces.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def ffmpeg_children() -> list[int]:
    """PIDs of live ffmpeg processes whose parent is this test process."""
    found = []
    for child in children_of(os.getpid()):
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "ffmpeg":
                found.append(child)
        except OSError:  # exited meanwhile
            continue
    return found


def temp_files_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*.tmp"))
