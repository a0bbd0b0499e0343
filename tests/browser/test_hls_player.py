"""The detail page plays the adaptive ladder with hls.js, in a real browser against the real stack.

It needs the transcoder's "hls" profile (docs/messages.md): a 1280x720
clip gets three rungs, fMP4 segments under outputs/<job>/<attempt>/hls/<rung>/,
and a storyboard for the scrub previews.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request

from tests.support.media import clip_make

SEGMENT = re.compile(r"/hls/([^/]+)/seg_\d+\.m4s\?")


@pytest.fixture(scope="module")
def ladder_video(api, stack, tmp_path_factory: pytest.TempPathFactory) -> dict:
    clip = clip_make(
        tmp_path_factory.mktemp("hls") / "ladder.mp4", seconds=12, width=1280, height=720
    )
    created = api.upload(clip, title="Ladder").json()
    video, _ = api.wait_final(created["id"], timeout=300)
    assert video["status"] == "ready", video
    return video


def _segment_rungs(requests: list[Request]) -> list[str]:
    return [m.group(1) for r in requests if (m := SEGMENT.search(r.url))]


def _wait_segment_of(page: Page, requests: list[Request], since: int, rung: str) -> None:
    """Until a segment of `rung` is requested after the first `since` requests (the list grows)."""
    deadline = time.monotonic() + 30
    while rung not in _segment_rungs(requests[since:]):
        seen = _segment_rungs(requests[since:])
        assert time.monotonic() < deadline, f"no {rung} segment; saw {seen}"
        page.wait_for_timeout(100)


def test_the_ladder_plays_with_hls_js_and_the_quality_menu_switches_rungs(
    page: Page, stack, ladder_video: dict, screenshot_dir: Path
):
    rungs = [rung["name"] for rung in ladder_video["rungs"]]
    assert len(rungs) == 3, ladder_video["rungs"]
    assert ladder_video["hls_url"].endswith("/hls/master.m3u8")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))

    page.goto(f"{stack.base_url}/videos/{ladder_video['id']}/", wait_until="domcontentloaded")
    page.wait_for_selector("[data-player][data-engine='hls.js']", state="attached")
    page.evaluate("const v = document.getElementById('player'); v.muted = true; v.play()")
    page.wait_for_function("document.getElementById('player').currentTime > 0.5", timeout=30_000)

    # hls.js plays segments signed by the store, never the MP4.
    assert _segment_rungs(requests), [r.url for r in requests]
    mp4s = [r.url for r in requests if re.search(r"/\d+p\.mp4(\?|$)", r.url)]
    assert not mp4s, mp4s
    assert any(r.url.endswith(ladder_video["hls_url"]) for r in requests)
    segment_url = next(r.url for r in requests if SEGMENT.search(r.url))
    assert "X-Amz-Signature=" in segment_url
    options = page.eval_on_selector_all("#quality option", "os => os.map(o => o.textContent)")
    assert options == ["Auto", *rungs]

    page.wait_for_function("document.querySelector('[data-player]').dataset.level")
    playing = page.eval_on_selector("[data-player]", "p => p.dataset.level")
    first = next(r for r in reversed(rungs) if r != playing)
    second = next(r for r in rungs if r not in (playing, first))
    for rung in (first, second):  # each one not already playing
        before = len(requests)
        page.select_option("#quality", rung)
        _wait_segment_of(page, requests, before, rung)
        after = _segment_rungs(requests[before:])
        # The first segment fetched after the choice is already the chosen rung's.
        assert after[0] == rung, after
        page.wait_for_function(
            "r => document.querySelector('[data-player]').dataset.level === r", arg=rung
        )
        assert page.inner_text("#quality-now").startswith(f"Playing {rung}")
        # Playback goes on in the new rung: time moves, the video is not paused.
        at = page.evaluate("document.getElementById('player').currentTime")
        page.wait_for_function(
            "t => { const v = document.getElementById('player');"
            " return !v.paused && v.currentTime > t + 0.5; }",
            arg=at,
            timeout=30_000,
        )

    page.select_option("#quality", "auto")
    page.wait_for_function("document.getElementById('quality-now').textContent.includes('auto')")


def test_hovering_the_seek_bar_shows_a_storyboard_tile(
    page: Page, stack, ladder_video: dict, screenshot_dir: Path
):
    assert ladder_video["storyboard_url"].endswith("/storyboard.vtt")
    page.goto(f"{stack.base_url}/videos/{ladder_video['id']}/", wait_until="domcontentloaded")
    page.wait_for_function(
        "() => { const t = document.querySelector('#player track').track;"
        " return t.cues && t.cues.length > 0 && document.getElementById('player').duration > 0; }",
        timeout=30_000,
    )
    seek = page.locator("#seek").bounding_box()
    assert seek is not None
    preview = page.locator("#scrub-preview")
    assert preview.is_hidden()

    page.mouse.move(seek["x"] + seek["width"] * 0.75, seek["y"] + seek["height"] / 2)
    preview.wait_for(state="visible")
    tile = page.eval_on_selector(
        "[data-scrub-tile]",
        "t => ({image: getComputedStyle(t).backgroundImage, width: t.offsetWidth,"
        " position: t.style.backgroundPosition})",
    )
    assert "storyboard.jpg" in tile["image"], tile
    assert "X-Amz-Signature" in tile["image"], tile
    assert tile["width"] > 0
    # Three quarters into 12 s is about 9 s: not the first tile.
    assert preview.get_attribute("data-tile") != "0,0"
    assert page.inner_text("[data-scrub-time]") in {"0:08", "0:09"}
    # The sprite itself loads from its signed URL.
    loaded = page.evaluate(
        "src => new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth);"
        " i.onerror = () => ok(0); i.src = src; })",
        re.search(r'url\("(.*)"\)', tile["image"]).group(1),
    )
    assert loaded > 0
    page.screenshot(path=str(screenshot_dir / "player.png"), full_page=True)

    page.mouse.move(seek["x"], seek["y"] - 200)
    preview.wait_for(state="hidden")
