"""Uploads cut off mid-transfer leave no job and no object behind.

The web streams an upload into an S3 multipart upload of the source, 8 MiB
parts at a time (docs/storage.md, "Uploads"), and aborts it itself when the
request ends in a way Python sees, a client that gives up included. A web
process killed mid-upload cannot: its multipart upload stays open in the
store until the collector's sweep aborts it, once it is older than
UPLOAD_ABANDONED_AFTER.
"""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.observe import db_rows, wait_until

DECLARED = 200 * 1024 * 1024  # what the cut-off client promises to send
SENT = 24 * 1024 * 1024  # what it sends before the cut: more than two 8 MiB parts


def _uploads_in_progress(stack) -> list[str]:
    return stack.store.multipart_uploads("sources/")


def _wait_for_upload_in_progress(stack) -> str:
    (key,) = wait_until(
        lambda: _uploads_in_progress(stack),
        timeout=30,
        what="the cut-off upload is being streamed into a multipart upload",
    )
    return key


def test_an_upload_the_client_abandons_leaves_no_row_and_no_object(start_stack):
    stack = start_stack(start=("web",))
    api = ApiClient(stack.base_url)
    sock = api.upload_started(declared_bytes=DECLARED, sent_bytes=SENT)
    _wait_for_upload_in_progress(stack)

    sock.close()  # the client gives up; the web process lives on

    wait_until(
        lambda: _uploads_in_progress(stack) == [],
        timeout=30,
        what="the web aborted its multipart upload",
    )
    assert stack.store.objects() == {}
    assert db_rows(stack.database_url, "SELECT id FROM videos_video") == []
    assert db_rows(stack.database_url, "SELECT id FROM videos_transcodejob") == []


def test_an_upload_cut_off_by_a_web_crash_is_cleaned_up_and_finished_uploads_keep_their_jobs(
    start_stack, make_clip
):
    # A short idle limit, so the collector's sweep is seen within the test.
    stack = start_stack(UPLOAD_ABANDONED_AFTER="2")
    api = ApiClient(stack.base_url)
    web = stack.processes["web"]
    clip = make_clip(seconds=3)
    before = api.upload(clip, title="before the crash")
    assert before.status_code == 201, before.text

    sock = api.upload_started(declared_bytes=DECLARED, sent_bytes=SENT)
    orphan = _wait_for_upload_in_progress(stack)
    web.kill()  # gunicorn's whole process group, mid-request
    sock.close()
    # Nothing in the dead process could abort its multipart upload...
    assert orphan in _uploads_in_progress(stack)

    web.start()
    stack.wait_web()
    after = api.upload(clip, title="after the restart")
    assert after.status_code == 201, after.text

    # ...so the collector does, once it is older than 2 s. Its sweep runs
    # about once a minute, whatever UPLOAD_ABANDONED_AFTER is.
    wait_until(
        lambda: _uploads_in_progress(stack) == [],
        timeout=150,
        what="the abandoned multipart upload is aborted",
        diagnostics=lambda: str(_uploads_in_progress(stack)),
    )

    finished = [before.json()["id"], after.json()["id"]]
    videos = db_rows(stack.database_url, "SELECT id::text, title FROM videos_video")
    assert sorted(row["id"] for row in videos) == sorted(finished)
    assert len(db_rows(stack.database_url, "SELECT id FROM videos_transcodejob")) == 2
    # sources/ holds the two finished uploads, whole, and nothing else.
    size = clip.stat().st_size
    assert sorted(stack.store.objects("sources/").values()) == [size, size]
    for video_id in finished:
        final, _ = api.wait_final(video_id, timeout=120)
        assert final["status"] == "ready", final
