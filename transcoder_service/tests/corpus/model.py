"""The shapes of the corpus: a case, the two ways it may end, and the file builder.

A case ends either `Ready` (SUCCESS, and checks.py finds the rendition right)
or `Failed` (FAILURE with a contract code and a reason a person can read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..seaweed import SeaweedStore

# The small good clip (160x120, no audio) that the test uploads first and that
# the worker must still transcode after every case; message cases point at it.
KNOWN_GOOD = "sources/known-good.mp4"
INVALID_MEDIA = "InvalidMedia"
INVALID_PAYLOAD = "InvalidPayload"


@dataclass(frozen=True, kw_only=True)
class Ready:
    """SUCCESS, and the rendition passes checks.check_rendition."""

    size: tuple[int, int] = (320, 240)
    # The display size the worker must report for the source, where the
    # case is about it (odd sizes, rotation); not checked when None.
    source_size: tuple[int, int] | None = None
    audio: bool = True
    # The exact frame count, where repeated or dropped frames are the risk.
    frames: int | None = None
    # ffmpeg's idet filter must find (almost) no combed pictures.
    deinterlaced: bool = False


@dataclass(frozen=True, kw_only=True)
class Failed:
    exc_type: str
    reason: str  # must appear in exc_message[0]


@dataclass(frozen=True, kw_only=True)
class Message:
    kwargs: dict[str, object]
    args: tuple[object, ...] = ()
    # The local file behind source_key, to judge a rendition against.
    source_file: Path | None = None


class Corpus:
    """Builds each case's files once per session, in a folder of their own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def build(self, key: str, make: Callable[[Path], None], filename: str) -> Path:
        folder = self.directory / key
        path = folder / filename
        if not folder.is_dir():
            building = self.directory / f".{key}.building"
            building.mkdir(exist_ok=True)
            make(building / filename)
            building.rename(folder)  # only whole builds count as done
        return path


Prepare = Callable[[SeaweedStore, Corpus], Message]


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    expect: Ready | Failed
    prepare: Prepare  # (store, corpus) -> the message to send


def refused(reason: str) -> Failed:
    return Failed(exc_type=INVALID_MEDIA, reason=reason)


def invalid(reason: str) -> Failed:
    return Failed(exc_type=INVALID_PAYLOAD, reason=reason)
