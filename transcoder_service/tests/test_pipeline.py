"""The whole job, with real ffmpeg and a real S3 store (SeaweedFS), on clips from tests/clips.py."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from transcoder import pipeline
from transcoder.errors import InvalidMedia, InvalidPayload
from transcoder.media.probe import probe_source, run_ffprobe
from transcoder.payload import ConvertRequest

from .clips import Clips, SourceKeys
from .corpus import broken
from .processes import process_children_named
from .support import (
    PROCESS_LIMITS,
    RESULT_FIELDS,
    STAGES,
    TIMINGS,
    PipelineJob,
    ffmpeg_pid_lines,
    object_bytes,
    progress_stages,
    scratch_entries,
    source_put,
)


def poster_stream(job: PipelineJob, result: dict[str, Any], *, directory: Path) -> dict[str, Any]:
    """The poster's one stream, as ffprobe reads it from the store."""
    poster = job.download(result["poster_key"], directory=directory)
    (stream,) = run_ffprobe(poster, limits=PROCESS_LIMITS)["streams"]
    return stream


def test_two_profiles_with_audio(
    job: PipelineJob, sources: SourceKeys, clips: Clips, tmp_path: Path
) -> None:
    progress: list[tuple[str, int]] = []
    result = job.convert(sources[clips.clip], profiles=("720p", "480p"), progress=progress)

    assert set(result) == set(RESULT_FIELDS)
    assert result["contract_version"] == 2
    assert result["job_id"] == job.job_id
    assert result["source"] == {
        "duration": pytest.approx(2.0, abs=0.1),
        "width": 320,
        "height": 240,
        "video_codec": "h264",
        "audio_codec": "aac",
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "size_bytes": clips.path(clips.clip).stat().st_size,
    }
    assert [o["profile"] for o in result["outputs"]] == ["720p", "480p"]
    stored = job.stored()
    attempt_prefix = result["poster_key"].rsplit("/", 1)[0] + "/"
    for output in result["outputs"]:
        assert output["key"] == f"{attempt_prefix}{output['profile']}.mp4"
        assert stored[output["key"]] == output["size_bytes"]
        probed = probe_source(
            job.download(output["key"], directory=tmp_path), limits=PROCESS_LIMITS
        )
        assert (probed.video_codec, probed.audio_codec) == ("h264", "aac")
        assert (output["video_codec"], output["audio_codec"]) == ("h264", "aac")
        assert (output["width"], output["height"]) == (320, 240)  # never upscaled
        assert output["duration"] == pytest.approx(2.0, abs=0.25)
    assert object_bytes(job.seaweed, result["poster_key"])[:3] == b"\xff\xd8\xff"
    assert result["manifest_key"] == f"outputs/{job.job_id}/manifest.json"
    assert set(stored) == {
        *(o["key"] for o in result["outputs"]),
        result["poster_key"],
        result["manifest_key"],
    }
    # The passes in the order they ran, each counted again within `transcode`.
    assert set(result["timings"]) == TIMINGS | {"encode:1:720p", "encode:2:480p"}
    timings = result["timings"]
    assert 0 < timings["encode:1:720p"] + timings["encode:2:480p"] <= timings["transcode"] + 0.002
    # Every stage follows the last, but `verify` runs alongside `upload`.
    in_turn = sum(timings[stage] for stage in TIMINGS - {"verify"})
    assert result["elapsed_seconds"] >= in_turn - 0.01
    assert result["elapsed_seconds"] >= timings["verify"] + timings["transcode"] - 0.01

    assert progress_stages(progress) == STAGES
    percents = [percent for _, percent in progress]
    assert percents == sorted(percents)
    assert 0 < percents[-1] < 100  # 100 is SUCCESS itself
    assert scratch_entries(job.settings.scratch_dir) == []


def test_a_lone_job_lets_each_ffmpeg_choose_its_threads(
    job: PipelineJob, sources: SourceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    assert job.settings.ffmpeg_threads is None  # the default: sized as each ffmpeg starts
    job.convert(sources["clip.mp4"], profiles=("720p", "hls"))
    sized = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ffmpeg threads=")]
    # The MP4 and the ladder: -threads 0, as plain ffmpeg, not 1 as before.
    assert sized == ["ffmpeg threads=0: 1 job(s) encoding on this host"] * 2


def test_downscale_from_full_hd(job: PipelineJob, sources: SourceKeys, tmp_path: Path) -> None:
    result = job.convert(sources["full_hd.mp4"], profiles=("720p", "480p"))
    sizes = [(o["width"], o["height"]) for o in result["outputs"]]
    assert sizes == [(1280, 720), (854, 480)]
    poster = poster_stream(job, result, directory=tmp_path)
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 1280, 720)


def test_odd_size_becomes_even(job: PipelineJob, sources: SourceKeys) -> None:
    (output,) = job.convert(sources["odd.mp4"])["outputs"]
    assert (output["width"], output["height"]) == (320, 240)


def test_rotated_phone_video_stays_portrait(job: PipelineJob, sources: SourceKeys) -> None:
    result = job.convert(sources["portrait.mp4"])
    assert (result["source"]["width"], result["source"]["height"]) == (240, 320)
    (output,) = result["outputs"]
    assert (output["width"], output["height"]) == (240, 320)


