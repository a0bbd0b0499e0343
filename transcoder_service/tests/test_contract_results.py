"""Pins what a job answers and leaves in the store (docs/messages.md), as literals.

Output keys, the PROGRESS state, the failure codes, and the fields of a
`SUCCESS` result and of its manifest, for MP4 renditions and for the ladder.
The messages themselves are pinned by test_contract.py; if a test here has
to change, the contract changed: update docs/messages.md and the web's test
(web_service/tests/jobs/messaging/test_contract.py) in the same pull
request, and read the document's "Versioning" section first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from transcoder import contract, errors

from .clips import SourceKeys
from .support import (
    FAILURE_CODES,
    RESULT_FIELDS,
    STAGES,
    TIMINGS,
    PipelineJob,
    object_bytes,
)


def test_output_keys() -> None:
    assert contract.job_prefix("j") == "outputs/j/"
    assert contract.attempt_prefix(job_id="j", attempt="9f2c4e1a7b3d5f60") == (
        "outputs/j/9f2c4e1a7b3d5f60/"
    )
    assert contract.manifest_key("j") == "outputs/j/manifest.json"
    assert contract.rendition_filename("720p") == "720p.mp4"
    assert contract.POSTER_FILENAME == "poster.jpg"
    assert contract.ATTEMPT_PATTERN.pattern == "[0-9a-f]{16}"
    assert contract.ATTEMPT_BYTES * 2 == 16
    assert contract.attempts_prefix("j") == "outputs/j/attempts/"
    assert contract.attempt_marker_key(job_id="j", attempt="9f2c4e1a7b3d5f60") == (
        "outputs/j/attempts/9f2c4e1a7b3d5f60.json"
    )
    assert contract.MAX_CRASHED_ATTEMPTS == 3


def test_progress_state() -> None:
    assert contract.STATE_PROGRESS == "PROGRESS"
    assert (contract.PROGRESS_PERCENT, contract.PROGRESS_STAGE) == ("percent", "stage")
    stages = (
        contract.STAGE_DOWNLOADING,
        contract.STAGE_PROBING,
        contract.STAGE_TRANSCODING,
        contract.STAGE_POSTER,
        contract.STAGE_UPLOADING,
    )
    assert stages == STAGES
    # docs/messages.md, "Results and states": the optional preview of a playable attempt.
    assert contract.PROGRESS_PREVIEW == "preview"
    assert (
        contract.PREVIEW_MASTER_KEY,
        contract.PREVIEW_ENCODED_SECONDS,
        contract.PREVIEW_DURATION,
    ) == ("master_key", "encoded_seconds", "duration")


def test_failure_codes_are_the_exception_class_names() -> None:
    # Celery sends the class name as `exc_type`; nothing else names the codes.
    for code in FAILURE_CODES:
        cls = getattr(errors, code)
        assert cls.__name__ == cls.__qualname__ == code


def test_success_result_fields_and_manifest(job: PipelineJob, sources: SourceKeys) -> None:
    job_id = job.job_id
    result = job.convert(sources["clip.mp4"], profiles=("480p",))
    assert tuple(result) == RESULT_FIELDS
    assert result["contract_version"] == 2
    assert set(result["source"]) == {
        "duration",
        "width",
        "height",
        "video_codec",
        "audio_codec",
        "format",
        "size_bytes",
    }
    assert list(result["outputs"][0]) == [
        "profile",
        "key",
        "width",
        "height",
        "duration",
        "size_bytes",
        "video_codec",
        "audio_codec",
    ]
    attempt = re.escape(f"outputs/{job_id}/") + "[0-9a-f]{16}/"
    assert re.fullmatch(attempt + r"480p\.mp4", result["outputs"][0]["key"])
    assert re.fullmatch(attempt + r"poster\.jpg", result["poster_key"])
    assert result["manifest_key"] == f"outputs/{job_id}/manifest.json"
    assert set(result["timings"]) == TIMINGS | {"encode:1:480p"}
    # The manifest: {"request": {...}, "result": <the SUCCESS result>,
    # "objects": {<key>: <size>}} naming every other object of the job.
    manifest = json.loads(object_bytes(job.seaweed, result["manifest_key"]))
    stored = job.stored()
    assert manifest == {
        "request": {
            "source_key": sources["clip.mp4"],
            "profiles": ["480p"],
            "contract_version": 2,
        },
        "result": result,
        "objects": {
            result["outputs"][0]["key"]: result["outputs"][0]["size_bytes"],
            result["poster_key"]: stored[result["poster_key"]],
        },
    }
    assert set(stored) == {
        result["outputs"][0]["key"],
        result["poster_key"],
        result["manifest_key"],
    }


def test_hls_result_fields(job: PipelineJob, sources: SourceKeys) -> None:
    previews: list[dict[str, Any]] = []
    result = job.convert(sources["clip.mp4"], profiles=("hls",), previews=previews)
    assert list(result)[-2:] == ["hls", "storyboard"]
    assert result["outputs"] == []
    # Every PROGRESS once the attempt was playable: its master, under the
    # keys the result names, and numbers (docs/messages.md, "preview").
    assert previews
    for preview in previews:
        assert set(preview) == {"master_key", "encoded_seconds", "duration"}
        assert preview["master_key"] == result["hls"]["master_key"]
        assert isinstance(preview["encoded_seconds"], float)
        assert 0 < preview["encoded_seconds"] <= preview["duration"] + 0.1
        assert preview["duration"] == result["source"]["duration"]
    # The ladder's one pass writes every rung.
    assert set(result["timings"]) == TIMINGS | {"encode:1:hls"}
    attempt = f"{result['poster_key'].rsplit('/', 1)[0]}/"
    manifest = json.loads(object_bytes(job.seaweed, result["manifest_key"]))
    assert result["hls"] == {
        "master_key": f"{attempt}hls/master.m3u8",
        "segment_seconds": 4,
        "size_bytes": sum(
            size for key, size in manifest["objects"].items() if key.startswith(f"{attempt}hls/")
        ),
        "rungs": [
            {
                "name": "240p",
                "width": 320,
                "height": 240,
                "bandwidth": result["hls"]["rungs"][0]["bandwidth"],
                "playlist_key": f"{attempt}hls/240p/index.m3u8",
            }
        ],
    }
    assert isinstance(result["hls"]["rungs"][0]["bandwidth"], int)
    assert result["storyboard"] == {
        "sprite_key": f"{attempt}storyboard.jpg",
        "vtt_key": f"{attempt}storyboard.vtt",
        "interval": 1.0,
        "tile_width": 160,
        "tile_height": 120,
        "size_bytes": manifest["objects"][f"{attempt}storyboard.jpg"]
        + manifest["objects"][f"{attempt}storyboard.vtt"],
    }
    assert set(manifest) == {"request", "result", "objects"}
    assert f"{attempt}hls/240p/init.mp4" in manifest["objects"]
    assert f"{attempt}hls/240p/seg_00001.m4s" in manifest["objects"]
