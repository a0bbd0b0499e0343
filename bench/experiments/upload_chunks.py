"""Upload throughput of the stock web against the web with 1 MiB upload chunks.

    .venv/bin/python -m bench.experiments.upload_chunks [--mib 1024] [--rounds 4] [--tmpfs]

Two gunicorn servers (same code, same database and media root; the second
with DJANGO_SETTINGS_MODULE=bench.experiments.settings_upload_1mib) take the
same curl upload in turns. --tmpfs puts the media root in /dev/shm, so the
disk's write speed drops out and what is left is the web's CPU per byte.
WEB_CONCURRENCY=1 so one process does all the work in both.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.uploads import curl_upload, make_file
from tests.support.api import ApiClient
from tests.support.stack import REPO, free_port, stack_running


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tmpfs", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-exp-", dir="/dev/shm" if args.tmpfs else None))
    try:
        return _main(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _main(workdir: Path, args: argparse.Namespace) -> int:
    with stack_running(workdir, start=("web",), WEB_CONCURRENCY="1") as stack:
        port = free_port()
        stack.process(
            "web_1mib",
            service="web_service",
            process_type="web",
            WEB_PORT=str(port),
            DJANGO_SETTINGS_MODULE="bench.experiments.settings_upload_1mib",
            PYTHONPATH=str(REPO),
        ).start()
        alt = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                ApiClient(alt)._csrf_token()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.3)
        big = make_file(workdir / "big.bin", args.mib * 1024 * 1024)
        rates: dict[str, list[float]] = {"stock 64 KiB": [], "1 MiB chunks": []}
        servers = [("stock 64 KiB", stack.base_url), ("1 MiB chunks", alt)]
        for r in range(args.rounds):
            for name, base in servers[r % 2 :] + servers[: r % 2]:
                token = ApiClient(base)._csrf_token()
                headers = {
                    "X-CSRFToken": token,
                    "Referer": base + "/",
                    "Cookie": f"csrftoken={token}",
                }
                code, seconds, sent, _ = curl_upload(f"{base}/api/videos/", big, headers)
                assert code == 201, code
                rates[name].append(sent / seconds / 2**20)
                for stored in (stack.media_root / "sources").iterdir():
                    stored.unlink()
                print(f"{name:>13}: {rates[name][-1]:.0f} MiB/s", flush=True)
    pairs = [b / a for a, b in zip(rates["stock 64 KiB"], rates["1 MiB chunks"], strict=True)]
    for name, values in rates.items():
        print(
            f"{name:>13}: median {statistics.median(values):.0f} MiB/s [{min(values):.0f}–{max(values):.0f}]"
        )
    print(
        f"ratio 1 MiB / stock: median {statistics.median(pairs):.2f} [{min(pairs):.2f}–{max(pairs):.2f}]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
