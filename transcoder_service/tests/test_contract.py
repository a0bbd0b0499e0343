"""Pins every name and field of docs/messages.md, as literals.

The web service has the mirror of this file
(web_service/tests/videos/messaging/test_contract.py). If a test here has to
change, the contract changed: update docs/messages.md and the web's test in
the same pull request, and read the document's "Versioning" section first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kombu import Queue

from transcoder import contract, errors, pipeline
from transcoder.media.profiles import PROFILES
from transcoder.payload import ConvertRequest, parse_convert_request
from transcoder.settings import Settings
from transcoder.worker import app

from .support import SERVICE_DIR


def test_task_names_and_version() -> None:
    assert contract.TASK_CONVERT_VIDEO == "transcode.convert_video"
    assert contract.TASK_PING == "transcode.ping"
    assert contract.CONTRACT_VERSION == 1
    assert contract.SUPPORTED_CONTRACT_VERSIONS == {1}


def test_the_worker_registers_the_tasks_by_name() -> None:
    # In a fresh interpreter, as `celery --app transcoder.worker worker` starts.
    code = (
        "from transcoder.worker import app; app.loader.import_default_modules(); "
        "print(sorted(name for name in app.tasks if name.startswith('transcode.')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=SERVICE_DIR, capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "['transcode.convert_video', 'transcode.ping']"


def test_queue_exchange_and_routing_key() -> None:
    (queue,) = app.conf.task_queues
    assert isinstance(queue, Queue)
    assert queue.name == "transcode_queue"
    assert queue.routing_key == "transcode_queue"
    assert queue.durable is True
    assert queue.auto_delete is False
    assert queue.exclusive is False
    assert not queue.queue_arguments  # "no extra arguments"
    assert queue.exchange.name == "transcode_queue"
    assert queue.exchange.type == "direct"
    assert queue.exchange.durable is True
    assert app.conf.task_default_queue == "transcode_queue"
    assert app.conf.task_create_missing_queues is False


def test_json_only() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]
    assert list(app.conf.result_accept_content) == ["json"]


def test_rpc_results_persistent_and_started_state() -> None:
    assert app.conf.result_backend == "rpc://"
    assert app.conf.result_persistent is True
    assert app.backend.delivery_mode == 2
    assert app.conf.task_track_started is True


def test_kwargs() -> None:
    assert contract.REQUIRED_KWARGS == {"job_id", "source_path"}
    assert contract.OPTIONAL_KWARGS == {"profiles", "contract_version"}
    assert contract.DEFAULT_PROFILES == ("720p",)
    assert contract.MAX_PROFILES == 4
    assert contract.MAX_SOURCE_PATH_LENGTH == 1024
    example = {
        "job_id": "0b6c2f0e-1c1e-4b7a-9a53-2f1f6c7d9e10",
        "source_path": "sources/0b6c2f0e-1c1e-4b7a-9a53-2f1f6c7d9e10",
        "profiles": ["720p"],
    }
    assert parse_convert_request(args=(), kwargs=example).job_id == example["job_id"]


def test_profiles() -> None:
    table = {
        name: (p.box_width, p.box_height, p.audio_bitrate, p.video_codec, p.pix_fmt)
        for name, p in PROFILES.items()
    }
    assert table == {
        "720p": (1280, 720, "128k", "libx264", "yuv420p"),
        "480p": (854, 480, "96k", "libx264", "yuv420p"),
    }
    assert all(p.audio_codec == "aac" and p.audio_channels == 2 for p in PROFILES.values())


def test_progress_state() -> None:
    assert contract.STATE_PROGRESS == "PROGRESS"
    assert (contract.PROGRESS_PERCENT, contract.PROGRESS_STAGE) == ("percent", "stage")
    assert (contract.STAGE_PROBING, contract.STAGE_TRANSCODING, contract.STAGE_POSTER) == (
        "probing",
        "transcoding",
        "poster",
    )


def test_failure_codes_are_the_exception_class_names() -> None:
    codes = {
        contract.EXC_INVALID_PAYLOAD: errors.InvalidPayload,
        contract.EXC_INVALID_MEDIA: errors.InvalidMedia,
        contract.EXC_TRANSCODE_FAILED: errors.TranscodeFailed,
        contract.EXC_TRANSCODE_TIMEOUT: errors.TranscodeTimeout,
        contract.EXC_STORAGE_ERROR: errors.StorageError,
    }
    assert set(codes) == {
        "InvalidPayload",
        "InvalidMedia",
        "TranscodeFailed",
        "TranscodeTimeout",
        "StorageError",
    }
    for code, cls in codes.items():
        assert cls.__name__ == cls.__qualname__ == code


def test_success_result_fields(settings: Settings, media_root: Path) -> None:
    request = ConvertRequest(
        job_id="j", source_path="sources/clip.mp4", profiles=("480p",), contract_version=1
    )
    result = pipeline.convert(
        request=request,
        media_root=media_root,
        on_progress=lambda *, stage, percent: None,
        settings=settings,
    )
    assert list(result) == [
        "contract_version",
        "job_id",
        "source",
        "outputs",
        "poster_path",
        "elapsed_seconds",
        "timings",
    ]
    assert set(result["source"]) == {
        "duration",
        "width",
        "height",
        "video_codec",
        "audio_codec",
        "format",
        "size_bytes",
    }
    assert set(result["outputs"][0]) == {
        "profile",
        "path",
        "width",
        "height",
        "duration",
        "size_bytes",
        "video_codec",
        "audio_codec",
    }
    assert result["outputs"][0]["path"] == "outputs/j/480p.mp4"
    assert result["poster_path"] == "outputs/j/poster.jpg"
    assert set(result["timings"]) == {"probe", "transcode", "poster", "verify"}
