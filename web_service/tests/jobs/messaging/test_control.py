"""Cancelling a job: the contract's cancel message, never Celery's remote control."""

from __future__ import annotations

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Consumer, Exchange, Producer, Queue

from config.celery_app import app
from jobs.messaging import contract
from jobs.messaging.control import transcode_cancel_publish

from .rabbitmq import (
    COMPOSE_WEB_USER,
    celery_app_using,
    guest_url,
    rabbitmq_vhost,
    settings_transport_options,
)

# Celery's remote control: a fanout exchange every worker listens on.
PIDBOX = Exchange("celery.pidbox", type="fanout", durable=False)


def _drained(connection, queue: Queue) -> list:
    """Every message on `queue`, acknowledged."""
    received = []

    def on_message(body, message):
        received.append(message)
        message.ack()

    with Consumer(
        connection.default_channel, queues=[queue], accept=["json"], callbacks=[on_message]
    ):
        try:
            while True:
                connection.drain_events(timeout=1)
        except TimeoutError:
            pass
    return received


def test_a_cancel_is_the_contract_message_on_the_cancel_exchange(memory_broker):
    # Where a worker listens: its own queue on each exchange.
    worker = Queue("test.worker.transcode_cancel", contract.cancel_exchange(), auto_delete=True)
    remote_control = Queue("test.worker.celery.pidbox", PIDBOX, auto_delete=True)
    for queue in (worker, remote_control):
        queue(memory_broker.default_channel).declare()

    transcode_cancel_publish(job_id="job-1")

    (message,) = _drained(memory_broker, worker)
    assert message.content_type == "application/json"
    assert message.payload == {"job_id": "job-1", "contract_version": 2}
    assert _drained(memory_broker, remote_control) == []


def test_the_compose_web_user_cancels_and_cannot_use_celerys_remote_control(settings):
    # docker-compose.yml: the broker declares the exchange (the web may not).
    settings.TRANSCODE_QUEUE_DECLARE = False
    with rabbitmq_vhost(**COMPOSE_WEB_USER) as url:
        worker = Queue("celery@test.transcode_cancel", contract.cancel_exchange(), durable=False)
        with Connection(guest_url(url)) as broker:  # the broker's definitions, and a worker
            worker(broker.default_channel).declare()
            PIDBOX(broker.default_channel).declare()
        options = settings_transport_options(broker_url=url)
        with celery_app_using(broker_url=url, transport_options=options):
            transcode_cancel_publish(job_id="job-1")
            # What stopped every transcoder: Celery's own broadcast...
            with pytest.raises(AccessRefused):
                app.control.broadcast("cancel_consumer", arguments={"queue": "transcode_queue"})
        # ...and the same without declaring, once RabbitMQ confirms or refuses it.
        with Connection(url, transport_options=options) as web, pytest.raises(AccessRefused):
            Producer(web.default_channel).publish(
                {"method": "shutdown", "arguments": {}, "destination": None},
                exchange=PIDBOX,
                routing_key="",
                serializer="json",
                declare=[],
            )
        with Connection(guest_url(url)) as broker:
            (message,) = _drained(broker, worker)
        assert message.payload == {"job_id": "job-1", "contract_version": 2}
