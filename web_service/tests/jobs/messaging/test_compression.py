"""The kombu internals jobs/messaging/compression.py leans on, as the pinned version has them.

The outcome on a real broker (a compressed reply dead-lettered as it came)
is tested in tests/jobs/consumers/test_collector_rabbitmq.py; this file
fails first, next to the line to re-read, when a pinned upgrade moves one of
the internals.
"""

from __future__ import annotations

import re
import types
import zlib
from importlib.metadata import version
from pathlib import Path

import amqp
from kombu import Connection
from kombu.transport import pyamqp

from jobs.messaging.compression import (
    CHECKED_AGAINST,
    CompressedReplyRefused,
    channel_refuse_compressed,
)

REQUIREMENTS = Path(__file__).resolve().parents[3] / "requirements.txt"
REPLY = b'{"status": "STARTED"}'


def _compressed_delivery() -> amqp.Message:
    """A reply as py-amqp hands it to kombu: zlib body, `compression` header."""
    raw = amqp.Message(
        zlib.compress(REPLY),
        application_headers={"compression": "application/x-gzip"},
        content_type="application/json",
        content_encoding="binary",
    )
    raw.delivery_info = {"delivery_tag": 1, "exchange": "", "routing_key": "r", "redelivered": 0}
    return raw


def test_the_installed_and_pinned_kombu_is_the_checked_one() -> None:
    pinned = re.search(r"^kombu==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None, "kombu is not pinned in requirements.txt"
    assert version("kombu") == pinned.group(1) == CHECKED_AGAINST["kombu"], (
        "kombu changed: re-read what jobs/messaging/compression.py relies on, "
        "then update CHECKED_AGAINST"
    )


def test_kombu_still_decompresses_in_message_init_and_skips_it_after_an_error() -> None:
    # The plain class inflates the body in its constructor: the place to stop it.
    assert pyamqp.Message(_compressed_delivery(), channel=None).body == REPLY

    channel = types.SimpleNamespace(Message=pyamqp.Message)
    channel_refuse_compressed(channel)
    refused = channel.Message(_compressed_delivery(), channel=None)
    assert refused.body == zlib.compress(REPLY)  # never inflated
    assert [error[0] for error in refused.errors] == [CompressedReplyRefused]


def test_a_virtual_transport_channel_is_covered_too() -> None:
    with Connection("memory://") as connection:
        channel = connection.channel()
        channel_refuse_compressed(channel)
        channel_refuse_compressed(channel)  # once is enough: not wrapped twice
        payload = {
            "body": zlib.compress(REPLY),
            "headers": {"compression": "application/x-gzip"},
            "content-type": "application/json",
            "content-encoding": "binary",
            "properties": {
                "delivery_info": {"exchange": "", "routing_key": "r"},
                "delivery_tag": 1,
            },
        }
        message = channel.Message(payload, channel=channel)
        assert message.body == zlib.compress(REPLY)
        assert [error[0] for error in message.errors] == [CompressedReplyRefused]
        assert channel.Message.__mro__[1].__module__ == "kombu.transport.virtual.base"
