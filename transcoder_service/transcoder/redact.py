"""No path of this worker's disk in a reason shown to a person.

ffmpeg starts its errors with the file's path ("/tmp/transcoder-scratch/
job-1.9f2c.../source.mp4: Invalid data found ..."), and other failures may
quote one too. A person has no use for the worker's file system, and an
attacker learns its layout from it, so every failure leaving the pipeline
has its scratch paths replaced by the file's role: "the source", "the 720p
output", "the poster".
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from transcoder.errors import TranscodeError

# Names in scratch are made by this worker from safe characters only.
_SEGMENT = r"/[A-Za-z0-9._-]+"


def path_redact(text: str, *, scratch_dir: Path) -> str:
    """`text` with every path under `scratch_dir` replaced by what the file is."""
    # Both spellings: the one we passed ffmpeg, and the one a symlinked
    # /tmp resolves to.
    for root in dict.fromkeys((str(scratch_dir), os.path.realpath(scratch_dir))):
        pattern = re.compile(rf"(?:file:)?{re.escape(root)}((?:{_SEGMENT})*)")
        text = pattern.sub(lambda match: _role(match.group(1)), text)
    return text


@contextlib.contextmanager
def failures_redacted(*, scratch_dir: Path) -> Iterator[None]:
    """Re-raise any `TranscodeError` of the block with its scratch paths redacted."""
    try:
        yield
    except TranscodeError as exc:
        cleaned = path_redact(exc.message, scratch_dir=scratch_dir)
        if cleaned == exc.message:
            raise
        # The same class (the contract's code), a cleaned sentence.
        raise type(exc)(cleaned) from exc


def _role(tail: str) -> str:
    segments = [segment for segment in tail.split("/") if segment]
    if len(segments) < 2:
        return "the worker's scratch folder"
    name = segments[-1].lstrip(".")
    if name.startswith("source"):
        return "the source"
    if name.startswith("poster"):
        return "the poster"
    profile, dot, rest = name.partition(".")
    if dot and rest.startswith("mp4"):
        return f"the {profile} output"
    return "a working file"
