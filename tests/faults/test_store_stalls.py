"""A store that stalls instead of failing: it hangs, answers 5xx, or is frozen.

test_storage_outages.py cuts the store off, which a client notices at once
(refused, reset). These faults give no such signal: a store that accepts
connections and never answers, one that answers every request with 500
InternalError or 503 SlowDown, and a store process stopped with SIGSTOP
mid-upload. Only the services' own limits end them: S3_CONNECT_TIMEOUT and
S3_READ_TIMEOUT per request, botocore's 3 tries with backoff, then the
worker's task retries (STORAGE_RETRY_DELAY, doubling). docs/storage.md,
"When the store stalls", gives the bound each test holds a service to: were
a timeout missing (or left at 60 s), these tests fail by their deadline.

Each fault is brought on while the job's bytes are seen crossing the line,
so it lands mid-transfer, and each job must then complete once the store is
back, with one SUCCESS and whole outputs.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.support.api import ApiClient
from tests.support.object_store import SeaweedFS
from tests.support.observe import db_rows, job_of, wait_until
from tests.support.processes import descendants, ffmpeg_pids
from tests.support.stack import Stack
from tests.support.tcp_line import TcpLine

CONNECT_TIMEOUT, READ_TIMEOUT = 1, 2  # seconds, short so the suite stays short
TIMEOUTS = {"S3_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT), "S3_READ_TIMEOUT": str(READ_TIMEOUT)}
# docs/storage.md, "When the store stalls". One request: connect, botocore's
# 1 s wait for "100 Continue" before an upload's body, then silence.
REQUEST_GIVES_UP = CONNECT_TIMEOUT + 1 + READ_TIMEOUT
# One call: botocore's 3 tries, with at most 1 + 2 s of backoff between them.
CALL_GIVES_UP = 3 * REQUEST_GIVES_UP + 1 + 2
# One attempt of a job: its uploads (the calls running when the store
# stalled, then those the upload threads had already picked up), then the
# best-effort removal of its attempt's objects and of its attempt marker.
JOB_GIVES_UP = 4 * CALL_GIVES_UP
SLACK = 5  # a loaded machine's scheduling, process start-up, our polling
SLOW_LINE = 64 * 1024  # bytes a second: the outputs take seconds to upload


def test_a_store_that_never_answers_mid_upload_is_given_up_in_time_and_the_job_completes(
    object_store, store_line, start_stack, make_clip
):
    stack = _worker_stack(start_stack, object_store, store_line)
    api, video_id, job_id = _uploading(stack, store_line, make_clip(seconds=6))
    worker = stack.processes["worker"]

    store_line.hang()
    hung = time.monotonic()
    first_failure = _seen(
        lambda: "Read timeout on endpoint URL" in worker.log_text(),
        since=hung,
        timeout=CALL_GIVES_UP + SLACK,
        what="the worker's request to the hung store timed out",
        stack=stack,
    )
    gave_up = _seen(
        lambda: f"convert_video[{job_id}] retry" in worker.log_text(),
        since=hung,
        timeout=JOB_GIVES_UP + SLACK,
        what="the worker gave the attempt up and scheduled a retry",
        stack=stack,
    )
    assert "StorageError" in worker.log_text()
    assert api.video(video_id)["status"] == "processing"

    store_line.forward()
    store_line.throttle(None)
    _completes_once(stack, api, video_id, job_id)
    print(
        f"hung store: first request gave up after {first_failure:.1f} s, job after {gave_up:.1f} s"
    )


# 503 SlowDown here, 500 InternalError for the web below: both are 5xx to
# botocore and to each service's error mapping, so one each keeps the suite short.
@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown")])
def test_a_store_answering_5xx_mid_upload_is_retried_with_backoff_and_the_job_completes(
    object_store, store_line, start_stack, make_clip, status, code
):
    stack = _worker_stack(start_stack, object_store, store_line)
    api, video_id, job_id = _uploading(stack, store_line, make_clip(seconds=6))
    worker = stack.processes["worker"]

    store_line.http_error(status, code)
    failing = time.monotonic()
    # Two task retries, 1 s then 2 s apart (STORAGE_RETRY_DELAY=1, doubling):
    # the second delivery meets the errors too, before it downloads anything.
    _seen(
        lambda: "Retry in 1.0s" in worker.log_text(),
        since=failing,
        timeout=JOB_GIVES_UP + SLACK,
        what="the first retry, after 1 s",
        stack=stack,
    )
    _seen(
        lambda: "Retry in 2.0s" in worker.log_text(),
        since=failing,
        timeout=2 * JOB_GIVES_UP + 1 + SLACK,
        what="the second retry, after 2 s",
        stack=stack,
    )
    # The store's own code reaches the log, for whoever looks at the job.
    assert f"({code})" in worker.log_text()
    assert api.video(video_id)["status"] == "processing"

    store_line.forward()
    store_line.throttle(None)
    _completes_once(stack, api, video_id, job_id)


def test_a_store_process_stopped_mid_upload_is_given_up_and_the_job_completes_after_it_continues(
    object_store, store_line, start_stack, make_clip
):
    stack = _worker_stack(start_stack, object_store, store_line)
    api, video_id, job_id = _uploading(stack, store_line, make_clip(seconds=6))
    worker = stack.processes["worker"]

    with _stopped(object_store):
        gave_up = _seen(
            lambda: f"convert_video[{job_id}] retry" in worker.log_text(),
            since=time.monotonic(),
            timeout=JOB_GIVES_UP + SLACK,
            what="the worker gave the frozen store up and scheduled a retry",
            stack=stack,
        )
        assert "Read timeout on endpoint URL" in worker.log_text()
    # Once it continues, the store works through what it had queued,
    # requests of the abandoned attempt included; that attempt must not win.
    store_line.throttle(None)
    _completes_once(stack, api, video_id, job_id)
    print(f"stopped store: the attempt was given up after {gave_up:.1f} s")


@pytest.mark.parametrize("fault", ["hang", "500 InternalError"])
def test_an_upload_to_a_stalled_store_is_refused_with_503_within_the_timeouts(
    object_store, store_line, start_stack, make_clip, fault
):
    # The web alone, its store behind the line.
    stack = start_stack(
        start=("web",), store=object_store, store_lines={"web": store_line}, **TIMEOUTS
    )
    api = ApiClient(stack.base_url)
    # 12 MiB of 40: the web streams them to the store in 8 MiB parts, two in
    # flight at most, so the third part waits for the first, which meets the fault.
    declared, sent = 40 * 1024 * 1024, 12 * 1024 * 1024
    sock = api.upload_started(declared_bytes=declared, sent_bytes=sent)
    wait_until(
        lambda: store_line.carried["to_server"] > 4 * 1024 * 1024,
        timeout=60,
        what="the web is uploading a part to the store",
        diagnostics=lambda: str(store_line.carried),
    )
    if fault == "hang":
        store_line.hang()
    else:
        store_line.http_error(500, "InternalError")
    stalled = time.monotonic()
    # The rest of the body, from a thread: the web may stop reading it.
    threading.Thread(target=_send_rest, args=(sock, declared - sent), daemon=True).start()
    # The part in flight, then the abort of the multipart upload: two calls.
    sock.settimeout(2 * CALL_GIVES_UP + SLACK)
    answer = _http_answer(sock)
    elapsed = time.monotonic() - stalled

    assert answer.startswith(b"HTTP/1.1 503"), answer[:300]
    assert b"nothing was saved" in answer
    assert elapsed <= 2 * CALL_GIVES_UP + SLACK, elapsed
    assert db_rows(stack.database_url, "SELECT id FROM videos_video") == []
    store_line.forward()
    assert stack.store.objects() == {}
    # The abort met the stalled store as well: the upload the web could not
    # abort is logged for the collector's sweep (tests/faults/test_web_crash.py).
    left = stack.store.multipart_uploads()
    assert left == [] or "the sweep will" in stack.processes["web"].log_text(), left
    sock.close()
    # And uploads work again as soon as the store does.
    accepted = api.upload(make_clip(seconds=3), title="after the store came back")
    assert accepted.status_code == 201, accepted.text
    print(f"web, {fault}: 503 after {elapsed:.1f} s")


# ---- helpers -------------------------------------------------------------------


def _worker_stack(start_stack, object_store: SeaweedFS, store_line: TcpLine) -> Stack:
    return start_stack(
        store=object_store,
        store_lines={"worker": store_line},
        TRANSCODER_CONCURRENCY="1",
        STORAGE_RETRY_DELAY="1",
        PROGRESS_INTERVAL="0.2",
        **TIMEOUTS,
    )


def _uploading(stack: Stack, line: TcpLine, clip) -> tuple[ApiClient, str, str]:
    """Upload `clip` and return once the worker's outputs are seen crossing `line`."""
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    video_id = api.upload(clip).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="ffmpeg runs the job"
    )
    # The source is downloaded already: from now on only the upload is slow.
    line.throttle(SLOW_LINE)
    wait_until(
        lambda: api.video(video_id)["stage"] == "uploading",
        timeout=120,
        interval=0.05,
        what="the worker is uploading the outputs",
    )
    before = line.carried["to_server"]
    wait_until(
        lambda: line.carried["to_server"] > before + 16 * 1024,
        timeout=30,
        interval=0.05,
        what="output bytes cross the line",
    )
    return api, video_id, job_id


