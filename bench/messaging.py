"""2. Messaging floor: `transcode.ping` by name, its reply on a fixed queue,
against raw kombu round trips on the same broker, interleaved sample by sample.

- system: the contract client (`tests.support.celery_client.bare_client`)
  configured like the web's producer (no result backend of its own: the web's
  Celery app has none) sends `transcode.ping` by name with `reply_to=<fixed
  durable queue>`; the worker (prefork pool, task_track_started) replies
  STARTED then SUCCESS; the clock stops when SUCCESS is consumed.
- context: the same with bare_client's own `rpc://` backend, which
  re-declares its auto-delete reply queue (one more broker round trip) on
  every send_task even when reply_to points elsewhere.
- baseline (judged): raw kombu request → echo process (bench/echo_server.py)
  → reply to a fixed queue: the same two hops with no Celery on either end.
- context: raw kombu publish → consume on one queue (one hop).

All messages are persistent on durable queues, like the contract's.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from kombu import Connection, Consumer, Producer, Queue

from bench.harness import Bench
from bench.table import Row, fmt, percentile, ratios, verdict
from tests.support.celery_client import bare_client
from tests.support.stack import REPO

PING_REPLIES = "bench.ping_replies"
ECHO_REQUESTS = "bench.echo_requests"
ECHO_REPLIES = "bench.echo_replies"
LOOP = "bench.loop"


class Replies:
    """One consumer connection for every reply queue; arrival time per correlation id."""

    def __init__(self, broker_url: str) -> None:
        self.conn = Connection(broker_url)
        self.channel = self.conn.channel()
        self.arrived: dict[str, float] = {}
        self.started: dict[str, float] = {}
        queues = [Queue(name, durable=True) for name in (PING_REPLIES, ECHO_REPLIES, LOOP)]
        for queue in queues:
            queue(self.channel).declare()
        self.consumer = Consumer(self.channel, queues=queues, callbacks=[self._on], accept=["json"])
        self.consumer.consume()

    def _on(self, body, message) -> None:
        now = time.perf_counter()
        # A ping gets STARTED, then SUCCESS: only the final state ends the trip.
        cid = message.properties.get("correlation_id")
        status = body.get("status") if isinstance(body, dict) else None
        if status == "STARTED":
            self.started[cid] = now
        elif status in (None, "SUCCESS"):
            self.arrived[cid] = now
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
    client = bare_client(broker)
    # The web's producer app has no result backend; without one, send_task
    # does no per-send declaration of a private reply queue.
    client.conf.result_backend = "disabled"
    rpc_client = bare_client(broker)
    pub = Connection(broker)
    parts: dict[str, list[float]] = {"sent": [], "started": []}
    producer = Producer(pub.channel())
    try:
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        ping_queue = Queue(PING_REPLIES, durable=True)

        def ping(sender=client, record: bool = True) -> float:
            cid = str(uuid.uuid4())
            start = time.perf_counter()
            sender.send_task(
                "transcode.ping", task_id=cid, reply_to=PING_REPLIES, declare=[ping_queue]
            )
            sent = time.perf_counter()
            total = replies.wait(cid) - start
            if record:
                parts["sent"].append((sent - start) * 1000)
                if cid in replies.started:  # ping sends no STARTED (track_started=False)
                    parts["started"].append((replies.started.pop(cid) - start) * 1000)
            return total

        def raw(queue: str, reply_to: str | None) -> float:
            cid = str(uuid.uuid4())
            start = time.perf_counter()
            producer.publish(
                {"n": cid},
                routing_key=queue,
                correlation_id=cid,
                reply_to=reply_to,
                serializer="json",
                delivery_mode=2,
            )
            return replies.wait(cid) - start

        kinds = {
            "ping": ping,
            "echo": lambda: raw(ECHO_REQUESTS, ECHO_REPLIES),
            "loop": lambda: raw(LOOP, None),
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
        pub.release()
        replies.close()
        echo.terminate()
        echo.wait(timeout=10)
    bench.raw["messaging"] = {"runs": runs, "ping_parts": parts}

    def p50(kind: str) -> list[float]:
        return [percentile(run[kind], 50) for run in runs]

    def p99(kind: str) -> list[float]:
        return [percentile(run[kind], 99) for run in runs]

    ping50, echo50, loop50 = p50("ping"), p50("echo"), p50("loop")
    r_echo = ratios(ping50, echo50)
    n = f"{p.ping_runs}×{p.ping_per_run}"
    return [
        Row(
            "2",
            f"`transcode.ping` by name, reply on fixed queue: p50 ({n})",
            fmt(ping50, "ms"),
            fmt(echo50, "ms") + " (raw kombu echo, 2 hops)",
            fmt(r_echo),
            "≤ 2×",
            verdict(r_echo, lambda x: x <= 2),
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
            "· vs raw kombu publish → consume, 1 hop: p50",
            fmt(ping50, "ms"),
            fmt(loop50, "ms"),
            fmt(ratios(ping50, loop50)),
        ),
        Row(
            "2",
            "· p99",
            fmt(p99("ping"), "ms"),
            fmt(p99("echo"), "ms") + " (echo)",
            fmt(ratios(p99("ping"), p99("echo"))),
        ),
        Row(
            "2",
            "· ping timeline p50: send_task returned / STARTED consumed / SUCCESS consumed",
            f"{percentile(parts['sent'], 50):.2f} / "
            + (f"{percentile(parts['started'], 50):.2f}" if parts["started"] else "none sent")
            + f" / {percentile([x for r in runs for x in r['ping']], 50):.2f} ms",
        ),
        Row(
            "2",
            "· same ping from a client with its own `rpc://` backend: p50",
            fmt(p50("ping_rpc"), "ms"),
            fmt(ping50, "ms") + " (web-style sender)",
            fmt(ratios(p50("ping_rpc"), ping50)),
        ),
    ]
