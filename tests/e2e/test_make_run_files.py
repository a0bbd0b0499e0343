"""`make run`'s secrets are this user's alone, from their first byte.

var/ holds the Django secret key and, without PostgreSQL, the SQLite database
with password hashes, sessions and tokens. bin/run's own functions prepare
them exactly as `make run` does, then the web's real `release` (migrate)
creates the database's tables, in a process started under umask 0, so any
mode left to chance would show as readable by everyone. An audit hook looks
at every file at each step, so a moment when a secret is readable by others
(written first, chmodded after) is seen too, not only the final mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.stack import REPO

PREPARE = r"""
import importlib.machinery, importlib.util, json, os, sys
from pathlib import Path

repo, var = Path(sys.argv[1]), Path(sys.argv[2])
os.umask(0)  # the loosest: a mode not chosen on purpose shows as 0666 or 0777
sys.path.insert(0, str(repo / "bin"))
loader = importlib.machinery.SourceFileLoader("make_run", str(repo / "bin" / "run"))
run = importlib.util.module_from_spec(importlib.util.spec_from_loader("make_run", loader))
loader.exec_module(run)

watched = [var, var / "secret_key", var / "db.sqlite3"]
seen = {}

def look(event, args):
    # Every audit event: each open, chmod, subprocess... (os.stat raises none).
    for path in watched:
        try:
            seen.setdefault(str(path), set()).add(oct(os.stat(path).st_mode & 0o777))
        except FileNotFoundError:
            pass

sys.addaudithook(look)
os.environ.pop("DJANGO_SECRET_KEY", None)
run.var_prepare(var=var)
key = run.secret_key(var=var)
url = f"sqlite:///{var / 'db.sqlite3'}"
run.sqlite_prepare(url=url)
os.environ.update(DJANGO_SECRET_KEY=key, DATABASE_URL=url)
run.subprocess.run([str(repo / "web_service" / "bin" / "start"), "release"], check=True)
look("done", ())
print(json.dumps({path: sorted(modes) for path, modes in seen.items()}))
"""


def _prepare(var: Path) -> dict[str, list[str]]:
    env = {
        "PATH": os.environ["PATH"],
        "BROKER_URL": "memory://",
        "S3_BUCKET": "unused",
        "WEB_S3_ACCESS_KEY_ID": "unused",
        "WEB_S3_SECRET_ACCESS_KEY": "unused",
        "DJANGO_ALLOWED_HOSTS": "localhost",
    }
    result = subprocess.run(
        [sys.executable, "-c", PREPARE, str(REPO), str(var)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _others_bits(folder: Path) -> list[str]:
    """Every path under `folder` that its group or others may read, write or enter."""
    return [
        f"{path} {oct(path.stat().st_mode & 0o777)}"
        for path in [folder, *folder.rglob("*")]
        if path.stat().st_mode & 0o077
    ]


def test_var_and_each_secret_are_private_from_their_first_byte(tmp_path: Path):
    var = tmp_path / "var"
    seen = _prepare(var)
    assert seen == {
        str(var): ["0o700"],
        str(var / "secret_key"): ["0o600"],
        str(var / "db.sqlite3"): ["0o600"],
    }
    assert len((var / "secret_key").read_text()) >= 50
    assert (var / "db.sqlite3").stat().st_size > 0, "migrate did not write the database"
    assert _others_bits(var) == []


def test_an_existing_loose_var_is_tightened_at_start(tmp_path: Path):
    """A checkout from before: var/ 0755, the key and the database 0644."""
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    for name, text in (("secret_key", "k" * 60), ("db.sqlite3", ""), ("db.sqlite3-wal", "")):
        (var / name).write_text(text)
        (var / name).chmod(0o644)
    _prepare(var)
    assert (var / "secret_key").read_text() == "k" * 60, "the existing key is kept"
    assert _others_bits(var) == []
