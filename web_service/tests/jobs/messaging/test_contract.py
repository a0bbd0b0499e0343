"""Pins the web's side of docs/messages.md with literal values.

The transcoder's own test pins the same literals. If one of these fails, the
contract changed: update docs/messages.md, this test and the transcoder's
test together, and read the doc's Versioning section first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.celery_app import app
from core import objectstore
from jobs.messaging import contract
from jobs.messaging.reply_decoding import reply_decode
from videos.timelines import result_encode_passes

from ...factories import hls_result, progress_with_preview, success_result, success_result_v1


def test_task_and_queue_names():
    assert contract.TASK_CONVERT_VIDEO == "transcode.convert_video"
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


def test_the_settings_declare_the_contract_queue(settings):
    assert [contract.transcode_queue()] == settings.CELERY_TASK_QUEUES
    assert settings.CELERY_TASK_ROUTES == {contract.TASK_PREFIX_PATTERN: {"queue": contract.QUEUE}}


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


def test_the_cancel_message_and_its_exchange():
    # docs/messages.md, "Cancelling a job": not Celery's remote control.
    exchange = contract.cancel_exchange()
    assert (exchange.name, exchange.type, exchange.durable, exchange.auto_delete) == (
        "transcode_cancel",
        "fanout",
        True,
        False,
    )
    assert contract.cancel_body(job_id="j1") == {"job_id": "j1", "contract_version": 2}


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
    assert contract.PROFILES == ("720p", "480p", "hls")
    assert contract.DEFAULT_PROFILES == ("720p", "hls")


def test_the_default_profiles_come_from_the_setting(settings):
    settings.TRANSCODE_PROFILES = ["480p"]
    assert contract.DEFAULT_PROFILES == ("480p",)
    assert contract.profiles_default() == ("480p",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "('720p', 'hls')"), ("720p, 480p ,hls", "('720p', '480p', 'hls')")],
)
def test_transcode_profiles_is_read_from_the_environment(value, expected):
    result = _settings_process({"TRANSCODE_PROFILES": value}, "tuple(settings.TRANSCODE_PROFILES)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_an_unknown_profile_stops_start_up_with_a_sentence():
    result = _settings_process({"TRANSCODE_PROFILES": "720p,1080p"}, "settings.DEBUG")
    assert result.returncode != 0
    assert (
        "TRANSCODE_PROFILES must list profiles the transcoder makes (720p, 480p, hls),"
        " got 720p, 1080p." in result.stderr
    )


def _settings_process(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    """Django set up in a fresh interpreter: it reads the settings and starts the apps once."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); from django.conf import settings; print({expression})",
        ],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_hls_result_fields():
    result = hls_result(job_id="j1")
    reply = reply_decode(
        body={"task_id": "j1", "status": "SUCCESS", "result": result, "traceback": None}
    )
    assert set(reply.result) >= {"hls", "storyboard", "outputs"}
    assert set(result["hls"]) == {"master_key", "segment_seconds", "size_bytes", "rungs"}
    assert set(result["hls"]["rungs"][0]) == {
        "name",
        "width",
        "height",
        "bandwidth",
        "playlist_key",
    }
    assert set(result["storyboard"]) == {
        "sprite_key",
        "vtt_key",
        "interval",
        "tile_width",
        "tile_height",
        "size_bytes",
    }
    # `outputs` still lists only the MP4s.
    assert [o["profile"] for o in reply.result["outputs"]] == ["720p"]
    assert contract.result_hls_master_key(result=result) == (
        "outputs/j1/9f2c4e1a7b3d5f60/hls/master.m3u8"
    )
    assert contract.result_hls_rungs(result=result)[1] == {
        "name": "480p",
        "width": 854,
        "height": 480,
        "bandwidth": 1500000,
    }
    assert contract.result_storyboard_vtt_key(result=result) == (
        "outputs/j1/9f2c4e1a7b3d5f60/storyboard.vtt"
    )


