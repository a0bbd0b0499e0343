"""Project rules for docker-compose.yml that no schema can express.

`compose_problems` lists every broken rule; test_compose_rules.py checks the
real file has none and that deliberately broken copies are each caught.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.infra.compose_reading import (
    DEFAULTED,
    REQUIRED,
    build_context,
    environment,
    masked_interpolations,
    named_mounts,
    procfile_types,
    published,
    store_invocation,
    strings,
    with_defaults,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
RABBITMQ_CONF = REPO_ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"

REQUIRED_SERVICES = {
    "rabbitmq",
    "postgres",
    "seaweedfs",
    "migrate",
    "web",
    "collector",
    "transcoder",
    "flower",
    "nginx",
}
HEALTHCHECKED = ("rabbitmq", "postgres", "seaweedfs", "web", "transcoder", "nginx")
# The one HTTP port published: nginx, buffering in front of gunicorn.
PROXY = "nginx"
# Whose broker user each service of ours gets (deploy/rabbitmq/entrypoint.sh).
BROKER_ROLES = {"migrate": "WEB", "web": "WEB", "collector": "WEB", "transcoder": "TRANSCODER"}
SCALED = "transcoder"
STORE = "seaweedfs"
S3_PORT = "8333"
# Whose store key pair each service of ours gets (docs/storage.md): its own only.
S3_ROLES = {"migrate": "WEB", "web": "WEB", "collector": "WEB", "transcoder": "TRANSCODER"}
S3_KEY_VARIABLES = ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
ROLE_VARIABLE = re.compile(r"\b(WEB|TRANSCODER)_S3_[A-Z_]+")

# Third-party images: each a variable, with the official image as its default,
# so a machine without registry access can substitute a local build
# (deploy/local-images/README.md).
IMAGE_VARIABLES = {
    "rabbitmq": "RABBITMQ_IMAGE",
    "postgres": "POSTGRES_IMAGE",
    "seaweedfs": "SEAWEEDFS_IMAGE",
    "nginx": "NGINX_IMAGE",
    "prometheus": "PROMETHEUS_IMAGE",
}
SECRET_NAME = re.compile(r"PASS|SECRET|KEY|TOKEN|AUTH", re.IGNORECASE)
URL_PASSWORD = re.compile(r"://[^:/@]*:([^@/]*)@")


# ---- the rules -----------------------------------------------------------------


def compose_problems(compose_file: Path, repo_root: Path = REPO_ROOT) -> list[str]:
    compose = yaml.safe_load(compose_file.read_text())
    services: dict[str, dict] = compose.get("services") or {}
    problems = [f"missing service {name!r}" for name in sorted(REQUIRED_SERVICES - services.keys())]

    # Secrets come from the environment only, never as literals.
    for name, service in services.items():
        for key, value in environment(service).items():
            masked = masked_interpolations(value or "")
            if SECRET_NAME.search(key) and not re.fullmatch("\0+", masked):
                problems.append(
                    f"{name}: {key} must be a ${{VAR:?message}} interpolation, got {value!r}"
                )
            for password in URL_PASSWORD.findall(masked):
                if password != "\0":
                    problems.append(
                        f"{name}: {key} has a URL password that isn't ${{VAR:?message}}: {value!r}"
                    )

    # Our images run exactly what `make run` runs: `bin/start TYPE` of their Procfile.
    for name, service in services.items():
        context = build_context(service)
        if context is None:
            continue
        command = service.get("command")
        types = procfile_types(repo_root / context)
        if not (isinstance(command, list) and len(command) == 2 and command[0] == "bin/start"):
            problems.append(f"{name}: command must be ['bin/start', TYPE], got {command!r}")
        elif command[1] not in types:
            problems.append(
                f"{name}: {command[1]!r} is not a process type in"
                f" {context}/Procfile ({sorted(types)})"
            )

    # Nothing shared on disk: files pass only through the store's bucket.
    problems += _sharing_problems(compose, services)
    problems += _store_problems(services, compose_file.parent)
    problems += _key_problems(services)
    problems += _profile_problems(services)
    problems += _runtime_problems(services)
    problems += _edge_problems(services)

    # `--scale transcoder=N` needs containers without fixed names or host ports.
    scaled = services.get(SCALED, {})
    for key in ("container_name", "ports"):
        if key in scaled:
            problems.append(f"{SCALED}: has {key}, which breaks --scale")

    if not services.get("flower", {}).get("profiles"):
        problems.append("flower: must be behind a profile")

    for name in HEALTHCHECKED:
        check = services.get(name, {}).get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            problems.append(f"{name}: needs a healthcheck")
    for name in ("web", "collector"):
        depends = services.get(name, {}).get("depends_on") or {}
        condition = (
            depends.get("migrate", {}).get("condition") if isinstance(depends, dict) else None
        )
        if condition != "service_completed_successfully":
            problems.append(
                f"{name}: must wait for migrate with condition service_completed_successfully"
            )
    return problems


def _sharing_problems(compose: dict, services: dict[str, dict]) -> list[str]:
    problems = []
    if "media" in (compose.get("volumes") or {}):
        problems.append("a top-level 'media' volume is back: files pass through the store")
    for name, service in services.items():
        if "MEDIA_ROOT" in environment(service):
            problems.append(f"{name}: sets MEDIA_ROOT, which no service reads any more")
    # A volume or folder may be mounted by one service only (the same
    # read-only config file in two services would be fine, but there is none):
    # web and transcoder, or any of ours and the store's data, share nothing.
    owners: dict[str, list[str]] = {}
    for name, service in services.items():
        for source in named_mounts(service):
            owners.setdefault(source, []).append(name)
    for source, names in sorted(owners.items()):
        if len(names) > 1:
            problems.append(f"volume {source!r} is shared by {sorted(names)}")
    return problems


def _store_problems(services: dict[str, dict], compose_dir: Path) -> list[str]:
    store = services.get(STORE)
    if store is None:
        return []
    problems = []
    if not re.fullmatch(
        r"chrislusf/seaweedfs:\d+\.\d+(@sha256:[0-9a-f]{64})?",
        with_defaults(store.get("image", "")),
    ):
        problems.append(
            f"{STORE}: image must be chrislusf/seaweedfs pinned to a release,"
            f" got {store.get('image')!r}"
        )
    ports = [published(port) for port in store.get("ports") or []]
    if [target for _, target in ports] != [S3_PORT]:
        problems.append(
            f"{STORE}: must publish only its S3 port {S3_PORT}, got {store.get('ports')}"
        )
    if any(host_ip != "127.0.0.1" for host_ip, _ in ports):
        problems.append(f"{STORE}: publish the S3 port on 127.0.0.1 only, got {store.get('ports')}")
    invocation = store_invocation(store, compose_dir)
    if "-master.telemetry=false" not in invocation or "-master.telemetry=true" in invocation:
        problems.append(f"{STORE}: weed must run with -master.telemetry=false")
    endpoints = {environment(services.get(name, {})).get("S3_ENDPOINT_URL") for name in S3_ROLES}
    if endpoints != {f"http://{STORE}:{S3_PORT}"}:
        problems.append(
            f"S3_ENDPOINT_URL must be http://{STORE}:{S3_PORT} everywhere, got {endpoints}"
        )
    return problems


def _key_problems(services: dict[str, dict]) -> list[str]:
    """Each of our services gets its own role's S3 key pair and no other; the rest none."""
    problems = []
    for name, service in services.items():
        if name == STORE:
            continue  # it defines both identities
        env = environment(service)
        role = S3_ROLES.get(name)
        seen = {
            m.group(1)
            for text in (*env, *filter(None, env.values()))
            for m in ROLE_VARIABLE.finditer(text)
        }
        if seen - {role}:
            problems.append(
                f"{name}: gets S3 keys of {sorted(seen - {role})}; only its own role's may reach it"
            )
        for variable in (f"{role}_{suffix}" for suffix in S3_KEY_VARIABLES if role):
            if not re.search(rf"\$\{{{variable}\b", env.get(variable) or ""):
                problems.append(f"{name}: needs {variable} from ${{{variable}:?...}}")
    return problems


