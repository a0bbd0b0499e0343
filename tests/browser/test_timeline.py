"""The job's timeline on the video's page, in a real browser against the real stack."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.api import ApiClient
from tests.support.media import clip_make


def test_the_detail_page_draws_the_jobs_timeline_and_names_its_host(
    page: Page, stack, api: ApiClient, screenshot_dir: Path, tmp_path: Path
):
    # One small upload: CI time is tight.
    clip = clip_make(tmp_path / "timeline.mp4", seconds=2)
    uploaded = api.upload(clip, title="Timeline")
    assert uploaded.status_code == 201, uploaded.text
    video_id = uploaded.json()["id"]
    body, _ = api.wait_final(video_id)
    assert body["status"] == "ready", body

    # The API's detail answer carries the same bars the page draws.
    timeline = body["timeline"]
    host = timeline[1]["host"]
    assert host
    assert all(bar["attempt"] == 1 for bar in timeline)

    page.goto(f"{stack.base_url}/videos/{video_id}/", wait_until="domcontentloaded")
    rows = page.locator("[data-timeline] .timeline-row")
    expect(rows.first).to_be_visible()
    stages = rows.evaluate_all("rows => rows.map(r => r.dataset.stage)")
    seconds = rows.evaluate_all("rows => rows.map(r => Number(r.dataset.seconds))")
    assert stages == [bar["stage"] for bar in timeline]
    assert stages[0] == "queued"
    assert stages[-1] == "collected"
    # The worker's stages, in the order it runs them (a poster stage may come
    # between): each encode pass its own bar, then verify beside upload.
    worker = [stage for stage in stages[1:-1] if stage != "poster"]
    assert worker[:2] == ["downloading", "probing"]
    assert worker[-2:] == ["verify", "upload"]
    # One pass per MP4 and one for the ladder (the order is the worker's to choose).
    made = {f"encode:{output['profile']}" for output in body["outputs"]}
    made |= {"encode:hls"} if body["hls_url"] else set()
    assert sorted(worker[2:-2]) == sorted(made), worker
    assert len(made) >= 2  # the default profiles: an MP4 and the ladder
    assert all(value > 0 for value in seconds), list(zip(stages, seconds, strict=True))
    # Every bar is drawn, with a place and a width on the axis (SVG attributes, not styles).
    rects = page.locator("[data-timeline] rect.timeline-bar")
    places = rects.evaluate_all(
        "rects => rects.map(r => [r.x.baseVal.value, r.width.baseVal.value])"
    )
    assert len(places) == len(stages)
    assert all(width > 0 for _, width in places)
    # The passes follow each other; verify and upload start together.
    encodes = [place for stage, place in zip(stages, places, strict=True) if stage in made]
    for (x, width), (next_x, _) in itertools.pairwise(encodes):
        assert next_x == pytest.approx(x + width, abs=0.05)
    verify_x, upload_x = (places[stages.index(stage)][0] for stage in ("verify", "upload"))
    assert verify_x == upload_x
    labels = page.locator("[data-timeline] .timeline-label").all_inner_texts()
    assert {"Encode 720p", "Encode HLS ladder", "Verify", "Upload"} <= set(labels), labels
    expect(page.locator("[data-timeline] [data-host]")).to_have_text(host)

    page.locator("[data-timeline]").screenshot(path=str(screenshot_dir / "timeline.png"))
