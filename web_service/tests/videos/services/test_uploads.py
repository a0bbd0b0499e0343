"""Removing the temporary files of uploads whose web process died."""

from __future__ import annotations

import os
import time
from pathlib import Path

from videos.services.uploads import abandoned_uploads_remove


def _upload_file(folder: Path, name: str, *, idle_seconds: float) -> Path:
    path = folder / name
    path.write_bytes(b"part of a video")
    then = time.time() - idle_seconds
    os.utime(path, (then, then))
    return path


def test_removes_idle_uploads_and_keeps_the_ones_still_being_written(media_root: Path):
    incoming = media_root / "incoming"
    abandoned = _upload_file(incoming, "tmpabc.upload.mp4", idle_seconds=120)
    live = _upload_file(incoming, "tmpdef.upload.mp4", idle_seconds=5)

    assert abandoned_uploads_remove(idle_seconds=60) == [abandoned]
    assert not abandoned.exists()
    assert live.exists()


def test_a_missing_upload_folder_is_nothing_to_do(media_root: Path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(media_root / "not-there")
    assert abandoned_uploads_remove(idle_seconds=0) == []
