"""The message cases: what a careless or hostile caller might send, and how each must end.

Refusals come from payload.py, and from the store for a key that names no
object. tests/test_worker.py covers three more: a `..` key, a v1 message and
a pickled message. Every case gets `contract_version: 2` unless it sets its own.
"""

from __future__ import annotations

from .model import KNOWN_GOOD, Case, Failed, Message, Prepare, Ready, invalid


def message(case_id: str, expect: Ready | Failed, prepare: Prepare) -> Case:
    return Case(id=case_id, expect=expect, prepare=prepare)


def _fixed(*args: object, **kwargs: object) -> Prepare:
    return lambda store, corpus: Message(args=args, kwargs=kwargs)


MESSAGE_CASES = [
    message("leading-slash", invalid("starts with '/'"), _fixed(source_key=f"/{KNOWN_GOOD}")),
    message(
        "dotdot-back-inside",
        invalid("contains a '..' segment"),
        _fixed(source_key="sources/../sources/known-good.mp4"),
    ),
    message(
        "an-output-as-source",
        invalid("must start with 'sources/'"),
        _fixed(source_key="outputs/good-first/manifest.json"),
    ),
    message(
        "empty-segment",
        invalid("contains an empty segment"),
        _fixed(source_key="sources//known-good.mp4"),
    ),
    message("a-folder", invalid("contains an empty segment"), _fixed(source_key="sources/")),
    message(
        "missing-object",
        invalid("The source object 'sources/nope.mp4' does not exist."),
        _fixed(source_key="sources/nope.mp4"),
    ),
    message(
        "key-under-a-file",
        invalid("does not exist"),
        _fixed(source_key=f"{KNOWN_GOOD}/inner.mp4"),
    ),
    message(
        "key-1025-bytes",
        invalid("the limit is 1024"),
        _fixed(source_key="sources/" + "é" * 508 + "x"),
    ),
    message("lone-surrogate", invalid("lone surrogate"), _fixed(source_key="sources/\ud800.mp4")),
    message("nul-byte", invalid("NUL byte"), _fixed(source_key="sources/a\x00b.mp4")),
    message(
        "newline", invalid("a control character"), _fixed(source_key="sources/line\nbreak.mp4")
    ),
    message(
        "v1-message",
        invalid("This is a contract v1 message"),
        _fixed(source_path=KNOWN_GOOD, contract_version=1),
    ),
    message(
        "future-version",
        invalid("Contract version 3 is not supported by this worker (it speaks 2)."),
        _fixed(source_key=KNOWN_GOOD, contract_version=3),
    ),
    message(
        "unknown-field",
        invalid("unknown field(s): 'priority'"),
        _fixed(source_key=KNOWN_GOOD, priority=9),
    ),
    message("positional-args", invalid("keyword arguments only"), _fixed(KNOWN_GOOD)),
    message(
        "huge-job-id",
        invalid("The job_id '7777"),
        _fixed(job_id="7" * 100_000, source_key=KNOWN_GOOD),
    ),
]
