"""What the compose tests do and watch: HTTP as a user, `docker` for the faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.api import ApiClient
from tests.support.docker import ComposeProject, processes_in, queue_consumers


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
