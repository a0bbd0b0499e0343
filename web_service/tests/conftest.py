from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Iterator[Path]:
    """A fresh shared media root per test; uploads stream into it."""
    root = tmp_path / "media"
    (root / "incoming").mkdir(parents=True)
    settings.MEDIA_ROOT = root
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "incoming")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def memory_broker() -> Iterator[Connection]:
    """kombu's in-memory transport (BROKER_URL=memory:// in the Makefile).

    Its queues are process-global, so drain them between tests.
    """
    with Connection("memory://") as connection:
        yield connection
        channel = connection.default_channel
        for queue in list(getattr(channel, "queues", {}) or {}):
            channel._purge(queue)
