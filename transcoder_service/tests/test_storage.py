from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from transcoder import storage
from transcoder.errors import InvalidPayload, StorageError
from transcoder.payload import ConvertRequest

REQUEST = ConvertRequest(
    job_id="job1", source_path="sources/a.mp4", profiles=("720p",), contract_version=1
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "sources").mkdir(parents=True)
    (root / "sources" / "a.mp4").write_bytes(b"video")
    return root


def test_resolve_source_inside_root(root: Path) -> None:
    resolved = storage.resolve_source(media_root=root, source_path="sources/a.mp4")
    assert resolved == (root / "sources" / "a.mp4").resolve()


def test_symlink_inside_root_is_followed(root: Path) -> None:
    (root / "sources" / "link.mp4").symlink_to(root / "sources" / "a.mp4")
    resolved = storage.resolve_source(media_root=root, source_path="sources/link.mp4")
    assert resolved.name == "a.mp4"


def test_symlink_leaving_root_is_refused(root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"secret")
    (root / "sources" / "escape.mp4").symlink_to(secret)
    with pytest.raises(InvalidPayload, match="points outside the media root"):
        storage.resolve_source(media_root=root, source_path="sources/escape.mp4")


def test_symlinked_directory_leaving_root_is_refused(root: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.mp4").write_bytes(b"x")
    (root / "sources" / "dir").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidPayload, match="outside the media root"):
        storage.resolve_source(media_root=root, source_path="sources/dir/b.mp4")


def test_media_root_reached_through_a_symlink_works(root: Path, tmp_path: Path) -> None:
    (tmp_path / "mounted").symlink_to(root)
    assert storage.resolve_source(media_root=tmp_path / "mounted", source_path="sources/a.mp4")


def test_missing_source(root: Path) -> None:
    with pytest.raises(InvalidPayload, match=r"'sources/nope\.mp4' does not exist"):
        storage.resolve_source(media_root=root, source_path="sources/nope.mp4")


def test_path_through_a_file_does_not_exist(root: Path) -> None:
    # ENOTDIR: a bad path, not a storage fault worth retrying.
    with pytest.raises(InvalidPayload, match=r"'sources/a\.mp4/b\.mp4' does not exist"):
        storage.resolve_source(media_root=root, source_path="sources/a.mp4/b.mp4")


def test_symlink_loop_is_refused(root: Path) -> None:
    (root / "sources" / "loop.mp4").symlink_to("loop.mp4")
    with pytest.raises(InvalidPayload, match="is a loop of symbolic links"):
        storage.resolve_source(media_root=root, source_path="sources/loop.mp4")


def test_path_too_long_for_the_file_system_is_refused(root: Path) -> None:
    # Each name fits in 255 bytes, but together they exceed PATH_MAX (4096).
    path = "/".join(["é" * 120] * 18)
    with pytest.raises(InvalidPayload, match="too long for the file system"):
        storage.resolve_source(media_root=root, source_path=path)


def test_fifo_is_not_a_source(root: Path) -> None:
    # Opening a FIFO blocks until someone writes to it: ffprobe would hang.
    os.mkfifo(root / "sources" / "pipe.mp4")
    with pytest.raises(InvalidPayload, match="is not a regular file"):
        storage.resolve_source(media_root=root, source_path="sources/pipe.mp4")


def test_directory_is_not_a_source(root: Path) -> None:
    with pytest.raises(InvalidPayload, match="is not a regular file"):
        storage.resolve_source(media_root=root, source_path="sources")


def test_missing_media_root_is_a_storage_error(tmp_path: Path) -> None:
    # Likely an unmounted volume: worth a retry, unlike a bad path.
    with pytest.raises(StorageError, match="not available"):
        storage.resolve_source(media_root=tmp_path / "absent", source_path="a.mp4")


def test_job_directory_is_created(root: Path) -> None:
    job_dir = storage.job_directory(media_root=root, job_id="job1")
    assert job_dir == root.resolve() / "outputs" / "job1"
    assert job_dir.is_dir()


