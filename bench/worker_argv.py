"""Print, as JSON, the exact ffprobe/ffmpeg argv lists the worker runs for one source.

Run with the transcoder's own interpreter, from the transcoder_service folder:

    transcoder_service/.venv/bin/python -m bench.worker_argv SOURCE OUT_DIR [--profile 720p]

(the bench runs it with PYTHONPATH set to both the repository and
transcoder_service). It only *reads* the worker's code: the same pure
functions the pipeline calls build the commands (transcoder.media.commands,
and `probe_command` for ffprobe), so a change there shows up here unchanged.
Settings (-threads, nice, the progress interval) come from the worker's `load_settings` applied to
this process's environment, i.e. the same variables the bench gives the worker.

--preset/--crf replace those two fields of the profile, for the encoding sweep.
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
    from transcoder.media.profiles import PROFILES
    from transcoder.settings import load_settings

    settings = load_settings(environ=os.environ)
    limits = process_limits(settings)
    profile = PROFILES[args.profile]
    changes = {k: v for k, v in (("preset", args.preset), ("crf", args.crf)) if v is not None}
    if changes:
        profile = dataclasses.replace(profile, **changes)

    source = args.source.resolve()
    out_dir = args.out_dir.resolve()
    info = probe_module.probe_source(source, limits=limits)
    probe_argv = probe_module.probe_command(source=source, max_pixels=limits.max_pixels)
    width, height = fit_within(
        width=info.width,
        height=info.height,
        box_width=profile.box_width,
        box_height=profile.box_height,
    )
    # The names a user would give; the worker's own are temporary names in its scratch.
    rendition = out_dir / f"{args.profile}.mp4"
    poster = out_dir / "poster.jpg"
    transcode = ffmpeg.compile(
        transcode_command(
            source=source,
            target=rendition,
            profile=profile,
            info=info,
            threads=settings.ffmpeg_threads,
            max_pixels=limits.max_pixels,
        )
    )
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
            "threads": settings.ffmpeg_threads,
            "progress_interval": settings.progress_interval,
            "profile": {"name": profile.name, "preset": profile.preset, "crf": profile.crf},
            "size": [width, height],
            "duration": info.duration,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
