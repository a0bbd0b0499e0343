"""The object store goes away, or crawls, and comes back (docs/storage.md).

Each outage is local to one test: the store is the test's own SeaweedFS, and
one process reaches it through a TCP line the test can cut (connections
reset, new ones refused, as a crashed store would) or slow down. The store
itself keeps running, so what it holds can be inspected at any time with
the tests' own keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.support.api import ApiClient
from tests.support.observe import db_rows, job_of, wait_until
from tests.support.processes import ffmpeg_pids
from tests.support.stack import Stack

RETRY_DELAY = "1"  # STORAGE_RETRY_DELAY: base of the worker's doubling countdown
SLOW_LINE = 64 * 1024  # bytes a second: uploading a few hundred kB of outputs takes seconds


def test_an_upload_while_the_store_is_down_is_refused_with_503_and_leaves_nothing(
    object_store, store_line, start_stack, make_clip
):
    # The web alone: no collector whose sweep could tidy up after it.
    stack = start_stack(start=("web",), store=object_store, store_lines={"web": store_line})
    api = ApiClient(stack.base_url)
    api.get("/api/videos/").raise_for_status()  # the CSRF cookie, fetched while all is well

    store_line.cut()
    refused = api.upload(make_clip(seconds=3), title="while the store is down")

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/json")
    error = refused.json()["error"].lower()
    # A sentence for a person: what failed, that nothing was kept, what to do...
    assert "storage" in error, error
    assert "nothing was saved" in error, error
    assert "try again" in error, error
    assert "Traceback" not in refused.text
    assert "botocore" not in refused.text
    assert db_rows(stack.database_url, "SELECT id FROM videos_video") == []
    assert db_rows(stack.database_url, "SELECT id FROM videos_transcodejob") == []

    store_line.open()
    # Nothing reached the store, and nothing waits to be finished there.
    assert stack.store.objects() == {}
    assert stack.store.multipart_uploads() == []
    # The web works again as soon as the store is back.
    accepted = api.upload(make_clip(seconds=3), title="after the store came back")
    assert accepted.status_code == 201, accepted.text
    assert len(stack.store.objects("sources/")) == 1


def test_a_store_lost_mid_transcode_is_retried_and_the_job_completes_when_it_returns(
    object_store, store_line, start_stack, make_clip
):
    stack = start_stack(
        store=object_store,
        store_lines={"worker": store_line},
        TRANSCODER_CONCURRENCY="1",
        STORAGE_RETRY_DELAY=RETRY_DELAY,
    )
    api, video_id, job_id = _uploaded_and_transcoding(stack, make_clip(seconds=10))
    worker = stack.processes["worker"]

    store_line.cut()
    # The upload after the encode fails; StorageError is retried, not final.
    wait_until(
        lambda: f"convert_video[{job_id}] retry" in worker.log_text(),
        timeout=90,
        what="the worker scheduled a retry of the job",
    )
    assert api.video(video_id)["status"] != "failed"
    assert stack.store.manifest(job_id) is None

    store_line.open()
    final, _ = api.wait_final(video_id, timeout=180)

    assert final["status"] == "ready", final
    assert "StorageError" in worker.log_text()  # the reason it was retried
    # Whole outputs, named by the manifest; the attempt that lost the store
    # left nothing half-uploaded behind.
    stack.store.assert_job_outputs_whole(job_id, strict=False)
    assert stack.store.multipart_uploads() == []


def test_a_worker_killed_while_uploading_publishes_nothing_and_a_restarted_worker_completes_the_job(
    object_store, store_line, start_stack, make_clip
):
    stack = start_stack(
        store=object_store,
        store_lines={"worker": store_line},
        TRANSCODER_CONCURRENCY="1",
        PROGRESS_INTERVAL="0.2",
    )
    api, video_id, job_id = _uploaded_and_transcoding(stack, make_clip(seconds=10))
    worker = stack.processes["worker"]
    # The source is downloaded already: from now on only the upload is slow.
    store_line.throttle(SLOW_LINE)
    wait_until(
        lambda: api.video(video_id)["stage"] == "uploading",
        timeout=120,
        interval=0.05,
        what="the worker is uploading the outputs",
    )

    worker.kill()  # the whole process group, mid-upload
    store_line.throttle(None)
    # While no worker runs, nothing of the job is published as final: not
    # now, and not once the dead worker's last bytes have drained to the store.
    _stays_absent(lambda: stack.store.manifest(job_id), seconds=3)
    assert api.video(video_id)["status"] == "processing"

    worker.start()
    final, _ = api.wait_final(video_id, timeout=180)

    assert final["status"] == "ready", final
    manifest = stack.store.manifest(job_id)
    assert (
        manifest["result"]["outputs"] == job_of(stack.database_url, video_id)["result"]["outputs"]
    )
    # Every key the manifest names is whole, and all come from one attempt.
    # The dead attempt's objects may remain beside them under their own
    # prefix: never named by a manifest, so never final.
    stack.store.assert_job_outputs_whole(job_id, strict=False)
    attempts = {key.split("/")[2] for key in stack.store.manifest_keys(job_id)}
    assert len(attempts) == 1, attempts


def _uploaded_and_transcoding(stack: Stack, clip: Path) -> tuple[ApiClient, str, str]:
    """Upload `clip`, then wait until the worker's ffmpeg runs its job: the
    source is downloaded, the outputs are not uploaded yet. (api, video, job)."""
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    video_id = api.upload(clip).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="ffmpeg runs the job"
    )
    return api, video_id, job_id


def _stays_absent(look: Callable[[], object], *, seconds: float) -> None:
    """`look()` returns None throughout `seconds` (an absence needs a window to be seen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert look() is None, "published while no worker ran"
        time.sleep(0.2)
