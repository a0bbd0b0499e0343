"""The HLS ladder and storyboard, end to end: real ffmpeg, a real S3 store (SeaweedFS).

Everything is checked from what a player would fetch: the objects are
downloaded by key into the same layout, and ffprobe/ffmpeg read them there.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from transcoder.media.playlists import master_parse, media_parse, playlist_uris, uri_relative
from transcoder.media.probe import probe_source, run_ffprobe

from .clips import Clips, SourceKeys, h264_clip, rotated_clip, silent_clip
from .seaweed import SeaweedStore
from .support import (
    PROCESS_LIMITS,
    STAGES,
    PipelineJob,
    object_bytes,
    progress_stages,
    source_put,
)

CUE = re.compile(r"(\d+):(\d\d):(\d\d\.\d{3}) --> (\d+):(\d\d):(\d\d\.\d{3})\n(\S+)")


@pytest.fixture(scope="module")
def hls_sources(seaweed: SeaweedStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A 720p clip, and a portrait phone clip (stored landscape plus a rotation)."""
    directory = tmp_path_factory.mktemp("hls_clips")
    hd = directory / "hd.mp4"
    h264_clip(hd, size="1280x720", seconds=6)
    phone = directory / "phone.mp4"
    rotated_clip(phone, degrees=90, size="854x480", seconds=3)
    return {"hd": source_put(seaweed, hd), "phone": source_put(seaweed, phone)}


