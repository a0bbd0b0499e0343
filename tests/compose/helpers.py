"""What the compose tests do and watch: HTTP as a user, `docker` for the faults."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from psycopg2.extensions import adapt

from tests.support.api import ApiClient
from tests.support.docker import ComposeProject, docker, processes_in, queue_consumers
from tests.support.media import ffprobe
from tests.support.object_store import BucketView, s3_client
from tests.support.observe import FINAL_STATES_SQL, JOB_STATUSES_SQL


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def transcoding_in(project: ComposeProject) -> list[str]:
    """Ids of the transcoder containers running an ffmpeg right now."""
    return [c for c in project.containers("transcoder") if "ffmpeg" in processes_in(c)]


def consumers_ready(project: ComposeProject, count: int, timeout: float = 90) -> None:
    """Until `count` transcoders consume transcode_queue (a started worker takes seconds)."""
    rabbitmq = project.container("rabbitmq")
    wait_for(
        lambda: queue_consumers(rabbitmq, "transcode_queue") == count,
        f"{count} consumers on transcode_queue",
        timeout,
    )


def upload(api: ApiClient, clip, title: str) -> str:
    response = api.upload(clip, title=title)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def post(api: ApiClient, url: str) -> Any:
    """An API write, with the person's token (tests/support/api.py)."""
    return api.post(url)


def running_in_one_transcoder(project: ComposeProject, api: ApiClient, video_id: str) -> str:
    """Until the video is processing in exactly one transcoder; that container's id."""

    def busy():
        if api.video(video_id)["status"] != "processing":
            return None
        containers = transcoding_in(project)
        return containers[0] if len(containers) == 1 else None

    return wait_for(busy, f"video {video_id} transcoding in one container", timeout=90)


def final_watching(
    project: ComposeProject, api: ApiClient, video_id: str, timeout: float = 240
) -> tuple[dict, set[str]]:
    """The final body, and every transcoder seen running an ffmpeg meanwhile."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.update(transcoding_in(project))
        body = api.video(video_id)
        if body["status"] in {"ready", "failed", "cancelled"}:
            return body, seen
        time.sleep(0.3)
    raise AssertionError(f"video {video_id} not final after {timeout} s\n{project.logs(60)}")


# ---- what a fault must leave: the native suite's checks, across containers ----


def compose_rows(project: ComposeProject, query: str, params: Sequence[str] = ()) -> list[str]:
    """The first column of each row of `query`, asked by psql in the postgres container.

    The database is on the compose network only; its container's local
    socket trusts its own superuser, as the official image's does.
    """
    quoted = tuple(adapt(str(value)).getquoted().decode() for value in params)
    out = docker(
        *("exec", project.container("postgres"), "psql", "--username", "video_pipeline"),
        *("--dbname", "video_pipeline", "--no-align", "--tuples-only", "--quiet"),
        *("--command", query % quoted),
    )
    return out.splitlines()


def store_view(project: ComposeProject) -> BucketView:
    """The bucket through its published port, with the web's keys (read-only outputs)."""
    client = s3_client(
        f"http://127.0.0.1:{project.setting('S3_PUBLISHED_PORT')}",
        project.setting("WEB_S3_ACCESS_KEY_ID"),
        project.setting("WEB_S3_SECRET_ACCESS_KEY"),
    )
    return BucketView(client=client, bucket=project.setting("S3_BUCKET"))


def job_left_whole(
    project: ComposeProject, api: ApiClient, final: dict[str, Any], *, seconds: float, tmp: Path
) -> None:
    """After a fault: exactly one SUCCESS stored, no flip away from ready, the
    manifest's objects whole and nothing else (the losing attempt's objects
    go as it unwinds, so that is awaited), and outputs of the right duration."""
    (job_id,) = compose_rows(
        project, "SELECT current_job_id FROM videos_video WHERE id = %s", [final["id"]]
    )
    assert compose_rows(project, FINAL_STATES_SQL, [job_id]) == ["SUCCESS"]
    statuses = compose_rows(project, JOB_STATUSES_SQL, [job_id])
    assert statuses[statuses.index("ready") :] == ["ready"] * (
        len(statuses) - statuses.index("ready")
    )
    view = store_view(project)

    def whole() -> bool:
        try:
            view.assert_job_outputs_whole(job_id, uploads_prefix="outputs/")
        except AssertionError:
            return False
        return True

    if not wait_for_quietly(whole, timeout=60):
        view.assert_job_outputs_whole(job_id, uploads_prefix="outputs/")  # says what is wrong
    assert final["outputs"], final
    for index, output in enumerate(final["outputs"]):
        path = tmp / f"output-{index}.mp4"
        response = api.get(output["url"])
        assert response.status_code == 200, (output, response.status_code)
        path.write_bytes(response.content)
        assert float(ffprobe(path)["format"]["duration"]) == pytest.approx(seconds, abs=0.25)


def wait_for_quietly(condition: Callable[[], Any], timeout: float) -> bool:
    """Whether `condition` came true within `timeout` s (no error when not)."""
    try:
        wait_for(condition, "", timeout)
    except AssertionError:
        return False
    return True
