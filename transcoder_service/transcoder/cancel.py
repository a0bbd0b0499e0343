"""Cancelling a job: the caller's cancel message (docs/messages.md, "Cancelling a job").

The web used to cancel through Celery's remote control, a broadcast on the
`celery.pidbox` fanout exchange. Whoever may publish there may send every
command of it, not only `revoke`: `cancel_consumer transcode_queue`,
`shutdown`, `pool_shrink`... and a pidbox message does not say who sent it
(RabbitMQ's topic permissions do not apply to fanout exchanges), so a worker
cannot keep `revoke` for the web and the rest for an operator. So the web
publishes a JSON message that can only mean "cancel this job" to an exchange
of its own, `transcode_cancel`, and loses every right on `celery.pidbox`.
Celery's remote control is unchanged, for the operator's admin user (Flower,
`celery inspect`/`control`) and the worker's own health check.

Each worker binds its own queue, `<nodename>.transcode_cancel`, to the
fanout exchange: the job may be queued (any worker may receive it later)
or running on an unknown worker. The message is then handled exactly as
Celery's `revoke(job_id, terminate=True, signal="SIGTERM")`: the id is
remembered, so a queued job is dropped, REVOKED, when it is delivered; a
running one gets SIGTERM in its pool process, which kills ffmpeg and removes
its scratch (worker.py). Plugged in as Celery documents it, a consumer
bootstep: https://docs.celeryq.dev/en/stable/userguide/extending.html#consumer-bootsteps
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from celery.utils.collections import AttributeDict
from celery.worker.control import revoke
from kombu import Consumer, Exchange, Queue

from transcoder import contract
from transcoder.errors import InvalidPayload
from transcoder.payload import parse_cancel_request

logger = logging.getLogger(__name__)

# SIGTERM, as the web's former revoke: billiard turns it into SystemExit in
# the pool process, which unwinds the task's cleanup (worker.py).
CANCEL_SIGNAL = "SIGTERM"


def cancel_exchange() -> Exchange:
    """Declared the same by the worker, the web and compose's broker (durable, fanout)."""
    return Exchange(contract.CANCEL_EXCHANGE, type=contract.CANCEL_EXCHANGE_TYPE, durable=True)


def cancel_queue(*, hostname: str) -> Queue:
    """This worker's own queue on the exchange; it goes with the worker (auto_delete)."""
    return Queue(
        contract.cancel_queue_name(hostname),
        cancel_exchange(),
        durable=False,
        auto_delete=True,
    )


class CancelConsumer(bootsteps.ConsumerStep):
    """Consumes this worker's cancel queue on the worker's own broker connection.

    Restarted with the connection, like Celery's own remote control.
    """

    def start(self, c: Any) -> None:
        self._consumer = c
        # What Celery's remote control hands its `revoke` (celery.worker.pidbox).
        self._state = AttributeDict(app=c.app, hostname=c.hostname, consumer=c)
        super().start(c)

    def get_consumers(self, channel: Any) -> list[Consumer]:
        return [
            Consumer(
                channel,
                queues=[cancel_queue(hostname=self._consumer.hostname)],
                accept=["json"],
                callbacks=[self.on_message],
                # Not JSON, or compressed (guards.py): logged and acknowledged.
                on_decode_error=self._consumer.on_decode_error,
            )
        ]

    def on_message(self, body: object, message: Any) -> None:
        try:
            request = parse_cancel_request(body=body)
        except InvalidPayload as exc:
            logger.warning("Refusing a cancel message: %s", exc.message)
        else:
            try:
                reply = revoke(self._state, request.job_id, terminate=True, signal=CANCEL_SIGNAL)
                logger.info("Cancel of job %s: %s", request.job_id, reply)
            except Exception:
                # Never into the consumer's event loop: the worker keeps serving.
                logger.exception("Cancel of job %s failed", request.job_id)
        message.ack()
