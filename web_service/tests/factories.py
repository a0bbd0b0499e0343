"""Small builders for test data (plain functions: the models are simple)."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from jobs.models import DispatchState, JobStatus, TranscodeJob
from videos.models import Video

PASSWORD = "a-long-test-password-9"
_serial = itertools.count(1)


def user_make(*, username: str | None = None, **fields: Any) -> AbstractBaseUser:
    """A user with PASSWORD; a fresh name unless one is given."""
    return get_user_model().objects.create_user(
        username=username or f"person-{next(_serial)}", password=PASSWORD, **fields
    )


def video_with_job(
    *,
    owner: AbstractBaseUser | None = None,
    status: str = JobStatus.QUEUED,
    dispatch_state: str = DispatchState.SENT,
    source_key: str | None = None,
    **job_fields: Any,
) -> tuple[Video, TranscodeJob]:
    video = Video.objects.create(
        owner=owner or user_make(),
        title="Clip",
        original_filename="clip.mp4",
        # Fresh, as the web's keys: Video.source_key is unique.
        source_key=source_key or f"sources/clip-{next(_serial)}",
        size_bytes=10,
    )
    job = TranscodeJob.objects.create(
        video=video, profiles=["720p"], status=status, dispatch_state=dispatch_state, **job_fields
    )
    video.current_job = job
    video.save(update_fields=["current_job"])
    return video, job


def success_result(*, job_id: str, attempt: str = "9f2c4e1a7b3d5f60") -> dict[str, Any]:
    """A SUCCESS result exactly as docs/messages.md (contract v2) shows it."""
    return {
        "contract_version": 2,
        "job_id": job_id,
        "source": {
            "duration": 10.0,
            "width": 1920,
            "height": 1080,
            "video_codec": "h264",
            "audio_codec": "aac",
            "format": "mov,mp4,m4a,3gp,3g2,mj2",
            "size_bytes": 1048576,
        },
        "outputs": [
            {
                "profile": "720p",
                "key": f"outputs/{job_id}/{attempt}/720p.mp4",
                "width": 1280,
                "height": 720,
                "duration": 10.0,
                "size_bytes": 734003,
                "video_codec": "h264",
                "audio_codec": "aac",
            }
        ],
        "poster_key": f"outputs/{job_id}/{attempt}/poster.jpg",
        "manifest_key": f"outputs/{job_id}/manifest.json",
        "elapsed_seconds": 3.41,
        "timings": {
            "download": 0.02,
            "probe": 0.05,
            "transcode": 3.2,
            "encode:1:720p": 3.1,
            "poster": 0.1,
            "verify": 0.06,
            "upload": 0.03,
        },
    }


def success_result_v1(*, job_id: str) -> dict[str, Any]:
    """A contract v1 SUCCESS result (paths on the old shared disk), kept by old jobs."""
    result = success_result(job_id=job_id)
    output = result["outputs"][0]
    output["path"] = f"outputs/{job_id}/720p.mp4"
    del output["key"]
    result["poster_path"] = f"outputs/{job_id}/poster.jpg"
    del result["poster_key"], result["manifest_key"]
    result["contract_version"] = 1
    return result


def hls_result(*, job_id: str, attempt: str = "9f2c4e1a7b3d5f60") -> dict:
    """A SUCCESS result for profiles ["720p", "hls"], as docs/messages.md shows it."""
    prefix = f"outputs/{job_id}/{attempt}"
    return {
        **success_result(job_id=job_id, attempt=attempt),
        "hls": {
            "master_key": f"{prefix}/hls/master.m3u8",
            "segment_seconds": 4,
            "size_bytes": 5242880,
            "rungs": [
                {
                    "name": name,
                    "width": width,
                    "height": height,
                    "bandwidth": bandwidth,
                    "playlist_key": f"{prefix}/hls/{name}/index.m3u8",
                }
                for name, width, height, bandwidth in (
                    ("720p", 1280, 720, 3000000),
                    ("480p", 854, 480, 1500000),
                    ("360p", 640, 360, 800000),
                )
            ],
        },
        "storyboard": {
            "sprite_key": f"{prefix}/storyboard.jpg",
            "vtt_key": f"{prefix}/storyboard.vtt",
            "interval": 2.0,
            "tile_width": 160,
            "tile_height": 90,
            "size_bytes": 40960,
        },
    }


def progress_with_preview(
    *,
    job_id: str,
    attempt: str = "9f2c4e1a7b3d5f60",
    encoded_seconds: float = 4.0,
    duration: float = 120.0,
    percent: int = 10,
) -> dict[str, Any]:
    """A PROGRESS result once the attempt is playable, as docs/messages.md shows it."""
    return {
        "percent": percent,
        "stage": "transcoding",
        "preview": {
            "master_key": f"outputs/{job_id}/{attempt}/hls/master.m3u8",
            "encoded_seconds": encoded_seconds,
            "duration": duration,
        },
    }
