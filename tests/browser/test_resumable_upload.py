"""Resumable uploads in a real browser: the parts go straight to the store, and survive
a dropped connection and a reload without being sent twice."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from playwright.sync_api import Page, Request

from tests.support.observe import wait_until

MiB = 1024 * 1024
ROW = "#video-list [data-video-row]"
PART_NUMBER = re.compile(r"[?&]partNumber=(\d+)", re.IGNORECASE)


def _random_video(path: Path, size: int) -> Path:
    # Only the bytes are judged, so random ones named .mp4 will do (the job
    # then fails to transcode, which these tests do not look at).
    path.write_bytes(os.urandom(size))
    return path


def _throttle(page: Page, bytes_per_second: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def _part_puts(page: Page, finished: list[int], started: list[int]) -> None:
    def number(request: Request) -> int | None:
        match = PART_NUMBER.search(request.url)
        return int(match.group(1)) if request.method == "PUT" and match else None

    page.on("request", lambda r: number(r) and started.append(number(r)))
    page.on(
        "requestfinished",
        lambda r: number(r) and r.response() and r.response().ok and finished.append(number(r)),
    )


def _rows(page: Page) -> int:
    return page.locator(ROW).count()


def _wait_row(page: Page, *, more_than: int, timeout_s: float) -> None:
    """Until the page has added the new video's row; on failure, say what it shows."""
    try:
        page.wait_for_function(
            f"document.querySelectorAll('{ROW}').length > {more_than}", timeout=timeout_s * 1000
        )
    except Exception as exc:
        shown = page.evaluate(
            "[document.getElementById('upload-error').textContent,"
            " document.getElementById('upload-text').textContent]"
        )
        raise AssertionError(f"no new row; the page shows {shown}") from exc


def _page_wait(page: Page, condition, *, timeout_s: float, what: str) -> None:
    # Not time.sleep: Playwright's sync API delivers events only while it waits.
    for _ in range(int(timeout_s * 5)):
        if condition():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"not true after {timeout_s} s: {what}")


def _new_source(stack, before: set[str]) -> str:
    wait_until(  # the row is there already: the object is complete, this only reads it
        lambda: set(stack.store.objects("sources/")) - before,
        timeout=60,
        what="the completed upload's object in the store",
    )
    (key,) = set(stack.store.objects("sources/")) - before
    return key


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_upload_cut_off_mid_way_continues_when_the_network_is_back(
    page: Page, stack, api, tmp_path: Path
):
    # Nine parts of 8 MiB, eight sent at a time (uploader.js): the ninth waits
    # for the first to end.
    clip = _random_video(tmp_path / "drive.mp4", 72 * MiB)
    before = set(stack.store.objects("sources/"))
    count_before = api.get("/api/videos/").json()["count"]
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    finished: list[int] = []
    started: list[int] = []
    _part_puts(page, finished, started)
    _throttle(page, 8 * MiB)  # about nine seconds

    rows = _rows(page)
    page.fill("#id_title", "Drive")
    page.set_input_files("#id_file", str(clip))
    assert started == []
    assert api.get("/api/videos/").json()["count"] == count_before
    page.click("#upload-button")
    _page_wait(page, lambda: finished, timeout_s=60, what="a part sent")

    page.context.set_offline(True)
    page.wait_for_timeout(1500)
    assert _rows(page) == rows  # nothing completed while offline
    done_offline = sorted(set(finished))
    assert done_offline, done_offline
    assert 9 not in done_offline, done_offline
    page.context.set_offline(False)

    _wait_row(page, more_than=rows, timeout_s=60)
    key = _new_source(stack, before)
    assert _sha256(stack.store.read(key)) == _sha256(clip.read_bytes())
    assert stack.store.multipart_uploads("sources/") == []
    # The parts finished before the drop were not sent again.
    assert all(started.count(n) == 1 for n in done_offline), started
    newest = api.get("/api/videos/").json()["results"][0]
    assert (newest["title"], newest["original_filename"]) == ("Drive", "drive.mp4")
    assert page.locator("#upload-error").text_content() == ""


