"""The Celery application. Started by ./Procfile:

    celery --app transcoder.worker worker --queues transcode_queue --loglevel INFO

Every setting that the message contract (docs/messages.md) depends on is
set here explicitly, even where it equals Celery's default, so that a
Celery upgrade changing a default cannot silently change the contract.
Settings reference: https://docs.celeryq.dev/en/stable/userguide/configuration.html
"""

from __future__ import annotations

import logging
import os
import socket

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    celeryd_after_setup,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from celery.utils.log import get_multiprocessing_logger
from kombu import Exchange, Queue

from transcoder import contract, metrics
from transcoder.cancel import CancelConsumer
from transcoder.guards import compression_refuse
from transcoder.scratch import scratch_sweep
from transcoder.settings import get_settings

settings = get_settings()

if settings.metrics_port is not None:
    # Before any job module imports prometheus_client (transcoder/metrics.py).
    metrics.multiprocess_dir_prepare()

if settings.log_format == "json":
    # Until Celery sets up its loggers (and json_logs below restyles them):
    # warnings Celery gives on its way up, such as running as root, are
    # log records too, not bare text on stderr.
    from transcoder.logs import json_logging_install

    logging.captureWarnings(True)
    logging.basicConfig(handlers=[logging.StreamHandler()], level=logging.INFO)
    json_logging_install(logging.getLogger())

# Before any message can arrive: a compressed body is refused, never
# decompressed (transcoder/guards.py).
compression_refuse()

# `include` makes the worker import the task module at start-up, which
# registers the task names (the documented project layout:
# https://docs.celeryq.dev/en/stable/getting-started/next-steps.html#project-layout).
# Every task's base ignores the caller's time limits and refuses its
# schedules (transcoder/guards.py).
app = Celery("transcoder", include=["transcoder.tasks"], task_cls="transcoder.guards:GuardedTask")


def broker_socket_options(*, heartbeat: float) -> dict[str, object]:
    """py-amqp's socket settings: unacknowledged data aborts the link only
    after two heartbeats' time (Linux's TCP_USER_TIMEOUT, in ms)."""
    user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
    if not heartbeat or user_timeout is None:
        return {}
    return {"socket_settings": {user_timeout: int(2000 * heartbeat)}}


app.conf.update(
    broker_url=settings.broker_url,
    # Retry the first connection too, so the worker can start before RabbitMQ
    # (docker-compose, a reboot) instead of exiting.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-retry-on-startup
    broker_connection_retry_on_startup=True,
    # AMQP heartbeats: without them a link cut without a FIN/RST (a host
    # lost, a firewall dropping state) goes unnoticed for the kernel's TCP
    # timeout, and RabbitMQ keeps the job unacked with this dead consumer.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-heartbeat
    broker_heartbeat=settings.broker_heartbeat,
    # py-amqp sets TCP_USER_TIMEOUT to 1 s on the broker socket by default:
    # a blip of a second with a heartbeat or a PROGRESS unacknowledged
    # dropped the connection, and with it (see below) a transcode of many
    # minutes that RabbitMQ had not given up on. The heartbeats decide that
    # a link is dead, as RabbitMQ does: after two of them go missing.
    broker_transport_options=broker_socket_options(heartbeat=settings.broker_heartbeat),
    # Results and states go back as messages to the caller's reply_to queue.
    # https://docs.celeryq.dev/en/stable/userguide/tasks.html#rpc-result-backend-rabbitmq-qpid
    result_backend="rpc://",
    # delivery_mode=2: a result survives a RabbitMQ restart in the durable
    # reply queue. https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-persistent
    result_persistent=True,
    # JSON only, in both directions: unpickling a message from the broker
    # would let anyone who can publish run code in the worker.
    # https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    # Acknowledge a job only once it has finished, so a job in flight when a
    # worker dies is delivered again instead of lost. Safe because the task
    # is idempotent (per-attempt keys, the manifest created only once).
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-acks-late
    task_acks_late=True,
    # ...including when the pool process was killed (OOM, hard time limit).
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
    task_reject_on_worker_lost=True,
    # Take one job at a time from the queue: jobs last minutes, and a job
    # prefetched by a busy worker would wait while another worker idles.
    # https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
    worker_prefetch_multiplier=1,
    worker_concurrency=settings.concurrency,
    # The soft limit raises SoftTimeLimitExceeded in the task, which cleans
    # up and fails with TranscodeTimeout; the hard limit kills the pool
    # process if that cleanup hangs. Both stay below RabbitMQ's
    # consumer_timeout (30 min by default), past which the broker would
    # close the channel on an unacknowledged job.
    # https://docs.celeryq.dev/en/stable/userguide/workers.html#time-limits
    task_soft_time_limit=settings.soft_time_limit,
    task_time_limit=settings.time_limit,
    # Without the broker connection the job's ack can no longer be sent, so
    # RabbitMQ will deliver it again anyway; stop working on it now instead
    # of running two copies.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-cancel-long-running-tasks-on-connection-loss
    worker_cancel_long_running_tasks_on_connection_loss=True,
    # Publishes STARTED (with pid and hostname) when a worker takes the job.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-track-started
    task_track_started=True,
    # A typo in a queue name must fail loudly, not create a queue nobody reads.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-create-missing-queues
    task_create_missing_queues=False,
    # Declared exactly as the web declares it (durable, no arguments): RabbitMQ
    # refuses a second declaration with different properties.
    task_queues=(
        Queue(
            contract.QUEUE,
            Exchange(contract.EXCHANGE, type=contract.EXCHANGE_TYPE, durable=True),
            routing_key=contract.ROUTING_KEY,
            durable=True,
        ),
    ),
    # Where the worker's own retries (StorageError) are published.
    task_default_queue=contract.QUEUE,
    task_default_exchange=contract.EXCHANGE,
    task_default_exchange_type=contract.EXCHANGE_TYPE,
    task_default_routing_key=contract.ROUTING_KEY,
    # Let Celery configure the root logger from --loglevel, so this
    # package's `logging.getLogger(__name__)` loggers (the ffmpeg pid line)
    # appear in the worker log with Celery's format. There is no other
    # logging configuration in this process to protect.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-hijack-root-logger
    worker_hijack_root_logger=True,
)

