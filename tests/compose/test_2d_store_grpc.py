"""The store's S3 gRPC port, from a container on the compose network (issue 23, hole 1).

Every container reaches seaweedfs:18333, the transcoder too, which runs
ffmpeg on untrusted uploads. Its IAM and lifecycle services must refuse an
unsigned call: no Admin identity, no deletion (deploy/seaweedfs/entrypoint.sh
signs them with a key made at each start). The calls are
tests/support/weed_grpc.py's, run inside a transcoder container with the
host's grpcio copied in beside it (the image has Python 3.11, as the host's
.venv, and no grpcio of its own).

Runs before test_3_down.py, on the package's one stack.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grpc
import pytest
import typing_extensions
from botocore.exceptions import ClientError

from tests.support import weed_grpc
from tests.support.docker import ComposeProject, docker
from tests.support.object_store import s3_client

# Room for the whole stack to build and start when this file runs alone.
pytestmark = pytest.mark.timeout(1200)

VICTIM = "sources/someone-elses-video"
INTRUDER = ("intruder-key", "intruder-secret")


def _bundle(folder: Path) -> Path:
    """weed_grpc.py and the grpcio it imports, readable by the container's user."""
    folder.mkdir(mode=0o755)
    shutil.copy2(weed_grpc.__file__, folder / "weed_grpc.py")
    shutil.copytree(Path(grpc.__file__).parent, folder / "grpc")
    shutil.copy2(typing_extensions.__file__, folder / "typing_extensions.py")
    return folder


def _s3(project: ComposeProject, access_key: str, secret_key: str):
    return s3_client(f"http://127.0.0.1:{project.setting('S3_PUBLISHED_PORT')}", access_key,
                     secret_key)  # fmt: skip


def test_a_transcoder_container_gets_no_admin_identity_and_deletes_nothing(
    compose_project: ComposeProject, tmp_path: Path
):
    bucket = compose_project.setting("S3_BUCKET")
    web = _s3(
        compose_project,
        compose_project.setting("WEB_S3_ACCESS_KEY_ID"),
        compose_project.setting("WEB_S3_SECRET_ACCESS_KEY"),
    )
    web.put_object(Bucket=bucket, Key=VICTIM, Body=b"private")
    transcoder = compose_project.containers("transcoder")[0]
    docker("cp", str(_bundle(tmp_path / "weed-grpc")), f"{transcoder}:/tmp/weed-grpc")

    printed = docker(
        "exec", transcoder, "python", "/tmp/weed-grpc/weed_grpc.py",
        "seaweedfs:18333", *INTRUDER, bucket, VICTIM,
    )  # fmt: skip

    answers = json.loads(printed)
    assert {name: (a["code"], a["details"]) for name, a in answers.items()} == {
        "PutIdentity": ("UNAUTHENTICATED", "missing authorization metadata"),
        "LifecycleDelete": ("UNAUTHENTICATED", "missing authorization metadata"),
    }
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        _s3(compose_project, *INTRUDER).list_objects_v2(Bucket=bucket)
    assert web.get_object(Bucket=bucket, Key=VICTIM)["Body"].read() == b"private"
    web.delete_object(Bucket=bucket, Key=VICTIM)
