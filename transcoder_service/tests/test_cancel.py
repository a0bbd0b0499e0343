"""Cancelling a job with the contract's cancel message (docs/messages.md, "Cancelling a job").

A real worker, started as ./Procfile says, against a real RabbitMQ; the test
publishes what the web publishes, through `tests.broker.Caller`. The web no
longer uses Celery's remote control (transcoder/cancel.py says why), which
stays for an operator.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .broker import FINAL_STATES, Caller, running_worker
from .clips import SourceKeys
from .processes import process_alive
from .seaweed import SeaweedStore
from .support import keys_under, new_job_id, scratch_entries, source_put
from .worker_process import WorkerProcess

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def worker_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cancel") / "scratch"


@pytest.fixture(scope="module")
def worker(broker_url: str, seaweed: SeaweedStore, worker_scratch: Path) -> Iterator[WorkerProcess]:
    env = {
        **seaweed.transcoder_env(),
        "SCRATCH_DIR": str(worker_scratch),
        "PROGRESS_INTERVAL": "0",
        "FFMPEG_THREADS": "1",  # slow enough to be interrupted
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


def test_a_cancel_kills_the_running_job_its_ffmpeg_and_its_scratch(
    caller: Caller,
    worker: WorkerProcess,
    seaweed: SeaweedStore,
    worker_scratch: Path,
    long_clip: Path,
) -> None:
    job_id = new_job_id("long")
    source = source_put(seaweed, long_clip)
    task_id = caller.send(
        "transcode.convert_video", job_id=job_id, source_key=source, contract_version=2
    )
    # Well into the transcode: ffmpeg runs and the attempt's scratch exists.
    caller.wait(task_id, until={"PROGRESS"}, percent_above=10)
    ffmpeg_pid = worker.wait_for_ffmpeg_pid(job_id)
    assert process_alive(ffmpeg_pid)
    assert [name.split(".")[0] for name in scratch_entries(worker_scratch)] == [job_id]

    # What the web's "cancel" sends; the task id is the web's job id.
    caller.cancel(task_id)
    assert caller.wait(task_id, until=FINAL_STATES)[-1]["status"] == "REVOKED"
    deadline = time.monotonic() + 10
    while (process_alive(ffmpeg_pid) or scratch_entries(worker_scratch)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert not process_alive(ffmpeg_pid)
    assert scratch_entries(worker_scratch) == []
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    # The pool replaced the process and the worker keeps serving.
    states = caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert states[-1]["status"] == "SUCCESS"


def test_a_job_cancelled_before_it_is_delivered_never_runs(
    caller: Caller, seaweed: SeaweedStore, sources: SourceKeys
) -> None:
    job_id = new_job_id("queued")
    task_id = f"task-{job_id}"
    caller.cancel(task_id)
    # Cancels and jobs travel different queues: a ping through the jobs'
    # queue proves nothing about the cancel's, so wait for its effect.
    time.sleep(1)
    caller.send_with_options(
        "transcode.convert_video",
        task_id=task_id,
        kwargs={"job_id": job_id, "source_key": sources["clip.mp4"], "contract_version": 2},
    )
    states = caller.wait(task_id, until=FINAL_STATES)
    assert [state["status"] for state in states] == ["REVOKED"]  # never STARTED
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}


# Each: the body for a job id, the publish options, what the worker logs.
MALFORMED = {
    "unsafe-id": (lambda _: {"job_id": "../x", "contract_version": 2}, {}, "'../x' is invalid"),
    "unknown-version": (
        lambda job: {"job_id": job, "contract_version": 1},
        {},
        "Contract version 1 is not supported",
    ),
    "extra-field": (
        lambda job: {"job_id": job, "contract_version": 2, "signal": "SIGKILL"},
        {},
        "unknown field(s): 'signal'",
    ),
    "not-an-object": (lambda job: [job], {}, "must be a JSON object, not a list"),
    "pickled": (
        lambda job: {"job_id": job, "contract_version": 2},
        {"serializer": "pickle"},
        "untrusted content of type pickle",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_cancel_is_refused_and_cancels_nothing(
    caller: Caller, worker: WorkerProcess, case: str
) -> None:
    body, options, logged = MALFORMED[case]
    job_id = new_job_id("kept")
    caller.cancel_publish(body(job_id), **options)
    worker.wait_for_log(re.escape(logged))
    # The id was not remembered as cancelled: a task with it still runs.
    sent = caller.send_with_options("transcode.ping", task_id=job_id, kwargs={})
    assert caller.wait(sent, until=FINAL_STATES)[-1]["status"] == "SUCCESS"


def test_an_operator_keeps_celerys_remote_control(caller: Caller, worker: WorkerProcess) -> None:
    # Flower and `celery inspect` (the admin user in docker-compose.yml), and
    # the transcoder's own health check (`inspect ping`).
    replies = caller.client.control.ping(timeout=5)
    assert replies
    assert all(reply == {"ok": "pong"} for answer in replies for reply in answer.values())
