"""Fixtures of the multihost suite: a web and two transcoder hosts (see system.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.multihost.system import HOST_NAMES, System, Worker, states_recorded, worker_start
from tests.support.hosts import host_running
from tests.support.media import clip_make
from tests.support.observe import queue_state, wait_until
from tests.support.stack import stack_running


@pytest.fixture
def two_hosts(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[System]:
    """Web and collector on loopback, and a worker on each of two hosts, all consuming."""
    with ExitStack() as cleanup:
        # Exit order is the reverse: processes stop, then lines are cut,
        # then the stack's own resources and the namespaces go.
        hosts = [
            cleanup.enter_context(host_running(name, behind_lines=True)) for name in HOST_NAMES
        ]
        stack_dir = tmp_path / "stack"
        stack_dir.mkdir()
        stack = cleanup.enter_context(stack_running(stack_dir, start=("web", "collector")))
        states_recorded(stack.database_url)
        workers: list[Worker] = []
        for host in hosts:
            scratch = tmp_path / host.name / "scratch"
            scratch.mkdir(parents=True)
            workers.append(worker_start(stack, host, scratch, cleanup))
        wait_until(
            lambda: queue_state(stack.broker_url, "transcode_queue") == (0, len(workers)),
            timeout=90,
            what="both hosts' workers consume transcode_queue",
            diagnostics=lambda: stack.logs(),
        )
        yield System(stack=stack, workers=workers)
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print(stack.logs())


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A short clip for jobs that must simply complete, a long one for a job cut mid-way."""
    folder = tmp_path_factory.mktemp("multihost-clips")
    return {
        "short": clip_make(folder / "short.mp4", seconds=5),
        # About 5 s of one-thread ffmpeg: time to see it run and cut its host.
        "long": clip_make(folder / "long.mp4", seconds=30),
    }
