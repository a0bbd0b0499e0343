"""The list's live status: a stored change reaches the page within a few hundred
milliseconds, one request a tick asks for every row still moving, a tab nobody
looks at sends nothing, and finished rows come drawn whole and are never asked
about."""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

from playwright.sync_api import Page, Request

from tests.support.api import FINAL, ApiClient
from tests.support.media import clip_make
from tests.support.observe import job_of, wait_until

REPO = Path(__file__).resolve().parents[2]
# The bound is the docs' own figure (docs/performance.md, the headline table:
# "SUCCESS stored → the page shows `ready`"), read from there so that the two
# cannot drift apart.
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
# The whole poll budget of a tick is one GET /api/videos/?ids=a,b,c (20 ids
# at most, more than a page's 12 rows); a request per row per tick is the defect.
POLL_MS = 250


class StatusRequests:
    """Every GET the page sends for a video's state, with when it left."""

    def __init__(self, page: Page) -> None:
        self.batches: list[tuple[float, set[str]]] = []  # GET /api/videos/?ids=...
        self.others: list[str] = []  # any other GET under /api/videos/
        page.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        url = urllib.parse.urlsplit(request.url)
        if request.method != "GET" or not url.path.startswith("/api/videos/"):
            return
        ids = urllib.parse.parse_qs(url.query).get("ids")
        if url.path == "/api/videos/" and ids:
            self.batches.append((time.monotonic(), set(ids[0].split(","))))
        else:
            self.others.append(request.url)

    def asking_for(self, video_id: str, since: float = 0.0) -> list[float]:
        return [t for t, ids in self.batches if video_id in ids and t >= since]


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
    sent = StatusRequests(page)
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    page.evaluate(STATUS_CLOCK % video_id)
    page.wait_for_function("'processing' in window.__statusAt", timeout=120_000)

    # Polled several times a second while the job runs (once a second before).
    window_start = time.monotonic()
    page.wait_for_timeout(1500)
    in_window = sent.asking_for(video_id, since=window_start)
    assert len(in_window) >= 4, f"{len(in_window)} polls in 1.5 s"

    page.evaluate(HIDE, True)
    page.wait_for_timeout(500)  # a poll already in flight may still land
    hidden_from = time.monotonic()
    page.wait_for_timeout(1500)
    assert sent.asking_for(video_id, since=hidden_from) == [], "a hidden tab kept polling"
    assert "ready" not in page.evaluate("window.__statusAt"), (
        "finished while hidden: clip too short"
    )
    page.evaluate(HIDE, False)

    page.wait_for_function("'ready' in window.__statusAt", timeout=300_000)
    shown_ms = page.evaluate("window.__statusAt.ready")
    stored_ms = job_of(stack.database_url, video_id)["finished_at"].timestamp() * 1000
    # The page polls every 250 ms while a job runs; the bench reports p50 and p99.
    (target_ms,) = READY_SHOWN_TARGET.findall((REPO / "docs" / "performance.md").read_text())
    assert shown_ms - stored_ms <= int(target_ms), (
        f"ready shown {shown_ms - stored_ms:.0f} ms after it was stored, "
        f"docs/performance.md says {target_ms}"
    )

    settled = time.monotonic()
    page.wait_for_timeout(1000)
    assert sent.asking_for(video_id, since=settled) == [], "a finished video is still polled"
    assert sent.others == [], "the page asked for a row on its own"


def _rows_final(api: ApiClient) -> bool:
    """Every video of the person's first page is final (earlier tests' included)."""
    return all(v["status"] in FINAL for v in api.get("/api/videos/").json()["results"])


def test_one_request_a_tick_covers_every_moving_row_and_finished_rows_are_drawn_whole(
    page: Page, api, stack, tmp_path: Path
):
    clip = clip_make(tmp_path / "pair.mp4", seconds=20, width=1280, height=720)
    ids = [api.upload(clip, title=f"Pair {n}").json()["id"] for n in (1, 2)]
    rows = [f'[data-video-row][data-api-url$="/{video_id}/"]' for video_id in ids]
    sent = StatusRequests(page)
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")

    window_start = time.monotonic()
    page.wait_for_timeout(1500)
    moving = [api.video(video_id)["status"] for video_id in ids]
    assert not FINAL & set(moving), f"one finished in the window ({moving}): clip too short"
    assert sent.others == [], f"requests per row: {sent.others}"
    in_window = [asked for t, asked in sent.batches if t >= window_start]
    # About six ticks in 1.5 s; a request per row would be twice as many.
    assert 4 <= len(in_window) <= 1500 // POLL_MS + 2, f"{len(in_window)} requests in 1.5 s"
    assert all(set(ids) <= asked for asked in in_window), f"a tick left a row out: {in_window}"

    # Both drawn ready live, with the line and no bar; then the page is loaded again.
    for row in rows:
        page.wait_for_function(
            "sel => document.querySelector(sel)?.dataset.status === 'ready'",
            arg=row,
            timeout=300_000,
        )
    drawn_live = [page.locator(f"{row} [data-field=detail]").inner_text() for row in rows]
    assert all(re.fullmatch(r"\d+×\d+ · \d+\.\d s · [\d.]+ (KiB|MiB)", t) for t in drawn_live), (
        drawn_live
    )
    wait_until(lambda: _rows_final(api), timeout=300, what="every video of the first page final")

    sent = StatusRequests(page)
    response = page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    html = response.text()
    page.wait_for_timeout(1500)
    assert (sent.batches, sent.others) == ([], []), "a page of finished videos asked for them"
    for video_id, row, text in zip(ids, rows, drawn_live, strict=True):
        # Drawn by the server, as app.js drew it: no request was sent.
        assert text in html, f"{video_id}: the server's row lacks {text!r}"
        assert page.locator(f"{row} [data-field=detail]").inner_text() == text
        assert page.locator(f"{row} [data-field=progress]").is_hidden()
        assert page.locator(f"{row} [data-field=poster]").is_visible()
