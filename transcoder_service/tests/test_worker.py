"""A real worker, started as ./Procfile says, against a real RabbitMQ.

The test plays the web's part with nothing but the contract, through
`tests.broker.Caller`; the broker fixtures are in conftest.py and
tests/broker.py. tests/corpus/ runs its bad-input corpus the same way.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Producer

from .broker import FINAL_STATES, TRANSCODE_QUEUE, Caller, running_worker
from .clips import SourceKeys, h264_clip
from .processes import process_alive
from .seaweed import SeaweedStore
from .support import (
    TIMINGS,
    attempt_kill,
    attempt_start,
    attempt_stop,
    keys_under,
    new_job_id,
    scratch_entries,
    source_put,
)
from .worker_process import WorkerProcess

pytestmark = pytest.mark.broker

DEAD_ATTEMPT = "job-dead.00000000000000dd"
LIVE_ATTEMPT = "job-live.000000000000001e"


@pytest.fixture(scope="module")
def worker_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker") / "scratch"


@pytest.fixture(scope="module")
def live_attempt(worker_scratch: Path) -> Iterator[subprocess.Popen[str]]:
    """Left before the worker starts: a SIGKILLed attempt's folder, and a live one.

    The live one stands for another worker's pool process on the same host,
    mid-job: a starting worker must not touch it.
    """
    dead = attempt_start(scratch_dir=worker_scratch, name=DEAD_ATTEMPT)
    attempt_kill(dead)
    live = attempt_start(scratch_dir=worker_scratch, name=LIVE_ATTEMPT)
    yield live
    if live.poll() is None:
        attempt_stop(live)


@pytest.fixture(scope="module")
def worker(
    broker_url: str,
    seaweed: SeaweedStore,
    worker_scratch: Path,
    live_attempt: subprocess.Popen[str],
) -> Iterator[WorkerProcess]:
    env = {
        **seaweed.transcoder_env(),
        "SCRATCH_DIR": str(worker_scratch),
        "PROGRESS_INTERVAL": "0",  # every PROGRESS, so the test sees several
        "FFMPEG_THREADS": "1",  # slow enough to be interrupted
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


def test_at_start_the_worker_removes_dead_attempts_and_keeps_live_ones(
    worker: WorkerProcess, worker_scratch: Path, live_attempt: subprocess.Popen[str]
) -> None:
    # Each pool process sweeps as it starts (worker_process_init).
    deadline = time.monotonic() + 10
    while DEAD_ATTEMPT in scratch_entries(worker_scratch) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scratch_entries(worker_scratch) == [LIVE_ATTEMPT]
    assert (worker_scratch / LIVE_ATTEMPT / "source.mp4").is_file()
    attempt_stop(live_attempt)  # its own `finally` removes it
    assert scratch_entries(worker_scratch) == []


def test_ping(caller: Caller) -> None:
    states = caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert states[-1]["status"] == "SUCCESS"
    assert states[-1]["result"] == {"pong": True, "contract_version": 2}


def test_convert_video_then_delete_outputs(
    caller: Caller, seaweed: SeaweedStore, sources: SourceKeys, worker_scratch: Path
) -> None:
    job_id = new_job_id()
    task_id = caller.send(
        "transcode.convert_video",
        job_id=job_id,
        source_key=sources["clip.mp4"],
        profiles=["720p", "480p"],
        contract_version=2,
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
    assert progress[0]["stage"] == "downloading"
    assert progress[-1]["stage"] == "uploading"
    assert {meta["stage"] for meta in progress} <= {
        "downloading",
        "probing",
        "transcoding",
        "poster",
        "uploading",
    }

    result = states[-1]["result"]
    assert result["contract_version"] == 2
    assert result["job_id"] == job_id
    assert [o["profile"] for o in result["outputs"]] == ["720p", "480p"]
    stored = keys_under(seaweed, f"outputs/{job_id}/")
    for output in result["outputs"]:
        assert stored[output["key"]] == output["size_bytes"]
    assert result["poster_key"] in stored
    assert result["manifest_key"] == f"outputs/{job_id}/manifest.json"
    assert result["manifest_key"] in stored
    assert set(result["timings"]) == TIMINGS | {"encode:1:720p", "encode:2:480p"}
    assert scratch_entries(worker_scratch) == []

    # The web's "delete this video": no reply comes (ignore_result, no STARTED).
    delete_id = caller.send("transcode.delete_outputs", job_id=job_id, contract_version=2)
    deadline = time.monotonic() + 30
    while keys_under(seaweed, f"outputs/{job_id}/") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)  # replies are in order
    assert delete_id not in caller.replies


def test_a_ladder_job_says_when_it_is_playable(
    caller: Caller, seaweed: SeaweedStore, tmp_path: Path
) -> None:
    """The preview reaches the caller from the publisher's own thread (the
    ladder still being made), with this task's id and reply queue
    (docs/messages.md, "Results and states")."""
    source = tmp_path / "six.mp4"
    h264_clip(source, size="640x360", seconds=6)
    task_id = caller.send(
        "transcode.convert_video",
        job_id=new_job_id(),
        source_key=source_put(seaweed, source),
        profiles=["hls"],
        contract_version=2,
    )
    states = caller.wait(task_id, until=FINAL_STATES)
    assert states[-1]["status"] == "SUCCESS"
    progress = [state["result"] for state in states if state["status"] == "PROGRESS"]
    at = next(i for i, meta in enumerate(progress) if "preview" in meta)
    # Playable with part of the video made, and said so mid-pass: ffmpeg
    # reports nothing then (the storyboard holds its -progress back), so
    # these came from the publisher's thread. Of "transcoding"'s 5-90 %,
    # the ladder's pass ends at 90.
    assert progress[at]["preview"]["encoded_seconds"] < 6.0
    assert [
        meta for meta in progress[at:] if meta["stage"] == "transcoding" and meta["percent"] < 80
    ]
    assert all("preview" in meta for meta in progress[at:])
    assert {meta["preview"]["master_key"] for meta in progress[at:]} == {
        states[-1]["result"]["hls"]["master_key"]
    }
    assert progress[at]["preview"]["duration"] == states[-1]["result"]["source"]["duration"]


def test_unsafe_key_fails_with_invalid_payload(caller: Caller) -> None:
    task_id = caller.send(
        "transcode.convert_video",
        job_id="job-2",
        source_key="sources/../outputs/x",
        contract_version=2,
    )
    failure = caller.wait(task_id, until=FINAL_STATES)[-1]
    assert failure["status"] == "FAILURE"
    assert failure["result"]["exc_type"] == "InvalidPayload"
    assert failure["result"]["exc_message"] == [
        "The source_key 'sources/../outputs/x' contains a '..' segment."
    ]


def test_a_v1_message_fails_with_a_sentence_that_says_so(caller: Caller) -> None:
    task_id = caller.send("transcode.convert_video", job_id="job-v1", source_path="sources/a.mp4")
    failure = caller.wait(task_id, until=FINAL_STATES)[-1]
    assert failure["status"] == "FAILURE"
    assert failure["result"]["exc_type"] == "InvalidPayload"
    assert failure["result"]["exc_message"] == [
        "This is a contract v1 message: it has 'source_path', a file on a shared disk. "
        "This worker speaks contract v2 and needs 'source_key', the key of the source "
        'in the bucket (docs/messages.md, "Upgrading from v1").'
    ]


def test_pickle_message_is_refused_and_never_run(
    caller: Caller, worker: WorkerProcess, seaweed: SeaweedStore, sources: SourceKeys
) -> None:
    task_id = uuid.uuid4().hex
    job_id = new_job_id("pickled")
    # A well-formed Celery protocol 2 message, except that it is pickled.
    producer = Producer(caller.connection.default_channel)
    producer.publish(
        ((), {"job_id": job_id, "source_key": sources["clip.mp4"], "contract_version": 2}, {}),
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
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    _, waiting, _ = TRANSCODE_QUEUE(caller.connection.default_channel).queue_declare(passive=True)
    assert waiting == 0


# Last in this module: it stops the worker the tests above share.
def test_worker_stops_on_sigterm_with_its_children(worker: WorkerProcess) -> None:
    children = worker.children()
    assert children, "a prefork worker has pool processes"
    worker.stop()
    assert worker.returncode is not None
    assert not [pid for pid in children if process_alive(pid)]
