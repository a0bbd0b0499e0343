"""Validation of the messages into a `ConvertRequest`, a `DeleteRequest` or a `CancelRequest`.

The message comes from another codebase, so nothing in it is trusted: every
field is checked for presence, exact type and range, and each refusal says
precisely what was wrong (it ends up in front of a person as `exc_message`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from transcoder import contract
from transcoder.errors import InvalidPayload
from transcoder.media.profiles import PROFILE_NAMES

# How much of an offending value a message quotes: enough to recognise it,
# not enough to echo a megabyte of junk back through the result queue.
_QUOTE_LIMIT = 80

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class ConvertRequest:
    job_id: str
    source_key: str
    profiles: tuple[str, ...]
    contract_version: int

    @property
    def mp4_profiles(self) -> tuple[str, ...]:
        """The MP4 renditions asked for, in the caller's order."""
        return tuple(name for name in self.profiles if name != contract.PROFILE_HLS)

    @property
    def wants_hls(self) -> bool:
        """Whether the adaptive HLS ladder (and its storyboard) was asked for."""
        return contract.PROFILE_HLS in self.profiles


@dataclass(frozen=True, kw_only=True)
class DeleteRequest:
    job_id: str
    contract_version: int


def parse_convert_request(
    *, args: Sequence[object], kwargs: Mapping[str, object]
) -> ConvertRequest:
    """Return the validated transcode.convert_video request, or raise `InvalidPayload`."""
    _check_no_args(args)
    if contract.KWARG_V1_SOURCE_PATH in kwargs:
        # Checked before the field lists, so a v1 caller learns why at once
        # instead of reading "unknown field 'source_path'".
        raise InvalidPayload(
            "This is a contract v1 message: it has 'source_path', a file on a shared disk. "
            "This worker speaks contract v2 and needs 'source_key', the key of the source "
            'in the bucket (docs/messages.md, "Upgrading from v1").'
        )
    _check_keys(kwargs, required=contract.REQUIRED_KWARGS, optional=contract.OPTIONAL_KWARGS)
    return ConvertRequest(
        job_id=_job_id(kwargs[contract.KWARG_JOB_ID]),
        source_key=_source_key(kwargs[contract.KWARG_SOURCE_KEY]),
        profiles=_profiles(kwargs.get(contract.KWARG_PROFILES, list(contract.DEFAULT_PROFILES))),
        contract_version=_contract_version(kwargs[contract.KWARG_CONTRACT_VERSION]),
    )


def parse_delete_request(*, args: Sequence[object], kwargs: Mapping[str, object]) -> DeleteRequest:
    """Return the validated transcode.delete_outputs request, or raise `InvalidPayload`."""
    _check_no_args(args)
    _check_keys(kwargs, required=contract.DELETE_KWARGS, optional=frozenset())
    return DeleteRequest(
        job_id=_job_id(kwargs[contract.KWARG_JOB_ID]),
        contract_version=_contract_version(kwargs[contract.KWARG_CONTRACT_VERSION]),
    )


@dataclass(frozen=True, kw_only=True)
class CancelRequest:
    job_id: str
    contract_version: int


def parse_cancel_request(*, body: object) -> CancelRequest:
    """Return the validated cancel message (transcoder/cancel.py), or raise `InvalidPayload`."""
    if not isinstance(body, dict):
        raise InvalidPayload(f"A cancel message must be a JSON object, not {_type_name(body)}.")
    _check_keys(body, required=contract.CANCEL_FIELDS, optional=frozenset())
    return CancelRequest(
        job_id=_job_id(body[contract.KWARG_JOB_ID]),
        contract_version=_contract_version(body[contract.KWARG_CONTRACT_VERSION]),
    )


def _check_no_args(args: Sequence[object]) -> None:
    if args:
        raise InvalidPayload(
            f"The task takes keyword arguments only, but got {len(args)} positional argument(s)."
        )


