"""The JSON shape of a video, shared by the API and the page's live updates.

Outside tools rely on these keys (docs/api.md, "The API"); add keys,
never rename them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from ingest.limits import human_size
from jobs.messaging import contract
from jobs.models import JobStatus, TranscodeJob
from videos.models import Video
from videos.selectors import job_queue_position
from videos.services.jobs import CANCELLABLE, RETRYABLE

OUTPUT_KEYS = ("profile", "width", "height", "duration", "size_bytes", "video_codec", "audio_codec")


def media_url(*, key: str | None) -> str | None:
    """The web's playback URL of an object: it redirects to a signed URL of the store."""
    return f"{settings.MEDIA_URL}{key}" if key else None


def compression_ratio(*, source: Any, output: Any) -> float | None:
    """How many times smaller the output is than the source (2.5 means 2.5x smaller)."""
    if not isinstance(source, int | float) or not isinstance(output, int | float) or output <= 0:
        return None
    return round(source / output, 2)


def job_eta_seconds(*, job: TranscodeJob | None, now: datetime) -> int | None:
    """Seconds left, extrapolated from the progress so far; None until it means something."""
    if job is None or job.status != JobStatus.PROCESSING or not job.started_at:
        return None
    if not 1 <= job.progress < 100:
        return None
    elapsed = (now - job.started_at).total_seconds()
    return max(0, round(elapsed * (100 - job.progress) / job.progress))


def job_preview(*, job: TranscodeJob | None) -> dict[str, Any] | None:
    """What the page plays while the job runs: the newest attempt's growing ladder, or None.

    `encoded_seconds` is how far every rung is in the store (the seek bar's
    edge), `duration` the source's length (the video's length once done).
    """
    if job is None or job.status != JobStatus.PROCESSING or not job.preview_master_key:
        return None
    return {
        "hls_url": media_url(key=job.preview_master_key),
        "encoded_seconds": job.preview_encoded_seconds or 0.0,
        "duration": job.preview_duration or 0.0,
    }


def _seconds_text(seconds: int) -> str:
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def video_status_text(*, video: dict[str, Any]) -> str:
    """The line a person reads next to the status badge, from video_to_dict's keys.

    Made here, once, for the page's first render and for every poll
    (`status_text`), so that a row drawn by the server and one redrawn by
    app.js say the same thing.
    """
    status = video["status"]
    if status == JobStatus.QUEUED:
        place = video["queue_position"]
        return f"Waiting · #{place} in queue" if place else "Waiting"
    if status == JobStatus.PROCESSING:
        text = f"{video['progress']}% {video['stage'] or ''}".rstrip()
        if video["eta_seconds"] is not None:
            text += f" · about {_seconds_text(video['eta_seconds'])} left"
        return text
    if status != JobStatus.READY or not video["outputs"]:
        return ""
    first = video["outputs"][0]
    parts = [f"{first['width']}×{first['height']}"]
    if isinstance(first["duration"], int | float):
        parts.append(f"{first['duration']:.1f} s")
    if isinstance(first["size_bytes"], int):
        parts.append(human_size(first["size_bytes"]))
    return " · ".join(parts)


def video_to_dict(*, video: Video) -> dict[str, Any]:
    job = video.current_job
    result = (job.result if job else None) or {}
    source_size = (job.source_metadata or {}).get("size_bytes") if job else None
    outputs = [
        {
            **{key: output.get(key) for key in OUTPUT_KEYS},
            "url": media_url(key=contract.result_output_key(output=output)),
            "compression_ratio": compression_ratio(
                source=source_size, output=output.get("size_bytes")
            ),
        }
        for output in result.get("outputs", [])
        if isinstance(output, dict)
    ]
    body = {
        "id": str(video.id),
        "title": video.title,
        "original_filename": video.original_filename,
        "status": job.status if job else JobStatus.QUEUED,
        "progress": job.progress if job else 0,
        "stage": job.stage if job else "",
        "error": (job.error or None) if job else None,
        "source": job.source_metadata if job else None,
        "outputs": outputs,
        "poster_url": media_url(key=contract.result_poster_key(result=result)),
        # The adaptive ladder and the scrub previews, when the transcoder made them.
        "hls_url": media_url(key=contract.result_hls_master_key(result=result)),
        "rungs": contract.result_hls_rungs(result=result),
        "storyboard_url": media_url(key=contract.result_storyboard_vtt_key(result=result)),
        # While processing, once playable: hls_url, encoded_seconds, duration.
        "preview": job_preview(job=job),
        "created_at": video.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job and job.finished_at else None,
        "url": f"/api/videos/{video.id}/",
        "queue_position": job_queue_position(job=job) if job else None,
        "eta_seconds": job_eta_seconds(job=job, now=timezone.now()),
        "can_cancel": bool(job and job.status in CANCELLABLE),
        "can_retry": bool(job and job.status in RETRYABLE),
    }
    return {**body, "status_text": video_status_text(video=body)}
