"""The failure classes must survive Celery's JSON result encoding as the contract says."""

from __future__ import annotations

import pickle

import pytest
from kombu.utils.json import dumps, loads

from transcoder import errors
from transcoder.worker import app

from .support import FAILURE_CODES

MESSAGE = "The file is not a video: no video stream was found."
CLASSES = [
    errors.InvalidPayload,
    errors.InvalidMedia,
    errors.TranscodeFailed,
    errors.TranscodeTimeout,
    errors.StorageDenied,
    errors.StorageError,
    errors.WorkerCrashed,
]


def on_the_wire(exc: BaseException) -> dict[str, object]:
    """What the worker's result backend publishes for `exc`, after a JSON round trip."""
    prepared = app.backend.prepare_exception(exc, serializer="json")
    decoded: dict[str, object] = loads(dumps(prepared))
    return decoded


@pytest.mark.parametrize("cls", CLASSES)
def test_json_shape(cls: type[errors.TranscodeError]) -> None:
    assert on_the_wire(cls(MESSAGE)) == {
        "exc_type": cls.__name__,
        "exc_message": [MESSAGE],
        "exc_module": "transcoder.errors",
    }


@pytest.mark.parametrize("cls", CLASSES)
def test_json_round_trip_rebuilds_the_class(cls: type[errors.TranscodeError]) -> None:
    rebuilt = app.backend.exception_to_python(on_the_wire(cls(MESSAGE)))
    assert type(rebuilt) is cls
    assert rebuilt.message == MESSAGE


def test_a_caller_without_these_classes_still_gets_code_and_sentence() -> None:
    # The web never imports transcoder.errors; Celery then makes up a class
    # of the same name, which is all the web needs.
    wire = {**on_the_wire(errors.InvalidMedia(MESSAGE)), "exc_module": "not_installed_here"}
    rebuilt = app.backend.exception_to_python(wire)
    assert type(rebuilt).__name__ == "InvalidMedia"
    assert rebuilt.args == (MESSAGE,)


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_round_trip(cls: type[errors.TranscodeError]) -> None:
    # billiard pickles exceptions between the pool process and the worker.
    rebuilt = pickle.loads(pickle.dumps(cls(MESSAGE)))
    assert type(rebuilt) is cls
    assert rebuilt.args == (MESSAGE,)


def test_class_names_are_the_contract_codes() -> None:
    assert {cls.__name__ for cls in CLASSES} == set(FAILURE_CODES)
