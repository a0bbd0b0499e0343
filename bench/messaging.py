"""2. Messaging floor: `transcode.ping` by name, its reply on a fixed queue,
against a plain Celery call and raw kombu round trips on the same broker,
interleaved sample by sample (issue 13).

- system: the contract client (`tests.support.celery_client.bare_client`)
  configured like the web's producer (no result backend of its own: the web's
  Celery app has none) sends `transcode.ping` by name with `reply_to=<fixed
  durable queue>`; the worker replies SUCCESS; the clock stops when it is consumed.
- baseline (judged, ≤ 1.10): a plain Celery app of the bench's own with a
  trivial task (bench/plain_celery.py: Celery's defaults, rpc:// backend), its
  worker started here, timed as `task.delay().get()`: what Celery costs anyone.
- baseline (judged, ≤ 3×): raw kombu request → echo process
  (bench/echo_server.py) → reply to a fixed queue: the same two hops with no
  Celery on either end, persistent messages on durable queues like the contract's.
- context: the same ping from a client with bare_client's own `rpc://`
  backend, which re-declares its reply queue on every send_task.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from kombu import Connection, Consumer, Producer, Queue

from bench.harness import Bench
from bench.plain_celery import TASK, app_make
from bench.table import Row, fmt, percentile, ratios, verdict
from tests.support.celery_client import bare_client
from tests.support.processes import ManagedProcess
from tests.support.stack import REPO

PING_REPLIES = "bench.ping_replies"
ECHO_REQUESTS = "bench.echo_requests"
ECHO_REPLIES = "bench.echo_replies"


class Replies:
    """One consumer connection for every reply queue; arrival time per correlation id."""

    def __init__(self, broker_url: str) -> None:
        self.conn = Connection(broker_url)
        self.channel = self.conn.channel()
        self.arrived: dict[str, float] = {}
        queues = [Queue(name, durable=True) for name in (PING_REPLIES, ECHO_REPLIES)]
        for queue in queues:
            queue(self.channel).declare()
        self.consumer = Consumer(self.channel, queues=queues, callbacks=[self._on], accept=["json"])
        self.consumer.consume()

    def _on(self, body, message) -> None:
        now = time.perf_counter()
        # Only a final state ends a trip (a task may report STARTED first).
        status = body.get("status") if isinstance(body, dict) else None
        if status in (None, "SUCCESS"):
            self.arrived[message.properties.get("correlation_id")] = now
        message.ack()

    def wait(self, cid: str, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while cid not in self.arrived:
            self.conn.drain_events(timeout=max(0.01, deadline - time.monotonic()))
        return self.arrived.pop(cid)

    def close(self) -> None:
        self.conn.release()


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    broker = bench.stack.broker_url
    replies = Replies(broker)
    echo = subprocess.Popen(
        [sys.executable, "-m", "bench.echo_server", broker, ECHO_REQUESTS],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # In its own session, like the services: stopping it ends its pool children too.
    plain_worker = ManagedProcess(
        name="plain-celery",
        argv=[sys.executable, "-m", "celery", "--app", "bench.plain_celery", "worker"]
        + ["--hostname", "bench-plain@%h"],
        cwd=REPO,
        env={**os.environ, "BROKER_URL": broker},
        log_path=bench.workdir / "plain-celery.log",
    ).start()
    plain = app_make(broker).tasks[TASK]
    client = bare_client(broker)
    # The web's producer app has no result backend; without one, send_task
    # does no per-send declaration of a private reply queue.
    client.conf.result_backend = "disabled"
    rpc_client = bare_client(broker)
    pub = Connection(broker)
    sent: list[float] = []
    producer = Producer(pub.channel())
    try:
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        plain.delay().get(timeout=60)  # the plain worker is up
        ping_queue = Queue(PING_REPLIES, durable=True)

        def ping(sender=client, record: bool = True) -> float:
            cid = str(uuid.uuid4())
            start = time.perf_counter()
            sender.send_task(
                "transcode.ping", task_id=cid, reply_to=PING_REPLIES, declare=[ping_queue]
            )
            if record:
                sent.append((time.perf_counter() - start) * 1000)
            return replies.wait(cid) - start

        def plain_call() -> float:
            start = time.perf_counter()
            plain.delay().get(timeout=30)
            return time.perf_counter() - start

        def echo_call() -> float:
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
            return replies.wait(cid) - start

        kinds = {
            "ping": ping,
            "plain": plain_call,
            "echo": echo_call,
            "ping_rpc": lambda: ping(rpc_client, record=False),
        }
        for _ in range(10):  # warm-up: connections, declarations, pool processes
            for fn in kinds.values():
                fn()
        runs: list[dict[str, list[float]]] = []
        for r in range(p.ping_runs):
            samples: dict[str, list[float]] = {k: [] for k in kinds}
            names = list(kinds)
            for i in range(p.ping_per_run):
                shift = (i + r) % len(names)  # rotate who goes first
                for name in names[shift:] + names[:shift]:
                    samples[name].append(kinds[name]() * 1000)
            runs.append(samples)
    finally:
        client.close()
        rpc_client.close()
        plain.app.close()
        pub.release()
        replies.close()
        echo.terminate()
        echo.wait(timeout=10)
        plain_worker.stop()
    bench.raw["messaging"] = {"runs": runs, "send_task_ms": sent}

    def p50(kind: str) -> list[float]:
        return [percentile(run[kind], 50) for run in runs]

    def p99(kind: str) -> list[float]:
        return [percentile(run[kind], 99) for run in runs]

    ping50, plain50, echo50 = p50("ping"), p50("plain"), p50("echo")
    vs_plain, vs_echo = ratios(ping50, plain50), ratios(ping50, echo50)
    n = f"{p.ping_runs}×{p.ping_per_run}"
    return [
        Row(
            "2",
            f"`transcode.ping` by name, reply on fixed queue: p50 ({n})",
            fmt(ping50, "ms"),
            fmt(plain50, "ms") + " (plain Celery app: `task.delay().get()`, rpc:// backend)",
            fmt(vs_plain),
            "≤ 1.10",
            verdict(vs_plain, lambda x: x <= 1.10),
        ),
        Row(
            "2",
            "`transcode.ping` p50 vs raw kombu",
            fmt(ping50, "ms"),
            fmt(echo50, "ms") + " (raw kombu echo, 2 hops)",
            fmt(vs_echo),
            "≤ 3×",
            verdict(vs_echo, lambda x: x <= 3),
        ),
        Row(
            "2",
            "`transcode.ping` p50, absolute",
            fmt(ping50, "ms"),
            "—",
            "—",
            "< 10 ms",
            verdict(ping50, lambda x: x < 10),
        ),
        Row(
            "2",
            "· p99 vs plain Celery / vs raw kombu echo",
            fmt(p99("ping"), "ms"),
            f"{fmt(p99('plain'), 'ms')} / {fmt(p99('echo'), 'ms')}",
            f"{fmt(ratios(p99('ping'), p99('plain')))} / {fmt(ratios(p99('ping'), p99('echo')))}",
        ),
        Row(
            "2",
            "· ping timeline p50: send_task returned / reply consumed",
            f"{percentile(sent, 50):.2f} / {percentile([x for r in runs for x in r['ping']], 50):.2f} ms",
        ),
        Row(
            "2",
            "· same ping from a client with its own `rpc://` backend: p50",
            fmt(p50("ping_rpc"), "ms"),
            fmt(ping50, "ms") + " (web-style sender)",
            fmt(ratios(p50("ping_rpc"), ping50)),
        ),
    ]
