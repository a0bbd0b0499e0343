"""The message cases: what a careless or hostile caller might send, and how each must end.

Refusals come from payload.py and storage.py; the one symlink that stays
inside the media root must work. tests/test_worker.py covers two more:
`../etc/passwd` and a pickled message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import sources
from .model import KNOWN_GOOD, Case, Corpus, Failed, Message, Prepare, Ready, invalid


def message(case_id: str, expect: Ready | Failed, prepare: Prepare) -> Case:
    return Case(id=case_id, expect=expect, prepare=prepare)


def _fixed(**kwargs: object) -> Prepare:
    return lambda root, corpus: Message(kwargs=kwargs)


def _absolute(root: Path, corpus: Corpus) -> Message:
    return Message(kwargs={"source_path": str(root / KNOWN_GOOD)})


def _symlink(name: str, target: Callable[[Path, Corpus], Path]) -> Prepare:
    def prepare(root: Path, corpus: Corpus) -> Message:
        os.symlink(target(root, corpus), root / "sources" / name)
        return Message(kwargs={"source_path": f"sources/{name}"})

    return prepare


def _outside(root: Path, corpus: Corpus) -> Path:
    return corpus.build("outside-the-root", sources.small_clip, "secret.mp4")


def _fifo(root: Path, corpus: Corpus) -> Message:
    # Opening a FIFO blocks until someone writes to it: ffprobe would hang.
    os.mkfifo(root / "sources" / "pipe.mp4")
    return Message(kwargs={"source_path": "sources/pipe.mp4"})


MESSAGE_CASES = [
    message("absolute-path", invalid("is absolute"), _absolute),
    message(
        "dotdot-back-inside",
        invalid("contains a '..' segment"),
        _fixed(source_path="sources/../sources/known-good.mp4"),
    ),
    message(
        "symlink-leaving-root",
        invalid("points outside the media root"),
        _symlink("escape.mp4", _outside),
    ),
    message(
        "symlink-inside-root",
        Ready(size=(160, 120), audio=False),
        _symlink("alias.mp4", lambda root, corpus: root / KNOWN_GOOD),
    ),
    message(
        "symlink-loop",
        invalid("is a loop of symbolic links"),
        _symlink("loop.mp4", lambda root, corpus: root / "sources" / "loop.mp4"),
    ),
    message("fifo", invalid("is not a regular file"), _fifo),
    message("directory", invalid("is not a regular file"), _fixed(source_path="sources")),
    message("missing-file", invalid("does not exist"), _fixed(source_path="sources/nope.mp4")),
    message(
        "path-through-a-file",
        invalid("does not exist"),
        _fixed(source_path=f"{KNOWN_GOOD}/inner.mp4"),
    ),
    message(
        "name-256-bytes",
        invalid("has a name of 256 bytes"),
        _fixed(source_path=f"sources/{'é' * 126}.mp4"),
    ),
    message("lone-surrogate", invalid("lone surrogate"), _fixed(source_path="sources/\ud800.mp4")),
    message("nul-byte", invalid("NUL byte"), _fixed(source_path="sources/a\x00b.mp4")),
    message(
        "unknown-field",
        invalid("unknown field(s): 'priority'"),
        _fixed(source_path=KNOWN_GOOD, priority=9),
    ),
    message(
        "positional-args",
        invalid("keyword arguments only"),
        lambda root, corpus: Message(args=(KNOWN_GOOD,), kwargs={}),
    ),
    message(
        "huge-job-id",
        invalid("The job_id '7777"),
        _fixed(job_id="7" * 100_000, source_path=KNOWN_GOOD),
    ),
]