def test_os_errors_become_storage_errors(root: Path) -> None:
    (root / "outputs").write_text("a file where a folder should be")
    with pytest.raises(StorageError, match="creating the output folder"):
        storage.job_directory(media_root=root, job_id="job1")


def test_temp_names_are_hidden_siblings(tmp_path: Path) -> None:
    temp = storage.TempFiles(tmp_path).new("720p.mp4")
    assert temp.parent == tmp_path
    assert temp.name.startswith(".720p.mp4.")
    assert temp.name.endswith(".tmp")


def test_temp_files_are_removed_on_error(tmp_path: Path) -> None:
    def fail_midway() -> None:
        with storage.temp_files(tmp_path) as temps:
            temps.new("720p.mp4").write_bytes(b"partial")
            raise RuntimeError("ffmpeg died")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert list(tmp_path.iterdir()) == []


def test_publish_replaces_atomically(tmp_path: Path) -> None:
    final = tmp_path / "720p.mp4"
    final.write_bytes(b"old")
    with storage.temp_files(tmp_path) as temps:
        temp = temps.new("720p.mp4")
        temp.write_bytes(b"new")
        storage.publish(temp=temp, final=final)
    assert final.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["720p.mp4"]


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".720p.mp4.dead.tmp").write_bytes(b"from a crashed attempt")
    (tmp_path / "720p.mp4").write_bytes(b"keep")
    storage.remove_stale_temp_files(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["720p.mp4"]


def test_job_lock_serialises_two_holders(tmp_path: Path) -> None:
    order: list[str] = []
    first_has_lock = threading.Event()

    def first() -> None:
        with storage.job_lock(tmp_path):
            first_has_lock.set()
            time.sleep(0.3)
            order.append("first done")

    def second() -> None:
        first_has_lock.wait()
        # A separate open() of the lock file, as another worker would do.
        with storage.job_lock(tmp_path):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["first done", "second in"]


def _write_outputs(job_dir: Path) -> dict[str, object]:
    (job_dir / "720p.mp4").write_bytes(b"video")
    (job_dir / "poster.jpg").write_bytes(b"jpeg")
    result = {"job_id": "job1", "outputs": [{"path": "outputs/job1/720p.mp4"}]}
    storage.write_manifest(job_dir=job_dir, request=REQUEST, result=result)
    return result


def test_manifest_round_trip(tmp_path: Path) -> None:
    result = _write_outputs(tmp_path)
    assert storage.read_manifest(job_dir=tmp_path, request=REQUEST) == result
    assert not list(tmp_path.glob("*.tmp"))


def test_no_manifest(tmp_path: Path) -> None:
    assert storage.read_manifest(job_dir=tmp_path, request=REQUEST) is None


def test_manifest_for_another_request_is_ignored(tmp_path: Path) -> None:
    _write_outputs(tmp_path)
    other = ConvertRequest(
        job_id="job1", source_path="sources/a.mp4", profiles=("480p",), contract_version=1
    )
    assert storage.read_manifest(job_dir=tmp_path, request=other) is None


def test_manifest_with_a_missing_file_is_ignored(tmp_path: Path) -> None:
    _write_outputs(tmp_path)
    os.remove(tmp_path / "poster.jpg")
    assert storage.read_manifest(job_dir=tmp_path, request=REQUEST) is None


def test_damaged_manifest_is_ignored(tmp_path: Path) -> None:
    _write_outputs(tmp_path)
    (tmp_path / storage.MANIFEST_FILENAME).write_text("{not json")
    assert storage.read_manifest(job_dir=tmp_path, request=REQUEST) is None


def test_manifest_is_json(tmp_path: Path) -> None:
    _write_outputs(tmp_path)
    manifest = json.loads((tmp_path / "result.json").read_text())
    assert manifest["request"] == {
        "source_path": "sources/a.mp4",
        "profiles": ["720p"],
        "contract_version": 1,
    }
