"""The result collector: a long-running consumer of the fixed reply queue.

Celery's own rpc result consumer lives inside the process that sent the task
and loses results when that process dies or forks. This collector instead
consumes one durable queue that every web process names as `reply_to`, and
writes each state to PostgreSQL before acknowledging it. If the collector is
down, results wait in the queue; if the database is down, messages are
requeued and applied once it is back. Every other message settles at once:
applied, or rejected to the dead-letter queue (malformed, compressed, or
data the database refuses). Between messages it runs three chores, each on
its own interval (`on_iteration`, consumers/chores.py): the outbox relay,
the abandoned-uploads sweep and the reaper.

kombu's ConsumerMixin reconnects to the broker by itself, with back-off.
https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.mixins.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections
from kombu import Connection
from kombu.message import Message
from kombu.mixins import ConsumerMixin

from core import metrics
from jobs.consumers.chores import collector_chores
from jobs.messaging import contract
from jobs.messaging.compression import channel_refuse_compressed
from jobs.messaging.reply_decoding import MalformedReply, reply_decode
from jobs.services.replies import reply_apply

logger = logging.getLogger(__name__)

# Unacked messages the broker may hand us at once. Small, so that a stopped
# collector holds few messages, and ordering stays close to publish order.
PREFETCH_COUNT = 16
# Pause before requeueing a message the database could not take, so an
# outage does not turn into a hot loop.
DATABASE_RETRY_PAUSE = 1.0
# The only database errors worth a retry: the connection, not the data.
# Anything else (DataError for a NUL byte, IntegrityError, a ValueError from
# the driver, a bug) fails the same way every time, so requeueing it would
# loop forever; it is dead-lettered instead.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)


def _database_down(exc: BaseException) -> bool:
    """Whether `exc` is, or was raised while handling, a connection error.

    A library that retries inside a transaction (django-celery-results does)
    turns "database is locked" into a TransactionManagementError: the cause
    decides, not the last exception.
    """
    seen: BaseException | None = exc
    for _ in range(10):  # a chain is short; a cycle must not hang the collector
        if seen is None:
            break
        if isinstance(seen, DATABASE_DOWN_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Stopped(Exception):
    """Raised out of kombu's reconnect loop when a stop was asked for."""


class ResultCollector(ConsumerMixin):
    def __init__(self, *, connection: Connection, relay_interval: float) -> None:
        self.connection = connection
        # The channel being consumed, once there is one: the reaper asks it
        # how many replies still wait.
        self._channel: Any = None
        self._chores = collector_chores(
            relay_interval=relay_interval, replies_channel=lambda: self._channel
        )

    def run(self, _tokens: int = 1, **kwargs: Any) -> None:
        """Consume until `should_stop` is set, whether or not the broker is up."""
        try:
            super().run(_tokens, **kwargs)
        except _Stopped:
            logger.info("stopped while waiting for the broker")

    @contextmanager
    def establish_connection(self) -> Iterator[Connection]:
        # kombu's own, plus `callback`: its reconnect loop calls that about
        # once a second but never looks at `should_stop` itself, so without
        # it a SIGTERM during a broker outage would wait until the broker is
        # back (and then for SIGKILL).
        with self.create_connection() as connection:
            connection.ensure_connection(
                self.on_connection_error, self.connect_max_retries, callback=self._stop_if_asked
            )
            yield connection

    def _stop_if_asked(self) -> None:
        if self.should_stop:
            raise _Stopped

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        # The dead-letter queue must exist before anything is rejected into
        # it. Declared on this connection's channel: `self.connection` is only
        # the template kombu clones for each (re)connection.
        contract.dead_letter_queue()(channel).declare()
        channel_refuse_compressed(channel)
        self._channel = channel
        consumer = Consumer(
            queues=[contract.results_queue()],
            callbacks=[self.on_reply],
            accept=["json"],
            on_decode_error=self.on_decode_error,
        )
        consumer.qos(prefetch_count=PREFETCH_COUNT)
        return [consumer]

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        logger.warning("broker connection lost (%s); retrying in %.1f s", exc, interval)

    def on_iteration(self) -> None:
        """Run the chores whose time has come (consumers/chores.py)."""
        self._chores.run_due(now=time.monotonic())

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        # Not JSON (pickle included), or compressed: never decoded, kept
        # aside in the dead-letter queue for a person.
        logger.error(
            "rejecting undecodable reply %s (%s): %s",
            message.properties.get("correlation_id"),
            message.content_type,
            exc,
        )
        message.reject(requeue=False)
        metrics.replies.labels(outcome="dead_lettered").inc()

    def on_reply(self, body: Any, message: Message) -> None:
        try:
            reply = reply_decode(body=body)
        except MalformedReply as exc:
            logger.error(
                "rejecting malformed reply %s: %s", message.properties.get("correlation_id"), exc
            )
            message.reject(requeue=False)
            metrics.replies.labels(outcome="dead_lettered").inc()
            return
        try:
            close_old_connections()
            reply_apply(reply=reply)
        except Exception as exc:
            if _database_down(exc):
                logger.warning(
                    "database unavailable (%s); requeueing %s %s", exc, reply.task_id, reply.status
                )
                time.sleep(DATABASE_RETRY_PAUSE)
                message.requeue()
                metrics.replies.labels(outcome="requeued").inc()
                return
            logger.exception(
                "rejecting reply %s %s: it cannot be stored", reply.task_id, reply.status
            )
            message.reject(requeue=False)
            metrics.replies.labels(outcome="dead_lettered").inc()
            return
        message.ack()
        metrics.replies.labels(outcome="stored").inc()