def _profile_problems(services: dict[str, dict]) -> list[str]:
    """A variable only a profile's service needs must not stop everyone's `up`.

    Compose interpolates the whole file before it selects profiles, so a
    `${VAR:?}` in a profiled service aborts `docker compose up` even for those
    who never enable that profile.
    """
    required_always = {
        name
        for service in services.values()
        if not service.get("profiles")
        for text in strings(service)
        for name in REQUIRED.findall(text)
    }
    problems = []
    for name, service in services.items():
        if not service.get("profiles"):
            continue
        for variable in sorted({v for text in strings(service) for v in REQUIRED.findall(text)}):
            if variable not in required_always:
                problems.append(
                    f"{name}: ${{{variable}:?}} stops every `up`, though only profile "
                    f"{service['profiles']} needs it; check it when the service starts"
                )
    return problems


def _edge_problems(services: dict[str, dict]) -> list[str]:
    """Only nginx publishes HTTP (gunicorn's threads never meet a slow client),
    and each of our services logs in to the broker as its own user."""
    problems = []
    for name, service in services.items():
        if build_context(service) is not None and service.get("ports"):
            problems.append(f"{name}: publishes a port; only {PROXY} may, in front of gunicorn")
    if PROXY in services and not services[PROXY].get("ports"):
        problems.append(f"{PROXY}: must publish the web's port")
    for name, role in BROKER_ROLES.items():
        url = environment(services.get(name, {})).get("BROKER_URL") or ""
        if not re.search(
            rf"^amqp://\$\{{{role}_BROKER_USER:\?[^}}]*\}}:\$\{{{role}_BROKER_PASSWORD:\?", url
        ):
            problems.append(f"{name}: BROKER_URL must log in as {role}_BROKER_USER, got {url!r}")
    return problems


def _runtime_problems(services: dict[str, dict]) -> list[str]:
    problems = []
    for name, service in services.items():
        # Our processes and shell entrypoints run as PID 1, where a process
        # without its own SIGTERM handler ignores `docker stop`.
        if (build_context(service) or service.get("entrypoint")) and service.get(
            "init"
        ) is not True:
            problems.append(f"{name}: needs `init: true` (its PID 1 would ignore SIGTERM)")
        # Published on this machine only, unless the user says otherwise.
        for port in service.get("ports") or []:
            if published(port)[0] != "127.0.0.1":
                problems.append(f"{name}: publish {port!r} on 127.0.0.1 by default")
        # No host folder is written by a container: a bind mount is a
        # read-only file of this repository. (A writable one is what made the
        # old shared media folder depend on matching UIDs.)
        for volume in service.get("volumes") or []:
            if isinstance(volume, str):
                source, _, rest = volume.partition(":")
                writable = source.startswith((".", "/", "~")) and not rest.endswith(":ro")
            else:
                writable = volume.get("type") == "bind" and not volume.get("read_only")
            if writable:
                problems.append(f"{name}: bind mount {volume!r} must be read-only (:ro)")
    for name, variable in IMAGE_VARIABLES.items():
        image = services.get(name, {}).get("image", "")
        match = DEFAULTED.fullmatch(image)
        if not match or match.group(1) != variable or "${" in match.group(2):
            problems.append(
                f"{name}: image must be ${{{variable}:-<official image>}}, got {image!r}"
            )
    return problems
