"""The literal names of the message contract (docs/messages.md).

These strings are the only coupling with the web service, which keeps its own
copy. Change them only together with docs/messages.md and both contract
tests; tests/test_contract.py pins every value here against that document.
"""

from __future__ import annotations

import re
from typing import Final

CONTRACT_VERSION: Final = 1
# Versions this worker accepts. During a breaking change it holds the old and
# the new version for one release, so the web can move at its own pace.
SUPPORTED_CONTRACT_VERSIONS: Final = frozenset({1})

TASK_CONVERT_VIDEO: Final = "transcode.convert_video"
TASK_PING: Final = "transcode.ping"

QUEUE: Final = "transcode_queue"
EXCHANGE: Final = "transcode_queue"
EXCHANGE_TYPE: Final = "direct"
ROUTING_KEY: Final = "transcode_queue"

# kwargs of transcode.convert_video.
KWARG_JOB_ID: Final = "job_id"
KWARG_SOURCE_PATH: Final = "source_path"
KWARG_PROFILES: Final = "profiles"
KWARG_CONTRACT_VERSION: Final = "contract_version"
REQUIRED_KWARGS: Final = frozenset({KWARG_JOB_ID, KWARG_SOURCE_PATH})
OPTIONAL_KWARGS: Final = frozenset({KWARG_PROFILES, KWARG_CONTRACT_VERSION})
DEFAULT_PROFILES: Final = ("720p",)
MAX_PROFILES: Final = 4
# fullmatch() is used with it: a `$` anchor would also accept a trailing "\n".
JOB_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_SOURCE_PATH_LENGTH: Final = 1024

# The custom state published while ffmpeg runs, and its meta keys.
STATE_PROGRESS: Final = "PROGRESS"
PROGRESS_PERCENT: Final = "percent"
PROGRESS_STAGE: Final = "stage"
STAGE_PROBING: Final = "probing"
STAGE_TRANSCODING: Final = "transcoding"
STAGE_POSTER: Final = "poster"

# Failure codes. They are the class names in transcoder/errors.py, because
# Celery sends an exception's class name as `exc_type`.
EXC_INVALID_PAYLOAD: Final = "InvalidPayload"
EXC_INVALID_MEDIA: Final = "InvalidMedia"
EXC_TRANSCODE_FAILED: Final = "TranscodeFailed"
EXC_TRANSCODE_TIMEOUT: Final = "TranscodeTimeout"
EXC_STORAGE_ERROR: Final = "StorageError"

# Output layout, relative to the shared media root.
OUTPUTS_DIR: Final = "outputs"
POSTER_FILENAME: Final = "poster.jpg"


def rendition_filename(profile: str) -> str:
    return f"{profile}.mp4"