def test_a_reload_mid_upload_resumes_without_sending_finished_parts_again(
    page: Page, stack, tmp_path: Path, screenshot_dir: Path
):
    clip = _random_video(tmp_path / "reload.mp4", 72 * MiB + 12345)  # ten parts, eight at a time
    before = set(stack.store.objects("sources/"))
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    finished: list[int] = []
    started: list[int] = []
    _part_puts(page, finished, started)
    _throttle(page, 6 * MiB)

    page.set_input_files("#id_file", str(clip))
    page.click("#upload-button")
    _page_wait(page, lambda: len(set(finished)) >= 2, timeout_s=60, what="two parts sent")
    page.screenshot(path=screenshot_dir / "resumable.png")
    done_before_reload = sorted(set(finished))
    started_before_reload = len(started)

    page.reload(wait_until="domcontentloaded")
    rows = _rows(page)
    _throttle(page, 6 * MiB)
    _wait_row(page, more_than=rows, timeout_s=90)
    key = _new_source(stack, before)
    assert _sha256(stack.store.read(key)) == _sha256(clip.read_bytes())
    assert stack.store.multipart_uploads("sources/") == []
    after_reload = started[started_before_reload:]
    assert after_reload, "nothing was sent after the reload"
    assert not set(after_reload) & set(done_before_reload), (done_before_reload, after_reload)
    assert sorted(set(started)) == list(range(1, 11))


def test_an_upload_kept_from_a_visit_that_no_longer_exists_does_not_block_a_new_one(
    page: Page, api, stack, tmp_path: Path
):
    # A kept upload whose server side is gone (completed, aborted or swept
    # while the tab was closed) must not stand in the way of the next file.
    stale = _random_video(tmp_path / "stale.mp4", 72 * MiB)  # not done when its first part is
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    finished: list[int] = []
    _part_puts(page, finished, [])
    created: list[str] = []
    page.on(
        "response",
        lambda r: (
            r.request.method == "POST"
            and r.url.rstrip("/").endswith("/api/uploads")
            and r.ok
            and created.append(r.json()["id"])
        ),
    )
    _throttle(page, 4 * MiB)
    page.set_input_files("#id_file", str(stale))
    page.click("#upload-button")
    _page_wait(page, lambda: created and finished, timeout_s=60, what="one part sent")

    # The tab goes first, then the server side. Deleted while the page still
    # sends parts, the store answers a part in flight 404, the upload fails in
    # this visit, and GoldenRetriever keeps nothing: the next visit has no kept
    # upload to speak of, which is not the case this test is about.
    page.goto("about:blank")  # the tab is closed: the part PUTs in flight end
    assert api.delete(f"/api/uploads/{created[0]}/").status_code == 204
    listed: list[int] = []
    page.on(
        "response",
        lambda r: (
            r.request.method == "GET"
            and r.url.endswith(f"/api/uploads/{created[0]}/parts/")
            and listed.append(r.status)
        ),
    )

    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")  # Uppy restores it; it is gone
    # Resuming first lists the parts the store holds; Uppy does not retry that
    # call (only signatures and part PUTs), so the 404 is said at once.
    page.wait_for_function(
        "document.getElementById('upload-error').textContent.length > 0", timeout=30_000
    )
    assert listed == [404], listed  # it was the kept upload, restored, that failed
    assert page.locator("#upload-button").is_enabled()  # the page is not left busy
    rows = _rows(page)
    fresh = _random_video(tmp_path / "fresh.mp4", 6 * MiB)
    page.set_input_files("#id_file", str(fresh))
    page.click("#upload-button")
    _wait_row(page, more_than=rows, timeout_s=60)
    newest = api.get("/api/videos/").json()["results"][0]
    assert newest["original_filename"] == "fresh.mp4"
    assert page.locator("#upload-error").text_content() == ""
