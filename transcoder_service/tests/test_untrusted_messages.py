"""A real worker against messages a caller should not be trusted with (transcoder/guards.py).

Time limits, schedules and compression are the worker's to decide, and a
job that kills every worker that opens it must stop (transcoder/attempts.py).
Each test plays the caller with nothing but Celery or raw kombu.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from kombu import Producer

from .broker import FINAL_STATES, TRANSCODE_QUEUE, Caller, running_worker
from .clips import SourceKeys, silent_clip
from .processes import ffmpeg_pid_pattern, process_alive, process_stat
from .seaweed import SeaweedStore
from .support import keys_under, new_job_id, source_put
from .worker_process import WorkerProcess

pytestmark = pytest.mark.broker

SOFT_TIME_LIMIT = 6
# A zlib bomb: this many zero bytes compress to about a thousandth of it.
BOMB_BYTES = 512 * 1024**2


@pytest.fixture(scope="module")
def worker(
    broker_url: str, seaweed: SeaweedStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    env = {
        **seaweed.transcoder_env(),
        "SCRATCH_DIR": str(tmp_path_factory.mktemp("guarded") / "scratch"),
        "FFMPEG_THREADS": "1",
        "TRANSCODE_SOFT_TIME_LIMIT": str(SOFT_TIME_LIMIT),
        "TRANSCODE_TIME_LIMIT": str(SOFT_TIME_LIMIT * 2),
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


@pytest.fixture(scope="module")
def slow_source(seaweed: SeaweedStore, tmp_path_factory: pytest.TempPathFactory) -> str:
    """120 s at 1280x720: one ffmpeg thread needs about 3x SOFT_TIME_LIMIT for it.

    At 640x360 a quiet machine encoded it in 5.6 s, inside the limit: too
    close for a test that must see the limit hit.
    """
    path = tmp_path_factory.mktemp("slow") / "slow.mp4"
    silent_clip(path, size="1280x720", seconds=120)
    return source_put(seaweed, path)


def convert_kwargs(source_key: str, job_id: str | None = None) -> dict[str, object]:
    return {"job_id": job_id or new_job_id(), "source_key": source_key, "contract_version": 2}


def queue_counts(broker_url: str) -> tuple[int, int]:
    """(ready, unacknowledged) messages in transcode_queue, as RabbitMQ counts them."""
    vhost = urlparse(broker_url).path.lstrip("/") or "/"
    output = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            vhost,
            "name",
            "messages_ready",
            "messages_unacknowledged",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for line in output.splitlines():
        fields = line.split()
        if fields and fields[0] == "transcode_queue":
            return int(fields[1]), int(fields[2])
    raise AssertionError(f"no transcode_queue in {output!r}")


def test_a_caller_cannot_shorten_the_time_limits(caller: Caller, sources: SourceKeys) -> None:
    task_id = caller.send_with_options(
        "transcode.convert_video",
        kwargs=convert_kwargs(sources["clip.mp4"]),
        soft_time_limit=0.05,
        time_limit=0.1,
    )
    final = caller.wait(task_id, until=FINAL_STATES, timeout=90)[-1]
    assert final["status"] == "SUCCESS", final


def test_a_caller_cannot_lengthen_the_time_limits(caller: Caller, slow_source: str) -> None:
    started = time.monotonic()
    task_id = caller.send_with_options(
        "transcode.convert_video",
        kwargs=convert_kwargs(slow_source),
        soft_time_limit=100000,
        time_limit=100000,
    )
    final = caller.wait(task_id, until=FINAL_STATES, timeout=120)[-1]
    assert final["status"] == "FAILURE", final
    assert final["result"]["exc_type"] == "TranscodeTimeout"
    assert final["result"]["exc_message"] == [
        f"The transcode took longer than {SOFT_TIME_LIMIT} s."
    ]
    assert time.monotonic() - started < SOFT_TIME_LIMIT * 4


def test_a_scheduled_job_is_refused_at_once_and_not_held(
    caller: Caller, broker_url: str, sources: SourceKeys, seaweed: SeaweedStore
) -> None:
    kwargs = convert_kwargs(sources["clip.mp4"])
    task_id = caller.send_with_options("transcode.convert_video", kwargs=kwargs, countdown=3600)
    final = caller.wait(task_id, until=FINAL_STATES, timeout=15)[-1]
    assert final["status"] == "FAILURE"
    assert final["result"]["exc_type"] == "InvalidPayload"
    assert final["result"]["exc_message"] == [
        "This worker does not accept scheduled jobs (eta/countdown): "
        "send the job when it should run."
    ]
    assert queue_counts(broker_url) == (0, 0)
    assert keys_under(seaweed, f"outputs/{kwargs['job_id']}/") == {}


def test_a_retry_that_claims_a_long_eta_is_refused_too(
    caller: Caller, broker_url: str, sources: SourceKeys
) -> None:
    # A spoofed `retries` header may carry an ETA, but only as far ahead as
    # the worker's own longest retry delay: not an hour.
    task_id = caller.send_with_options(
        "transcode.convert_video",
        kwargs=convert_kwargs(sources["clip.mp4"]),
        countdown=3600,
        retries=1,
    )
    final = caller.wait(task_id, until=FINAL_STATES, timeout=15)[-1]
    assert final["result"]["exc_type"] == "InvalidPayload"
    assert queue_counts(broker_url) == (0, 0)


def peak_memory_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_a_compressed_message_is_refused_without_decompressing(
    caller: Caller, worker: WorkerProcess, broker_url: str, sources: SourceKeys
) -> None:
    compressor = zlib.compressobj(9)
    chunk = bytes(16 * 1024**2)
    bomb = b"".join(compressor.compress(chunk) for _ in range(BOMB_BYTES // len(chunk)))
    bomb += compressor.flush()
    before = peak_memory_kib(worker.process.pid)
    task_id = uuid.uuid4().hex
    producer = Producer(caller.connection.default_channel)
    producer.publish(
        bomb,
        content_type="application/json",
        content_encoding="utf-8",
        headers={
            "lang": "py",
            "task": "transcode.convert_video",
            "id": task_id,
            "compression": "application/x-gzip",
        },
        exchange=TRANSCODE_QUEUE.exchange,
        routing_key="transcode_queue",
        correlation_id=task_id,
        reply_to=caller.reply_queue.name,
    )
    worker.wait_for_log("Refusing a compressed message")
    # Acknowledged (dropped), and the worker still serves: a ping after it is answered.
    caller.wait(caller.send("transcode.ping"), until=FINAL_STATES)
    assert task_id not in caller.replies
    assert queue_counts(broker_url) == (0, 0)
    # Decompressed, the bomb alone would have added BOMB_BYTES to the peak.
    assert peak_memory_kib(worker.process.pid) - before < 64 * 1024


def test_a_job_that_kills_its_worker_every_time_stops_after_three(
    caller: Caller,
    worker: WorkerProcess,
    broker_url: str,
    seaweed: SeaweedStore,
    slow_source: str,
) -> None:
    kwargs = convert_kwargs(slow_source)
    job_id = str(kwargs["job_id"])
    task_id = caller.send_with_options("transcode.convert_video", kwargs=kwargs)
    pid_line = ffmpeg_pid_pattern(job_id=job_id)
    killed: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = caller.replies.get(task_id, [])
        if states and states[-1]["status"] in FINAL_STATES:
            break
        for match in pid_line.finditer(worker.log_text()):
            ffmpeg_pid = int(match.group(1))
            if ffmpeg_pid in killed:
                continue
            killed.append(ffmpeg_pid)
            # What the OOM killer does: SIGKILL to the pool process itself.
            os.kill(int(process_stat(ffmpeg_pid)[1]), signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            caller.connection.drain_events(timeout=0.2)
    final = caller.replies[task_id][-1]
    assert final["status"] == "FAILURE", caller.replies[task_id]
    assert final["result"]["exc_type"] == "WorkerCrashed"
    assert final["result"]["exc_message"] == [
        "The worker crashed 3 times while working on this file; it was not tried again."
    ]
    assert len(killed) == 3
    assert not [pid for pid in killed if process_alive(pid)]
    # No fourth run of ffmpeg, nothing left in the queue, no markers left.
    time.sleep(3)
    assert len(pid_line.findall(worker.log_text())) == 3
    assert queue_counts(broker_url) == (0, 0)
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    statuses = [state["status"] for state in caller.replies[task_id]]
    assert statuses.count("STARTED") == 4
