"""The Prometheus rules in deploy/prometheus/ are valid, and their unit tests
(`promtool test rules`) pass, really test them, and cover every alert.

promtool comes with Debian's prometheus package (bin/install-system-packages).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.infra.conftest import REPO_ROOT, LintResult

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))


def _alert_rules(path: Path) -> list[dict]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_rule_files_are_valid(lint: Callable[..., LintResult]):
    assert RULE_FILES
    result = lint("promtool", "check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.output


def test_rule_unit_tests_pass(lint: Callable[..., LintResult]):
    assert TEST_FILES
    result = lint("promtool", "test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.output
    assert result.output.count("SUCCESS") == len(TEST_FILES), result.output


def test_rule_unit_tests_fail_when_a_threshold_changes(
    lint: Callable[..., LintResult], tmp_path: Path
):
    """The tests pin the thresholds: raise the failure-rate one and they fail."""
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS / "rules", copy / "rules")
    shutil.copytree(PROMETHEUS / "tests", copy / "tests")
    alerts = copy / "rules" / "alerts.yml"
    text = alerts.read_text()
    changed = text.replace(
        "transcode:jobs_failed:ratio_rate15m > 0.2", "transcode:jobs_failed:ratio_rate15m > 0.3"
    )
    assert changed != text, "the failure-rate threshold moved; update this test"
    alerts.write_text(changed)

    result = lint("promtool", "test", "rules", *sorted((copy / "tests").glob("*.yml")))

    assert result.returncode != 0, result.output
    assert "TranscodeFailureRateHigh" in result.output, result.output


def test_every_alert_has_a_test_and_a_runbook_line():
    tested = set()
    for path in TEST_FILES:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test") or []:
                if case.get("exp_alerts"):  # a case where it fires, not only where it must not
                    tested.add(case["alertname"])
    alerts = [rule for path in RULE_FILES for rule in _alert_rules(path)]
    assert alerts
    assert {rule["alert"] for rule in alerts} - tested == set()
    for rule in alerts:
        annotations = rule.get("annotations") or {}
        assert annotations.get("summary"), rule["alert"]
        assert len(annotations.get("description", "")) > 80, (
            f"{rule['alert']}: its description must say what to do"
        )


def test_prometheus_config_is_valid(lint: Callable[..., LintResult]):
    # --syntax-only: the web's token file (credentials_file) exists only in the
    # running container, where the compose service writes it.
    config = PROMETHEUS / "prometheus.yml"
    result = lint("promtool", "check", "config", "--syntax-only", config)
    assert result.returncode == 0, result.output
    # What --syntax-only leaves out: the rule files it loads are ours.
    patterns = yaml.safe_load(config.read_text())["rule_files"]
    loaded = sorted({path for pattern in patterns for path in PROMETHEUS.glob(pattern)})
    assert loaded == RULE_FILES


def test_the_compose_prometheus_uses_this_config():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "jaeger"):
        assert services[name].get("profiles") == ["monitoring"], name
    mounts = " ".join(services["prometheus"].get("volumes") or [])
    assert re.search(r"\./deploy/prometheus:/etc/prometheus:ro\b", mounts), mounts
