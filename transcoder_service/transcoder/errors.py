"""The failures a job can end with, one class per `exc_type` of the contract.

Celery's JSON result serializer sends a failed task's exception as
`{"exc_type": <class name>, "exc_message": <exception args>, "exc_module": ...}`
(celery.backends.base.Backend.prepare_exception). So:

- each class name *is* the contract code (docs/messages.md), and the
  classes live at module level because Celery uses `__qualname__`;
- each exception carries exactly one argument, a sentence a person can read,
  so the web can show `exc_message[0]` as it is.
"""

from __future__ import annotations


class TranscodeError(Exception):
    """Base class: a job failure with one human-readable sentence."""

    def __init__(self, message: str) -> None:
        # A single positional argument keeps `args == (message,)`, which is
        # what ends up in `exc_message` and what pickle needs to rebuild it.
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidPayload(TranscodeError):
    """The message breaks the contract: bad field, unsafe path, unknown profile."""


class InvalidMedia(TranscodeError):
    """The source is not a video, is damaged, or is over a limit."""


class TranscodeFailed(TranscodeError):
    """ffmpeg failed on a source that it could probe."""


class TranscodeTimeout(TranscodeError):
    """The job ran past the soft time limit."""


class StorageError(TranscodeError):
    """The object store or the scratch disk failed; the only failure that is retried."""


class StorageDenied(TranscodeError):
    """The object store refused the transcoder's credentials (403): never retried.

    Retrying cannot help: a person must fix the key or the bucket's policy.
    """


class WorkerCrashed(TranscodeError):
    """Earlier deliveries of this job died with their process (SIGKILL, OOM, a lost host).

    The job is refused for good rather than handed to the next worker to
    crash on (transcoder/attempts.py counts the deaths).
    """
