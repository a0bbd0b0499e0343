"""Validation of the transcode.convert_video message into a `ConvertRequest`.

The message comes from another codebase, so nothing in it is trusted: every
field is checked for presence, exact type and range, and each refusal says
precisely what was wrong (it ends up in front of a person as `exc_message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from transcoder import contract
from transcoder.errors import InvalidPayload
from transcoder.media.profiles import PROFILES

# How much of an offending value a message quotes: enough to recognise it,
# not enough to echo a megabyte of junk back through the result queue.
_QUOTE_LIMIT = 80

# Linux's NAME_MAX: no file or folder name on disk is longer, so a longer
# one cannot name an upload. Refused here because the file system would
# answer ENAMETOOLONG, an OSError that storage treats as a passing fault.
_NAME_MAX_BYTES = 255

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class ConvertRequest:
    job_id: str
    source_path: str
    profiles: tuple[str, ...]
    contract_version: int


def parse_convert_request(
    *, args: Sequence[object], kwargs: Mapping[str, object]
) -> ConvertRequest:
    """Return the validated request, or raise `InvalidPayload`."""
    if args:
        raise InvalidPayload(
            f"The task takes keyword arguments only, but got {len(args)} positional argument(s)."
        )
    _check_keys(kwargs)
    return ConvertRequest(
        job_id=_job_id(kwargs[contract.KWARG_JOB_ID]),
        source_path=_source_path(kwargs[contract.KWARG_SOURCE_PATH]),
        profiles=_profiles(kwargs.get(contract.KWARG_PROFILES, list(contract.DEFAULT_PROFILES))),
        contract_version=_contract_version(
            kwargs.get(contract.KWARG_CONTRACT_VERSION, contract.CONTRACT_VERSION)
        ),
    )


def _check_keys(kwargs: Mapping[str, object]) -> None:
    unknown = sorted(set(kwargs) - contract.REQUIRED_KWARGS - contract.OPTIONAL_KWARGS)
    if unknown:
        names = ", ".join(_quote(name) for name in unknown)
        raise InvalidPayload(f"The message has unknown field(s): {names}.")
    missing = sorted(contract.REQUIRED_KWARGS - set(kwargs))
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


def _source_path(value: object) -> str:
    path = _require_type(contract.KWARG_SOURCE_PATH, value, str)
    # Each rule here is cheap and catches an unsafe path before it reaches the
    # file system; storage.resolve_source still re-checks the resolved path,
    # which is what catches symlinks.
    if not path:
        raise InvalidPayload("The source_path is empty.")
    if len(path) > contract.MAX_SOURCE_PATH_LENGTH:
        raise InvalidPayload(
            f"The source_path is {len(path)} characters long; "
            f"the limit is {contract.MAX_SOURCE_PATH_LENGTH}."
        )
    if "\0" in path:
        raise InvalidPayload("The source_path contains a NUL byte.")
    try:
        names = path.encode("utf-8").split(b"/")
    except UnicodeEncodeError:
        # JSON can carry a lone surrogate ("\ud800"), which no file name can
        # hold; the first os call would raise UnicodeEncodeError, a failure
        # outside the contract.
        raise InvalidPayload(
            "The source_path is not valid Unicode text: it contains a lone surrogate."
        ) from None
    longest = max(names, key=len)
    if len(longest) > _NAME_MAX_BYTES:
        raise InvalidPayload(
            f"The source_path has a name of {len(longest)} bytes "
            f"({_quote(longest.decode('utf-8'))}); a file or folder name is at most "
            f"{_NAME_MAX_BYTES} bytes."
        )
    if path.startswith("/"):
        raise InvalidPayload(
            f"The source_path {_quote(path)} is absolute; it must be relative to the media root."
        )
    if ".." in path.split("/"):
        raise InvalidPayload(f"The source_path {_quote(path)} contains a '..' segment.")
    return path


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
        if item not in PROFILES:
            known = ", ".join(sorted(PROFILES))
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
