"""The seed pattern: one queue per worker type, routed by task-name prefix.

A second kind of worker consumes its own queue. Transcode tasks sent at the
same time never reach it, and its own tasks never reach the transcoder.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from kombu import Exchange, Queue

from tests.support.celery_client import bare_client
from tests.support.processes import ManagedProcess

OTHER_WORKER = Path(__file__).with_name("other_worker.py")
THUMBNAIL_QUEUE = Queue(
    "thumbnail_queue", Exchange("thumbnail_queue", type="direct"), routing_key="thumbnail_queue"
)


def test_a_worker_on_another_queue_never_receives_transcode_tasks(stack, clip_10s, tmp_path):
    other = ManagedProcess(
        name="other-worker",
        argv=[
            sys.executable,
            "-m",
            "celery",
            "--app",
            "other_worker",
            "worker",
            "--queues",
            "thumbnail_queue",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--hostname",
            f"other-{uuid.uuid4().hex[:6]}@%h",
        ],
        cwd=OTHER_WORKER.parent,
        env={**stack.env, "PYTHONPATH": str(OTHER_WORKER.parent)},
        log_path=tmp_path / "other-worker.log",
    ).start()
    try:
        client = bare_client(stack.broker_url)
        client.conf.task_routes = {
            "transcode.*": {"queue": "transcode_queue"},
            "thumbnail.*": {"queue": "thumbnail_queue"},
        }
        client.conf.task_queues = [*client.conf.task_queues, THUMBNAIL_QUEUE]
        jobs = []
        for n in range(3):
            job_id = f"seed-{uuid.uuid4().hex[:8]}-{n}"
            stack.store.put_file(f"sources/{job_id}.mp4", clip_10s)
            jobs.append(
                client.send_task(
                    "transcode.convert_video",
                    kwargs={
                        "job_id": job_id,
                        "source_key": f"sources/{job_id}.mp4",
                        "profiles": ["480p"],
                        "contract_version": 2,
                    },
                )
            )
        thumb = client.send_task("thumbnail.echo", kwargs={"value": "hello"})
        assert thumb.get(timeout=60) == {"echo": "hello"}
        for job in jobs:
            assert job.get(timeout=240)["outputs"][0]["profile"] == "480p"
        client.close()
    finally:
        other.stop()
    log = other.log_text()
    assert "thumbnail.echo" in log
    assert "transcode." not in log
    if "worker" in stack.processes:  # an external stack's logs are not ours to read
        assert "thumbnail." not in stack.processes["worker"].log_text()
