"""Pins the messages of docs/messages.md, as literals: names, routing, kwargs, profiles.

Transport, sending, deleting and cancelling a job, and what the worker
refuses; what a job answers and leaves in the store is pinned by
test_contract_results.py. The web service has the mirror of both
(web_service/tests/jobs/messaging/test_contract.py). If a test here has to
change, the contract changed: update docs/messages.md and the web's test in
the same pull request, and read the document's "Versioning" section first.
"""

from __future__ import annotations

import subprocess
import sys

from kombu import Queue

from transcoder import cancel, contract, guards
from transcoder.cancel import CancelConsumer, cancel_queue
from transcoder.media.profiles import PROFILE_NAMES, PROFILES, RUNGS
from transcoder.payload import parse_cancel_request, parse_convert_request, parse_delete_request
from transcoder.tasks import convert_video, delete_outputs, ping
from transcoder.worker import app

from .support import SERVICE_DIR


def test_task_names_and_version() -> None:
    assert contract.TASK_CONVERT_VIDEO == "transcode.convert_video"
    assert contract.TASK_DELETE_OUTPUTS == "transcode.delete_outputs"
    assert contract.TASK_PING == "transcode.ping"
    assert contract.CONTRACT_VERSION == 2
    assert contract.SUPPORTED_CONTRACT_VERSIONS == {2}


def test_delete_outputs_publishes_no_result_and_no_started_state() -> None:
    assert delete_outputs.name == "transcode.delete_outputs"
    assert delete_outputs.ignore_result is True
    assert delete_outputs.track_started is False
    assert convert_video.ignore_result is False
    assert ping.track_started is False


def test_the_worker_registers_the_tasks_by_name() -> None:
    # In a fresh interpreter, as `celery --app transcoder.worker worker` starts.
    code = (
        "from transcoder.worker import app; app.loader.import_default_modules(); "
        "print(sorted(name for name in app.tasks if name.startswith('transcode.')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=SERVICE_DIR, capture_output=True, text=True, check=True
    ).stdout
    expected = "['transcode.convert_video', 'transcode.delete_outputs', 'transcode.ping']"
    assert output.strip() == expected


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
    assert contract.REQUIRED_KWARGS == {"job_id", "source_key", "contract_version"}
    assert contract.OPTIONAL_KWARGS == {"profiles"}
    assert contract.DELETE_KWARGS == {"job_id", "contract_version"}
    assert contract.KWARG_V1_SOURCE_PATH == "source_path"
    assert contract.DEFAULT_PROFILES == ("720p",)
    assert contract.MAX_PROFILES == 4
    assert contract.MAX_SOURCE_KEY_BYTES == 1024
    assert contract.SOURCES_PREFIX == "sources/"
    # The example of docs/messages.md, "kwargs", as written there.
    example = {
        "job_id": "0b6c2f0e-1c1e-4b7a-9a53-2f1f6c7d9e10",
        "source_key": "sources/5d1f9a0c-2c7e-4f7b-8d55-0c1e2b3a4d5f",
        "profiles": ["720p"],
        "contract_version": 2,
    }
    request = parse_convert_request(args=(), kwargs=example)
    assert (request.job_id, request.source_key) == (example["job_id"], example["source_key"])
    delete = parse_delete_request(args=(), kwargs={"job_id": "j", "contract_version": 2})
    assert delete.job_id == "j"


def test_the_cancel_message_and_its_exchange() -> None:
    # docs/messages.md, "Cancelling a job": not Celery's remote control.
    assert (contract.CANCEL_EXCHANGE, contract.CANCEL_EXCHANGE_TYPE) == (
        "transcode_cancel",
        "fanout",
    )
    queue = cancel_queue(hostname="celery@host")
    assert queue.name == "celery@host.transcode_cancel"
    assert (queue.durable, queue.auto_delete) == (False, True)
    exchange = queue.exchange
    assert (exchange.name, exchange.type, exchange.durable, exchange.auto_delete) == (
        "transcode_cancel",
        "fanout",
        True,
        False,
    )
    assert contract.CANCEL_FIELDS == {"job_id", "contract_version"}
    # The example of docs/messages.md, as written there.
    request = parse_cancel_request(
        body={"job_id": "0b6c2f0e-1c1e-4b7a-9a53-2f1f6c7d9e10", "contract_version": 2}
    )
    assert request.job_id == "0b6c2f0e-1c1e-4b7a-9a53-2f1f6c7d9e10"
    assert cancel.CANCEL_SIGNAL == "SIGTERM"
    assert CancelConsumer in app.steps["consumer"]


def test_the_worker_sets_its_own_limits_and_refuses_schedules_and_compression() -> None:
    # docs/messages.md, "What the worker refuses".
    assert isinstance(convert_video._get_current_object(), guards.GuardedTask)
    assert convert_video.Request == "transcoder.guards:GuardedRequest"
    assert guards.SCHEDULE_REFUSED == (
        "This worker does not accept scheduled jobs (eta/countdown): "
        "send the job when it should run."
    )


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


def test_hls_profile_keys_and_rungs() -> None:
    assert contract.PROFILE_HLS == "hls"
    assert PROFILE_NAMES == {"720p", "480p", "hls"}
    assert (
        contract.HLS_FOLDER,
        contract.HLS_MASTER_FILENAME,
        contract.HLS_PLAYLIST_FILENAME,
        contract.HLS_INIT_FILENAME,
        contract.HLS_SEGMENT_PATTERN,
        contract.HLS_SEGMENT_SECONDS,
    ) == ("hls", "master.m3u8", "index.m3u8", "init.mp4", "seg_%05d.m4s", 4)
    assert (contract.STORYBOARD_SPRITE_FILENAME, contract.STORYBOARD_VTT_FILENAME) == (
        "storyboard.jpg",
        "storyboard.vtt",
    )
    assert [(r.name, r.box_width, r.box_height, r.maxrate, r.audio_bitrate) for r in RUNGS] == [
        ("1080p", 1920, 1080, "5000k", "128k"),
        ("720p", 1280, 720, "3000k", "128k"),
        ("480p", 854, 480, "1500k", "96k"),
        ("360p", 640, 360, "800k", "64k"),
    ]
    request = parse_convert_request(
        args=[],
        kwargs={
            "job_id": "j",
            "source_key": "sources/a",
            "profiles": ["720p", "hls"],
            "contract_version": 2,
        },
    )
    assert request.profiles == ("720p", "hls")
