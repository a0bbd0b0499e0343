"""The whole job, with real ffmpeg and a real S3 store (SeaweedFS), on clips from conftest.py."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from transcoder import pipeline
from transcoder.errors import InvalidMedia, InvalidPayload
from transcoder.media.probe import probe_source, run_ffprobe
from transcoder.objectstore import ObjectStore
from transcoder.payload import ConvertRequest
from transcoder.settings import Settings

from .corpus import broken
from .seaweed import SeaweedStore
from .support import (
    PROCESS_LIMITS,
    TIMINGS,
    convert,
    ffmpeg_children,
    ffmpeg_pid_lines,
    keys_under,
    object_bytes,
    scratch_entries,
    source_put,
)

RESULT_KEYS = {
    "contract_version",
    "job_id",
    "source",
    "outputs",
    "poster_key",
    "manifest_key",
    "elapsed_seconds",
    "timings",
}


def download(seaweed: SeaweedStore, key: str, directory: Path) -> Path:
    path = directory / key.replace("/", "_")
    path.write_bytes(object_bytes(seaweed, key))
    return path


def test_two_profiles_with_audio(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
    clips: Any,
    tmp_path: Path,
) -> None:
    progress: list[tuple[str, int]] = []
    result = convert(
        settings,
        store,
        sources["clip.mp4"],
        job_id=job_id,
        profiles=("720p", "480p"),
        progress=progress,
    )

    assert set(result) == RESULT_KEYS
    assert result["contract_version"] == 2
    assert result["job_id"] == job_id
    assert result["source"] == {
        "duration": pytest.approx(2.0, abs=0.1),
        "width": 320,
        "height": 240,
        "video_codec": "h264",
        "audio_codec": "aac",
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "size_bytes": (clips.directory / clips.clip).stat().st_size,
    }
    assert [o["profile"] for o in result["outputs"]] == ["720p", "480p"]
    stored = keys_under(seaweed, f"outputs/{job_id}/")
    attempt_prefix = result["poster_key"].rsplit("/", 1)[0] + "/"
    for output in result["outputs"]:
        assert output["key"] == f"{attempt_prefix}{output['profile']}.mp4"
        assert stored[output["key"]] == output["size_bytes"]
        probed = probe_source(download(seaweed, output["key"], tmp_path), limits=PROCESS_LIMITS)
        assert (probed.video_codec, probed.audio_codec) == ("h264", "aac")
        assert (output["video_codec"], output["audio_codec"]) == ("h264", "aac")
        assert (output["width"], output["height"]) == (320, 240)  # never upscaled
        assert output["duration"] == pytest.approx(2.0, abs=0.25)
    assert object_bytes(seaweed, result["poster_key"])[:3] == b"\xff\xd8\xff"
    assert result["manifest_key"] == f"outputs/{job_id}/manifest.json"
    assert set(stored) == {
        *(o["key"] for o in result["outputs"]),
        result["poster_key"],
        result["manifest_key"],
    }
    assert set(result["timings"]) == TIMINGS
    assert result["elapsed_seconds"] >= sum(result["timings"].values()) - 0.01

    stages = [stage for stage, _ in progress]
    assert stages[0] == "downloading"
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        "downloading",
        "probing",
        "transcoding",
        "poster",
        "uploading",
    ]
    percents = [percent for _, percent in progress]
    assert percents == sorted(percents)
    assert 0 < percents[-1] < 100  # 100 is SUCCESS itself
    assert scratch_entries(settings.scratch_dir) == []


def test_a_lone_job_lets_each_ffmpeg_choose_its_threads(
    settings: Settings,
    store: ObjectStore,
    sources: dict[str, str],
    job_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    assert settings.ffmpeg_threads is None  # the default: sized as each ffmpeg starts
    convert(settings, store, sources["clip.mp4"], job_id=job_id, profiles=("720p", "hls"))
    sized = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ffmpeg threads=")]
    # The MP4 and the ladder: -threads 0, as plain ffmpeg, not 1 as before.
    assert sized == ["ffmpeg threads=0: 1 job(s) encoding on this host"] * 2


def test_downscale_from_full_hd(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
    tmp_path: Path,
) -> None:
    result = convert(
        settings, store, sources["full_hd.mp4"], job_id=job_id, profiles=("720p", "480p")
    )
    sizes = [(o["width"], o["height"]) for o in result["outputs"]]
    assert sizes == [(1280, 720), (854, 480)]
    (poster,) = run_ffprobe(
        download(seaweed, result["poster_key"], tmp_path), limits=PROCESS_LIMITS
    )["streams"]
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 1280, 720)


def test_odd_size_becomes_even(
    settings: Settings, store: ObjectStore, sources: dict[str, str], job_id: str
) -> None:
    (output,) = convert(settings, store, sources["odd.mp4"], job_id=job_id)["outputs"]
    assert (output["width"], output["height"]) == (320, 240)


def test_rotated_phone_video_stays_portrait(
    settings: Settings, store: ObjectStore, sources: dict[str, str], job_id: str
) -> None:
    result = convert(settings, store, sources["portrait.mp4"], job_id=job_id)
    assert (result["source"]["width"], result["source"]["height"]) == (240, 320)
    (output,) = result["outputs"]
    assert (output["width"], output["height"]) == (240, 320)


def test_single_frame_video_gets_its_frame_as_poster(
    settings: Settings, store: ObjectStore, seaweed: SeaweedStore, job_id: str, tmp_path: Path
) -> None:
    # poster_time() falls after the only frame; ffmpeg then writes no picture
    # and exits with 0, so the poster comes from the first frame instead.
    broken.one_frame(tmp_path / "one.mp4")
    result = convert(settings, store, source_put(seaweed, tmp_path / "one.mp4"), job_id=job_id)
    assert result["outputs"][0]["duration"] == pytest.approx(0.04, abs=0.01)
    (poster,) = run_ffprobe(
        download(seaweed, result["poster_key"], tmp_path), limits=PROCESS_LIMITS
    )["streams"]
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 320, 240)


def test_video_without_audio(
    settings: Settings, store: ObjectStore, sources: dict[str, str], job_id: str
) -> None:
    result = convert(settings, store, sources["silent.mp4"], job_id=job_id)
    assert result["source"]["audio_codec"] is None
    assert result["outputs"][0]["audio_codec"] is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("audio_only.m4a", "The file is not a video: no video stream was found."),
        ("notes.txt", "The file could not be read as a media file."),
    ],
)
def test_not_a_video(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
    source: str,
    message: str,
) -> None:
    with pytest.raises(InvalidMedia) as caught:
        convert(settings, store, sources[source], job_id=job_id)
    assert caught.value.message == message
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    assert scratch_entries(settings.scratch_dir) == []


def test_limits_apply(
    settings: Settings, store: ObjectStore, sources: dict[str, str], job_id: str
) -> None:
    strict = dataclasses.replace(settings, max_duration_seconds=1)
    with pytest.raises(InvalidMedia, match="the limit is 1 s"):
        convert(strict, store, sources["clip.mp4"], job_id=job_id)


def test_an_oversized_source_stops_at_download_and_leaves_nothing(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    strict = dataclasses.replace(settings, max_source_bytes=1000)
    with pytest.raises(InvalidMedia) as caught:
        convert(strict, store, sources["full_hd.mp4"], job_id=job_id)
    assert caught.value.message.startswith("The file is too large: ")
    assert caught.value.message.endswith(" bytes, the limit is 1000.")
    assert scratch_entries(settings.scratch_dir) == []
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}
    assert not ffmpeg_pid_lines(caplog)


def test_a_missing_source_is_invalid_payload_and_leaves_nothing(
    settings: Settings, store: ObjectStore, seaweed: SeaweedStore, job_id: str
) -> None:
    with pytest.raises(InvalidPayload) as caught:
        convert(settings, store, "sources/never-uploaded.mp4", job_id=job_id)
    assert caught.value.message == (
        "The source object 'sources/never-uploaded.mp4' does not exist."
    )
    assert scratch_entries(settings.scratch_dir) == []
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}


# At "uploading": the second report, once the first output is in the store.
@pytest.mark.parametrize(("failing_stage", "nth"), [("transcoding", 1), ("uploading", 2)])
def test_a_failure_midway_leaves_no_scratch_no_ffmpeg_and_no_objects(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
    failing_stage: str,
    nth: int,
) -> None:
    calls: list[str] = []

    def explode(*, stage: str, percent: int) -> None:
        calls.append(stage)
        if stage == failing_stage and calls.count(stage) == nth:
            raise RuntimeError("stand-in for a time limit")

    request = ConvertRequest(
        job_id=job_id, source_key=sources["clip.mp4"], profiles=("720p",), contract_version=2
    )
    with pytest.raises(RuntimeError):
        pipeline.convert(request=request, store=store, on_progress=explode, settings=settings)
    assert scratch_entries(settings.scratch_dir) == []
    assert ffmpeg_children() == []
    assert keys_under(seaweed, f"outputs/{job_id}/") == {}


def test_a_success_clears_the_markers_of_earlier_deaths(
    settings: Settings,
    store: ObjectStore,
    seaweed: SeaweedStore,
    sources: dict[str, str],
    job_id: str,
) -> None:
    """One delivery died (its marker is left); the next completes and leaves only its outputs."""
    dead = f"outputs/{job_id}/attempts/0123456789abcdef.json"
    store.json_create(key=dead, body=b'{"attempt": "0123456789abcdef"}')

    result = convert(settings, store, sources["clip.mp4"], job_id=job_id)

    left = keys_under(seaweed, f"outputs/{job_id}/")
    assert not [key for key in left if "/attempts/" in key], left
    assert set(left) == {
        result["manifest_key"],
        result["poster_key"],
        *(output["key"] for output in result["outputs"]),
    }
