"""What a job publishes: each scratch file's key and type, the uploads, and the result naming them.

Keys follow docs/messages.md, "Outputs in the object store": everything under
the attempt prefix, the ladder under `hls/` with the same relative layout it
has on scratch, so the playlists' relative URIs resolve in the bucket too.
"""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcoder import contract
from transcoder.encode import Made
from transcoder.encoded import Encoded
from transcoder.objectstore import ObjectStore
from transcoder.packaging import ladder_files
from transcoder.progress import ProgressReporter

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
}
# A ladder is hundreds of small objects; each upload is mostly a round trip
# (PUT, then the HEAD that checks it), so a few run side by side.
_PARALLEL_UPLOADS = 4


@dataclass(frozen=True, kw_only=True)
class Upload:
    path: Path
    key: str
    size: int


def uploads_planned(*, made: Made, prefix: str) -> list[Upload]:
    """Every file of the job with its key, MP4s first, in a stable order."""
    pairs = [(path, f"{prefix}{path.name}") for _, path, _ in made.mp4s]
    pairs.append((made.poster, f"{prefix}{made.poster.name}"))
    if made.ladder is not None:
        hls = made.ladder.folder
        pairs += [
            (path, f"{prefix}{contract.HLS_FOLDER}/{path.relative_to(hls).as_posix()}")
            for path in ladder_files(hls)
        ]
        storyboard = made.ladder.storyboard
        pairs += [(path, f"{prefix}{path.name}") for path in (storyboard.sprite, storyboard.vtt)]
    return [Upload(path=path, key=key, size=path.stat().st_size) for path, key in pairs]


def uploads_run(
    *,
    store: ObjectStore,
    uploads: list[Upload],
    reporter: ProgressReporter,
    stage: str,
    start: int,
    end: int,
) -> None:
    """Upload each file (HEAD-checked by the store adapter); report `start`..`end` percent.

    The playlists go once everything else is stored: a player that reads
    one (the ladder may be playing already, live.py) finds every segment
    and init section it names.
    """
    # Progress is reported from this thread only: the uploads finish in any order.
    reporter.report(stage=stage, percent=start)
    playlists = [upload for upload in uploads if upload.path.suffix == ".m3u8"]
    batches = [[upload for upload in uploads if upload not in playlists], playlists]
    done_count = 0
    with ThreadPoolExecutor(max_workers=_PARALLEL_UPLOADS) as pool:
        for batch in batches:
            pending = {
                pool.submit(
                    store.output_upload,
                    path=upload.path,
                    key=upload.key,
                    content_type=_CONTENT_TYPES[upload.path.suffix],
                )
                for upload in batch
            }
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        future.result()  # the first failure ends the job
                    done_count += len(done)
                    reporter.report(
                        stage=stage, percent=start + done_count * (end - start) // len(uploads)
                    )
            except BaseException:
                for future in pending:
                    future.cancel()
                raise


def result_fields(*, encoded: Encoded, prefix: str) -> dict[str, Any]:
    """The SUCCESS result's `outputs` and `poster_key`, plus `hls` and `storyboard` if made."""
    fields: dict[str, Any] = {
        "outputs": [
            {
                "profile": rendition.profile,
                "key": f"{prefix}{rendition.path.name}",
                "width": rendition.checked.width,
                "height": rendition.checked.height,
                "duration": round(rendition.checked.duration, 3),
                "size_bytes": rendition.checked.size_bytes,
                "video_codec": rendition.checked.video_codec,
                "audio_codec": rendition.checked.audio_codec,
            }
            for rendition in encoded.renditions
        ],
        "poster_key": f"{prefix}{encoded.poster.name}",
    }
    hls = f"{prefix}{contract.HLS_FOLDER}/"
    if encoded.ladder is not None:
        fields["hls"] = {
            "master_key": f"{hls}{contract.HLS_MASTER_FILENAME}",
            "segment_seconds": contract.HLS_SEGMENT_SECONDS,
            # All of the ladder's objects together: what a caller counts
            # against a quota without listing hundreds of segments.
            "size_bytes": sum(path.stat().st_size for path in ladder_files(encoded.ladder.folder)),
            "rungs": [
                {
                    "name": rung.name,
                    "width": rung.width,
                    "height": rung.height,
                    "bandwidth": rung.bandwidth,
                    "playlist_key": f"{hls}{rung.name}/{contract.HLS_PLAYLIST_FILENAME}",
                }
                for rung in encoded.ladder.rungs
            ],
        }
    if encoded.storyboard is not None:
        plan = encoded.storyboard.plan
        fields["storyboard"] = {
            "sprite_key": f"{prefix}{contract.STORYBOARD_SPRITE_FILENAME}",
            "vtt_key": f"{prefix}{contract.STORYBOARD_VTT_FILENAME}",
            "interval": plan.interval,
            "tile_width": plan.tile_width,
            "tile_height": plan.tile_height,
            "size_bytes": encoded.storyboard.sprite.stat().st_size
            + encoded.storyboard.vtt.stat().st_size,
        }
    return fields
