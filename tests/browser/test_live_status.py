"""The list's live status: a stored change reaches the page within a few hundred
milliseconds, and a tab nobody looks at sends nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, Request

from tests.support.media import clip_make
from tests.support.observe import job_of

REPO = Path(__file__).resolve().parents[2]
# The bound is the README's own figure (Performance: "SUCCESS stored → the
# page shows `ready`"), read from there so that the two cannot drift apart.
READY_SHOWN_TARGET = re.compile(
    r"SUCCESS stored → the page shows `ready` \|[^|\n]*\|[^|\n]*\| about (\d+) ms"
)

# Notes when the row first shows each status, by the page's own clock, which is
# the machine's: the test compares it with the time the collector stored it.
STATUS_CLOCK = """
window.__statusAt = {};
setInterval(() => {
  const row = document.querySelector('[data-video-row][data-api-url$="/%s/"]');
  const status = row && row.dataset.status;
  if (status && !(status in window.__statusAt)) window.__statusAt[status] = Date.now();
}, 5);
"""
HIDE = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_a_stored_status_reaches_the_page_fast_and_a_hidden_tab_stops_polling(
    page: Page, api, stack, tmp_path: Path
):
    # Long enough to stay processing while the tab is hidden and shown again.
    clip = clip_make(tmp_path / "live.mp4", seconds=20, width=1280, height=720)
    video_id = api.upload(clip, title="Live").json()["id"]
    # Request events reach Python only while it waits on Playwright: wait with
    # page.wait_for_timeout, never time.sleep.
    polls: list[float] = []

    def on_request(request: Request) -> None:
        if request.method == "GET" and request.url.endswith(f"/api/videos/{video_id}/"):
            polls.append(time.monotonic())

    page.on("request", on_request)
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    page.evaluate(STATUS_CLOCK % video_id)
    page.wait_for_function("'processing' in window.__statusAt", timeout=120_000)

    # Polled several times a second while the job runs (once a second before).
    window_start = time.monotonic()
    page.wait_for_timeout(1500)
    in_window = [t for t in polls if t >= window_start]
    assert len(in_window) >= 4, f"{len(in_window)} polls in 1.5 s"

    page.evaluate(HIDE, True)
    page.wait_for_timeout(500)  # a poll already in flight may still land
    hidden_from = time.monotonic()
    page.wait_for_timeout(1500)
    assert [t for t in polls if t >= hidden_from] == [], "a hidden tab kept polling"
    assert "ready" not in page.evaluate("window.__statusAt"), (
        "finished while hidden: clip too short"
    )
    page.evaluate(HIDE, False)

    page.wait_for_function("'ready' in window.__statusAt", timeout=300_000)
    shown_ms = page.evaluate("window.__statusAt.ready")
    stored_ms = job_of(stack.database_url, video_id)["finished_at"].timestamp() * 1000
    # The page polls every 250 ms while a job runs; the bench reports p50 and p99.
    (target_ms,) = READY_SHOWN_TARGET.findall((REPO / "README.md").read_text())
    assert shown_ms - stored_ms <= int(target_ms), (
        f"ready shown {shown_ms - stored_ms:.0f} ms after it was stored, README says {target_ms}"
    )

    settled = time.monotonic()
    page.wait_for_timeout(1000)
    assert [t for t in polls if t >= settled] == [], "a finished video is still polled"
