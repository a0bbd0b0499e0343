"""The HLS ladder and the storyboard of a job, made and checked on scratch files.

    plan the rungs and the storyboard grid -> one ffmpeg pass writes hls/
    (master, and per rung a playlist, an init segment and segments), the
    storyboard sprite and, if asked, the poster -> name every init segment
    init.mp4 (and, for a progressive ladder, make its EVENT playlists VOD)
    -> Python writes the storyboard's VTT from the same grid

encode.py calls this; nothing here knows about the object store: `watch`,
given by the caller, wraps the pass (live.py publishes while it runs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from transcoder import contract, telemetry
from transcoder.errors import TranscodeFailed
from transcoder.media.commands import PosterFrame
from transcoder.media.ladder import PlannedRung, ladder_command
from transcoder.media.playlists import media_init_renamed, media_parse, media_vod
from transcoder.media.probe import SourceInfo
from transcoder.media.runner import PercentCallback, ProcessLimits, run_ffmpeg
from transcoder.media.storyboard import (
    StoryboardPlan,
    StoryboardSprite,
    storyboard_plan,
    storyboard_vtt,
)

# Called as watch(folder=<hls/>, rungs=<rung names>, duration=<the source's>,
# on_progress=<the pass's PercentCallback>) around the ladder's pass.
LadderWatch = Callable[..., AbstractContextManager[None]]


@dataclass(frozen=True, kw_only=True)
class Storyboard:
    sprite: Path
    vtt: Path
    plan: StoryboardPlan


@dataclass(frozen=True, kw_only=True)
class Packaged:
    folder: Path
    rungs: list[PlannedRung]
    storyboard: Storyboard


def ladder_make(
    *,
    source: Path,
    folder: Path,
    info: SourceInfo,
    rungs: list[PlannedRung],
    threads: int,
    poster: PosterFrame | None,
    limits: ProcessLimits,
    job_id: str,
    on_progress: PercentCallback,
    progressive: bool = False,
    watch: LadderWatch | None = None,
) -> Packaged:
    """Write the ladder into `folder`/hls and the storyboard (and `poster`) into `folder`.

    `progressive`: EVENT playlists and short first segments while the pass
    runs (ladder.py), made VOD here once it is done.
    """
    hls = folder / contract.HLS_FOLDER
    hls.mkdir()
    plan = storyboard_plan(duration=info.duration, width=info.width, height=info.height)
    sprite = folder / contract.STORYBOARD_SPRITE_FILENAME
    watching = (
        watch(
            folder=hls,
            rungs=[planned.name for planned in rungs],
            duration=info.duration,
            on_progress=on_progress,
        )
        if watch is not None
        else contextlib.nullcontext()
    )
    with watching:
        run_ffmpeg(
            ladder_command(
                source=source,
                folder=hls,
                rungs=rungs,
                info=info,
                threads=threads,
                max_pixels=limits.max_pixels,
                poster=poster,
                storyboard=StoryboardSprite(target=sprite, plan=plan),
                progressive=progressive,
            ),
            duration=info.duration,
            on_progress=on_progress,
            job_id=job_id,
            limits=limits,
        )
    for planned in rungs:
        _playlist_finished(hls / planned.name, vod=progressive)
    vtt = folder / contract.STORYBOARD_VTT_FILENAME
    # The sprite came out of the ladder's pass; what is left is its cue file.
    with telemetry.stage("storyboard"):
        vtt.write_text(storyboard_vtt(plan=plan, duration=info.duration), encoding="utf-8")
    return Packaged(
        folder=hls, rungs=rungs, storyboard=Storyboard(sprite=sprite, vtt=vtt, plan=plan)
    )


def ladder_files(hls: Path) -> list[Path]:
    """Every file of the ladder, master first: what gets uploaded."""
    master = hls / contract.HLS_MASTER_FILENAME
    return [master, *sorted(p for p in hls.rglob("*") if p.is_file() and p != master)]


def _playlist_finished(rung_folder: Path, *, vod: bool) -> None:
    """Name the rung's init segment init.mp4; with `vod`, make its EVENT playlist VOD."""
    # With more than one variant, ffmpeg 5.1 names each init segment
    # init_<index>.mp4 whatever -hls_fmp4_init_filename says; the contract
    # names it init.mp4 in every rung's folder, so rename it and its EXT-X-MAP.
    # The rename keeps its mtime: live.py's upload of it still counts.
    playlist = rung_folder / contract.HLS_PLAYLIST_FILENAME
    text = playlist.read_text(encoding="utf-8")
    written = media_parse(text).init_uri
    finished = media_vod(text) if vod else text
    if written != contract.HLS_INIT_FILENAME:
        if written is None or "/" in written or not (rung_folder / written).is_file():
            raise TranscodeFailed(f"The HLS {rung_folder.name} rung has no init segment.")
        (rung_folder / written).rename(rung_folder / contract.HLS_INIT_FILENAME)
        finished = media_init_renamed(finished, name=contract.HLS_INIT_FILENAME)
    if finished != text:
        playlist.write_text(finished, encoding="utf-8")
