"""The publisher against kombu's in-memory transport: a real kombu round trip."""

from __future__ import annotations

import json

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Consumer

from jobs.messaging import contract
from jobs.messaging.publisher import outputs_delete_publish, transcode_request_publish

from .rabbitmq import (
    COMPOSE_WEB_USER,
    celery_app_using,
    guest_url,
    rabbitmq_vhost,
    settings_transport_options,
)


def _received_one(connection):
    """The one message on transcode_queue, as kombu delivered it."""
    received = []
    with Consumer(
        connection.default_channel,
        queues=[contract.transcode_queue()],
        accept=["json"],
        callbacks=[lambda body, message: received.append(message)],
    ):
        connection.drain_events(timeout=2)
    (message,) = received
    return message


def test_publishes_by_name_with_reply_to_and_json(memory_broker, settings):
    transcode_request_publish(job_id="job-1", source_key="sources/abc", profiles=["720p"])

    message = _received_one(memory_broker)
    assert message.content_type == "application/json"
    assert message.headers["task"] == "transcode.convert_video"
    assert message.headers["id"] == "job-1"
    assert message.properties["reply_to"] == settings.RESULTS_QUEUE
    args, kwargs, _embed = json.loads(message.body)
    assert args == []
    assert kwargs == {
        "job_id": "job-1",
        "source_key": "sources/abc",
        "profiles": ["720p"],
        "contract_version": 2,
    }
    message.ack()


def test_delete_outputs_is_sent_by_name_without_a_reply_queue(memory_broker, settings):
    outputs_delete_publish(job_id="job-1")

    message = _received_one(memory_broker)
    assert message.headers["task"] == "transcode.delete_outputs"
    # It publishes no result, so it names no reply queue of ours.
    assert message.properties.get("reply_to") != settings.RESULTS_QUEUE
    args, kwargs, _embed = json.loads(message.body)
    assert (args, kwargs) == ([], {"job_id": "job-1", "contract_version": 2})
    message.ack()


@pytest.mark.parametrize("declare", [False, True])
def test_a_web_user_that_cannot_read_the_jobs_queue_publishes_only_without_declaring_it(
    settings, declare
):
    settings.TRANSCODE_QUEUE_DECLARE = declare
    with rabbitmq_vhost(**COMPOSE_WEB_USER) as url:
        with Connection(guest_url(url)) as broker:  # what the broker's definitions make
            contract.transcode_queue()(broker.default_channel).declare()
        options = settings_transport_options(broker_url=url)
        with celery_app_using(broker_url=url, transport_options=options):
            if declare:
                # Declaring (binding) the queue needs READ on its name: refused.
                with pytest.raises(AccessRefused):
                    transcode_request_publish(job_id="j", source_key="sources/a", profiles=[])
                return
            transcode_request_publish(job_id="j", source_key="sources/a", profiles=["720p"])
        with Connection(guest_url(url)) as broker:
            assert _received_one(broker).headers["id"] == "j"
        # ...and this user cannot take the jobs meant for the transcoder.
        with Connection(url) as web, pytest.raises(AccessRefused):
            web.default_channel.basic_consume(contract.QUEUE, callback=lambda message: None)
