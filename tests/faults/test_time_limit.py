"""A job past the worker's soft time limit fails with a reason, and leaves
no ffmpeg, no scratch file and no object behind."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.observe import files_under, job_of, wait_until
from tests.support.processes import alive, ffmpeg_pids

SOFT_LIMIT = 3


def test_a_job_over_the_time_limit_fails_with_the_reason_and_leaves_no_ffmpeg_or_partial_file(
    start_stack, make_clip
):
    stack = start_stack(
        TRANSCODER_CONCURRENCY="1",
        TRANSCODE_SOFT_TIME_LIMIT=str(SOFT_LIMIT),
        TRANSCODE_TIME_LIMIT="10",
    )
    api = ApiClient(stack.base_url)
    worker = stack.processes["worker"]
    # About 7 s of ffmpeg on two cores: well past the 3 s soft limit.
    video_id = api.upload(make_clip(seconds=30, width=1280, height=720)).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    (ffmpeg,) = wait_until(
        lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="ffmpeg runs"
    )

    final, _ = api.wait_final(video_id, timeout=60)

    assert final["status"] == "failed", final
    assert f"took longer than {SOFT_LIMIT} s" in final["error"]
    assert job_of(stack.database_url, video_id)["error_code"] == "TranscodeTimeout"
    assert not alive(ffmpeg), f"ffmpeg {ffmpeg} outlived its job"
    # Nothing published, nothing half-uploaded, and its scratch files are removed.
    assert stack.store.objects(f"outputs/{job_id}/") == {}
    assert stack.store.multipart_uploads() == []
    wait_until(
        lambda: files_under(stack.scratch_dir) == [],
        timeout=10,
        what="the job's scratch folder is removed",
        diagnostics=lambda: str(files_under(stack.scratch_dir)),
    )
    # The soft limit let the task clean up; the hard limit never had to kill the pool process.
    assert "Hard time limit" not in worker.log_text()

    # The worker goes on to the next job.
    short = api.upload(make_clip(seconds=3)).json()["id"]
    final, _ = api.wait_final(short, timeout=60)
    assert final["status"] == "ready", final
