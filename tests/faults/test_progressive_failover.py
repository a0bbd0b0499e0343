"""The worker dies while someone watches the job transcode (issue 26).

The page plays the attempt's growing ladder (docs/messages.md, "preview").
SIGKILL takes the whole worker, its publisher and ffmpeg with it; the broker
hands the job to the next worker, which is a new attempt with keys of its own.
The page must follow it, never mixing the two attempts' segments, the job must
end ready, and the store must hold one set of outputs: the manifest's.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.api import ApiClient
from tests.support.browser import chromium_context, page_sign_in
from tests.support.observe import job_of
from tests.support.processes import alive, ffmpeg_pids

# 720p: on two cores the ladder of 40 s takes long enough for the page to
# play the first attempt before the kill, and the second to finish soon after.
SECONDS = 40
# The attempt in a playlist's /media/ URL or a segment's signed store URL.
ATTEMPT = re.compile(r"/outputs/[^/]+/([0-9a-f]{16})/hls/")

SOURCE = "document.querySelector('[data-player]').dataset.source || ''"


def _attempt(url: str) -> str:
    match = ATTEMPT.search(url)
    assert match, url
    return match.group(1)


def _plays(page: Page, *, timeout: float) -> None:
    """Until the video's time moves by a second, not paused."""
    at = page.evaluate("document.getElementById('player').currentTime")
    try:
        page.wait_for_function(
            "at => { const v = document.getElementById('player');"
            " return !v.paused && v.currentTime > at + 1; }",
            arg=at,
            timeout=timeout,
        )
    except PlaywrightTimeout:
        state = page.evaluate(
            "() => { const v = document.getElementById('player');"
            " return {time: v.currentTime, paused: v.paused, ended: v.ended,"
            " box: {...document.querySelector('[data-player]').dataset}}; }"
        )
        raise AssertionError(f"the video did not play on from {at} s: {state}") from None


def test_a_viewer_follows_the_new_attempt_when_the_worker_is_killed_mid_job(
    start_stack, make_clip, tmp_path: Path
):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    api.headers()  # signs the account up, for the browser to log in as
    worker = stack.processes["worker"]
    uploaded = api.upload(make_clip(seconds=SECONDS, width=1280, height=720))
    assert uploaded.status_code == 201, uploaded.text
    video_id = uploaded.json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]

    with chromium_context(profile=tmp_path / "chromium") as context:
        page = context.new_page()
        page_sign_in(page, base_url=stack.base_url, username=api.username, password=api.password)
        hls_requests: list[str] = []

        def seen(request: Request) -> None:
            if ATTEMPT.search(request.url):
                hls_requests.append(request.url)

        page.on("request", seen)
        page.goto(f"{stack.base_url}/videos/{video_id}/", wait_until="domcontentloaded")
        page.wait_for_function(SOURCE, timeout=120_000)
        first = _attempt(page.evaluate(SOURCE))
        _plays(page, timeout=60_000)
        assert api.video(video_id)["status"] == "processing"

        ffmpegs = ffmpeg_pids(worker.pid, mentioning=job_id)
        assert ffmpegs, "the job was not transcoding while the page played it"
        worker.kill()  # SIGKILL to the whole group: main process, pool, ffmpeg
        assert not any(alive(pid) for pid in ffmpegs)
        worker.start()  # the next worker: the broker delivers the job again

        # The page switches to the new attempt's playlists and plays on.
        switched = page.wait_for_function(
            "old => { const box = document.querySelector('[data-player]');"
            " const s = box.dataset.source || '';"
            " return s && !s.includes('/' + old + '/') && box.dataset.state; }",
            arg=first,
            timeout=120_000,
        )
        # Followed while the new attempt runs (its preview), not only once it is ready.
        assert switched.json_value() == "processing"
        switched_at = len(hls_requests)
        second = _attempt(page.evaluate(SOURCE))
        assert second != first
        _plays(page, timeout=120_000)
        state = page.evaluate("() => ({...document.querySelector('[data-player]').dataset})")
        assert state["instances"] == "2", state  # a new hls.js, a new buffer

        final, _ = api.wait_final(video_id, timeout=300)
        assert final["status"] == "ready", final
        page.wait_for_function("document.querySelector('[data-player]').dataset.state === 'ready'")
        # Ready with the attempt the page followed: the same source, whole now
        # (the viewer may have reached its end meanwhile: from the start again).
        assert page.evaluate(SOURCE) == final["hls_url"]
        assert _attempt(final["hls_url"]) == second
        page.evaluate("() => { document.getElementById('player').currentTime = 1; }")
        _plays(page, timeout=60_000)
        # Nothing of the dead attempt was asked for once the page had switched.
        after = {_attempt(url) for url in hls_requests[switched_at:]}
        assert after == {second}, after

    # One set of outputs: the manifest's, nothing of the dead attempt left.
    stack.store.assert_job_outputs_whole(job_id)
    assert not stack.store.objects(f"outputs/{job_id}/{first}/")
