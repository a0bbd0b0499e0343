"""Watching a video while it transcodes (issue 26), in a real browser against the real stack.

The worker publishes the ladder as ffmpeg makes it (EVENT playlists under the
attempt's keys, docs/messages.md "preview"); the detail page plays it with
hls.js from the first seconds (static/videos/live_player.js), waits at the
encoded edge for a seek past it, and carries on into the VOD playlists when
the job is ready, with no reload.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.api import ApiClient
from tests.support.media import clip_make

REPO = Path(__file__).resolve().parents[2]
# 1080p, so that on two cores the ladder takes a while: long enough that the
# job is still processing while the test plays, seeks and comes back.
SECONDS = 40
MASTER = re.compile(r"/media/outputs/[^/]+/([0-9a-f]{16})/hls/master\.m3u8$")

# Installed before the page's own scripts: when the <video> first played (by
# the machine's clock, as the test's), every backward jump of its time, and a
# marker that a reload of the page would replace.
WATCH = """
window.__marker = Math.random();
window.__firstPlayingAt = null;
window.__backJumps = [];
let last = 0;
// The test's own seeks back: forget the jumps so far, and where it was.
window.__seekBack = (to) => {
  document.getElementById("player").currentTime = to;
  window.__backJumps = [];
  last = 0;
};
document.addEventListener("playing", (e) => {
  if (e.target.id !== "player" || window.__firstPlayingAt !== null) return;
  window.__firstPlayingAt = Date.now();
}, true);
document.addEventListener("timeupdate", (e) => {
  if (e.target.id !== "player") return;
  const t = e.target.currentTime;
  if (t < last - 0.05) window.__backJumps.push([last, t]);
  last = t;
}, true);
"""
STATE = """() => {
  const v = document.getElementById("player"), box = document.querySelector("[data-player]");
  return {time: v.currentTime, paused: v.paused, ended: v.ended, duration: v.duration,
          readyState: v.readyState, box: {...box.dataset},
          note: document.querySelector("[data-live-note]").hidden ? "" :
                document.querySelector("[data-live-note]").textContent};
}"""


class ReadyClock:
    """Polls the API every 0.1 s in a thread: when it first said ready (epoch ms)."""

    def __init__(self, api: ApiClient, video_id: str) -> None:
        self.ready_at: float | None = None
        self.final: dict | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(api, video_id), daemon=True)
        self._thread.start()

    def _run(self, api: ApiClient, video_id: str) -> None:
        while not self._stop.is_set():
            body = api.video(video_id)
            if body["status"] in {"ready", "failed", "cancelled"}:
                self.ready_at = time.time() * 1000 if body["status"] == "ready" else None
                self.final = body
                return
            time.sleep(0.1)

    def wait(self, timeout: float) -> dict:
        self._thread.join(timeout)
        assert self.final is not None, f"not final after {timeout} s"
        return self.final

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progressive")
    return clip_make(folder / "progressive.mp4", seconds=SECONDS, width=1920, height=1080)


def _wait_time_past(page: Page, at: float, *, by: float = 1.0, timeout: float = 30_000) -> None:
    """Until the video plays (not paused) at least `by` seconds past `at`."""
    try:
        page.wait_for_function(
            "([at, by]) => { const v = document.getElementById('player');"
            " return !v.paused && v.currentTime >= at + by; }",
            arg=[at, by],
            timeout=timeout,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"not played {by} s past {at} s: {page.evaluate(STATE)}") from None


def test_a_video_plays_while_it_transcodes_and_carries_on_into_the_ready_ladder(
    page: Page, stack, api: ApiClient, long_clip: Path, screenshot_dir: Path
):
    masters: list[str] = []
    page.on(
        "request",
        lambda request: masters.append(request.url) if MASTER.search(request.url) else None,
    )
    page.add_init_script(WATCH)
    uploaded = api.upload(long_clip, title="Watched while it transcodes")
    assert uploaded.status_code == 201, uploaded.text
    video_id = uploaded.json()["id"]
    clock = ReadyClock(api, video_id)
    try:
        page.goto(f"{stack.base_url}/videos/{video_id}/", wait_until="domcontentloaded")
        _plays_while_processing(page, clock)
        first_playing = page.evaluate("window.__firstPlayingAt")
        _a_seek_past_the_edge_waits_then_plays(page)
        # The README's picture: playing while the job is at some percent.
        page.locator("[data-detail]").screenshot(path=str(screenshot_dir / "progressive.png"))
        assert clock.final is None, "the job was done before the screenshot"
        marker = page.evaluate("window.__marker")
        _watch_until_ready(page, clock, timeout=300)
        final = clock.wait(timeout=10)
    finally:
        clock.stop()
    assert final["status"] == "ready", final
    assert clock.ready_at is not None
    assert first_playing < clock.ready_at, "the video played only once the job was ready"

    # Ready with the attempt that played: the page is not reloaded, the
    # same hls.js instance plays on into the VOD playlists (ENDLIST read).
    page.wait_for_function("document.querySelector('[data-field=status]').textContent === 'ready'")
    page.wait_for_timeout(1000)  # a reload, if the page did one, is under way by now
    assert page.evaluate("window.__marker") == marker, "the page was reloaded"
    page.wait_for_function("document.querySelector('[data-player]').dataset.state === 'ready'")
    at = page.evaluate("document.getElementById('player').currentTime")
    page.wait_for_function(
        "document.querySelector('[data-encoded-text]').textContent.startsWith('Encoded: all')",
        timeout=30_000,
    )
    _wait_time_past(page, at, by=2)
    state = page.evaluate(STATE)
    assert state["box"]["instances"] == "1", state
    assert state["box"]["source"] == final["hls_url"], (state, final["hls_url"])
    assert len(masters) == 1, masters  # one master, loaded once: no new source
    assert page.evaluate("window.__backJumps") == [], "playback jumped back across the switch"
    # What the ready page offers appears in place: the MP4 and the quality menu.
    (output,) = final["outputs"]
    download = page.locator("[data-live-download] a")
    expect(download).to_be_visible()
    assert download.get_attribute("href") == f"{output['url']}?download=1"
    options = page.eval_on_selector_all("#quality option", "os => os.map(o => o.value)")
    assert options == ["auto", *[rung["name"] for rung in final["rungs"]]]
    expect(page.locator("#quality")).to_be_visible()
    expect(page.locator("progress[data-field=progress]")).to_be_hidden()


def _watch_until_ready(page: Page, clock: ReadyClock, *, timeout: float) -> None:
    """Watch on until the API says the job is done; when the viewer nears the
    end, back to the start (the test's only seeks back), so that the video is
    still playing when the job becomes ready, whatever this machine's speed."""
    deadline = time.monotonic() + timeout
    while clock.final is None:
        assert time.monotonic() < deadline, f"not final after {timeout} s"
        if page.evaluate("document.getElementById('player').currentTime") > SECONDS - 12:
            page.evaluate("() => window.__seekBack(1)")
        page.wait_for_timeout(200)


def _plays_while_processing(page: Page, clock: ReadyClock) -> None:
    page.wait_for_selector("[data-player][data-live]:not([hidden])", timeout=120_000)
    page.wait_for_function("window.__firstPlayingAt !== null", timeout=60_000)
    assert clock.final is None, "the job was done before the page played it"
    # The progress bar gave way to the player; the status line still says how far.
    expect(page.locator("progress[data-field=progress]")).to_be_hidden()
    expect(page.locator("[data-field=status]")).to_have_text("processing")
    state = page.evaluate(STATE)
    assert state["box"]["engine"] == "hls.js", state
    assert MASTER.search(state["box"]["source"]), state
    _wait_time_past(page, state["time"], by=1.5)
    encoded = float(page.evaluate("document.querySelector('[data-player]').dataset.encoded"))
    assert 0 < encoded < SECONDS, encoded
    assert clock.final is None, "the job was done before the page had played 1.5 s"


def _a_seek_past_the_edge_waits_then_plays(page: Page) -> None:
    """Our seek bar spans the whole source: a time not encoded yet waits at
    the edge, "still encoding", and plays once the encoder reaches it."""
    target = page.evaluate(
        """() => {
          const box = document.querySelector("[data-player]");
          const seek = document.querySelector("[data-live-seek]");
          const target = Math.min(Number(box.dataset.encoded) + 8, Number(seek.max) - 3);
          seek.value = String(target);
          seek.dispatchEvent(new Event("change"));
          return target;
        }"""
    )
    state = page.evaluate(STATE)
    assert state["box"].get("waiting"), f"a seek to {target} s did not wait: {state}"
    assert state["paused"], state
    assert state["time"] < target, state
    assert state["note"].startswith("Still encoding"), state
    expect(page.locator("[data-live-note]")).to_be_visible()
    _wait_time_past(page, target, by=0.5, timeout=120_000)
    state = page.evaluate(STATE)
    assert "waiting" not in state["box"], state
    assert state["note"] == "", state
    assert "lastError" not in state["box"], state  # never an error on the way


def test_cancelling_a_job_being_watched_stops_the_player_and_says_why(
    page: Page, stack, api: ApiClient, long_clip: Path
):
    page.add_init_script(WATCH)
    uploaded = api.upload(long_clip, title="Cancelled while watched")
    assert uploaded.status_code == 201, uploaded.text
    video_id = uploaded.json()["id"]
    page.goto(f"{stack.base_url}/videos/{video_id}/", wait_until="domcontentloaded")
    page.wait_for_function("window.__firstPlayingAt !== null", timeout=120_000)
    _wait_time_past(page, 0, by=1)

    page.click("[data-action=cancel]")
    page.wait_for_function("document.querySelector('[data-player]').dataset.state === 'stopped'")
    state = page.evaluate(STATE)
    assert state["paused"], state
    # No source left in the element: hls.js is gone, nothing loads any more.
    assert page.evaluate("document.getElementById('player').getAttribute('src')") is None
    expect(page.locator("[data-player]")).to_be_hidden()
    expect(page.locator("[data-field=status]")).to_have_text("cancelled")
    body = api.video(video_id)
    assert body["status"] == "cancelled", body
    expect(page.locator("[data-field=error]")).to_have_text(body["error"])
    assert body["error"]
