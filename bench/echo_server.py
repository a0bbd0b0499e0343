"""A raw-kombu echo service: the messaging floor that `transcode.ping` is compared with.

    python -m bench.echo_server BROKER_URL REQUEST_QUEUE

It consumes REQUEST_QUEUE (durable) and publishes every body back, persistent,
to the message's reply_to with its correlation_id: the same two hops as a
Celery task and its rpc reply, with no Celery on either end.
"""

from __future__ import annotations

import signal
import sys

from kombu import Connection, Consumer, Producer, Queue


def main() -> int:
    broker_url, request_queue = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Connection(broker_url) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        queue = Queue(request_queue, durable=True)

        def on_message(body, message):
            producer.publish(
                body,
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties["correlation_id"],
                serializer="json",
                delivery_mode=2,
            )
            message.ack()

        consumer = Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"])
        consumer.qos(prefetch_count=1)
        consumer.consume()
        print("ready", flush=True)
        while True:
            conn.drain_events()


if __name__ == "__main__":
    raise SystemExit(main())
