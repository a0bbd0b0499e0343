"""Any codebase can drive the transcoder by task name alone."""

from __future__ import annotations

import shutil
import uuid

from tests.support.celery_client import bare_client


def test_bare_celery_client_gets_a_result_by_task_name(stack, clip_10s):
    job_id = f"contract-{uuid.uuid4().hex[:8]}"
    source = stack.media_root / "sources" / f"{job_id}.mp4"
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip_10s, source)

    client = bare_client(stack.broker_url)
    try:
        result = client.send_task(
            "transcode.convert_video",
            kwargs={"job_id": job_id, "source_path": f"sources/{job_id}.mp4", "profiles": ["480p"]},
        )
        body = result.get(timeout=180)
    finally:
        client.close()

    assert body["job_id"] == job_id
    assert body["contract_version"] == 1
    (output,) = body["outputs"]
    assert output["profile"] == "480p"
    assert output["path"] == f"outputs/{job_id}/480p.mp4"
    assert (output["width"], output["height"]) == (640, 360)
    assert (stack.media_root / output["path"]).stat().st_size == output["size_bytes"]
    assert body["poster_path"] == f"outputs/{job_id}/poster.jpg"


def test_an_invalid_message_fails_by_name_with_a_reason(stack):
    client = bare_client(stack.broker_url)
    try:
        result = client.send_task(
            "transcode.convert_video", kwargs={"job_id": "x", "source_path": "../../etc/passwd"}
        )
        result.get(timeout=60, propagate=False)
    finally:
        client.close()
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "InvalidPayload"
    assert ".." in str(result.result)
