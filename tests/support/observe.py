"""Looking at the system from outside: rows, queues, processes and files.

The fault tests judge outcomes by what really is there (a row's state, a
queue's depth, a PID, a file), never by what a process says in its log
alone, and they wait for conditions with a deadline, never for a fixed time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
import psycopg2.extras
from amqp.exceptions import NotFound
from kombu import Connection

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 0.1,
) -> T:
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {what}\n{diagnostics()}")
        time.sleep(interval)


# ---- the web's database -----------------------------------------------------------


def db_rows(database_url: str, query: str, params: tuple | list = ()) -> list[dict[str, Any]]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(query, params)
            return [dict(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def current_jobs(
    database_url: str, *, video_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The current job row of each of these videos (of every video when None), in no order."""
    query = "SELECT j.* FROM videos_transcodejob j JOIN videos_video v ON v.current_job_id = j.id"
    if video_ids is None:
        rows = db_rows(database_url, query)
    else:
        rows = db_rows(database_url, query + " WHERE v.id = ANY(%s::uuid[])", [list(video_ids)])
    for row in rows:
        row["id"] = str(row["id"])
    return rows


def job_of(database_url: str, video_id: str) -> dict[str, Any]:
    """The current job row of a video: id, status, dispatch_state, ..."""
    (row,) = current_jobs(database_url, video_ids=[video_id])
    return row


# Every version of two rows, kept by triggers in a test's own database:
# TaskResult holds only a task's latest state (the collector updates one row
# per task) and a job's row only its latest status, so polling either would
# miss a second SUCCESS, which host STARTED a job, or a flip away from ready.
STATES_RECORDER_SQL = """
CREATE TABLE recorded_states (n bigserial PRIMARY KEY, task_id text, status text, result text);
CREATE FUNCTION recorded_state() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO recorded_states (task_id, status, result)
        VALUES (NEW.task_id, NEW.status, NEW.result);
        RETURN NEW;
    END $$;
CREATE TRIGGER recorded_state AFTER INSERT OR UPDATE ON django_celery_results_taskresult
    FOR EACH ROW EXECUTE FUNCTION recorded_state();
CREATE TABLE recorded_job_states (n bigserial PRIMARY KEY, job_id text, status text);
CREATE FUNCTION recorded_job_state() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO recorded_job_states (job_id, status) VALUES (NEW.id::text, NEW.status);
        RETURN NEW;
    END $$;
CREATE TRIGGER recorded_job_state AFTER INSERT OR UPDATE ON videos_transcodejob
    FOR EACH ROW EXECUTE FUNCTION recorded_job_state();
"""
FINAL_STATES_SQL = (
    "SELECT status FROM recorded_states WHERE task_id = %s"
    " AND status IN ('SUCCESS', 'FAILURE', 'REVOKED') ORDER BY n"
)
JOB_STATUSES_SQL = "SELECT status FROM recorded_job_states WHERE job_id = %s ORDER BY n"


# ---- the broker -------------------------------------------------------------------


def queue_state(broker_url: str, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of `queue`, or None if it does not exist.

    A passive declare asks RabbitMQ without creating anything. Messages a
    consumer holds unacknowledged are not counted as ready.
    """
    with Connection(broker_url, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            _, messages, consumers = channel.queue_declare(queue, passive=True)
        except NotFound:
            return None
        finally:
            # After NotFound the broker has closed the channel already.
            with contextlib.suppress(Exception):
                channel.close()
    return messages, consumers


# ---- files ----------------------------------------------------------


def files_under(root: Path) -> list[str]:
    """Every file below `root`, as sorted paths relative to it."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
