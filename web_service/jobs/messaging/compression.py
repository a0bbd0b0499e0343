"""Refusing compressed replies before kombu decompresses them.

The transcoder never compresses its replies (docs/messages.md), so a reply
with a `compression` header is either a mistake or a decompression bomb: a
megabyte of zlib can inflate to gigabytes in the collector's memory.

Where to stop it: kombu decompresses in `kombu.message.Message.__init__`,
which the channel's `message_to_python` calls before any Consumer callback,
`on_message` or `on_decode_error` sees the message. The alternatives were
worse: replacing the decoders in `kombu.compression`'s registry changes the
whole process, and overriding `Consumer._receive_callback` leans on a
private method. Instead each consuming channel gets a Message class whose
constructor records a refusal in `errors` first. Message.__init__ keeps
errors that are already set and skips decompression when there are any,
and the Consumer hands a message with errors to `on_decode_error`, where
the collector rejects it to the dead-letter queue with its body untouched.

Those three behaviours are kombu's internals, read in the version in
CHECKED_AGAINST (requirements.txt pins it); tests/jobs/messaging/
test_compression.py fails when an upgrade changes one of them.
"""

from __future__ import annotations

from typing import Any

from kombu.message import Message

# The kombu these internals were read in; an upgrade re-reads them.
CHECKED_AGAINST = {"kombu": "5.7.0"}


class CompressedReplyRefused(ValueError):
    """A reply carried a compression header; it was not decompressed."""


class _CompressionRefusing(Message):
    # Sits between a transport's Message (pyamqp's, or the virtual
    # transports') and kombu's base Message in the MRO, so it sees the
    # headers every transport passes up before the base class decompresses.
    def __init__(self, *args: Any, headers: dict | None = None, **kwargs: Any) -> None:
        compression = (headers or {}).get("compression")
        if compression:
            refusal = CompressedReplyRefused(
                f"compressed reply ({str(compression)[:64]!r}) refused without decompressing"
            )
            # kombu types each error as a full exc_info; one never raised has no traceback.
            self.errors = [(CompressedReplyRefused, refusal, None)]  # type: ignore[list-item]
        # Every transport passes headers by keyword, never among *args.
        super().__init__(*args, headers=headers, **kwargs)  # type: ignore[misc]


def channel_refuse_compressed(channel: Any) -> None:
    """Make `channel` turn compressed messages into decode errors, undecompressed."""
    if not issubclass(channel.Message, _CompressionRefusing):
        channel.Message = type(
            f"CompressionRefusing{channel.Message.__name__}",
            (channel.Message, _CompressionRefusing),
            {},
        )
