"""Remote control of running transcodes (Celery's broadcast `revoke`)."""

from __future__ import annotations

from config.celery_app import app


def transcode_revoke(*, job_id: str) -> None:
    """Ask every worker to drop the job, and to kill it if it is running.

    `terminate=True` sends SIGTERM to the pool process running the task; the
    transcoder turns that into killing ffmpeg and removing partial files.
    A worker that is offline now never hears this broadcast; if it runs the
    job later, its result arrives for a job that is already final, and the
    collector ignores it.
    https://docs.celeryq.dev/en/stable/userguide/workers.html#revoke-revoking-tasks
    """
    app.control.revoke(job_id, terminate=True, signal="SIGTERM")
