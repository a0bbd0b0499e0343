"""A person's path through the page, in a real browser against the real stack."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.media import clip_make, ffprobe
from tests.support.observe import job_of, wait_until
from tests.support.processes import ffmpeg_pids

# Samples what the page shows every 50 ms, so the test can assert on the
# sequence a person saw, and that the page never reloaded. Only the row this
# upload adds counts: other tests' videos may already be in the list.
RECORDER = """
window.__noReload = true;
window.__samples = [];
const rows = () => [...document.querySelectorAll('#video-list [data-video-row]')];
const earlier = new Set(rows().map(r => r.dataset.apiUrl).filter(Boolean));
setInterval(() => {
  const bar = document.getElementById('upload-bar');
  const row = rows().find(r => r.dataset.apiUrl && !earlier.has(r.dataset.apiUrl));
  const p = row && row.querySelector('[data-field="progress"]');
  window.__samples.push({
    upload: bar && !document.getElementById('upload-progress').hidden ? bar.value : null,
    status: row ? row.dataset.status : null,
    progress: p ? p.value : null,
  });
}, 50);
"""


def _wait_status(page: Page, selector: str, status: str, timeout_s: float) -> None:
    page.wait_for_function(
        "([sel, st]) => { const el = document.querySelector(sel);"
        " return el && el.dataset.status === st; }",
        arg=[selector, status],
        timeout=timeout_s * 1000,
    )


def test_upload_watch_progress_and_play(page: Page, stack, screenshot_dir: Path, tmp_path: Path):
    clip = clip_make(tmp_path / "city walk.mp4", seconds=20, width=1280, height=720)
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    # Slow the upload down so its progress bar has something to show.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    throughput = max(256 * 1024, clip.stat().st_size // 4)  # about four seconds
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": throughput},
    )
    page.evaluate(RECORDER)
    page.fill("#id_title", "City walk <b>bold?</b>")
    page.set_input_files("#id_file", str(clip))
    page.click("#upload-button")  # choosing a file does not start it

    page.wait_for_function("document.getElementById('upload-bar').value >= 25", timeout=30_000)
    page.screenshot(path=screenshot_dir / "upload.png")
    row = "#video-list [data-video-row]"
    # The video exists once its row does (new rows go first in the list).
    page.wait_for_function("window.__samples.some(s => s.status !== null)", timeout=60_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    _wait_status(page, row, "processing", 60)
    page.wait_for_function(
        f"document.querySelector('{row} [data-field=progress]').value > 0", timeout=60_000
    )
    page.screenshot(path=screenshot_dir / "processing.png")
    _wait_status(page, row, "ready", 180)
    page.wait_for_function(
        f"!document.querySelector('{row} [data-field=poster]').hidden", timeout=10_000
    )
    page.screenshot(path=screenshot_dir / "list-ready.png")

    samples = page.evaluate("window.__samples")
    assert page.evaluate("window.__noReload") is True  # everything above happened live
    uploads = sorted({s["upload"] for s in samples if s["upload"] is not None})
    assert len([u for u in uploads if 0 < u < 100]) >= 3, uploads  # the bar moved
    statuses = [s["status"] for s in samples if s["status"]]
    assert statuses.index("processing") < statuses.index("ready")
    percents = [s["progress"] for s in samples if s["status"] == "processing"]
    assert len(set(percents)) >= 2, percents
    assert percents == sorted(percents), percents

    # The escaped title shows as text, not markup.
    title = page.locator(row).first.locator("[data-field=title]")
    expect(title).to_have_text("City walk <b>bold?</b>")

    title.click()
    page.wait_for_selector("video#player", timeout=30_000)
    page.wait_for_function("document.querySelector('video#player').readyState >= 1", timeout=30_000)
    duration = page.evaluate("document.querySelector('video#player').duration")
    assert abs(duration - float(ffprobe(clip)["format"]["duration"])) <= 0.25
    # It really plays: time moves on after play(), not just metadata loaded.
    page.evaluate("const v = document.querySelector('video#player'); v.muted = true; v.play()")
    page.wait_for_function("document.querySelector('video#player').currentTime > 1", timeout=30_000)
    expect(page.locator("table.meta")).to_contain_text("1280×720")
    expect(page.locator("a.button[download]")).to_be_visible()
    page.screenshot(path=screenshot_dir / "ready.png", full_page=True)


def test_cancel_a_running_job_then_retry_it(
    page: Page, stack, api, screenshot_dir: Path, tmp_path: Path
):
    if "worker" not in stack.processes:
        pytest.skip("needs the worker's process tree, which an external stack does not expose")
    clip = clip_make(tmp_path / "long.mp4", seconds=90, width=1280, height=720)
    created = api.upload(clip, title="Long one").json()
    page.goto(f"{stack.base_url}/videos/{created['id']}/", wait_until="domcontentloaded")
    card = "[data-detail]"
    _wait_status(page, card, "processing", 60)
    worker_pid = stack.processes["worker"].pid
    deadline = time.monotonic() + 30
    while not (running := ffmpeg_pids(worker_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running, "no ffmpeg process under the worker while processing"

    cancelled_job = job_of(stack.database_url, created["id"])["id"]
    page.click(f"{card} [data-action=cancel]")
    _wait_status(page, card, "cancelled", 30)
    expect(page.locator(f"{card} [data-action=retry]")).to_be_visible()
    page.screenshot(path=screenshot_dir / "cancelled.png")
    deadline = time.monotonic() + 15
    while any(os.path.exists(f"/proc/{pid}") for pid in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in running), "ffmpeg still running"
    # Killed before its upload: nothing of it in the store, not even half an upload.
    # Its attempt marker goes a moment after ffmpeg, as the pool process's
    # SIGTERM unwinds (transcoder/attempts.py): asserting at once raced that.
    leftovers = f"outputs/{cancelled_job}/"
    wait_until(
        lambda: stack.store.objects(leftovers) == {},
        timeout=15,
        what="the cancelled job's objects gone from the store",
        diagnostics=lambda: str(stack.store.objects(leftovers)),
    )
    assert stack.store.multipart_uploads("outputs/") == [], "a partial upload left behind"

    page.click(f"{card} [data-action=retry]")
    # The retried job plays while it transcodes (the growing ladder), and on
    # into the finished one: the player shows before ready, and stays.
    _wait_status(page, card, "ready", 300)
    assert api.video(created["id"])["status"] == "ready"
    expect(page.locator("video#player")).to_be_visible()


def test_non_video_files_show_the_reason(page: Page, stack, screenshot_dir: Path, tmp_path: Path):
    picture = tmp_path / "picture.png"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64",
            "-frames:v",
            "1",
            str(picture),
        ],
        check=True,
    )
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    # Refused in the page before any byte is sent.
    page.set_input_files("#id_file", str(picture))
    expect(page.locator("#upload-error")).to_have_text(
        "Only video files can be uploaded; this file is image/png."
    )
    assert posts == []

    # Named like a video, so only probing can tell: the worker's reason is shown.
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all\n" * 50)
    page.set_input_files("#id_file", str(fake))
    page.click("#upload-button")
    row = "#video-list [data-video-row]"
    _wait_status(page, row, "failed", 60)
    error = page.locator(row).first.locator("[data-field=error]")  # the newest row
    expect(error).to_have_text("The file could not be read as a media file.")
    page.screenshot(path=screenshot_dir / "failed.png")


def test_an_oversize_file_never_leaves_the_page_and_an_upload_can_be_cancelled_in_flight(
    page: Page, stack, api, tmp_path: Path
):
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    count_before = api.get("/api/videos/").json()["count"]
    sources_before = len(stack.store.objects("sources/"))

    # One byte over the server's limit, as a sparse file: refused before any byte is sent.
    # The page's limits and the server's sentences (ingest/limits.py, json_script).
    limits = json.loads(page.text_content("#upload-limits") or "{}")
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as f:
        f.truncate(limits["max_bytes"] + 1)
    page.set_input_files("#id_file", str(huge))
    too_large = limits["messages"]["too_large"]
    assert too_large.startswith("The file is larger than the "), too_large
    expect(page.locator("#upload-error")).to_have_text(too_large)
    assert posts == []

    # A slow upload, cancelled half-way by the person.
    clip = clip_make(tmp_path / "slow.mp4", seconds=10, width=640, height=360)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 64 * 1024},
    )
    page.set_input_files("#id_file", str(clip))
    page.click("#upload-button")
    page.wait_for_function("document.getElementById('upload-bar').value >= 5", timeout=30_000)
    expect(page.locator("#upload-cancel")).to_be_visible()
    page.click("#upload-cancel")
    expect(page.locator("#upload-error")).to_have_text("Upload cancelled.")
    expect(page.locator("#upload-progress")).to_be_hidden()
    # One upload was started (then its parts were signed, and sent to the store).
    assert [p for p in posts if p.endswith("/api/uploads/")] == [f"{stack.base_url}/api/uploads/"]

    # The page aborted it (DELETE /api/uploads/<id>/): no video, no multipart upload.
    wait_until(
        lambda: stack.store.multipart_uploads("sources/") == [],
        timeout=15,
        what="the cancelled upload's multipart upload is aborted",
    )
    assert len(stack.store.objects("sources/")) == sources_before
    assert api.get("/api/videos/").json()["count"] == count_before
