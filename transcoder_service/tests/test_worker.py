"""A real worker, started as ./Procfile says, against a real RabbitMQ.

The test plays the web's part with nothing but the contract, through
`tests.broker.Caller`; the broker fixtures are in conftest.py and
tests/broker.py. tests/corpus/ runs its bad-input corpus the same way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Producer

from .broker import FINAL_STATES, TRANSCODE_QUEUE, Caller, running_worker
from .support import Clips, add_source, temp_files_under
from .worker_process import WorkerProcess, alive

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def worker_media_root(tmp_path_factory: pytest.TempPathFactory, clips: Clips) -> Path:
    root = tmp_path_factory.mktemp("worker") / "media"
    add_source(root, clips.directory / clips.clip)
    return root


@pytest.fixture(scope="module")
def worker(broker_url: str, worker_media_root: Path) -> Iterator[WorkerProcess]:
    env = {
        "MEDIA_ROOT": str(worker_media_root),
        "PROGRESS_INTERVAL": "0",  # every PROGRESS, so the test sees several
        "FFMPEG_THREADS": "1",  # slow enough to be interrupted
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


def test_ping(caller: Caller) -> None:
    states = caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert states[-1]["status"] == "SUCCESS"
    assert states[-1]["result"] == {"pong": True, "contract_version": 1}


def test_convert_video(caller: Caller, worker_media_root: Path) -> None:
    task_id = caller.send(
        "transcode.convert_video",
        job_id="job-1",
        source_path="sources/clip.mp4",
        profiles=["720p", "480p"],
    )
    states = caller.wait(task_id, until=FINAL_STATES)
    statuses = [state["status"] for state in states]
    assert statuses[0] == "STARTED"
    assert set(states[0]["result"]) == {"pid", "hostname"}
    assert statuses[-1] == "SUCCESS"
    assert set(statuses[1:-1]) == {"PROGRESS"}

    progress = [state["result"] for state in states if state["status"] == "PROGRESS"]
    assert all(set(meta) == {"percent", "stage"} for meta in progress)
    percents = [meta["percent"] for meta in progress]
    assert percents == sorted(percents)
    assert percents[-1] > percents[0]
    assert {meta["stage"] for meta in progress} <= {"probing", "transcoding", "poster"}

    result = states[-1]["result"]
    assert result["contract_version"] == 1
    assert result["job_id"] == "job-1"
    assert [o["path"] for o in result["outputs"]] == [
        "outputs/job-1/720p.mp4",
        "outputs/job-1/480p.mp4",
    ]
    for path in [*(o["path"] for o in result["outputs"]), result["poster_path"]]:
        assert (worker_media_root / path).is_file()
    assert set(result["timings"]) == {"probe", "transcode", "poster", "verify"}


def test_unsafe_path_fails_with_invalid_payload(caller: Caller) -> None:
    task_id = caller.send("transcode.convert_video", job_id="job-2", source_path="../etc/passwd")
    failure = caller.wait(task_id, until=FINAL_STATES)[-1]
    assert failure["status"] == "FAILURE"
    assert failure["result"]["exc_type"] == "InvalidPayload"
    assert failure["result"]["exc_message"] == [
        "The source_path '../etc/passwd' contains a '..' segment."
    ]


def test_pickle_message_is_refused_and_never_run(
    caller: Caller, worker: WorkerProcess, worker_media_root: Path
) -> None:
    task_id = uuid.uuid4().hex
    # A well-formed Celery protocol 2 message, except that it is pickled.
    producer = Producer(caller.connection.default_channel)
    producer.publish(
        ((), {"job_id": "pickled", "source_path": "sources/clip.mp4"}, {}),
        serializer="pickle",
        exchange=TRANSCODE_QUEUE.exchange,
        routing_key="transcode_queue",
        headers={"lang": "py", "task": "transcode.convert_video", "id": task_id},
        correlation_id=task_id,
        reply_to=caller.reply_queue.name,
    )
    worker.wait_for_log("Refusing to deserialize untrusted content of type pickle")
    # The worker acknowledged (dropped) it, and a ping sent after it is answered:
    caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert task_id not in caller.replies
    assert not (worker_media_root / "outputs" / "pickled").exists()
    _, waiting, _ = TRANSCODE_QUEUE(caller.connection.default_channel).queue_declare(passive=True)
    assert waiting == 0


def test_revoke_with_terminate_kills_ffmpeg_and_removes_temp_files(
    caller: Caller, worker: WorkerProcess, worker_media_root: Path, long_clip: Path
) -> None:
    source = add_source(worker_media_root, long_clip)
    task_id = caller.send("transcode.convert_video", job_id="job-long", source_path=source)
    # Well into the transcode: ffmpeg runs and its temp file exists.
    caller.wait(task_id, until={"PROGRESS"}, percent_above=0)
    ffmpeg_pid = worker.wait_for_ffmpeg_pid("job-long")
    assert alive(ffmpeg_pid)
    assert temp_files_under(worker_media_root / "outputs" / "job-long")

    # What the web's "cancel" does: SIGTERM to the pool process running it.
    caller.client.control.revoke(task_id, terminate=True, signal="SIGTERM")
    assert caller.wait(task_id, until=FINAL_STATES)[-1]["status"] == "REVOKED"
    deadline = time.monotonic() + 10
    while (alive(ffmpeg_pid) or temp_files_under(worker_media_root)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert not alive(ffmpeg_pid)
    assert temp_files_under(worker_media_root) == []
    # The pool replaced the process and the worker keeps serving.
    states = caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert states[-1]["status"] == "SUCCESS"


# Last in this module: it stops the worker the tests above share.
def test_worker_stops_on_sigterm_with_its_children(worker: WorkerProcess) -> None:
    children = worker.children()
    assert children, "a prefork worker has pool processes"
    worker.stop()
    assert worker.returncode is not None
    assert not [pid for pid in children if alive(pid)]
