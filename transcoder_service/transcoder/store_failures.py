"""What the store's failures mean to a job: boto3's exceptions as the contract's failures.

objectstore.py wraps every call to the store in `store_errors`, so one
place decides how a failure reaches the caller (docs/messages.md,
"FAILURE reasons"):

- unreachable, timed out, or `5xx`        -> `StorageError` (retried)
- `403` (AccessDenied, a bad signature)   -> `StorageDenied` (a person must act)
- a source key that names no object       -> `InvalidPayload`

Messages name keys, never the endpoint or a local path: they end up in front
of a person, who has no use for the worker's file system.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from transcoder.errors import InvalidPayload, StorageDenied, StorageError

logger = logging.getLogger(__name__)

DENIED_CODES = frozenset({"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"})
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@contextlib.contextmanager
def store_errors(action: str, *, missing_key: str | None = None) -> Iterator[None]:
    """Turn boto3's exceptions raised inside the block into the contract's failures.

    `missing_key`: a 404 means that source does not exist (`InvalidPayload`);
    without it a 404 is unexpected and treated like any other store fault.
    """
    try:
        yield
    except ClientError as exc:
        raise _client_failure(exc, action=action, missing_key=missing_key) from exc
    except S3UploadFailedError as exc:
        # boto3's transfer manager wraps the ClientError (as __context__).
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ClientError):
            raise _client_failure(cause, action=action, missing_key=None) from exc
        raise StorageError(f"The object store failed while {action}.") from exc
    except BotoCoreError as exc:
        # Connection refused or reset, timeouts, a proxy in the way: all
        # transient as far as we can tell, so retried.
        logger.warning("object store unreachable while %s: %s", action, exc)
        raise StorageError(f"The object store could not be reached while {action}.") from exc


def _client_failure(
    exc: ClientError, *, action: str, missing_key: str | None
) -> InvalidPayload | StorageDenied | StorageError:
    code = error_code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code == "NoSuchBucket":
        # A 404 too, but about our configuration, not the message: retried
        # like a store fault, with a sentence that says what to check.
        return StorageError(f"The bucket does not exist (check S3_BUCKET) while {action}.")
    if missing_key is not None and (code in MISSING_CODES or status == 404):
        return InvalidPayload(f"The source object {missing_key!r} does not exist.")
    if code in DENIED_CODES or status == 403:
        return StorageDenied(denied_sentence(action))
    return StorageError(f"The object store failed while {action} ({code or status}).")


def denied_sentence(action: str) -> str:
    return (
        f"The object store refused the transcoder's credentials while {action}: "
        "check TRANSCODER_S3_ACCESS_KEY_ID and the bucket's permissions (docs/storage.md)."
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