def _seen(
    condition: Callable[[], object], *, since: float, timeout: float, what: str, stack: Stack
) -> float:
    """Seconds from `since` until `condition` holds; fails past `timeout`."""
    wait_until(
        condition,
        timeout=timeout - (time.monotonic() - since),
        interval=0.1,
        what=f"{what} within {timeout} s",
        diagnostics=lambda: stack.logs("worker"),
    )
    return time.monotonic() - since


def _completes_once(stack: Stack, api: ApiClient, video_id: str, job_id: str) -> None:
    """Ready, one SUCCESS, the manifest's objects whole, no unfinished upload."""
    final, _ = api.wait_final(video_id, timeout=180)
    assert final["status"] == "ready", final
    results = db_rows(
        stack.database_url,
        "SELECT status FROM django_celery_results_taskresult WHERE task_id = %s",
        [job_id],
    )
    assert results == [{"status": "SUCCESS"}], results
    assert "ignoring late SUCCESS" not in stack.processes["collector"].log_text()
    manifest = stack.store.manifest(job_id)
    assert (
        manifest["result"]["outputs"] == job_of(stack.database_url, video_id)["result"]["outputs"]
    )
    # Every object named by the manifest comes from one attempt, and nothing
    # else is left: what the attempt that gave up could not remove itself
    # went when the winner's manifest was written.
    named = stack.store.manifest_keys(job_id)
    assert len({key.split("/")[2] for key in named}) == 1, named
    stack.store.assert_job_outputs_whole(job_id)


@contextmanager
def _stopped(store: SeaweedFS) -> Iterator[None]:
    """The store's processes SIGSTOPped for the block, SIGCONTed after it, whatever happens."""
    assert store.process is not None
    pids = [store.process.pid, *descendants(store.process.pid)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _send_rest(sock: socket.socket, size: int) -> None:
    chunk = b"\0" * (1 << 20)
    try:
        for offset in range(0, size, len(chunk)):
            sock.sendall(chunk[: size - offset])
    except OSError:
        return  # the web answered and closed without reading it all


def _http_answer(sock: socket.socket) -> bytes:
    answer = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return answer
        answer += data
        if b"\r\n\r\n" in answer and b"}" in answer:
            return answer
