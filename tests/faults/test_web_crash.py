"""Uploads cut off mid-transfer leave no job and no file behind.

Django streams an upload into MEDIA_ROOT/incoming/ and removes that file
itself when the request ends in a way Python sees, a client that gives up
included. A web process killed mid-upload cannot: its file stays until the
collector removes it once it has been idle for UPLOAD_ABANDONED_AFTER.
"""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.observe import db_rows, files_under, wait_until

DECLARED = 200 * 1024 * 1024  # what the cut-off client promises to send
SENT = 8 * 1024 * 1024  # what it sends before the cut


def _uploads_in_progress(stack) -> list[str]:
    return files_under(stack.media_root / "incoming")


def _wait_for_upload_in_progress(stack) -> str:
    (name,) = wait_until(
        lambda: [
            n
            for n in _uploads_in_progress(stack)
            if (stack.media_root / "incoming" / n).stat().st_size >= SENT // 2
        ],
        timeout=30,
        what="the cut-off upload is being written to incoming/",
    )
    return name


def test_an_upload_the_client_abandons_leaves_no_row_and_no_file(start_stack):
    stack = start_stack(start=("web",))
    api = ApiClient(stack.base_url)
    sock = api.upload_started(declared_bytes=DECLARED, sent_bytes=SENT)
    _wait_for_upload_in_progress(stack)

    sock.close()  # the client gives up; the web process lives on

    wait_until(lambda: _uploads_in_progress(stack) == [], timeout=30, what="incoming/ is empty")
    assert files_under(stack.media_root / "sources") == []
    assert db_rows(stack.database_url, "SELECT id FROM videos_video") == []
    assert db_rows(stack.database_url, "SELECT id FROM videos_transcodejob") == []


def test_an_upload_cut_off_by_a_web_crash_is_cleaned_up_and_finished_uploads_keep_their_jobs(
    start_stack, make_clip
):
    # A short idle limit, so the collector's sweep is seen within the test.
    stack = start_stack(UPLOAD_ABANDONED_AFTER="2")
    api = ApiClient(stack.base_url)
    web = stack.processes["web"]
    before = api.upload(make_clip(seconds=3), title="before the crash")
    assert before.status_code == 201, before.text

    sock = api.upload_started(declared_bytes=DECLARED, sent_bytes=SENT)
    orphan = _wait_for_upload_in_progress(stack)
    web.kill()  # gunicorn's whole process group, mid-request
    sock.close()
    # Nothing in the dead process could remove its upload file...
    assert orphan in _uploads_in_progress(stack)

    web.start()
    stack.wait_web()
    after = api.upload(make_clip(seconds=3), title="after the restart")
    assert after.status_code == 201, after.text

    # ...so the collector does, once nobody has written it for 2 s.
    wait_until(
        lambda: _uploads_in_progress(stack) == [],
        timeout=30,
        what="the abandoned upload is removed from incoming/",
        diagnostics=lambda: str(_uploads_in_progress(stack)),
    )
    assert "removed abandoned upload" in stack.processes["collector"].log_text()

    finished = [before.json()["id"], after.json()["id"]]
    videos = db_rows(stack.database_url, "SELECT id::text, title FROM videos_video")
    assert sorted(row["id"] for row in videos) == sorted(finished)
    assert len(db_rows(stack.database_url, "SELECT id FROM videos_transcodejob")) == 2
    # sources/ holds the two finished uploads and nothing else.
    assert files_under(stack.media_root / "sources") == sorted(finished)
    for video_id in finished:
        final, _ = api.wait_final(video_id, timeout=120)
        assert final["status"] == "ready", final
