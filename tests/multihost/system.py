"""One web, two transcoder hosts: the pieces the multihost fixtures put together.

The web and the collector run as usual, on loopback. Each transcoder worker
runs as a host of its own (tests/support/hosts.py, behind lines): its own
network, hostname, processes and root. Of this machine's files it sees the
operating system, the transcoder's code and interpreter (read-only) and its
own scratch folder; the store's data, the logs, the repository's other
folders, /tmp and the other host's scratch are not there. Its environment
is what a transcoder host is given (TRANSCODER_HOST_VARIABLES), never the
web's database URL or secret key. RabbitMQ and the store listen on loopback
only, and the host reaches them only through a `TcpLine` in its wire
namespace: those two lines are the host's whole view of the system, as a
worker on another machine would have.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.support.hosts import Host
from tests.support.observe import db_rows
from tests.support.processes import ManagedProcess
from tests.support.stack import REPO, Stack
from tests.support.tcp_line import TcpLine

HOST_NAMES = ("east", "west")
# Low, so a host lost without a FIN or RST is noticed by RabbitMQ within
# about two heartbeats (10 s) rather than the default 60 s's two minutes.
BROKER_HEARTBEAT = "5"
TRANSCODER = REPO / "transcoder_service"
# The interpreter the transcoder's virtualenv runs on: part of the host's system.
PYTHON = TRANSCODER / ".venv" / "bin" / "python"
PYTHON_HOME = Path(os.path.realpath(PYTHON)).parents[1]
# All a worker host has of this machine's files besides the system (and its scratch).
WORKER_READS = (TRANSCODER, PYTHON_HOME)
# What a transcoder host's environment holds: the transcoder's own settings
# (transcoder/settings.py, .env.example's shared, store and transcoder
# sections, its own key pair only) and what any process needs.
TRANSCODER_HOST_VARIABLES = frozenset(
    {
        "BROKER_URL", "BROKER_FILESYSTEM_DIR", "BROKER_HEARTBEAT",
        "S3_ENDPOINT_URL", "S3_REGION", "S3_BUCKET",
        "TRANSCODER_S3_ACCESS_KEY_ID", "TRANSCODER_S3_SECRET_ACCESS_KEY",
        "SCRATCH_DIR", "TRANSCODER_CONCURRENCY", "FFMPEG_THREADS", "FFMPEG_NICE",
        "FFMPEG_MEMORY_LIMIT_MB", "FFPROBE_TIMEOUT", "TRANSCODE_SOFT_TIME_LIMIT",
        "TRANSCODE_TIME_LIMIT", "MAX_SOURCE_BYTES", "MAX_DURATION_SECONDS", "MAX_PIXELS",
        "PROGRESS_INTERVAL", "STORAGE_RETRY_DELAY",
        "PATH", "LANG", "LC_ALL", "TZ", "PYTHONUNBUFFERED",
    }
)  # fmt: skip


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

    def job_statuses(self, job_id: str) -> list[str]:
        """Every status the job's row was written with, in order (repeats included)."""
        rows = db_rows(
            self.stack.database_url,
            "SELECT status FROM multihost_job_states WHERE job_id = %s ORDER BY n",
            [job_id],
        )
        return [row["status"] for row in rows]

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
    row as the collector's own transaction writes it; and likewise each
    status the job's own row (videos_transcodejob) is written with.
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
                CREATE TABLE multihost_job_states (
                    n bigserial PRIMARY KEY, job_id text, status text);
                CREATE FUNCTION multihost_job_state_record() RETURNS trigger
                    LANGUAGE plpgsql AS $$
                    BEGIN
                        INSERT INTO multihost_job_states (job_id, status)
                        VALUES (NEW.id::text, NEW.status);
                        RETURN NEW;
                    END $$;
                CREATE TRIGGER multihost_job_state_record
                    AFTER INSERT OR UPDATE ON videos_transcodejob
                    FOR EACH ROW EXECUTE FUNCTION multihost_job_state_record();
                """
            )
    finally:
        connection.close()


def worker_start(stack: Stack, host: Host, scratch: Path, cleanup: ExitStack) -> Worker:
    """The transcoder worker of `host`; `cleanup` stops it, then cuts its lines."""
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
    process.env = {k: v for k, v in process.env.items() if k in TRANSCODER_HOST_VARIABLES}
    # The stack gave the process loopback URLs; this host reaches them only
    # through lines listening in its wire namespace, at its gateway address.
    lines = []
    for variable in ("BROKER_URL", "S3_ENDPOINT_URL"):
        line = host.line_to(process.env[variable])
        line.open()
        cleanup.callback(line.cut)
        process.env[variable] = line.url_through(process.env[variable])
        lines.append(line)
    prefix = host.argv([], reads=WORKER_READS, writes=[scratch])
    process.argv = [*prefix, *process.argv]
    process.start()
    cleanup.callback(process.stop)
    return Worker(host, process, scratch, *lines, prefix=prefix)
