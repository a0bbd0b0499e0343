"""The monitoring profile's Prometheus scrapes every target it is configured
with, and loads the alert and recording rules (issue 24).

Prometheus is started alone in the package's running stack, as a user adds
it: `--profile monitoring up -d prometheus` (with the broker it waits for),
from the local stand-in image (deploy/local-images/prometheus/). The
profile's other services are not started: Jaeger has no image on a machine
that reaches no registry (docker-compose.yml says why), and Flower is not
what this checks. Every answer is read through Prometheus's own HTTP API:
https://prometheus.io/docs/prometheus/latest/querying/api/

Runs after the fault tests (a worker killed there has been replaced, under
another address, which the DNS discovery must find) and before
test_3_down.py, whose `down` must take Prometheus away too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.compose.conftest import TRANSCODERS
from tests.support.docker import REPO, ComposeProject, docker

# Room for the whole stack to build and start when this file runs alone.
pytestmark = pytest.mark.timeout(1200)

PROMETHEUS = REPO / "deploy" / "prometheus"
# The first scrape of each target comes within one scrape_interval (15 s)
# of Prometheus's start; a target still down two intervals later is down.
SCRAPED_WITHIN = 60


@pytest.fixture(scope="module")
def prometheus(compose_project: ComposeProject) -> str:
    """Prometheus's base URL once it answers, started in the running stack."""
    before = set(compose_project.containers())
    compose_project.compose("--profile", "monitoring", "up", "--detach", "prometheus")
    # Starting it recreated nothing: the stack the other tests use goes on.
    assert before <= set(compose_project.containers()), compose_project.logs(40)
    url = f"http://127.0.0.1:{compose_project.setting('PROMETHEUS_PORT')}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/-/ready", timeout=5).status_code == 200:
                return url
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"Prometheus not ready\n{compose_project.logs(40)}")
        time.sleep(0.5)


def _api(url: str, path: str) -> Any:
    response = requests.get(f"{url}/api/v1/{path}", timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def _configured_targets(project: ComposeProject) -> set[tuple[str, str]]:
    """(job, address) of every target prometheus.yml names in this stack:
    its static targets, and one per container of each service its DNS
    discovery asks for (every transcoder replica, by container address)."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    expected = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            expected |= {(job["job_name"], target) for target in static["targets"]}
        for discovery in job.get("dns_sd_configs", []):
            for service in discovery["names"]:
                containers = project.containers(service)
                assert containers, f"no running {service} for job {job['job_name']}"
                for container in containers:
                    address = docker(
                        "inspect", "--format",
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container,
                    )  # fmt: skip
                    expected.add((job["job_name"], f"{address}:{discovery['port']}"))
    return expected


def _scraped(url: str) -> dict[tuple[str, str], dict]:
    return {
        (target["labels"]["job"], target["labels"]["instance"]): target
        for target in _api(url, "targets?state=active")["activeTargets"]
    }


def test_every_configured_target_is_scraped_and_up(compose_project, prometheus):
    expected = _configured_targets(compose_project)
    # The four jobs, and a transcoder target for each of the stack's replicas.
    assert {job for job, _ in expected} == {"web", "collector", "transcoder", "rabbitmq"}
    assert sum(job == "transcoder" for job, _ in expected) == TRANSCODERS, expected

    deadline = time.monotonic() + SCRAPED_WITHIN
    while True:
        targets = _scraped(prometheus)
        not_up = {key: targets.get(key) for key in expected if
                  (targets.get(key) or {}).get("health") != "up"}  # fmt: skip
        if not not_up or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not not_up, "targets not up after {} s:\n{}".format(
        SCRAPED_WITHIN,
        "\n".join(
            f"  {job} {address}: {target['health']} ({target['lastError']})"
            if target
            else f"  {job} {address}: not discovered (not in Docker's DNS answer?)"
            for (job, address), target in sorted(not_up.items())
        ),
    )
    # And nothing else: no stale replica, no target this stack does not run.
    assert set(targets) == expected, f"scraped {sorted(targets)}, configured {sorted(expected)}"


def test_the_rules_are_loaded(prometheus):
    # Every group of every rule file, with all its rules, none failing to evaluate.
    written = {
        group["name"]: len(group["rules"])
        for path in sorted(PROMETHEUS.glob("rules/*.yml"))
        for group in yaml.safe_load(Path(path).read_text())["groups"]
    }
    assert written, "no rule groups in deploy/prometheus/rules/"
    groups = _api(prometheus, "rules")["groups"]
    assert {group["name"]: len(group["rules"]) for group in groups} == written
    failing = [(rule["name"], rule.get("lastError")) for group in groups
               for rule in group["rules"] if rule["health"] == "err"]  # fmt: skip
    assert not failing, failing