def seconds(hours: str, minutes: str, rest: str) -> float:
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def check_job(
    job: PipelineJob,
    result: dict[str, Any],
    tmp_path: Path,
    *,
    rungs: list[tuple[str, int, int]],
    audio: bool,
) -> None:
    """Everything a player and the web rely on, read back from the bucket."""
    attempt = result["poster_key"].rsplit("/", 1)[0] + "/"
    hls, storyboard = result["hls"], result["storyboard"]
    duration = result["source"]["duration"]
    assert hls["master_key"] == f"{attempt}hls/master.m3u8"
    assert hls["segment_seconds"] == 4
    assert [(r["name"], r["width"], r["height"]) for r in hls["rungs"]] == rungs
    for rung in hls["rungs"]:
        assert rung["playlist_key"] == f"{attempt}hls/{rung['name']}/index.m3u8"
    assert [r["bandwidth"] for r in hls["rungs"]] == sorted(
        (r["bandwidth"] for r in hls["rungs"]), reverse=True
    )

    # The manifest names every object of the job, with its size, and nothing
    # else is under outputs/<job_id>/.
    stored = job.stored()
    manifest = json.loads(object_bytes(job.seaweed, result["manifest_key"]))
    assert manifest["result"] == result
    assert manifest["objects"] == {k: v for k, v in stored.items() if k != result["manifest_key"]}

    # Download the attempt as laid out in the bucket, then read it as a player would.
    local = tmp_path / "bucket"
    for key in stored:
        if key.startswith(attempt):
            path = local / key[len(attempt) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(object_bytes(job.seaweed, key))
    master_text = (local / "hls" / "master.m3u8").read_text()
    variants = master_parse(master_text)
    assert [v.uri for v in variants] == [f"{name}/index.m3u8" for name, _, _ in rungs]
    assert [(v.width, v.height, v.bandwidth) for v in variants] == [
        (r["width"], r["height"], r["bandwidth"]) for r in hls["rungs"]
    ]
    assert "EXT-X-MEDIA" not in master_text  # audio rides in each variant
    assert ("mp4a" in master_text) is audio
    timelines = []
    for name, width, height in rungs:
        text = (local / "hls" / name / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
        playlist = media_parse(text)
        assert playlist.init_uri == "init.mp4"
        assert [uri for _, uri in playlist.segments][:2] == ["seg_00001.m4s", "seg_00002.m4s"][
            : len(playlist.segments)
        ]
        assert all(uri_relative(uri) for uri in playlist_uris(text) + playlist_uris(master_text))
        assert all(d <= 4.0 + 0.05 for d, _ in playlist.segments)
        timelines.append([round(d, 3) for d, _ in playlist.segments])
        index = local / "hls" / name / "index.m3u8"
        probed = probe_source(index, limits=PROCESS_LIMITS, formats="hls,mov")
        assert (probed.width, probed.height, probed.video_codec) == (width, height, "h264")
        assert probed.audio_codec == ("aac" if audio else None)
        assert probed.duration == pytest.approx(duration, abs=0.25)
        # Decoded to the end, every frame: the segments really play.
        decoded = subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-xerror", "-protocol_whitelist", "file"),
                *("-i", str(index), "-f", "null", "-progress", "pipe:1", "-"),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        out_us = max(int(v) for v in re.findall(r"out_time_us=(\d+)", decoded.stdout))
        assert out_us / 1e6 == pytest.approx(duration, abs=0.25)
    assert all(timeline == timelines[0] for timeline in timelines)  # aligned
    assert sum(timelines[0]) == pytest.approx(duration, abs=0.25)

    # The storyboard: cues cover the duration, each a tile inside the sprite.
    assert storyboard["sprite_key"] == f"{attempt}storyboard.jpg"
    assert storyboard["vtt_key"] == f"{attempt}storyboard.vtt"
    sprite = run_ffprobe(local / "storyboard.jpg", limits=PROCESS_LIMITS)["streams"][0]
    vtt = (local / "storyboard.vtt").read_text()
    assert vtt.startswith("WEBVTT")
    cues = CUE.findall(vtt)
    assert cues
    previous_end = 0.0
    for *times, target in cues:
        start, end = seconds(*times[:3]), seconds(*times[3:])
        assert start == pytest.approx(previous_end)
        assert end > start
        assert end - start <= storyboard["interval"] + 1e-6
        previous_end = end
        name, _, xywh = target.partition("#xywh=")
        assert name == "storyboard.jpg"
        x, y, w, h = map(int, xywh.split(","))
        assert (w, h) == (storyboard["tile_width"], storyboard["tile_height"])
        assert x + w <= sprite["width"]
        assert y + h <= sprite["height"]
    assert previous_end == pytest.approx(duration, abs=0.001)
    assert storyboard["tile_width"] % 2 == 0
    assert storyboard["tile_height"] % 2 == 0


def test_ladder_from_720p_with_mp4_and_duplicate_delivery(
    job: PipelineJob, hls_sources: dict[str, str], tmp_path: Path
) -> None:
    progress: list[tuple[str, int]] = []
    result = job.convert(hls_sources["hd"], profiles=("720p", "hls"), progress=progress)
    # The MP4 stays, for download; `outputs` lists only MP4s.
    assert [o["profile"] for o in result["outputs"]] == ["720p"]
    check_job(
        job,
        result,
        tmp_path,
        rungs=[("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)],
        audio=True,
    )
    assert result["storyboard"]["interval"] == 1.0
    assert (result["storyboard"]["tile_width"], result["storyboard"]["tile_height"]) == (160, 90)
    percents = [percent for _, percent in progress]
    assert percents == sorted(percents)
    assert percents[-1] < 100
    assert progress_stages(progress) == STAGES
    # The ladder has its own slice of "transcoding", before the MP4's (it is
    # published while it is made, test_live.py): of the 5-90 % span, the
    # ladder (weight 2) ends at two thirds (61 %), the MP4 at 90 %.
    transcoding = [p for s, p in progress if s == "transcoding"]
    assert {61, 90} <= set(transcoding)
    assert transcoding.index(61) < transcoding.index(90)

    again = job.convert(hls_sources["hd"], profiles=("720p", "hls"))
    assert again == result
    assert (again["hls"], again["storyboard"]) == (result["hls"], result["storyboard"])


def test_portrait_phone_clip(job: PipelineJob, hls_sources: dict[str, str], tmp_path: Path) -> None:
    result = job.convert(hls_sources["phone"], profiles=("hls",))
    assert result["outputs"] == []  # "hls" alone: no MP4
    check_job(job, result, tmp_path, rungs=[("480p", 480, 854), ("360p", 360, 640)], audio=True)
    assert (result["storyboard"]["tile_width"], result["storyboard"]["tile_height"]) == (160, 284)


def test_silent_tiny_source_gets_one_video_only_rung(
    job: PipelineJob, sources: SourceKeys, clips: Clips, tmp_path: Path
) -> None:
    result = job.convert(sources[clips.silent], profiles=("hls",))
    check_job(job, result, tmp_path, rungs=[("240p", 320, 240)], audio=False)


def test_tiny_source_with_audio_and_two_mp4s(
    job: PipelineJob, sources: SourceKeys, clips: Clips, tmp_path: Path
) -> None:
    result = job.convert(sources[clips.clip], profiles=("hls", "720p", "480p"))
    assert [o["profile"] for o in result["outputs"]] == ["720p", "480p"]
    check_job(job, result, tmp_path, rungs=[("240p", 320, 240)], audio=True)


def test_no_hls_no_hls_fields(job: PipelineJob, sources: SourceKeys, clips: Clips) -> None:
    result = job.convert(sources[clips.clip], profiles=("480p",))
    assert "hls" not in result
    assert "storyboard" not in result


@pytest.mark.parametrize(
    ("name", "make", "audio"),
    [
        ("one-frame", lambda path: silent_clip(path, seconds=0.04), False),
        ("0.3-seconds", lambda path: h264_clip(path, seconds=0.3), True),
    ],
)
def test_a_source_shorter_than_one_storyboard_interval_is_ready(
    job: PipelineJob,
    seaweed: SeaweedStore,
    tmp_path: Path,
    name: str,
    make: Callable[[Path], None],
    audio: bool,
) -> None:
    """One tile, not "ffmpeg wrote no picture": the fps filter must keep the
    frame at 0 s even when the source ends before its first interval does."""
    source = tmp_path / f"{name}.mp4"
    make(source)
    result = job.convert(source_put(seaweed, source), profiles=("hls",))
    check_job(job, result, tmp_path, rungs=[("240p", 320, 240)], audio=audio)
    assert CUE.findall(object_bytes(seaweed, result["storyboard"]["vtt_key"]).decode())
