"""Every corpus case through one real worker process, each ending in one clear way.

One worker (`bin/start worker`, one pool process) on a throwaway RabbitMQ
vhost takes every case in turn, with limits low enough for small files to
cross them. Each case must end within CASE_TIMEOUT_SECONDS, never be retried,
and either succeed with a rendition that checks.py finds right or fail with
a contract code and a reason a person can read. After each case the same
worker, and the same pool process, must still transcode a known-good clip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..broker import FINAL_STATES, Caller, running_worker
from ..support import SERVICE_DIR, children_of
from ..worker_process import WorkerProcess, alive
from . import checks, sources
from .cases import MEDIA_CASES
from .messages import MESSAGE_CASES
from .model import KNOWN_GOOD, Case, Corpus, Failed, Ready

pytestmark = pytest.mark.broker

CASE_TIMEOUT_SECONDS = 60
# What the cases named too-long, frame-8000x8000, bomb-header and
# over-max-bytes cross; every other source stays well within them.
LIMITS = {
    "MAX_DURATION_SECONDS": "5",
    "MAX_PIXELS": str(1920 * 1080),
    "MAX_SOURCE_BYTES": "2500000",
}
# A job stuck on some file ends as TranscodeTimeout inside the case's bound,
# instead of only as a test timeout.
TIME_LIMITS = {"TRANSCODE_SOFT_TIME_LIMIT": "40", "TRANSCODE_TIME_LIMIT": "50"}
# The longest reason a person should have to read.
MAX_REASON_CHARS = 300
CASES = [*MEDIA_CASES, *MESSAGE_CASES]


@pytest.fixture(scope="module")
def jail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Holds the media root and nothing else: anything more was written outside the root."""
    return tmp_path_factory.mktemp("jail")


@pytest.fixture(scope="module")
def root(jail: Path) -> Path:
    (jail / "media" / "sources").mkdir(parents=True)
    return jail / "media"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def worker(broker_url: str, root: Path) -> Iterator[WorkerProcess]:
    env = {"MEDIA_ROOT": str(root), "TRANSCODER_CONCURRENCY": "1", **LIMITS, **TIME_LIMITS}
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


class Serving:
    """Proves the worker survived a case: same processes, and a good job still succeeds."""

    def __init__(self, *, caller: Caller, worker: WorkerProcess) -> None:
        self.caller = caller
        self.worker = worker
        self.main_pid = worker.process.pid
        self.pool_pid = self.good_job("good-first")
        assert children_of(self.main_pid) == [self.pool_pid]

    def good_job(self, job_id: str) -> int:
        """Transcode the known-good clip; return the pid of the pool process that did."""
        task_id = self.caller.send("transcode.convert_video", job_id=job_id, source_path=KNOWN_GOOD)
        states = self.caller.wait(task_id, until=FINAL_STATES, timeout=CASE_TIMEOUT_SECONDS)
        assert states[-1]["status"] == "SUCCESS", states[-1]
        assert states[0]["status"] == "STARTED"
        pid: int = states[0]["result"]["pid"]
        return pid

    def check(self, *, after: Case, case_pid: int | None) -> None:
        assert self.worker.returncode is None
        assert alive(self.main_pid)
        # Still the one pool process from the start: none died and was replaced.
        assert children_of(self.main_pid) == [self.pool_pid]
        assert case_pid in (None, self.pool_pid)
        # No ffmpeg or ffprobe left running by the case.
        assert children_of(self.pool_pid) == []
        assert self.good_job(f"good-after-{after.id}"[:64]) == self.pool_pid


@pytest.fixture(scope="module")
def serving(caller: Caller, worker: WorkerProcess, root: Path, corpus: Corpus) -> Serving:
    good = corpus.build("known-good", sources.known_good, "known-good.mp4")
    (root / KNOWN_GOOD).write_bytes(good.read_bytes())
    return Serving(caller=caller, worker=worker)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_ends_in_one_clear_way(
    case: Case, caller: Caller, serving: Serving, corpus: Corpus, root: Path, jail: Path
) -> None:
    message = case.prepare(root, corpus)
    kwargs = {"job_id": case.id, **message.kwargs}
    published_before = published(root)

    started = time.monotonic()
    task_id = caller.send("transcode.convert_video", *message.args, **kwargs)
    states = caller.wait(task_id, until=FINAL_STATES, timeout=CASE_TIMEOUT_SECONDS)
    assert time.monotonic() - started < CASE_TIMEOUT_SECONDS
    statuses = [state["status"] for state in states]
    assert "RETRY" not in statuses  # bad input is never retried
    new_files = published(root) - published_before

    if isinstance(case.expect, Ready):
        check_ready(states[-1], expect=case.expect, job_id=case.id, root=root, kwargs=kwargs)
        assert new_files == {f"outputs/{case.id}/{name}" for name in OUTPUT_NAMES}
    else:
        check_failed(states[-1], expect=case.expect)
        assert new_files == set()  # a failed job publishes nothing
    assert not list(root.rglob("*.tmp"))

    # Nothing written outside the media root, and no shell ever ran a name.
    assert [path.name for path in jail.iterdir()] == ["media"]
    assert not list(SERVICE_DIR.glob("pwned*"))
    assert not list(root.rglob("pwned*"))
    case_pid = states[0]["result"]["pid"] if statuses[0] == "STARTED" else None
    serving.check(after=case, case_pid=case_pid)


OUTPUT_NAMES = ("720p.mp4", "poster.jpg", "result.json")


def published(root: Path) -> set[str]:
    """Every visible file under outputs/ (temp files and the lock start with a dot)."""
    outputs = root / "outputs"
    if not outputs.is_dir():
        return set()
    return {
        str(path.relative_to(root))
        for path in outputs.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def check_ready(
    final: dict[str, Any], *, expect: Ready, job_id: str, root: Path, kwargs: dict[str, Any]
) -> None:
    assert final["status"] == "SUCCESS", final["result"]
    result = final["result"]
    assert result["job_id"] == job_id
    [output] = result["outputs"]
    assert output["path"] == f"outputs/{job_id}/720p.mp4"
    assert result["poster_path"] == f"outputs/{job_id}/poster.jpg"
    assert (output["width"], output["height"]) == expect.size
    if expect.source_size is not None:
        assert (result["source"]["width"], result["source"]["height"]) == expect.source_size
    assert output["video_codec"] == "h264"
    assert output["audio_codec"] == ("aac" if expect.audio else None)

    source_duration = float(checks.probe(root / kwargs["source_path"])["format"]["duration"])
    checks.check_rendition(root / output["path"], expect=expect, source_duration=source_duration)
    checks.check_poster(root / result["poster_path"], size=expect.size)


def check_failed(final: dict[str, Any], *, expect: Failed) -> None:
    assert final["status"] == "FAILURE", final["result"]
    result = final["result"]
    assert result["exc_type"] == expect.exc_type, result
    [reason] = result["exc_message"]
    assert expect.reason in reason
    assert len(reason) <= MAX_REASON_CHARS
