"""`transcode.ping` round trip with the stock worker and with worker variants,
each next to the raw-kombu echo baseline of bench/messaging.py.

    .venv/bin/python -m bench.experiments.ping_variants [--samples 300] [--rounds 2]

Variants (the worker's code untouched; the app module or a CLI flag changes):
- stock: `celery --app transcoder.worker worker` as in the Procfile;
- untracked ping: bench/experiments/worker_ping_untracked.py sets
  track_started=False on `transcode.ping` only (no STARTED message first);
- solo pool: `--pool solo` (no prefork IPC; not an option for the real
  worker, shown as the floor of the Celery worker itself).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kombu import Connection, Producer, Queue

from bench.messaging import ECHO_REPLIES, ECHO_REQUESTS, PING_REPLIES, Replies
from tests.support.celery_client import bare_client
from tests.support.processes import ManagedProcess
from tests.support.stack import REPO, stack_running

CELERY = REPO / "transcoder_service" / ".venv" / "bin" / "celery"
VARIANTS = {
    "stock": ("transcoder.worker", []),
    "untracked ping": ("bench.experiments.worker_ping_untracked", []),
    "solo pool": ("transcoder.worker", ["--pool", "solo"]),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-exp-"))
    try:
        return _main(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _main(workdir: Path, args: argparse.Namespace) -> int:
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with stack_running(workdir, start=("web", "collector")) as stack:
        broker = stack.broker_url
        replies = Replies(broker)
        echo = subprocess.Popen(
            [sys.executable, "-m", "bench.echo_server", broker, ECHO_REQUESTS],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        client = bare_client(broker)
        client.conf.result_backend = "disabled"
        producer = Producer(Connection(broker).channel())
        queue = Queue(PING_REPLIES, durable=True)

        def ping() -> float:
            cid = str(uuid.uuid4())
            start = time.perf_counter()
            client.send_task("transcode.ping", task_id=cid, reply_to=PING_REPLIES, declare=[queue])
            return (replies.wait(cid) - start) * 1000

        def echo_once() -> float:
            cid = str(uuid.uuid4())
            start = time.perf_counter()
            producer.publish(
                {"n": cid},
                routing_key=ECHO_REQUESTS,
                correlation_id=cid,
                reply_to=ECHO_REPLIES,
                serializer="json",
                delivery_mode=2,
            )
            return (replies.wait(cid) - start) * 1000

        try:
            for r in range(args.rounds):
                names = list(VARIANTS)
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    app, extra = VARIANTS[name]
                    worker = ManagedProcess(
                        name=f"worker-{r}",
                        cwd=REPO / "transcoder_service",
                        argv=[
                            str(CELERY),
                            "--app",
                            app,
                            "worker",
                            "--queues",
                            "transcode_queue",
                            "--loglevel",
                            "INFO",
                            *extra,
                        ],
                        env={**stack.env, "PYTHONPATH": str(REPO)},
                        log_path=workdir / "worker.log",
                    ).start()
                    try:
                        stack.wait_worker()
                        for _ in range(20):
                            ping()
                            echo_once()
                        pings, echoes = [], []
                        for _ in range(args.samples):
                            pings.append(ping())
                            echoes.append(echo_once())
                        ratio = statistics.median(pings) / statistics.median(echoes)
                        results[name].append(ratio)
                        print(
                            f"{name:>15}: ping p50 {statistics.median(pings):.2f} ms, "
                            f"echo p50 {statistics.median(echoes):.2f} ms, ratio {ratio:.2f}",
                            flush=True,
                        )
                    finally:
                        worker.stop()
        finally:
            echo.terminate()
            replies.close()
    for name, values in results.items():
        print(
            f"{name:>15}: ping/echo p50 ratio, median {statistics.median(values):.2f} "
            f"[{min(values):.2f}–{max(values):.2f}]"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
