"""What the multihost tests check after a job: the outputs a person gets, and the bucket."""

from __future__ import annotations

from typing import Any

from tests.multihost.system import System
from tests.support.api import ApiClient
from tests.support.observe import job_of


def upload(api: ApiClient, system: System, clip: Any, title: str) -> tuple[str, str]:
    response = api.upload(clip, title=title)
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    return video_id, job_of(system.stack.database_url, video_id)["id"]


def assert_outputs_served(api: ApiClient, video: dict[str, Any]) -> None:
    """Each output and the poster, fetched as a browser would, has the recorded size."""
    assert video["outputs"], video
    for output in video["outputs"]:
        response = api.get(output["url"])
        assert response.status_code == 200, (output, response.status_code)
        assert len(response.content) == output["size_bytes"], output
    assert api.get(video["poster_url"]).status_code == 200


def assert_store_holds_exactly(system: System, job_ids: list[str], uploads: int) -> None:
    """One source per upload; per job one manifest and the objects it names, nothing else.

    The spec lets a losing or dead attempt leave objects the manifest does
    not name. These tests allow none: a host cut while ffmpeg ran wrote
    nothing yet, and when its link comes back, whatever its attempt left
    (its marker) must be gone. Any extra object would be a duplicate run,
    a partial upload or a late attempt's leftover, so the check is strict:
    nothing outside the manifests, no unfinished multipart upload.
    """
    store = system.stack.store
    stored = store.objects()  # the whole bucket: key -> size
    sources = {key for key in stored if key.startswith("sources/")}
    allowed = set(sources)
    for job_id in job_ids:
        manifest = store.manifest(job_id)
        assert manifest is not None, f"no manifest for job {job_id}"
        result = manifest["result"]
        assert result["job_id"] == job_id
        assert manifest["request"]["source_key"] in sources
        named = store.manifest_keys(job_id)
        for key, size in named.items():
            assert key.startswith(f"outputs/{job_id}/"), key
            assert key in stored, f"{key}: not stored"
            assert size in (-1, stored[key]), f"{key}: {stored[key]} bytes stored, {size} recorded"
        allowed |= {*named, f"outputs/{job_id}/manifest.json"}
    assert len(sources) == uploads
    assert set(stored) == allowed, f"unexpected or missing: {sorted(set(stored) ^ allowed)}"
    assert store.multipart_uploads() == [], "an unfinished multipart upload is left"
