"""Reading docker-compose.yml: environments, mounts, ports and interpolations,
as Compose understands them. The rules are in compose_rules.py."""

from __future__ import annotations

import re
from pathlib import Path

# Compose interpolation: https://docs.docker.com/reference/compose-file/interpolation/
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
# ${VAR}, ${VAR?msg}, ${VAR:?msg}, or an EMPTY default (${VAR:-}): nothing
# secret can be baked in.
NO_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}")
# ${VAR?msg} and ${VAR:?msg}: Compose stops when VAR is unset (or empty).
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}")
# ${VAR:-default} and ${VAR-default}.
DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}")


def environment(service: dict) -> dict[str, str | None]:
    """A service's environment as a dict, whichever syntax it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def named_mounts(service: dict) -> dict[str, str]:
    """{volume or source: target} for a service's mounts, short or long syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[source] = target
    return mounts


def procfile_types(folder: Path) -> set[str]:
    """Process types declared in a Procfile (`type: command` lines)."""
    text = (folder / "Procfile").read_text()
    return set(re.findall(r"(?m)^([A-Za-z0-9_-]+):", text))


def with_defaults(text: str) -> str:
    """`text` as Compose reads it when no variable is set: each ${VAR:-d} is d."""
    text = DEFAULTED.sub(lambda m: m.group(2), text.replace("$$", "\0"))
    return INTERPOLATION.sub("", text).replace("\0", "$")


def published(port: str | dict) -> tuple[str, str]:
    """(host address or "", container port) of a `ports` entry, short or long syntax,
    with its variables at their defaults."""
    if isinstance(port, dict):
        return with_defaults(str(port.get("host_ip", ""))), with_defaults(str(port["target"]))
    parts = with_defaults(str(port)).rsplit(":", 2)
    host_ip = parts[0] if len(parts) == 3 else ""
    return host_ip, parts[-1].split("/")[0]


def store_invocation(service: dict, compose_dir: Path) -> str:
    """The store's entrypoint and command, plus the text of any repository script they run.

    A script is found the way Compose mounts it: a `./` source relative to the
    compose file, whose container path the entrypoint or command names.
    """
    words = []
    for key in ("entrypoint", "command"):
        value = service.get(key) or []
        words += value.split() if isinstance(value, str) else [str(word) for word in value]
    text = " ".join(words)
    for volume in service.get("volumes") or []:
        source, target = (volume.split(":")[:2] if isinstance(volume, str) else
                          (volume.get("source", ""), volume["target"]))  # fmt: skip
        script = compose_dir / source
        if source.startswith("./") and target in words and script.is_file():
            text += "\n" + script.read_text()
    return text


def build_context(service: dict) -> str | None:
    build = service.get("build")
    return build.get("context", ".") if isinstance(build, dict) else build


def masked_interpolations(value: str) -> str:
    """Each no-default interpolation becomes \\0, any other one \\1; `$$` is a literal $."""
    value = value.replace("$$", "")
    return INTERPOLATION.sub(lambda m: "\0" if NO_DEFAULT.fullmatch(m.group()) else "\1", value)


def strings(node):
    """Every string in a loaded YAML document (keys and values; comments are gone)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node