def test_a_result_without_hls_has_no_ladder():
    result = success_result(job_id="j1")
    assert contract.result_hls_master_key(result=result) is None
    assert contract.result_hls_rungs(result=result) == []
    assert contract.result_storyboard_vtt_key(result=result) is None
    assert contract.result_hls_rungs(result={"hls": {"rungs": "nonsense"}}) == []


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
        "encode:1:720p",
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


def test_the_result_timings_name_each_encode_pass_with_its_order():
    # docs/messages.md, `timings`: "encode:<n>:<pass>", n counting the passes
    # from 1 in the order they ran; the key's own place in the object says nothing.
    timings = {
        "download": 0.02,
        "probe": 0.05,
        "transcode": 3.2,
        "encode:2:hls": 2.05,
        "encode:1:720p": 1.1,
        "poster": 0.1,
        "verify": 0.06,
        "upload": 0.03,
    }
    assert result_encode_passes(result={"timings": timings}) == [("720p", 1.1), ("hls", 2.05)]
    # Additive: a result from before them has none.
    older = {key: value for key, value in timings.items() if not key.startswith("encode:")}
    assert result_encode_passes(result={"timings": older}) == []


def test_the_progress_preview_field():
    # docs/messages.md, "Results and states": once every rung's first
    # segment, init section and playlist and the master are stored, each
    # PROGRESS of that attempt carries `preview`. Additive: the contract stays v2.
    result = progress_with_preview(job_id="j1", encoded_seconds=5.0, duration=60.0, percent=12)
    assert result == {
        "percent": 12,
        "stage": "transcoding",
        "preview": {
            "master_key": "outputs/j1/9f2c4e1a7b3d5f60/hls/master.m3u8",
            "encoded_seconds": 5.0,
            "duration": 60.0,
        },
    }
    reply = reply_decode(body={"task_id": "j1", "status": "PROGRESS", "result": result})
    assert (reply.percent, reply.stage) == (12, "transcoding")
    assert set(reply.result["preview"]) == {"master_key", "encoded_seconds", "duration"}
    preview = contract.progress_preview(result=reply.result, job_id="j1")
    assert preview == contract.Preview(
        master_key="outputs/j1/9f2c4e1a7b3d5f60/hls/master.m3u8",
        attempt="9f2c4e1a7b3d5f60",
        encoded_seconds=5.0,
        duration=60.0,
    )
    # The same keys as the final outputs: the ready result's master is this one.
    assert preview.master_key == contract.result_hls_master_key(result=hls_result(job_id="j1"))
    assert contract.PREVIEW_MASTER_SUFFIX == "hls/master.m3u8"
    # Without it (a worker older than it, an attempt not playable yet): today's PROGRESS.
    assert contract.progress_preview(result={"percent": 1, "stage": "probing"}, job_id="j1") is None
    assert contract.CONTRACT_VERSION == 2


def test_the_attempt_of_an_output_key():
    assert (
        contract.output_key_attempt(
            key="outputs/j1/9f2c4e1a7b3d5f60/hls/720p/seg_00001.m4s", job_id="j1"
        )
        == "9f2c4e1a7b3d5f60"
    )
    for key in (
        "outputs/j1/720p.mp4",  # v1: no attempt folder
        "outputs/j1/attempts/9f2c4e1a7b3d5f60.json",
        "outputs/j1/manifest.json",
        "outputs/j2/9f2c4e1a7b3d5f60/720p.mp4",
        "outputs/j1/9F2C4E1A7B3D5F60/720p.mp4",
    ):
        assert contract.output_key_attempt(key=key, job_id="j1") is None, key
    assert contract.result_attempts(result=hls_result(job_id="j1"), job_id="j1") == {
        "9f2c4e1a7b3d5f60"
    }
    assert contract.result_attempts(result=success_result_v1(job_id="j1"), job_id="j1") == set()
