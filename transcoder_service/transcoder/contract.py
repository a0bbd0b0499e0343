"""The literal names of the message contract (docs/messages.md).

These strings are the only coupling with the web service, which keeps its own
copy. Change them only together with docs/messages.md and both contract
tests; tests/test_contract.py and tests/test_contract_results.py pin every value
here against that document.
"""

from __future__ import annotations

import re
from typing import Final

CONTRACT_VERSION: Final = 2
# Versions this worker accepts. During a breaking change it normally holds
# the old and the new version for one release; v1 named files on a shared
# disk this worker no longer has, so it cannot be honoured (docs/messages.md,
# "Upgrading from v1").
SUPPORTED_CONTRACT_VERSIONS: Final = frozenset({2})

TASK_CONVERT_VIDEO: Final = "transcode.convert_video"
TASK_DELETE_OUTPUTS: Final = "transcode.delete_outputs"
TASK_PING: Final = "transcode.ping"

QUEUE: Final = "transcode_queue"
# Optional message header naming the caller's video, for traces and logs only
# (docs/messages.md, "Trace context").
HEADER_VIDEO_ID: Final = "video_id"
EXCHANGE: Final = "transcode_queue"
EXCHANGE_TYPE: Final = "direct"
ROUTING_KEY: Final = "transcode_queue"

# kwargs of transcode.convert_video.
KWARG_JOB_ID: Final = "job_id"
KWARG_SOURCE_KEY: Final = "source_key"
KWARG_PROFILES: Final = "profiles"
KWARG_CONTRACT_VERSION: Final = "contract_version"
REQUIRED_KWARGS: Final = frozenset({KWARG_JOB_ID, KWARG_SOURCE_KEY, KWARG_CONTRACT_VERSION})
OPTIONAL_KWARGS: Final = frozenset({KWARG_PROFILES})
# kwargs of transcode.delete_outputs: all required, nothing optional.
DELETE_KWARGS: Final = frozenset({KWARG_JOB_ID, KWARG_CONTRACT_VERSION})
# Cancelling a job (docs/messages.md, "Cancelling a job"): the JSON body
# {"job_id": ..., "contract_version": 2} on a durable fanout exchange that
# each worker binds its own queue to. Not Celery's remote control: the right
# to publish there would also be the right to stop every worker.
CANCEL_EXCHANGE: Final = "transcode_cancel"
CANCEL_EXCHANGE_TYPE: Final = "fanout"
CANCEL_FIELDS: Final = frozenset({KWARG_JOB_ID, KWARG_CONTRACT_VERSION})
# The v1 field that marks a shared-disk message, refused with its own sentence.
KWARG_V1_SOURCE_PATH: Final = "source_path"
DEFAULT_PROFILES: Final = ("720p",)
# The profile name that asks for the adaptive HLS ladder and its storyboard.
PROFILE_HLS: Final = "hls"
MAX_PROFILES: Final = 4
# fullmatch() is used with it: a `$` anchor would also accept a trailing "\n".
JOB_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# In bytes of UTF-8, which is S3's own limit on a key.
MAX_SOURCE_KEY_BYTES: Final = 1024
SOURCES_PREFIX: Final = "sources/"

# The custom state published while the job runs, and its meta keys.
STATE_PROGRESS: Final = "PROGRESS"
PROGRESS_PERCENT: Final = "percent"
PROGRESS_STAGE: Final = "stage"
STAGE_DOWNLOADING: Final = "downloading"
STAGE_PROBING: Final = "probing"
STAGE_TRANSCODING: Final = "transcoding"
STAGE_POSTER: Final = "poster"
STAGE_UPLOADING: Final = "uploading"
# Once the attempt's ladder is playable, while it is still made
# (docs/messages.md, "Results and states"): every later PROGRESS carries
# {"preview": {"master_key": ..., "encoded_seconds": ..., "duration": ...}}.
PROGRESS_PREVIEW: Final = "preview"
PREVIEW_MASTER_KEY: Final = "master_key"
PREVIEW_ENCODED_SECONDS: Final = "encoded_seconds"
PREVIEW_DURATION: Final = "duration"

# Failure codes have no constants: Celery sends an exception's class name as
# `exc_type`, so the class names in transcoder/errors.py are the codes.

# Output keys in the bucket (docs/messages.md, "Outputs in the object store").
OUTPUTS_PREFIX: Final = "outputs/"
POSTER_FILENAME: Final = "poster.jpg"
MANIFEST_FILENAME: Final = "manifest.json"
# The HLS ladder, under the attempt prefix: hls/master.m3u8, and for each
# rung hls/<rung>/index.m3u8, hls/<rung>/init.mp4, hls/<rung>/seg_00001.m4s...
HLS_FOLDER: Final = "hls"
HLS_MASTER_FILENAME: Final = "master.m3u8"
HLS_PLAYLIST_FILENAME: Final = "index.m3u8"
HLS_INIT_FILENAME: Final = "init.mp4"
# ffmpeg's pattern; numbering starts at 1.
HLS_SEGMENT_PATTERN: Final = "seg_%05d.m4s"
HLS_SEGMENT_SECONDS: Final = 4
STORYBOARD_SPRITE_FILENAME: Final = "storyboard.jpg"
STORYBOARD_VTT_FILENAME: Final = "storyboard.vtt"
# outputs/<job_id>/attempts/<attempt>.json: one marker per delivery while it
# runs; markers left behind are deliveries that died (transcoder/attempts.py).
ATTEMPTS_FOLDER: Final = "attempts"
# The delivery that finds this many dead attempts fails with WorkerCrashed.
MAX_CRASHED_ATTEMPTS: Final = 3
# 16 lowercase hex digits, random per delivery (secrets.token_hex(8)).
ATTEMPT_BYTES: Final = 8
ATTEMPT_PATTERN: Final = re.compile(r"[0-9a-f]{16}")


def rendition_filename(profile: str) -> str:
    return f"{profile}.mp4"


def job_prefix(job_id: str) -> str:
    """outputs/<job_id>/: everything a job ever writes, and what delete_outputs removes."""
    return f"{OUTPUTS_PREFIX}{job_id}/"


def attempt_prefix(*, job_id: str, attempt: str) -> str:
    """outputs/<job_id>/<attempt>/: one delivery's objects, never shared with another."""
    return f"{job_prefix(job_id)}{attempt}/"


def manifest_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}{MANIFEST_FILENAME}"


def attempts_prefix(job_id: str) -> str:
    """outputs/<job_id>/attempts/: the markers of the job's deliveries."""
    return f"{job_prefix(job_id)}{ATTEMPTS_FOLDER}/"


def attempt_marker_key(*, job_id: str, attempt: str) -> str:
    return f"{attempts_prefix(job_id)}{attempt}.json"


def cancel_queue_name(hostname: str) -> str:
    """<nodename>.transcode_cancel: one queue per worker, like Celery's <nodename>.celery.pidbox.

    Stable across restarts, so kombu's filesystem transport (`make run`),
    which never forgets a binding, does not collect queues of dead workers.
    """
    return f"{hostname}.{CANCEL_EXCHANGE}"
