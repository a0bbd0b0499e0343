"""Print, as JSON, the exact ffprobe/ffmpeg argv lists the worker runs for one source.

Run with the transcoder's own interpreter, from the transcoder_service folder:

    transcoder_service/.venv/bin/python -m bench.worker_argv SOURCE OUT_DIR [--profile 720p|hls]

(the bench runs it with PYTHONPATH set to both the repository and
transcoder_service). It only *reads* the worker's code: the same pure
functions the pipeline calls build the commands (transcoder.media.commands,
.ladder for `hls`, and `probe_command` for ffprobe), so a change there shows
up here unchanged. Settings (-threads, nice, the progress interval) come from
the worker's `load_settings` applied to this process's environment, i.e. the
same variables the bench gives the worker.

--preset/--crf replace those two fields of an MP4 profile, for the encoding sweep.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--profile", default="720p")
    parser.add_argument("--preset")
    parser.add_argument("--crf", type=int)
    args = parser.parse_args(argv)

    import ffmpeg
    from transcoder.encode import process_limits
    from transcoder.media import probe as probe_module
    from transcoder.media.commands import (
        fit_within,
        poster_command,
        poster_time,
        transcode_command,
    )
    from transcoder.media.ladder import ladder_command, ladder_rungs
    from transcoder.media.profiles import HLS_PROFILE, PROFILES
    from transcoder.settings import load_settings

    settings = load_settings(environ=os.environ)
    limits = process_limits(settings)
    threads = settings.ffmpeg_threads
    if threads is None:
        # FFMPEG_THREADS unset: the worker sizes each ffmpeg as it starts, and
        # a job alone on the host (every by-hand run here) gets ffmpeg's choice.
        threads = 0
    source = args.source.resolve()
    out_dir = args.out_dir.resolve()
    info = probe_module.probe_source(source, limits=limits)
    probe_argv = probe_module.probe_command(source=source, max_pixels=limits.max_pixels)
    # The names a user would give; the worker's own are temporary names in its scratch.
    if args.profile == HLS_PROFILE:
        rungs = ladder_rungs(width=info.width, height=info.height)
        width, height = rungs[0].width, rungs[0].height  # the poster's size, as the worker's
        rendition = out_dir  # master.m3u8 and a folder per rung
        command = ladder_command(
            source=source,
            folder=out_dir,
            rungs=rungs,
            info=info,
            threads=threads,
            max_pixels=limits.max_pixels,
        )
        profile_fields = {"name": HLS_PROFILE, "rungs": [r.name for r in rungs]}
    else:
        profile = PROFILES[args.profile]
        changes = {k: v for k, v in (("preset", args.preset), ("crf", args.crf)) if v is not None}
        if changes:
            profile = dataclasses.replace(profile, **changes)
        width, height = fit_within(
            width=info.width,
            height=info.height,
            box_width=profile.box_width,
            box_height=profile.box_height,
        )
        rendition = out_dir / f"{args.profile}.mp4"
        command = transcode_command(
            source=source,
            target=rendition,
            profile=profile,
            info=info,
            threads=threads,
            max_pixels=limits.max_pixels,
        )
        profile_fields = {"name": profile.name, "preset": profile.preset, "crf": profile.crf}
    poster = out_dir / "poster.jpg"
    transcode = ffmpeg.compile(command)
    poster_argv = ffmpeg.compile(
        poster_command(
            source=source,
            target=poster,
            info=info,
            at_seconds=poster_time(info.duration),
            width=width,
            height=height,
            max_pixels=limits.max_pixels,
        )
    )
    json.dump(
        {
            "probe": probe_argv,
            "transcode": [str(x) for x in transcode],
            "poster": [str(x) for x in poster_argv],
            "rendition": str(rendition),
            "nice": settings.ffmpeg_nice,
            "threads": threads,
            "progress_interval": settings.progress_interval,
            "profile": profile_fields,
            "size": [width, height],
            "duration": info.duration,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