# The caller cancels a job with a message of the contract on the
# `transcode_cancel` exchange, not with Celery's remote control, which the
# web's broker user may not use (transcoder/cancel.py says why).
app.steps["consumer"].add(CancelConsumer)

if settings.broker_filesystem_dir is not None:
    # kombu's filesystem transport (`make run` with no RabbitMQ): both
    # services must exchange message files, and the exchange bindings kept
    # in control_folder, through the same folder. The web sets the same.
    # https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.filesystem.html
    settings.broker_filesystem_dir.mkdir(parents=True, exist_ok=True)
    app.conf.broker_transport_options = {
        "data_folder_in": str(settings.broker_filesystem_dir),
        "data_folder_out": str(settings.broker_filesystem_dir),
        "control_folder": str(settings.broker_filesystem_dir / "control"),
    }


@worker_process_init.connect
def scratch_sweep_at_start(**_: object) -> None:
    """Remove the scratch of attempts that died with their process (SIGKILL, OOM).

    Per pool process rather than once per worker: a pool process replaced
    after a crash sweeps too. A live attempt of a sibling holds its lock
    and is left alone.
    """
    scratch_sweep(scratch_dir=get_settings().scratch_dir)


@worker_process_init.connect
def tracing_at_start(**_: object) -> None:
    if get_settings().traces_export:
        # Imported here: transcoder.tasks (and so telemetry) must load after
        # the metrics folder is set, which the module body above does.
        from transcoder.telemetry import tracing_start

        tracing_start()


@worker_process_shutdown.connect
def telemetry_at_exit(**_: object) -> None:
    from transcoder.telemetry import tracing_stop

    tracing_stop()
    metrics.process_dead(os.getpid())


@worker_ready.connect
def metrics_at_ready(**_: object) -> None:
    # In the main process, once the pool is forked: no pool process holds
    # the listening socket.
    if settings.metrics_port is not None:
        metrics.metrics_serve(host=settings.metrics_host, port=settings.metrics_port)


@worker_shutdown.connect
def metrics_at_shutdown(**_: object) -> None:
    metrics.multiprocess_dir_remove()


@celeryd_after_setup.connect
def banner_off_for_json(instance: object, **_: object) -> None:
    # The start-up banner is printed, not logged: with JSON logs, it would be
    # the only lines that are not JSON.
    if settings.log_format == "json":
        instance.quiet = True  # type: ignore[attr-defined]


@after_setup_logger.connect
@after_setup_task_logger.connect
def json_logs(logger: logging.Logger, **_: object) -> None:
    if settings.log_format == "json":
        from transcoder.logs import json_logging_install

        json_logging_install(logger)
        # Set up next to the root logger, with Celery's text format.
        json_logging_install(get_multiprocessing_logger())


# About SIGTERM in a pool process (what `revoke(terminate=True)` and a cold
# shutdown send): billiard already installs a handler there that raises
# SystemExit (billiard.common._shutdown_cleanup, set up right after the
# worker_process_init signal, so a handler of our own would be replaced).
# SystemExit unwinds the task's `finally` blocks: the runner kills ffmpeg and
# the pipeline removes its temp files. tests/test_worker.py checks this.