def test_single_frame_video_gets_its_frame_as_poster(job: PipelineJob, tmp_path: Path) -> None:
    # poster_time() falls after the only frame; ffmpeg then writes no picture
    # and exits with 0, so the poster comes from the first frame instead.
    broken.one_frame(tmp_path / "one.mp4")
    result = job.convert(source_put(job.seaweed, tmp_path / "one.mp4"))
    assert result["outputs"][0]["duration"] == pytest.approx(0.04, abs=0.01)
    poster = poster_stream(job, result, directory=tmp_path)
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 320, 240)


def test_an_output_failing_its_check_while_it_uploads_fails_the_job_and_leaves_nothing(
    job: PipelineJob, tmp_path: Path
) -> None:
    # The outputs upload while they are checked (pipeline._uploaded_and_verified):
    # the check's reason is the one reported, and the uploaded objects go.
    broken.truncated_data(tmp_path / "cut.mp4")
    progress: list[tuple[str, int]] = []
    with pytest.raises(InvalidMedia, match=r"^The video stops after .* cut short or damaged\.$"):
        job.convert(source_put(job.seaweed, tmp_path / "cut.mp4"), progress=progress)
    assert "uploading" in progress_stages(progress)
    assert job.stored() == {}
    assert scratch_entries(job.settings.scratch_dir) == []


def test_video_without_audio(job: PipelineJob, sources: SourceKeys) -> None:
    result = job.convert(sources["silent.mp4"])
    assert result["source"]["audio_codec"] is None
    assert result["outputs"][0]["audio_codec"] is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("audio_only.m4a", "The file is not a video: no video stream was found."),
        ("notes.txt", "The file could not be read as a media file."),
    ],
)
def test_not_a_video(job: PipelineJob, sources: SourceKeys, source: str, message: str) -> None:
    with pytest.raises(InvalidMedia) as caught:
        job.convert(sources[source])
    assert caught.value.message == message
    assert job.stored() == {}
    assert scratch_entries(job.settings.scratch_dir) == []


def test_limits_apply(job: PipelineJob, sources: SourceKeys) -> None:
    strict = dataclasses.replace(job.settings, max_duration_seconds=1)
    with pytest.raises(InvalidMedia, match="the limit is 1 s"):
        job.convert(sources["clip.mp4"], settings=strict)


def test_an_oversized_source_stops_at_download_and_leaves_nothing(
    job: PipelineJob, sources: SourceKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    strict = dataclasses.replace(job.settings, max_source_bytes=1000)
    with pytest.raises(InvalidMedia) as caught:
        job.convert(sources["full_hd.mp4"], settings=strict)
    assert caught.value.message.startswith("The file is too large: ")
    assert caught.value.message.endswith(" bytes, the limit is 1000.")
    assert scratch_entries(job.settings.scratch_dir) == []
    assert job.stored() == {}
    assert not ffmpeg_pid_lines(caplog)


def test_a_missing_source_is_invalid_payload_and_leaves_nothing(job: PipelineJob) -> None:
    with pytest.raises(InvalidPayload) as caught:
        job.convert("sources/never-uploaded.mp4")
    assert caught.value.message == (
        "The source object 'sources/never-uploaded.mp4' does not exist."
    )
    assert scratch_entries(job.settings.scratch_dir) == []
    assert job.stored() == {}


# At "uploading": the second report, once the first output is in the store.
@pytest.mark.parametrize(("failing_stage", "nth"), [("transcoding", 1), ("uploading", 2)])
def test_a_failure_midway_leaves_no_scratch_no_ffmpeg_and_no_objects(
    job: PipelineJob, sources: SourceKeys, failing_stage: str, nth: int
) -> None:
    calls: list[str] = []

    def explode(*, stage: str, percent: int) -> None:
        calls.append(stage)
        if stage == failing_stage and calls.count(stage) == nth:
            raise RuntimeError("stand-in for a time limit")

    request = ConvertRequest(
        job_id=job.job_id, source_key=sources["clip.mp4"], profiles=("720p",), contract_version=2
    )
    with pytest.raises(RuntimeError):
        pipeline.convert(
            request=request, store=job.store, on_progress=explode, settings=job.settings
        )
    assert scratch_entries(job.settings.scratch_dir) == []
    assert process_children_named(name="ffmpeg") == []
    assert job.stored() == {}


def test_a_success_clears_the_markers_of_earlier_deaths(
    job: PipelineJob, sources: SourceKeys
) -> None:
    """One delivery died (its marker is left); the next completes and leaves only its outputs."""
    dead = f"outputs/{job.job_id}/attempts/0123456789abcdef.json"
    job.store.json_create(key=dead, body=b'{"attempt": "0123456789abcdef"}')

    result = job.convert(sources["clip.mp4"])

    left = job.stored()
    assert not [key for key in left if "/attempts/" in key], left
    assert set(left) == {
        result["manifest_key"],
        result["poster_key"],
        *(output["key"] for output in result["outputs"]),
    }
