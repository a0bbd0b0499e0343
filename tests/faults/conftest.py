"""Fixtures for the fault suite.

Every fault test starts its own stack (its own vhost, database, object store
and processes), because each one breaks something on purpose and needs its
own settings (one pool process, a short time limit, a broker or a store
behind a line it can cut). The stack's processes are the only ones a test ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.media import clip_make
from tests.support.object_store import SeaweedFS, seaweedfs_running
from tests.support.resources import DEFAULT_BROKER_URL
from tests.support.stack import Stack, stack_running
from tests.support.tcp_line import TcpLine

StartStack = Callable[..., Stack]
MakeClip = Callable[..., Path]


@pytest.fixture
def start_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StartStack]:
    """Start a stack with `stack_running`'s arguments; it is stopped after the test.

    When the test fails, every process's log is printed, so the report says
    what the services saw, not only what the test saw.
    """
    started: list[Stack] = []
    with ExitStack() as stacks:

        def start(**kwargs: object) -> Stack:
            workdir = tmp_path / f"stack{len(started)}"
            workdir.mkdir()
            stack = stacks.enter_context(stack_running(workdir, **kwargs))  # type: ignore[arg-type]
            started.append(stack)
            return stack

        yield start
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            for stack in started:
                print(stack.logs())


@pytest.fixture
def broker_line() -> Iterator[TcpLine]:
    """An open line to the local RabbitMQ; pass it to `start_stack(broker_line=...)`."""
    line = TcpLine.to(os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL)
    line.open()
    yield line
    line.cut()


@pytest.fixture
def object_store(tmp_path: Path) -> Iterator[SeaweedFS]:
    """A store started before the stack, so lines to it can be made first:
    pass it as `start_stack(store=...)`."""
    with seaweedfs_running(tmp_path / "s3") as store:
        yield store


@pytest.fixture
def store_line(object_store: SeaweedFS) -> Iterator[TcpLine]:
    """An open line to `object_store`; give it to one process with
    `start_stack(store=object_store, store_lines={"worker": store_line})`.

    List it before `start_stack`, so it is cut only after the stack stopped.
    """
    line = TcpLine.to(object_store.endpoint_url)
    line.open()
    yield line
    line.cut()


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> MakeClip:
    """A test clip of the given length and size, generated once per session.

    Most faults need only a short 640x360 clip; a kill that must land while
    ffmpeg runs asks for a longer one.
    """
    folder = tmp_path_factory.mktemp("fault-clips")
    made: dict[tuple[float, int, int], Path] = {}

    def make(*, seconds: float = 3, width: int = 640, height: int = 360) -> Path:
        key = (seconds, width, height)
        if key not in made:
            made[key] = clip_make(
                folder / f"{seconds}s-{width}x{height}.mp4",
                seconds=seconds,
                width=width,
                height=height,
            )
        return made[key]

    return make
