"""The in-progress ladder: published segment by segment while ffmpeg makes it.

    ffmpeg (ladder.py, progressive) closes a segment -> lists it in the rung's
    EVENT playlist (a temporary file, then a rename) -> the publisher thread,
    polling the playlists, uploads the new segments, the rung's init section
    once, then the playlist (without ENDLIST) -> once every rung has its first
    segment, its init and its playlist in the store, the master goes up and
    the job is playable: ProgressReporter.preview_set reports it at once.

Everything goes under the attempt's own keys, the very keys of the final
outputs (publish.py): the final upload skips what is already there unchanged
and replaces the playlists with their VOD versions. The manifest, written
last, stays the only final truth; a failed attempt deletes all of it.

A store error here does not fail the job: the preview is an extra, and a
long encode should not be thrown away for a blip. The publisher logs it,
backs off and tries again; whatever it never managed to send goes with the
final upload, whose StorageError is retried as it always was.

The uploads run on this module's own thread, never on the one reading
ffmpeg's progress (a slow store must not stall ffmpeg's stdout pipe).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcoder import contract
from transcoder.errors import StorageDenied, StorageError
from transcoder.interrupts import future_wait_to_the_end, thread_started
from transcoder.media.playlists import (
    master_parse,
    media_in_progress,
    media_init_renamed,
    media_parse,
)
from transcoder.media.runner import PercentCallback
from transcoder.objectstore import ObjectStore

logger = logging.getLogger(__name__)

# How often the playlists are looked at: a tenth of the first segments'
# length, a few stat() calls each time.
POLL_SECONDS = 0.1
# After a store error, the longest wait before the next try.
_MAX_BACKOFF_SECONDS = 8.0
_PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
_SEGMENT_TYPE = "video/iso.segment"
_INIT_TYPE = "video/mp4"

# A local file as it was uploaded: (size, mtime in ns).
Stamp = tuple[int, int]
PreviewCallback = Callable[[dict[str, Any]], None]


@dataclass(kw_only=True)
class _Rung:
    name: str
    # The text of the playlist last uploaded, and the media seconds it lists.
    published: str | None = None
    seconds: float = 0.0
    # The playlist file's stamp when last read: unchanged, it is not read again.
    seen: Stamp | None = None


@dataclass(kw_only=True)
class LadderPublisher:
    """Publishes one attempt's ladder while it is made; `watching` wraps the ffmpeg pass."""

    store: ObjectStore
    # outputs/<job_id>/<attempt>/
    prefix: str
    on_preview: PreviewCallback
    poll_seconds: float = POLL_SECONDS
    # key -> the local file's stamp when it was uploaded, for the final upload.
    uploaded: dict[str, Stamp] = field(default_factory=dict)
    uploaded_bytes: int = 0
    _rungs: list[_Rung] = field(default_factory=list)
    _master_sent: bool = False
    # The source's probed duration, and the pass's progress callback, from watching().
    _duration: float = 0.0
    _on_progress: PercentCallback | None = None

    def holds(self, *, key: str, path: Path) -> bool:
        """Whether `key` already holds `path` as it is now (its size and mtime unchanged)."""
        return self.uploaded.get(key) == _stamp(path)

    @contextlib.contextmanager
    def watching(
        self,
        *,
        folder: Path,
        rungs: list[str],
        duration: float,
        on_progress: PercentCallback | None = None,
    ) -> Iterator[None]:
        """Publish `folder` (the ladder's hls/) while the block runs the pass writing it.

        `on_progress` gets the pass's percentage as published: ffmpeg itself
        reports nothing until every output has its first frame, and the
        storyboard's sprite has it only at the end.

        On a clean exit everything the pass wrote is published before this
        returns; on an exception the thread stops at once. Either way it has
        ended when this block does, even when SIGTERM interrupts the wait
        (interrupts.py): no upload happens after it, so a failed attempt's
        deletion never races one.
        """
        self._rungs = [_Rung(name=name) for name in rungs]
        self._duration = duration
        self._on_progress = on_progress
        stop = threading.Event()
        publishing = thread_started(lambda: self._run(folder, stop), name="ladder-publisher")
        try:
            yield
        except BaseException:
            stop.set()
            future_wait_to_the_end(publishing)
            raise
        stop.set()
        future_wait_to_the_end(publishing)
        publishing.result()  # a bug in the thread: raised here, not lost
        # ffmpeg has exited: whatever it wrote last goes up now (in this
        # thread, the thread being gone), so the preview covers the whole
        # video while later passes run.
        self._sweep_guarded(folder)

    def _run(self, folder: Path, stop: threading.Event) -> None:
        backoff = 0.0
        while not stop.wait(backoff or self.poll_seconds):
            backoff = (
                0.0
                if self._sweep_guarded(folder)
                else min(max(backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
            )

    def _sweep_guarded(self, folder: Path) -> bool:
        """One sweep; False (logged) if the store failed it."""
        try:
            self._sweep(folder)
        except (StorageError, StorageDenied) as exc:
            logger.warning("could not publish the ladder in progress (retried): %s", exc)
            return False
        return True

    def _sweep(self, folder: Path) -> None:
        for rung in self._rungs:
            self._rung_publish(folder / rung.name, rung)
        if self._master_sent or any(rung.published is None for rung in self._rungs):
            return
        master = folder / contract.HLS_MASTER_FILENAME
        try:
            stamp, text = _stamp(master), master.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        # ffmpeg writes the master in place (no temporary file, unlike the
        # media playlists): only one naming every rung, in order, is whole.
        expected = [f"{rung.name}/{contract.HLS_PLAYLIST_FILENAME}" for rung in self._rungs]
        if [variant.uri for variant in master_parse(text)] != expected:
            return
        # Last, so a player that finds the master finds every rung playable.
        self.store.output_put(
            key=self._master_key(), body=text.encode("utf-8"), content_type=_PLAYLIST_TYPE
        )
        self.uploaded_bytes += stamp[0]
        if _stamp(master) == stamp:  # what was sent is the file as it stays
            self.uploaded[self._master_key()] = stamp
        self._master_sent = True
        self._preview_send()

    def _rung_publish(self, rung_folder: Path, rung: _Rung) -> None:
        playlist_path = rung_folder / contract.HLS_PLAYLIST_FILENAME
        try:
            # ffmpeg renames a new version into place: a new stamp each time.
            seen = _stamp(playlist_path)
            if seen == rung.seen:
                return
            text = playlist_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return  # no segment closed yet
        if text == rung.published:
            rung.seen = seen
            return
        playlist = media_parse(text)
        if playlist.init_uri is None or not playlist.segments:
            return
        base = f"{contract.HLS_FOLDER}/{rung.name}/"
        # ffmpeg names a rung's init section init_<n>.mp4 (packaging.py
        # renames it once the pass is done); its key is init.mp4 from the start.
        self._file_upload(
            rung_folder / playlist.init_uri,
            key=self._key(base + contract.HLS_INIT_FILENAME),
            kind=_INIT_TYPE,
        )
        for _, uri in playlist.segments:
            key = self._key(base + uri)
            if key not in self.uploaded:  # segments are never rewritten: no stat needed
                self._file_upload(rung_folder / uri, key=key, kind=_SEGMENT_TYPE)
        published = media_in_progress(
            media_init_renamed(text, name=contract.HLS_INIT_FILENAME),
            target_seconds=contract.HLS_SEGMENT_SECONDS,
        )
        # After its segments: a player never reads a segment the store lacks.
        self.store.output_put(
            key=self._key(base + contract.HLS_PLAYLIST_FILENAME),
            body=published.encode("utf-8"),
            content_type=_PLAYLIST_TYPE,
        )
        rung.published, rung.seen = text, seen
        rung.seconds = sum(seconds for seconds, _ in playlist.segments)
        if self._master_sent:
            self._preview_send()
        if self._on_progress is not None:
            done = min(r.seconds for r in self._rungs) / max(self._duration, 0.001)
            self._on_progress(min(int(done * 100), 99))  # 100 is ffmpeg's own "end"

    def _file_upload(self, path: Path, *, key: str, kind: str) -> None:
        if self.holds(key=key, path=path):
            return
        stamp = _stamp(path)
        self.store.output_upload(path=path, key=key, content_type=kind)
        self.uploaded[key] = stamp
        self.uploaded_bytes += stamp[0]

    def _preview_send(self) -> None:
        self.on_preview(
            {
                contract.PREVIEW_MASTER_KEY: self._master_key(),
                # What every rung can play: a player switching rungs finds it all.
                contract.PREVIEW_ENCODED_SECONDS: round(
                    min(rung.seconds for rung in self._rungs), 3
                ),
                contract.PREVIEW_DURATION: round(self._duration, 3),
            }
        )

    def _master_key(self) -> str:
        return self._key(f"{contract.HLS_FOLDER}/{contract.HLS_MASTER_FILENAME}")

    def _key(self, relative: str) -> str:
        return f"{self.prefix}{relative}"


def _stamp(path: Path) -> Stamp:
    status = path.stat()
    return status.st_size, status.st_mtime_ns
