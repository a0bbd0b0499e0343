"""Every corpus case through one real worker process, each ending in one clear way.

One worker (`bin/start worker`, one pool process) on a throwaway RabbitMQ
vhost takes every case in turn, with limits low enough for small files to
cross them. Each case must end within CASE_TIMEOUT_SECONDS, never be retried,
and either succeed with a rendition that checks.py finds right or fail with
a contract code and a reason a person can read. After each case the same
worker, and the same pool process, must still transcode a known-good clip.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..broker import FINAL_STATES, Caller, running_worker
from ..processes import process_alive, process_children
from ..seaweed import SeaweedStore
from ..support import (
    SERVICE_DIR,
    keys_under,
    object_bytes,
    scratch_entries,
    source_put,
)
from ..worker_process import WorkerProcess
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
    """Holds the worker's scratch and nothing else: anything more was written outside it."""
    return tmp_path_factory.mktemp("jail")


@pytest.fixture(scope="module")
def scratch(jail: Path) -> Path:
    return jail / "scratch"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def worker(broker_url: str, seaweed: SeaweedStore, scratch: Path) -> Iterator[WorkerProcess]:
    env = {
        **seaweed.transcoder_env(),
        "SCRATCH_DIR": str(scratch),
        "TRANSCODER_CONCURRENCY": "1",
        **LIMITS,
        **TIME_LIMITS,
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


class Serving:
    """Proves the worker survived a case: same processes, and a good job still succeeds."""

    def __init__(self, *, caller: Caller, worker: WorkerProcess) -> None:
        self.caller = caller
        self.worker = worker
        self.main_pid = worker.process.pid
        self.pool_pid = self.good_job("good-first")
        assert process_children(self.main_pid) == [self.pool_pid]

    def good_job(self, job_id: str) -> int:
        """Transcode the known-good clip; return the pid of the pool process that did."""
        task_id = self.caller.send(
            "transcode.convert_video", job_id=job_id, source_key=KNOWN_GOOD, contract_version=2
        )
        states = self.caller.wait(task_id, until=FINAL_STATES, timeout=CASE_TIMEOUT_SECONDS)
        assert states[-1]["status"] == "SUCCESS", states[-1]
        assert states[0]["status"] == "STARTED"
        pid: int = states[0]["result"]["pid"]
        return pid

    def check(self, *, after: Case, case_pid: int | None) -> None:
        assert self.worker.returncode is None
        assert process_alive(self.main_pid)
        # Still the one pool process from the start: none died and was replaced.
        assert process_children(self.main_pid) == [self.pool_pid]
        assert case_pid in (None, self.pool_pid)
        # No ffmpeg or ffprobe left running by the case.
        assert process_children(self.pool_pid) == []
        assert self.good_job(f"good-after-{after.id}"[:64]) == self.pool_pid


@pytest.fixture(scope="module")
def serving(
    caller: Caller, worker: WorkerProcess, seaweed: SeaweedStore, corpus: Corpus
) -> Serving:
    good = corpus.build("known-good", sources.known_good, "known-good.mp4")
    source_put(seaweed, good, key=KNOWN_GOOD)
    return Serving(caller=caller, worker=worker)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_ends_in_one_clear_way(
    case: Case,
    caller: Caller,
    serving: Serving,
    corpus: Corpus,
    seaweed: SeaweedStore,
    jail: Path,
    scratch: Path,
    tmp_path: Path,
) -> None:
    message = case.prepare(seaweed, corpus)
    kwargs = {"job_id": case.id, "contract_version": 2, **message.kwargs}

    started = time.monotonic()
    task_id = caller.send("transcode.convert_video", *message.args, **kwargs)
    states = caller.wait(task_id, until=FINAL_STATES, timeout=CASE_TIMEOUT_SECONDS)
    assert time.monotonic() - started < CASE_TIMEOUT_SECONDS
    statuses = [state["status"] for state in states]
    assert "RETRY" not in statuses  # bad input is never retried
    stored = keys_under(seaweed, f"outputs/{case.id}/")

    if isinstance(case.expect, Ready):
        assert message.source_file is not None
        check_ready(
            states[-1],
            expect=case.expect,
            job_id=case.id,
            seaweed=seaweed,
            source_file=message.source_file,
            downloads=tmp_path,
        )
        attempt = re.escape(f"outputs/{case.id}/") + "[0-9a-f]{16}/"
        names = sorted(re.sub(attempt, "", key) for key in stored)
        assert names == ["720p.mp4", f"outputs/{case.id}/manifest.json", "poster.jpg"]
    else:
        check_failed(states[-1], expect=case.expect)
        assert stored == {}  # a failed job leaves nothing in the store
    assert scratch_entries(scratch) == []  # nor in scratch

    # Nothing written outside the scratch folder, and no shell ever ran a name.
    assert [path.name for path in jail.iterdir()] == ["scratch"]
    assert not list(SERVICE_DIR.glob("pwned*"))
    case_pid = states[0]["result"]["pid"] if statuses[0] == "STARTED" else None
    serving.check(after=case, case_pid=case_pid)


def check_ready(
    final: dict[str, Any],
    *,
    expect: Ready,
    job_id: str,
    seaweed: SeaweedStore,
    source_file: Path,
    downloads: Path,
) -> None:
    assert final["status"] == "SUCCESS", final["result"]
    result = final["result"]
    assert result["job_id"] == job_id
    [output] = result["outputs"]
    assert re.fullmatch(rf"outputs/{job_id}/[0-9a-f]{{16}}/720p\.mp4", output["key"])
    assert result["poster_key"] == output["key"].replace("720p.mp4", "poster.jpg")
    assert (output["width"], output["height"]) == expect.size
    if expect.source_size is not None:
        assert (result["source"]["width"], result["source"]["height"]) == expect.source_size
    assert output["video_codec"] == "h264"
    assert output["audio_codec"] == ("aac" if expect.audio else None)

    rendition, poster = downloads / "720p.mp4", downloads / "poster.jpg"
    rendition.write_bytes(object_bytes(seaweed, output["key"]))
    poster.write_bytes(object_bytes(seaweed, result["poster_key"]))
    checks.check_rendition(rendition, expect=expect, source=checks.probe(source_file))
    checks.check_poster(poster, size=expect.size)


def check_failed(final: dict[str, Any], *, expect: Failed) -> None:
    assert final["status"] == "FAILURE", final["result"]
    result = final["result"]
    assert result["exc_type"] == expect.exc_type, result
    [reason] = result["exc_message"]
    assert expect.reason in reason
    assert len(reason) <= MAX_REASON_CHARS
