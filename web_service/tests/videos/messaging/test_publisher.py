"""The publisher against kombu's in-memory transport: a real kombu round trip."""

from __future__ import annotations

import json

from kombu import Consumer

from videos.messaging import contract
from videos.messaging.publisher import outputs_delete_publish, transcode_request_publish


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
