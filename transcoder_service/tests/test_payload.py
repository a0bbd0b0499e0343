from __future__ import annotations

import pytest

from transcoder.errors import InvalidPayload
from transcoder.payload import ConvertRequest, parse_convert_request

VALID = {"job_id": "0b6c2f0e-1c1e-4b7a", "source_path": "sources/0b6c2f0e"}


def parse(**kwargs: object) -> ConvertRequest:
    return parse_convert_request(args=(), kwargs=kwargs)


def refused(*, args: tuple[object, ...] = (), **kwargs: object) -> str:
    with pytest.raises(InvalidPayload) as caught:
        parse_convert_request(args=args, kwargs=kwargs)
    return caught.value.message


def test_minimal_message_gets_defaults() -> None:
    assert parse(**VALID) == ConvertRequest(
        job_id="0b6c2f0e-1c1e-4b7a",
        source_path="sources/0b6c2f0e",
        profiles=("720p",),
        contract_version=1,
    )


def test_full_message() -> None:
    request = parse(**VALID, profiles=["480p", "720p"], contract_version=1)
    assert request.profiles == ("480p", "720p")


def test_positional_arguments_are_refused() -> None:
    assert "keyword arguments only" in refused(args=("x",), **VALID)


def test_unknown_field_is_named() -> None:
    assert refused(**VALID, priority=5) == "The message has unknown field(s): 'priority'."


@pytest.mark.parametrize("missing", ["job_id", "source_path"])
def test_missing_field_is_named(missing: str) -> None:
    kwargs = {k: v for k, v in VALID.items() if k != missing}
    assert refused(**kwargs) == f"The message is missing the required field(s): {missing!r}."


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("job_id", 42, "must be a string, not an integer"),
        ("job_id", None, "must be a string, not null"),
        ("source_path", ["a"], "must be a string, not a list"),
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
    ("source_path", "expected"),
    [
        ("", "is empty"),
        ("/etc/passwd", "is absolute"),
        ("../secret.mp4", "'..' segment"),
        ("sources/../../secret.mp4", "'..' segment"),
        ("sources/a\0b", "NUL byte"),
        ("a" * 1025, "the limit is 1024"),
    ],
)
def test_unsafe_source_paths(source_path: str, expected: str) -> None:
    assert expected in refused(**{**VALID, "source_path": source_path})


def test_name_of_255_bytes_is_fine() -> None:
    path = f"sources/{'é' * 125}x.mp4"  # 250 + 5 bytes of UTF-8
    assert parse(**{**VALID, "source_path": path}).source_path == path


@pytest.mark.parametrize("name", ["é" * 126 + ".mp4", "a" * 256])
def test_name_over_255_bytes_cannot_exist_on_disk(name: str) -> None:
    # Refused as a bad message, not left to the file system's ENAMETOOLONG,
    # which storage would take for a passing fault and retry.
    message = refused(**{**VALID, "source_path": f"sources/{name}"})
    assert message.startswith("The source_path has a name of 256 bytes (")
    assert message.endswith("); a file or folder name is at most 255 bytes.")
    assert len(message) < 300


def test_lone_surrogate_is_refused() -> None:
    # JSON can carry "\ud800"; no file name can hold it.
    assert refused(**{**VALID, "source_path": "sources/\ud800.mp4"}) == (
        "The source_path is not valid Unicode text: it contains a lone surrogate."
    )


def test_dots_inside_a_name_are_fine() -> None:
    assert parse(**{**VALID, "source_path": "sources/my..video.mp4"})


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        ([], "is empty"),
        (["1080p"], "Unknown profile '1080p'; the known ones are 480p, 720p."),
        (["720p", "720p"], "listed more than once"),
        (["720p"] * 5, "At most 4 profiles"),
        ([720], "must be a string, not an integer"),
    ],
)
def test_bad_profiles(profiles: list[object], expected: str) -> None:
    assert expected in refused(**VALID, profiles=profiles)


def test_unknown_contract_version() -> None:
    assert refused(**VALID, contract_version=2) == (
        "Contract version 2 is not supported by this worker (it speaks 1)."
    )
