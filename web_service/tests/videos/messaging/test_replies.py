import pytest

from videos.messaging.replies import MalformedReply, reply_decode


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
    reply = reply_decode(body={"task_id": "t", "status": "FAILURE", "result": {"exc_type": "Boom"}})
    assert reply.failure_reason == ("Boom", "The transcoder failed without giving a reason.")
