"""Any codebase can drive the transcoder by task name alone.

The caller puts the source in the shared bucket and names its key; the
worker answers with the keys of the outputs (docs/messages.md, contract v2).
"""

from __future__ import annotations

import re
import uuid

from tests.support.celery_client import bare_client


def test_bare_celery_client_gets_a_result_by_task_name(stack, clip_10s):
    job_id = f"contract-{uuid.uuid4().hex[:8]}"
    source_key = f"sources/{job_id}.mp4"
    stack.store.put_file(source_key, clip_10s)

    client = bare_client(stack.broker_url)
    try:
        result = client.send_task(
            "transcode.convert_video",
            kwargs={
                "job_id": job_id,
                "source_key": source_key,
                "profiles": ["480p"],
                "contract_version": 2,
            },
        )
        body = result.get(timeout=180)
    finally:
        client.close()

    assert body["job_id"] == job_id
    assert body["contract_version"] == 2
    (output,) = body["outputs"]
    assert output["profile"] == "480p"
    attempt = re.fullmatch(rf"outputs/{job_id}/([0-9a-f]{{16}})/480p\.mp4", output["key"])
    assert attempt, output["key"]
    assert (output["width"], output["height"]) == (640, 360)
    assert body["poster_key"] == f"outputs/{job_id}/{attempt[1]}/poster.jpg"
    assert body["manifest_key"] == f"outputs/{job_id}/manifest.json"
    # The objects are really there, whole, and the manifest holds this very result.
    stored = stack.store.objects(f"outputs/{job_id}/")
    assert stored[output["key"]] == output["size_bytes"]
    assert stored[body["poster_key"]] > 0
    assert stack.store.manifest(job_id)["result"] == body


def test_an_invalid_message_fails_by_name_with_a_reason(stack):
    client = bare_client(stack.broker_url)
    try:
        result = client.send_task(
            "transcode.convert_video",
            kwargs={"job_id": "x", "source_key": "../../etc/passwd", "contract_version": 2},
        )
        result.get(timeout=60, propagate=False)
    finally:
        client.close()
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "InvalidPayload"
    assert ".." in str(result.result)
