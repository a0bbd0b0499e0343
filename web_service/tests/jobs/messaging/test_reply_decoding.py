import pytest

from jobs.messaging.reply_decoding import MalformedReply, reply_decode


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not a dict", "expected a JSON object"),
        ({"status": "SUCCESS"}, "task_id"),
        ({"task_id": "", "status": "SUCCESS"}, "task_id"),
        ({"task_id": "x" * 300, "status": "SUCCESS"}, "task_id"),
        ({"task_id": "t", "status": "EXPLODED"}, "unknown status"),
    ],
)
def test_malformed_bodies_are_refused(body, message):
    with pytest.raises(MalformedReply, match=message):
        reply_decode(body=body)


@pytest.mark.parametrize(
    ("result", "percent"),
    [
        ({"percent": 150}, 100),
        ({"percent": -3}, 0),
        ({"percent": "50"}, 0),
        ({"percent": True}, 0),
        (None, 0),
    ],
)
def test_percent_is_clamped_and_typed(result, percent):
    assert (
        reply_decode(body={"task_id": "t", "status": "PROGRESS", "result": result}).percent
        == percent
    )


def test_failure_without_a_message_gets_a_generic_reason():
    body = {"task_id": "t", "status": "FAILURE", "result": {"exc_type": "InvalidMedia"}}
    reply = reply_decode(body=body)
    assert reply.failure_reason == (
        "InvalidMedia",
        "The transcoder failed without giving a reason.",
    )


def test_a_contract_code_shows_its_sentence():
    result = {"exc_type": "InvalidMedia", "exc_message": ["  The file is empty. "]}
    reply = reply_decode(body={"task_id": "t", "status": "FAILURE", "result": result})
    assert reply.failure_reason == ("InvalidMedia", "The file is empty.")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        # What Celery sends when the hard time limit kills the pool process.
        (
            {"exc_type": "TimeLimitExceeded", "exc_message": [1560.0]},
            ("TimeLimitExceeded", "The transcode ran past the hard time limit and was stopped."),
        ),
        # A bug's own text can name internals; it is not shown to a person.
        (
            {"exc_type": "KeyError", "exc_message": ["'/srv/media/secret'"]},
            ("KeyError", "The transcoder failed unexpectedly. Try again, or ask an operator."),
        ),
        (
            {"exc_message": ["no code at all"]},
            ("Unknown", "The transcoder failed unexpectedly. Try again, or ask an operator."),
        ),
    ],
)
def test_codes_outside_the_contract_get_a_fixed_sentence(result, expected):
    reply = reply_decode(body={"task_id": "t", "status": "FAILURE", "result": result})
    assert reply.failure_reason == expected
