"""One web, two transcoder hosts: the pieces the multihost fixtures put together.

The web and the collector run as usual, on loopback. Each transcoder worker
runs as a host of its own (tests/support/hosts.py): its own network
namespace, hostname and scratch folder, with the store's data, the logs and
the other host's folder hidden under empty mounts. RabbitMQ and the store
listen on loopback only, so each host reaches them through a `TcpLine` on
its side of its veth pair: those two lines are the host's whole view of the
system, as a worker on another machine would have.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.support.hosts import Host
from tests.support.observe import db_rows
from tests.support.outages import TcpLine
from tests.support.processes import ManagedProcess
from tests.support.stack import Stack

HOST_NAMES = ("east", "west")
# Low, so a host lost without a FIN or RST is noticed by RabbitMQ within
# about two heartbeats (10 s) rather than the default 60 s's two minutes.
BROKER_HEARTBEAT = "5"


@dataclass
class Worker:
    host: Host
    process: ManagedProcess
    scratch: Path
    broker_line: TcpLine
    store_line: TcpLine
    # What runs a command on this host exactly as the worker runs: same
    # namespace, hostname and hidden folders.
    prefix: list[str]

    @property
    def celery_hostname(self) -> str:
        """What Celery reports as `hostname` in STARTED: its node name, from the UTS name."""
        return f"celery@{self.host.name}"


@dataclass
class System:
    stack: Stack
    workers: list[Worker]

    def started_on(self, job_id: str) -> list[str]:
        """The `hostname` of every STARTED state the collector stored for the job, in order."""
        rows = db_rows(
            self.stack.database_url,
            "SELECT result FROM multihost_states WHERE task_id = %s AND status = 'STARTED'"
            " ORDER BY n",
            [job_id],
        )
        return [json.loads(row["result"])["hostname"] for row in rows]

    def final_states(self, job_id: str) -> list[str]:
        rows = db_rows(
            self.stack.database_url,
            "SELECT status FROM multihost_states WHERE task_id = %s"
            " AND status IN ('SUCCESS', 'FAILURE', 'REVOKED') ORDER BY n",
            [job_id],
        )
        return [row["status"] for row in rows]


def states_recorded(database_url: str) -> None:
    """Keep every state the collector writes to TaskResult, in `multihost_states`.

    TaskResult holds only a task's latest state (the collector updates one
    row per task), and a worker publishes its first PROGRESS milliseconds
    after STARTED, so polling the row would miss which host started a job.
    A trigger in this test's throwaway database records each version of the
    row as the collector's own transaction writes it.
    """
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                """
                CREATE TABLE multihost_states (
                    n bigserial PRIMARY KEY, task_id text, status text, result text);
                CREATE FUNCTION multihost_state_record() RETURNS trigger
                    LANGUAGE plpgsql AS $$
                    BEGIN
                        INSERT INTO multihost_states (task_id, status, result)
                        VALUES (NEW.task_id, NEW.status, NEW.result);
                        RETURN NEW;
                    END $$;
                CREATE TRIGGER multihost_state_record
                    AFTER INSERT OR UPDATE ON django_celery_results_taskresult
                    FOR EACH ROW EXECUTE FUNCTION multihost_state_record();
                """
            )
    finally:
        connection.close()


def worker_start(
    stack: Stack, host: Host, home: Path, hidden: list[Path], cleanup: ExitStack
) -> Worker:
    """The transcoder worker of `host`; `cleanup` stops it, then cuts its lines."""
    scratch = home / "scratch"
    scratch.mkdir()
    process = stack.process(
        f"worker-{host.name}",
        service="transcoder_service",
        process_type="worker",
        SCRATCH_DIR=str(scratch),
        BROKER_HEARTBEAT=BROKER_HEARTBEAT,
        # One job at a time per host, one ffmpeg thread each: two cores are
        # shared by both hosts (and whatever else runs on this machine).
        TRANSCODER_CONCURRENCY="1",
        FFMPEG_THREADS="1",
    )
    # The stack gave the process loopback URLs; this host reaches them only
    # through lines listening on its gateway address.
    lines = []
    for variable in ("BROKER_URL", "S3_ENDPOINT_URL"):
        line = TcpLine.to(process.env[variable], listen_host=host.gateway)
        line.open()
        cleanup.callback(line.cut)
        process.env[variable] = line.url_through(process.env[variable])
        lines.append(line)
    prefix = host.argv([], hidden=hidden)
    process.argv = [*prefix, *process.argv]
    process.start()
    cleanup.callback(process.stop)
    return Worker(host, process, scratch, *lines, prefix=prefix)
