"""No scratch path reaches a person: failures leave the pipeline with roles, not paths."""

from __future__ import annotations

import errno
from pathlib import Path

import ffmpeg
import pytest

from transcoder.errors import InvalidMedia, StorageError, TranscodeFailed
from transcoder.media.runner import run_ffmpeg
from transcoder.redact import failures_redacted, path_redact
from transcoder.scratch import scratch_errors

from .clips import SourceKeys
from .support import PROCESS_LIMITS, PipelineJob


def test_paths_become_roles(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    folder = f"{scratch}/job-1.9f2c4e1a7b3d5f60"
    text = (
        f"{folder}/source.mp4: Invalid data; file:{folder}/720p.mp4 and {folder}/poster.jpg, "
        f"{folder}/.480p.mp4.abc.tmp, {folder}/lock, {scratch}"
    )
    assert path_redact(text, scratch_dir=scratch) == (
        "the source: Invalid data; the 720p output and the poster, "
        "the 480p output, a working file, the worker's scratch folder"
    )


def test_ffmpeg_failure_names_the_source_not_its_path(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    source = scratch / "job-1.9f2c4e1a7b3d5f60" / "source.mp4"  # missing
    stream = ffmpeg.input(str(source)).output("/dev/null", f="null")
    with pytest.raises(TranscodeFailed) as caught, failures_redacted(scratch_dir=scratch):
        run_ffmpeg(
            stream.global_args("-v", "error", "-nostats", "-progress", "pipe:1"),
            duration=1.0,
            on_progress=lambda percent: None,
            job_id="j",
            limits=PROCESS_LIMITS,
        )
    assert str(source) in str(caught.value.__cause__)  # ffmpeg did quote the path
    assert str(tmp_path) not in caught.value.message
    assert "the source: No such file or directory" in caught.value.message


def test_storage_error_of_the_scratch_disk_has_no_path(tmp_path: Path) -> None:
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "scratch" / "x"))
    with (
        pytest.raises(StorageError) as caught,
        failures_redacted(scratch_dir=tmp_path / "scratch"),
        scratch_errors("downloading the source"),
    ):
        raise full
    assert str(tmp_path) not in caught.value.message
    assert caught.value.message == (
        "The worker's scratch disk failed while downloading the source: No space left on device."
    )


def test_invalid_media_through_the_pipeline_has_no_path(
    job: PipelineJob, sources: SourceKeys
) -> None:
    with pytest.raises(InvalidMedia) as caught:
        job.convert(sources["notes.txt"])
    assert str(job.settings.scratch_dir) not in caught.value.message
    assert caught.value.message == "The file could not be read as a media file."
