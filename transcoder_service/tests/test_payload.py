from __future__ import annotations

import pytest

from transcoder.errors import InvalidPayload
from transcoder.payload import (
    ConvertRequest,
    DeleteRequest,
    parse_convert_request,
    parse_delete_request,
)

VALID = {"job_id": "0b6c2f0e-1c1e-4b7a", "source_key": "sources/0b6c2f0e", "contract_version": 2}


def parse(**kwargs: object) -> ConvertRequest:
    return parse_convert_request(args=(), kwargs=kwargs)


def refused(*, args: tuple[object, ...] = (), **kwargs: object) -> str:
    with pytest.raises(InvalidPayload) as caught:
        parse_convert_request(args=args, kwargs=kwargs)
    return caught.value.message


def test_minimal_message_gets_defaults() -> None:
    assert parse(**VALID) == ConvertRequest(
        job_id="0b6c2f0e-1c1e-4b7a",
        source_key="sources/0b6c2f0e",
        profiles=("720p",),
        contract_version=2,
    )


def test_full_message() -> None:
    request = parse(**VALID, profiles=["480p", "720p"])
    assert request.profiles == ("480p", "720p")


def test_positional_arguments_are_refused() -> None:
    assert "keyword arguments only" in refused(args=("x",), **VALID)


def test_unknown_field_is_named() -> None:
    assert refused(**VALID, priority=5) == "The message has unknown field(s): 'priority'."


@pytest.mark.parametrize("missing", ["job_id", "source_key", "contract_version"])
def test_missing_field_is_named(missing: str) -> None:
    kwargs = {k: v for k, v in VALID.items() if k != missing}
    assert refused(**kwargs) == f"The message is missing the required field(s): {missing!r}."


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("job_id", 42, "must be a string, not an integer"),
        ("job_id", None, "must be a string, not null"),
        ("source_key", ["a"], "must be a string, not a list"),
        ("contract_version", True, "must be an integer, not a boolean"),
        ("contract_version", "1", "must be an integer, not a string"),
        ("contract_version", 1.0, "must be an integer, not a number"),
        ("profiles", "720p", "must be a list, not a string"),
    ],
)
def test_wrong_types(field: str, value: object, expected: str) -> None:
    assert expected in refused(**{**VALID, field: value})


@pytest.mark.parametrize("job_id", ["a", "A-b_9", "0" * 64])
def test_good_job_ids(job_id: str) -> None:
    assert parse(**{**VALID, "job_id": job_id}).job_id == job_id


@pytest.mark.parametrize(
    "job_id", ["", "-leading-dash", "_x", "a/b", "a.b", "a b", "é", "x\n", "0" * 65]
)
def test_bad_job_ids(job_id: str) -> None:
    assert "job_id" in refused(**{**VALID, "job_id": job_id})


def test_huge_job_id_is_not_echoed_in_full() -> None:
    message = refused(**{**VALID, "job_id": "x" * 1_000_000})
    assert len(message) < 300


@pytest.mark.parametrize(
    ("source_key", "expected"),
    [
        ("", "The source_key is empty."),
        ("/sources/a.mp4", "The source_key '/sources/a.mp4' starts with '/'; it is a key"),
        ("outputs/j/720p.mp4", "The source_key 'outputs/j/720p.mp4' must start with 'sources/'."),
        ("Sources/a.mp4", "must start with 'sources/'"),
        ("sources/../outputs/x", "The source_key 'sources/../outputs/x' contains a '..' segment."),
        ("sources/a/..", "'..' segment"),
        ("sources//a.mp4", "The source_key 'sources//a.mp4' contains an empty segment."),
        ("sources/", "empty segment"),
        ("sources/a/", "empty segment"),
        ("sources/a\0b", "The source_key contains a NUL byte."),
        ("sources/a\nb", "The source_key contains a control character."),
        ("sources/a\x7fb", "control character"),
        ("sources/a\x85b", "control character"),  # C1, a control character too
        ("sources/\ud800.mp4", "not valid Unicode text: it contains a lone surrogate."),
        ("sources/" + "a" * 1017, "The source_key is 1025 bytes long; the limit is 1024."),
        ("sources/" + "é" * 509, "is 1026 bytes long"),  # bytes of UTF-8, not characters
    ],
)
def test_bad_source_keys(source_key: str, expected: str) -> None:
    assert expected in refused(**{**VALID, "source_key": source_key})


@pytest.mark.parametrize(
    "source_key",
    [
        "sources/a",
        "sources/5d1f9a0c-2c7e-4f7b-8d55-0c1e2b3a4d5f",
        "sources/my..video.mp4",  # dots inside a segment are fine
        "sources/dir/é ü & ; $(x).mp4",  # the key is never given to a shell
        "sources/" + "a" * 1016,  # exactly 1024 bytes
    ],
)
def test_good_source_keys(source_key: str) -> None:
    assert parse(**{**VALID, "source_key": source_key}).source_key == source_key


def test_huge_source_key_is_not_echoed_in_full() -> None:
    assert len(refused(**{**VALID, "source_key": "outputs/" + "x" * 900})) < 300


@pytest.mark.parametrize(
    "v1",
    [
        {"job_id": "j1", "source_path": "sources/a.mp4"},
        {"job_id": "j1", "source_path": "sources/a.mp4", "contract_version": 1},
        {**VALID, "source_path": "sources/a.mp4"},
    ],
)
def test_a_v1_message_is_refused_with_a_sentence_that_says_so(v1: dict[str, object]) -> None:
    assert refused(**v1) == (
        "This is a contract v1 message: it has 'source_path', a file on a shared disk. "
        "This worker speaks contract v2 and needs 'source_key', the key of the source "
        'in the bucket (docs/messages.md, "Upgrading from v1").'
    )


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        ([], "is empty"),
        (["1080p"], "Unknown profile '1080p'; the known ones are 480p, 720p, hls."),
        (["720p", "720p"], "listed more than once"),
        (["720p"] * 5, "At most 4 profiles"),
        ([720], "must be a string, not an integer"),
    ],
)
def test_bad_profiles(profiles: list[object], expected: str) -> None:
    assert expected in refused(**VALID, profiles=profiles)


@pytest.mark.parametrize("version", [1, 3])
def test_unknown_contract_version(version: int) -> None:
    assert refused(**{**VALID, "contract_version": version}) == (
        f"Contract version {version} is not supported by this worker (it speaks 2)."
    )


def test_delete_request() -> None:
    kwargs = {"job_id": "job-7", "contract_version": 2}
    assert parse_delete_request(args=(), kwargs=kwargs) == DeleteRequest(
        job_id="job-7", contract_version=2
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("job-7",), {}, "keyword arguments only"),
        ((), {"job_id": "job-7"}, "missing the required field(s): 'contract_version'."),
        ((), {"contract_version": 2}, "missing the required field(s): 'job_id'."),
        ((), {"job_id": "../x", "contract_version": 2}, "The job_id '../x' is invalid"),
        ((), {"job_id": "job-7", "contract_version": 1}, "Contract version 1 is not supported"),
        (
            (),
            {"job_id": "job-7", "contract_version": 2, "source_key": "sources/a"},
            "unknown field(s): 'source_key'.",
        ),
    ],
)
def test_bad_delete_requests(
    args: tuple[object, ...], kwargs: dict[str, object], expected: str
) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_delete_request(args=args, kwargs=kwargs)
    assert expected in caught.value.message
