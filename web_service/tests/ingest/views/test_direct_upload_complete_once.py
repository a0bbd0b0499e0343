"""One upload makes one video, however many `complete` calls arrive at once (issue 23, hole 7).

Four parallel `complete` calls gave three 201s: three videos sharing one
source, and deleting one deleted the others' source. Completing now claims
the upload (a conditional UPDATE from open to completing), and
Video.source_key is unique.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from botocore.exceptions import ClientError
from django.db import IntegrityError, connection, connections, transaction

from ingest.models import Upload, UploadState
from ingest.services.direct_uploads import CANCEL_COMPLETING_MESSAGE, COMPLETING_MESSAGE
from ingest.services.uploads import video_create
from videos.models import Video

from ...conftest import logged_in_client, multipart_keys, source_keys, transcode_queue_drain
from ...factories import user_make
from .live_session import LiveSession

pytestmark = pytest.mark.usefixtures("empty_sources")

CALLS = 4


def _requests_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # A transaction sees one snapshot of the activity unless it asks anew.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # each request on its own connection, as in production
def test_parallel_completes_make_one_video_the_others_a_409_and_its_deletion_is_clean(
    live_server, object_store, transcoder_s3, memory_broker
):
    browser = LiveSession.for_person(base_url=live_server.url, person=user_make())
    started = browser.send(
        "POST", "/api/uploads/", {"filename": "a.mp4", "size": 10, "content_type": "video/mp4"}
    ).body
    url = browser.send("POST", f"/api/uploads/{started['id']}/parts/1/").body["url"]
    etag = urllib3.request("PUT", url, body=b"0123456789").headers["ETag"]
    complete = f"/api/uploads/{started['id']}/complete/"
    parts = {"parts": [{"PartNumber": 1, "ETag": etag}]}

    with ThreadPoolExecutor(CALLS) as pool:
        # The test holds the upload's row, so that all four calls are inside
        # the completion at the same moment; released, they race for it.
        with transaction.atomic():
            Upload.objects.select_for_update().get(pk=started["id"])
            calls = [pool.submit(browser.send, "POST", complete, parts) for _ in range(CALLS)]
            deadline = time.monotonic() + 30
            while _requests_waiting_on_a_lock() < CALLS and time.monotonic() < deadline:
                time.sleep(0.05)
        answers = [call.result() for call in calls]
    connections.close_all()

    assert Counter(a.status for a in answers) == {201: 1, 409: CALLS - 1}
    assert [a.body for a in answers if a.status == 409] == [{"error": COMPLETING_MESSAGE}] * 3
    video = Video.objects.get()
    assert (str(video.pk), video.source_key) == (
        next(a.body["id"] for a in answers if a.status == 201),
        started["key"],
    )
    assert not Upload.objects.exists()
    assert len(transcode_queue_drain(memory_broker)) == 1
    assert source_keys(transcoder_s3, object_store.bucket) == [started["key"]]

    deleted = browser.send("DELETE", f"/api/videos/{video.pk}/")
    assert deleted.status == 204
    assert not Video.objects.exists()
    assert source_keys(transcoder_s3, object_store.bucket) == []
    assert multipart_keys(transcoder_s3, object_store.bucket) == []


@pytest.mark.django_db
def test_no_two_videos_share_a_source_and_a_refused_second_keeps_it(
    user, object_store, web_s3, transcoder_s3, memory_broker
):
    key = "sources/shared"
    web_s3.put_object(Bucket=object_store.bucket, Key=key, Body=b"0123456789")
    first = video_create(
        owner=user, source_key=key, original_filename="a.mp4", size_bytes=10, title=""
    )
    with pytest.raises(IntegrityError):
        video_create(owner=user, source_key=key, original_filename="a.mp4", size_bytes=10, title="")
    assert list(Video.objects.values_list("pk", flat=True)) == [first.pk]
    # The first video's source is still there: the refused second took nothing with it.
    try:
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    except ClientError as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"the first video's source was deleted: {exc}")


@pytest.mark.django_db
def test_an_upload_being_completed_cannot_be_cancelled(user, object_store, transcoder_s3):
    client, token = logged_in_client(user)
    started = client.post(
        "/api/uploads/",
        {"filename": "a.mp4", "size": 10, "content_type": "video/mp4"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    ).json()
    Upload.objects.filter(pk=started["id"]).update(state=UploadState.COMPLETING)
    refused = client.delete(f"/api/uploads/{started['id']}/", HTTP_X_CSRFTOKEN=token)
    assert (refused.status_code, refused.json()) == (409, {"error": CANCEL_COMPLETING_MESSAGE})
    assert Upload.objects.filter(pk=started["id"]).exists()
    assert multipart_keys(transcoder_s3, object_store.bucket) == [started["key"]]
