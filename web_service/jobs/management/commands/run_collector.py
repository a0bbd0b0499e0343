"""`manage.py run_collector`: store replies; relay the outbox, sweep uploads, reap jobs."""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from kombu import Connection

from core import metrics, telemetry
from jobs.consumers.collector import ResultCollector

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Store transcode results from the reply queue in the database; between them, send"
        " outbox jobs, abort abandoned multipart uploads, and re-send or fail stuck jobs."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # heartbeat: detect a dead broker connection within about a minute.
        # https://www.rabbitmq.com/docs/heartbeats
        connection = Connection(
            settings.BROKER_URL, heartbeat=30, transport_options=settings.BROKER_TRANSPORT_OPTIONS
        )
        collector = ResultCollector(
            connection=connection, relay_interval=settings.OUTBOX_RELAY_INTERVAL
        )

        def stop(signum: int, _frame: Any) -> None:
            logger.info("collector stopping on %s", signal.Signals(signum).name)
            collector.should_stop = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if settings.COLLECTOR_METRICS_PORT:
            metrics.metrics_serve(
                host=settings.COLLECTOR_METRICS_HOST, port=settings.COLLECTOR_METRICS_PORT
            )
            logger.info(
                "metrics on http://%s:%d/metrics",
                settings.COLLECTOR_METRICS_HOST,
                settings.COLLECTOR_METRICS_PORT,
            )
        logger.info("collector consuming %s", settings.RESULTS_QUEUE)
        telemetry.tracing_start(service_name="collector")
        try:
            with connection:
                collector.run()
        finally:
            telemetry.tracing_stop()
        logger.info("collector stopped")
