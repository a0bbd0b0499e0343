"""2. Messaging floor: `transcode.ping` by name, its reply on a fixed queue,
against a plain Celery call and raw kombu round trips on the same broker,
interleaved sample by sample.

- system: the contract client (`tests.support.celery_client.bare_client`)
  configured like the web's producer (no result backend of its own: the web's
  Celery app has none) sends `transcode.ping` by name with `reply_to=<fixed
  durable queue>`; the worker replies SUCCESS; the clock stops when it is consumed.
- baseline (judged, ≤ 1.10): a plain Celery app with a trivial task (`app`
  below: Celery's defaults throughout, prefork pool, rpc:// backend, nothing of
  the project's), its worker started here, timed as `task.delay().get()`:
  what Celery costs anyone.
- baseline (judged, ≤ 3×): raw kombu request → echo process (`echo_serve`
  below) → reply to a fixed queue: the same two hops with no Celery on either
  end, persistent messages on durable queues like the contract's.
- context: the same ping from a client with bare_client's own `rpc://`
  backend, which re-declares its reply queue on every send_task.

Both baselines' far ends run from this module, each in a process of its own:
`python -m celery --app bench.messaging worker` and
`python -m bench.messaging BROKER_URL REQUEST_QUEUE` (the echo).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid

from celery import Celery
from kombu import Connection, Consumer, Producer, Queue
from kombu.message import Message

from bench.harness import Bench, rounds_rotated
from bench.table import Row, compared, fmt, percentile, verdict
from tests.support.celery_client import bare_client
from tests.support.observe import wait_until
from tests.support.processes import ManagedProcess
from tests.support.stack import REPO

PING_REPLIES = "bench.ping_replies"
ECHO_REQUESTS = "bench.echo_requests"
ECHO_REPLIES = "bench.echo_replies"
MODULE = "bench.messaging"
# Persistent messages, as the contract's, on both ends of the echo.
PERSISTENT = {"serializer": "json", "delivery_mode": 2}
TASK = "bench.plain.ping"


def app_make(broker_url: str) -> Celery:
    app = Celery("bench_plain", broker=broker_url, backend="rpc://")

    @app.task(name=TASK, shared=False)  # each app its own: the client makes a second one
    def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


# For `celery --app bench.messaging worker`, which the bench starts with BROKER_URL set.
app = app_make(os.environ.get("BROKER_URL", "memory://"))


def echo_serve(*, broker_url: str, request_queue: str) -> None:
    with Connection(broker_url) as conn:
        channel = conn.channel()
        producer = Producer(channel)

        def on_message(body: object, message: Message) -> None:
            producer.publish(
                body,
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties["correlation_id"],
                **PERSISTENT,
            )
            message.ack()

        queue = Queue(request_queue, durable=True)
        consumer = Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"])
        consumer.qos(prefetch_count=1)
        consumer.consume()
        print("ready", flush=True)
        while True:
            conn.drain_events()


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


def baseline_start(bench: Bench, *, name: str, argv: list[str]) -> ManagedProcess:
    """A baseline's far end, in its own session: stopping it ends its pool children too."""
    return ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", *argv],
        cwd=REPO,
        env={**os.environ, "BROKER_URL": bench.stack.broker_url},
        log_path=bench.workdir / f"{name}.log",
    ).start()


def samples_take(bench: Bench, stack: contextlib.ExitStack) -> list[dict[str, list[float]]]:
    """Per run, each kind's round trips in ms, the kinds taking turns to go first."""
    p, broker = bench.params, bench.stack.broker_url
    replies = Replies(broker)
    stack.callback(replies.close)
    echo = baseline_start(bench, name="kombu-echo", argv=[MODULE, broker, ECHO_REQUESTS])
    stack.callback(echo.stop)
    plain_worker = baseline_start(
        bench,
        name="plain-celery",
        argv=["celery", "--app", MODULE, "worker", "--hostname", "bench-plain@%h"],
    )
    stack.callback(plain_worker.stop)
    plain = app_make(broker).tasks[TASK]
    stack.callback(plain.app.close)
    client = stack.enter_context(bare_client(broker))
    # The web's producer app has no result backend; without one, send_task
    # does no per-send declaration of a private reply queue.
    client.conf.result_backend = "disabled"
    rpc_client = stack.enter_context(bare_client(broker))
    producer = Producer(stack.enter_context(Connection(broker)).channel())
    wait_until(lambda: "\nready" in echo.log_text(), timeout=30, what="the kombu echo is up")
    plain.delay().get(timeout=60)  # the plain worker is up
    ping_queue = Queue(PING_REPLIES, durable=True)

    def ping(sender: Celery = client) -> float:
        cid = str(uuid.uuid4())
        start = time.perf_counter()
        sender.send_task("transcode.ping", task_id=cid, reply_to=PING_REPLIES, declare=[ping_queue])
        return replies.wait(cid) - start

    def plain_call() -> float:
        start = time.perf_counter()
        plain.delay().get(timeout=30)
        return time.perf_counter() - start

    def echo_call() -> float:
        cid = str(uuid.uuid4())
        start = time.perf_counter()
        to = {"routing_key": ECHO_REQUESTS, "correlation_id": cid, "reply_to": ECHO_REPLIES}
        producer.publish({"n": cid}, **to, **PERSISTENT)
        return replies.wait(cid) - start

    kinds = {
        "ping": ping,
        "plain": plain_call,
        "echo": echo_call,
        "ping_rpc": lambda: ping(rpc_client),
    }
    for _ in range(10):  # warm-up: connections, declarations, pool processes
        for call in kinds.values():
            call()
    runs = []
    for r in range(p.ping_runs):
        samples: dict[str, list[float]] = {k: [] for k in kinds}
        for order in rounds_rotated(list(kinds), repeats=p.pings_per_run, offset=r):
            for name in order:
                samples[name].append(kinds[name]() * 1000)
        runs.append(samples)
    return runs


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    with contextlib.ExitStack() as stack:
        runs = samples_take(bench, stack)
    bench.raw["messaging"] = {"runs": runs}

    def p50(kind: str) -> list[float]:
        return [percentile(run[kind], 50) for run in runs]

    def p99(kind: str) -> list[float]:
        return [percentile(run[kind], 99) for run in runs]

    ping50 = p50("ping")
    n = f"{p.ping_runs}×{p.pings_per_run}"
    return [
        compared(
            "2",
            f"`transcode.ping` by name, reply on fixed queue: p50 ({n})",
            ping50,
            p50("plain"),
            unit="ms",
            baseline_note="plain Celery app: `task.delay().get()`, rpc:// backend",
            target="≤ 1.10",
            ok=lambda x: x <= 1.10,
        ),
        compared(
            "2",
            "`transcode.ping` p50 vs raw kombu",
            ping50,
            p50("echo"),
            unit="ms",
            baseline_note="raw kombu echo, 2 hops",
            target="≤ 3×",
            ok=lambda x: x <= 3,
        ),
        Row(
            "2",
            "`transcode.ping` p50, absolute",
            fmt(ping50, "ms"),
            target="< 10 ms",
            met=verdict(ping50, lambda x: x < 10),
        ),
        compared("2", "· p99 vs plain Celery", p99("ping"), p99("plain"), unit="ms"),
        compared("2", "· p99 vs raw kombu echo", p99("ping"), p99("echo"), unit="ms"),
        compared(
            "2",
            "· same ping from a client with its own `rpc://` backend: p50",
            p50("ping_rpc"),
            ping50,
            unit="ms",
            baseline_note="web-style sender",
        ),
    ]


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    echo_serve(broker_url=sys.argv[1], request_queue=sys.argv[2])
