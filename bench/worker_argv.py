"""Print, as JSON, the exact ffprobe/ffmpeg argv lists the worker runs for one source.

Run with the transcoder's own interpreter, from the transcoder_service folder:

    transcoder_service/.venv/bin/python -m bench.worker_argv SOURCE OUT_DIR [--profile 720p|hls]

(the bench runs it with PYTHONPATH set to both the repository and
transcoder_service). It only *reads* the worker's code: the same pure
functions the pipeline calls build the commands (transcoder.media.commands,
.ladder for `hls`, and `probe_command` for ffprobe), so a change there shows
up here unchanged. The MP4's pass writes the poster too, as the worker's
does; the ladder's is the rungs alone (its baseline adds a user's poster
command and no storyboard, which the worker's pass also makes). Settings (-threads, nice) come from
the worker's `load_settings` applied to this process's environment, i.e. the
same variables the bench gives the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--profile", default="720p")
    args = parser.parse_args(argv)

    import ffmpeg
    from transcoder.contract import PROFILE_HLS
    from transcoder.encode import process_limits
    from transcoder.media import commands
    from transcoder.media import probe as probe_module
    from transcoder.media.ladder import ladder_command, ladder_rungs
    from transcoder.media.profiles import PROFILES
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
    common = {"source": source, "info": info, "max_pixels": limits.max_pixels}
    # The names a user would give; the worker's own are temporary names in its scratch.
    if args.profile == PROFILE_HLS:
        rungs = ladder_rungs(width=info.width, height=info.height)
        rendition = out_dir  # master.m3u8 and a folder per rung
        # As the worker runs it: progressive (EVENT playlists, short first
        # segments) unless HLS_PROGRESSIVE is off.
        progressive = getattr(settings, "hls_progressive", False)
        command = ladder_command(
            folder=out_dir, rungs=rungs, threads=threads, progressive=progressive, **common
        )
        profile_fields = {
            "name": PROFILE_HLS,
            "rungs": [r.name for r in rungs],
            "progressive": progressive,
            # What a user's own ladder command (bench/direct.py, plain_ladder) asks for.
            "rung_settings": [
                {
                    "name": r.name,
                    "width": r.width,
                    "height": r.height,
                    "crf": r.rung.crf,
                    "maxrate": r.rung.maxrate,
                    "bufsize": r.rung.bufsize,
                    "audio_bitrate": r.rung.audio_bitrate,
                }
                for r in rungs
            ],
            "audio": info.audio_stream_index is not None,
        }
    else:
        profile = PROFILES[args.profile]
        box = {"box_width": profile.box_width, "box_height": profile.box_height}
        width, height = commands.fit_within(width=info.width, height=info.height, **box)
        rendition = out_dir / f"{args.profile}.mp4"
        poster = commands.PosterFrame(
            target=out_dir / "poster.jpg",
            at_seconds=commands.poster_time(info.duration),
            width=width,
            height=height,
        )
        command = commands.transcode_command(
            target=rendition, profile=profile, threads=threads, poster=poster, **common
        )
        profile_fields = {"name": profile.name, "preset": profile.preset, "crf": profile.crf}
    transcode = ffmpeg.compile(command)
    json.dump(
        {
            "probe": probe_argv,
            "transcode": [str(x) for x in transcode],
            "poster": [],
            "rendition": str(rendition),
            "nice": settings.ffmpeg_nice,
            "threads": threads,
            "profile": profile_fields,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
