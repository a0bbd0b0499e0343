"""Test media, generated with ffmpeg's lavfi sources at test time (no binaries committed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def clip_make(
    path: Path,
    *,
    seconds: float = 4.0,
    width: int = 640,
    height: int = 360,
    rate: int = 25,
    audio: bool = True,
    codec: str = "libx264",
) -> Path:
    """A test pattern with a moving clock and, optionally, a sine tone."""
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi"]
    argv += ["-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        argv += ["-c:a", "aac", "-b:a", "96k"]
    argv += ["-c:v", codec, "-pix_fmt", "yuv420p"]
    if codec == "libx264":
        argv += ["-preset", "ultrafast"]
    argv += ["-shortest", str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return path


def ffprobe(target: str | Path) -> dict[str, Any]:
    """ffprobe's JSON for a file path or an http:// URL."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    out = subprocess.run([*argv, str(target)], check=True, capture_output=True, timeout=60)
    return json.loads(out.stdout)


def stream_of(probe: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((s for s in probe["streams"] if s.get("codec_type") == kind), None)
