"""Shared fixtures: tiny media files made with ffmpeg at test time, and a real S3 store.

No media is committed to the repository: each clip is generated from
ffmpeg's built-in test sources (tests/clips.py) the first time a test of the
session asks for it, and uploaded once, with the web's key, to the session's
SeaweedFS (tests/seaweed.py). Tests share that bucket, so each uses its own
job_id (the `job` fixture).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from transcoder.objectstore import ObjectStore, store_connect
from transcoder.settings import Settings, get_settings

from .broker import Caller, throwaway_vhost
from .clips import Clips, SourceKeys, silent_clip
from .seaweed import SeaweedStore, seaweed_running
from .support import AttemptHolders, PipelineJob, make_settings, new_job_id


def pytest_configure(config: pytest.Config) -> None:
    # Importing transcoder.worker reads the settings, which require a bucket
    # and a key pair. These placeholders only let modules import; every test
    # that talks to a store gets the session's real one from a fixture.
    for name in ("S3_BUCKET", "TRANSCODER_S3_ACCESS_KEY_ID", "TRANSCODER_S3_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "set-by-a-fixture")


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return Clips(directory=tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s at 640x360: takes a few seconds to transcode, long enough to interrupt."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    silent_clip(path, size="640x360", seconds=30)
    return path


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedStore]:
    """This session's own `weed mini`, stopped by its pid at the end."""
    with seaweed_running(tmp_path_factory.mktemp("seaweed")) as store:
        yield store


@pytest.fixture(scope="session")
def sources(seaweed: SeaweedStore, clips: Clips) -> SourceKeys:
    """The source key of a shared clip, by file name: `sources["clip.mp4"]`."""
    return SourceKeys(clips=clips, store=seaweed)


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


@pytest.fixture
def attempt_holders(scratch_dir: Path) -> Iterator[AttemptHolders]:
    """Other "pool processes" mid-job in `scratch_dir` (support.attempt_start)."""
    holders = AttemptHolders(scratch_dir=scratch_dir)
    yield holders
    holders.close()


@pytest.fixture
def settings(seaweed: SeaweedStore, scratch_dir: Path) -> Settings:
    return make_settings(seaweed, scratch_dir)


@pytest.fixture
def store(settings: Settings) -> ObjectStore:
    """The transcoder's adapter, with the transcoder's own key."""
    return store_connect(settings=settings)


@pytest.fixture
def job_id() -> str:
    return new_job_id()


@pytest.fixture
def job(settings: Settings, store: ObjectStore, seaweed: SeaweedStore, job_id: str) -> PipelineJob:
    """This test's job, run through the real pipeline against the session's store."""
    return PipelineJob(settings=settings, store=store, seaweed=seaweed, job_id=job_id)


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, seaweed: SeaweedStore, scratch_dir: Path
) -> Iterator[Path]:
    """Point the process-wide settings (what tasks read) at the session's store."""
    for name, value in seaweed.transcoder_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCRATCH_DIR", str(scratch_dir))
    monkeypatch.setenv("PROGRESS_INTERVAL", "0")
    monkeypatch.setenv("STORAGE_RETRY_DELAY", "0")
    get_settings.cache_clear()
    yield scratch_dir
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """A throwaway RabbitMQ vhost for the module's worker (tests/broker.py)."""
    with throwaway_vhost() as url:
        yield url


@pytest.fixture(scope="module")
def caller(broker_url: str, worker: object) -> Iterator[Caller]:
    """The web's side of the contract; `worker` is each broker module's own fixture."""
    caller = Caller(broker_url)
    try:
        yield caller
    finally:
        caller.close()