def _check_keys(
    kwargs: Mapping[str, object], *, required: frozenset[str], optional: frozenset[str]
) -> None:
    unknown = sorted(set(kwargs) - required - optional)
    if unknown:
        names = ", ".join(_quote(name) for name in unknown)
        raise InvalidPayload(f"The message has unknown field(s): {names}.")
    missing = sorted(required - set(kwargs))
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise InvalidPayload(f"The message is missing the required field(s): {names}.")


def _job_id(value: object) -> str:
    job_id = _require_type(contract.KWARG_JOB_ID, value, str)
    if not contract.JOB_ID_PATTERN.fullmatch(job_id):
        raise InvalidPayload(
            f"The job_id {_quote(job_id)} is invalid: it must be 1-64 letters, digits, "
            "'_' or '-', starting with a letter or digit."
        )
    return job_id


def _source_key(value: object) -> str:
    key = _require_type(contract.KWARG_SOURCE_KEY, value, str)
    # The store would accept most of these keys; they are refused because
    # the web never makes them, so they can only be a bug or an attack.
    if not key:
        raise InvalidPayload("The source_key is empty.")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON can carry a lone surrogate ("\ud800"), which no S3 key can hold.
        raise InvalidPayload(
            "The source_key is not valid Unicode text: it contains a lone surrogate."
        ) from None
    if size > contract.MAX_SOURCE_KEY_BYTES:
        raise InvalidPayload(
            f"The source_key is {size} bytes long; the limit is {contract.MAX_SOURCE_KEY_BYTES}."
        )
    if "\0" in key:
        raise InvalidPayload("The source_key contains a NUL byte.")
    if any(unicodedata.category(char) == "Cc" for char in key):
        raise InvalidPayload("The source_key contains a control character.")
    if key.startswith("/"):
        raise InvalidPayload(
            f"The source_key {_quote(key)} starts with '/'; it is a key in the bucket, not a path."
        )
    if not key.startswith(contract.SOURCES_PREFIX):
        raise InvalidPayload(
            f"The source_key {_quote(key)} must start with {contract.SOURCES_PREFIX!r}."
        )
    segments = key.split("/")
    if ".." in segments:
        raise InvalidPayload(f"The source_key {_quote(key)} contains a '..' segment.")
    if "" in segments:
        raise InvalidPayload(f"The source_key {_quote(key)} contains an empty segment.")
    return key


def _profiles(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidPayload(f"The field 'profiles' must be a list, not {_type_name(value)}.")
    if not value:
        raise InvalidPayload("The profiles list is empty; ask for at least one profile.")
    if len(value) > contract.MAX_PROFILES:
        raise InvalidPayload(
            f"At most {contract.MAX_PROFILES} profiles can be asked for, got {len(value)}."
        )
    seen: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidPayload(f"Each profile must be a string, not {_type_name(item)}.")
        if item not in PROFILE_NAMES:
            known = ", ".join(sorted(PROFILE_NAMES))
            raise InvalidPayload(f"Unknown profile {_quote(item)}; the known ones are {known}.")
        if item in seen:
            raise InvalidPayload(f"The profile {_quote(item)} is listed more than once.")
        seen.append(item)
    return tuple(seen)


def _contract_version(value: object) -> int:
    version = _require_type(contract.KWARG_CONTRACT_VERSION, value, int)
    if version not in contract.SUPPORTED_CONTRACT_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(contract.SUPPORTED_CONTRACT_VERSIONS))
        raise InvalidPayload(
            f"Contract version {version} is not supported by this worker (it speaks {supported})."
        )
    return version


def _require_type(name: str, value: object, expected: type[_T]) -> _T:
    # bool is a subclass of int in Python, but `true` is not a version number.
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise InvalidPayload(
            f"The field {name!r} must be {_TYPE_NAMES[expected]}, not {_type_name(value)}."
        )
    return value


_TYPE_NAMES: dict[type, str] = {str: "a string", int: "an integer"}


def _type_name(value: object) -> str:
    # JSON names, since the sender wrote JSON and may not speak Python.
    json_names = {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return json_names.get(type(value), type(value).__name__)


def _quote(value: str) -> str:
    if len(value) > _QUOTE_LIMIT:
        return repr(value[:_QUOTE_LIMIT] + "…")
    return repr(value)
