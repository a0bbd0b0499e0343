"""Pins the web's side of docs/messages.md with literal values.

The transcoder's own test pins the same literals. If one of these fails, the
contract changed: update docs/messages.md, this test and the transcoder's
test together, and read the doc's Versioning section first.
"""

from __future__ import annotations

from config.celery_app import app
from videos import objectstore
from videos.messaging import contract
from videos.messaging.replies import reply_decode

from ...factories import success_result, success_result_v1


def test_task_and_queue_names():
    assert contract.TASK_CONVERT_VIDEO == "transcode.convert_video"
    assert contract.TASK_PING == "transcode.ping"
    assert contract.QUEUE == "transcode_queue"
    assert contract.EXCHANGE == "transcode_queue"
    assert contract.EXCHANGE_TYPE == "direct"
    assert contract.ROUTING_KEY == "transcode_queue"
    assert contract.TASK_DELETE_OUTPUTS == "transcode.delete_outputs"
    assert contract.CONTRACT_VERSION == 2
    assert {
        "InvalidPayload",
        "InvalidMedia",
        "TranscodeFailed",
        "TranscodeTimeout",
        "StorageDenied",
        "StorageError",
        "WorkerCrashed",
    } == contract.FAILURE_CODES


def test_queue_declaration_matches_the_worker():
    queue = contract.transcode_queue()
    assert (queue.name, queue.routing_key, queue.durable) == (
        "transcode_queue",
        "transcode_queue",
        True,
    )
    assert (queue.exchange.name, queue.exchange.type, queue.exchange.durable) == (
        "transcode_queue",
        "direct",
        True,
    )
    assert not queue.queue_arguments


def test_routing_is_by_name_prefix_and_never_creates_queues():
    assert app.conf.task_routes == {"transcode.*": {"queue": "transcode_queue"}}
    assert app.conf.task_create_missing_queues is False
    for name in ("transcode.convert_video", "transcode.delete_outputs", "transcode.ping"):
        assert app.amqp.router.route({}, name)["queue"].name == "transcode_queue"


def test_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.result_accept_content == ["json"]


def test_kwargs_keys():
    kwargs = contract.convert_video_kwargs(job_id="j1", source_key="sources/a", profiles=["720p"])
    assert kwargs == {
        "job_id": "j1",
        "source_key": "sources/a",
        "profiles": ["720p"],
        "contract_version": 2,
    }


def test_delete_outputs_kwargs():
    assert contract.delete_outputs_kwargs(job_id="j1") == {"job_id": "j1", "contract_version": 2}


def test_keys_the_web_writes_and_reads():
    # sources/<id> is written by the web; only outputs/ keys are ever played.
    assert objectstore.SOURCES_PREFIX == "sources/"
    assert objectstore.OUTPUTS_PREFIX == "outputs/"
    assert objectstore.source_key_new().startswith("sources/")


def test_result_keys_and_the_v1_fallback():
    v2 = success_result(job_id="j1")
    assert contract.result_output_key(output=v2["outputs"][0]) == v2["outputs"][0]["key"]
    assert contract.result_poster_key(result=v2) == v2["poster_key"]
    v1 = success_result_v1(job_id="j1")
    assert contract.result_output_key(output=v1["outputs"][0]) == "outputs/j1/720p.mp4"
    assert contract.result_poster_key(result=v1) == "outputs/j1/poster.jpg"


def test_profiles():
    assert contract.PROFILES == ("720p", "480p")
    assert contract.DEFAULT_PROFILES == ("720p",)


def test_documented_success_reply_decodes():
    body = {
        "task_id": "j1",
        "status": "SUCCESS",
        "result": success_result(job_id="j1"),
        "traceback": None,
        "children": [],
        "date_done": "2026-01-01T00:00:00+00:00",
    }
    reply = reply_decode(body=body)
    assert reply.is_final
    assert set(reply.result) == {
        "contract_version",
        "job_id",
        "source",
        "outputs",
        "poster_key",
        "manifest_key",
        "elapsed_seconds",
        "timings",
    }
    assert reply.result["contract_version"] == 2
    assert set(reply.result["timings"]) == {
        "download",
        "probe",
        "transcode",
        "poster",
        "verify",
        "upload",
    }
    assert set(reply.result["outputs"][0]) == {
        "profile",
        "key",
        "width",
        "height",
        "duration",
        "size_bytes",
        "video_codec",
        "audio_codec",
    }


def test_progress_and_failure_fields():
    progress = reply_decode(
        body={
            "task_id": "j",
            "status": "PROGRESS",
            "result": {"percent": 42, "stage": "transcoding"},
        }
    )
    assert (progress.percent, progress.stage) == (42, "transcoding")
    for stage in ("downloading", "probing", "transcoding", "poster", "uploading"):
        reply = reply_decode(
            body={"task_id": "j", "status": "PROGRESS", "result": {"percent": 1, "stage": stage}}
        )
        assert reply.stage == stage
    failure = reply_decode(
        body={
            "task_id": "j",
            "status": "FAILURE",
            "result": {
                "exc_type": "InvalidMedia",
                "exc_message": ["The file is not a video: no video stream was found."],
                "exc_module": "transcoder.errors",
            },
        }
    )
    assert failure.failure_reason == (
        "InvalidMedia",
        "The file is not a video: no video stream was found.",
    )
