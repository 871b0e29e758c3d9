"""The platform's alerts: valid Prometheus rules, each with a `promtool test rules` unit test.

The rules are the groups of `platform/observability/prometheusrule.yaml`; their unit tests
are `platform/observability/tests/*.yaml`. promtool comes from Debian's `prometheus` package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.agent_executor.spec import DEFAULT_SERVICE_MONITOR_LABELS
from scripts.alert_rules import (
    PROMETHEUS_RULE,
    RULE_FILE,
    alert_names,
    alerts_expected_to_fire,
    promtool,
    rule_groups,
    stage,
    unit_test_files,
)
from tests.conftest import ROOT

ALERTS = alert_names(rule_groups())


@pytest.fixture
def staged(tmp_path: Path) -> list[Path]:
    """The rule file and the unit test files, side by side in a temp directory."""
    return stage(tmp_path)


def test_the_rules_pass_promtool_check(tmp_path: Path) -> None:
    stage(tmp_path)

    done = promtool("check", "rules", RULE_FILE, cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_names(rule_groups()))} rules found" in done.stdout


@pytest.mark.parametrize("name", [p.name for p in unit_test_files()])
def test_the_alert_unit_tests_pass(name: str, staged: list[Path]) -> None:
    (test_file,) = [p for p in staged if p.name == name]

    done = promtool("test", "rules", test_file, cwd=test_file.parent)

    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_unit_test_that_expects_it_to_fire(alert: str) -> None:
    assert alert in alerts_expected_to_fire(unit_test_files()), (
        f"{alert}: add a case to platform/observability/tests/ that expects it to fire"
    )


def test_unit_tests_name_only_alerts_that_exist() -> None:
    named = {
        check["alertname"]
        for path in unit_test_files()
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case["alert_rule_test"]
    }

    assert named <= set(ALERTS)


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    # The harness can fail: the same tests against a rule whose threshold moved.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        PROMETHEUS_RULE.read_text().replace(
            "(agent_executor_oldest_job_age_seconds) > 3600",
            "(agent_executor_oldest_job_age_seconds) > 7200",
        )
    )
    tests = stage(tmp_path, broken)

    done = promtool("test", "rules", *tests, cwd=tmp_path)

    assert done.returncode != 0
    assert "AgentExecutorJobsStuck" in done.stdout + done.stderr


@pytest.mark.parametrize(
    "path",
    [
        "platform/observability/prometheusrule.yaml",
        "platform/observability/nats-podmonitor.yaml",
    ],
)
def test_prometheus_selects_what_the_platform_gives_it(path: str) -> None:
    # kube-prometheus-stack selects rules, ServiceMonitors and PodMonitors by one label.
    labels = yaml.safe_load((ROOT / path).read_text())["metadata"]["labels"]

    assert DEFAULT_SERVICE_MONITOR_LABELS.items() <= labels.items()


# --- what the queue alert reads is scraped -----------------------------------------------------


def _nats_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((ROOT / "platform/nats/values.yaml").read_text())
    return values


def test_the_nats_exporter_runs_with_jetstream_so_consumer_metrics_exist() -> None:
    # The chart adds -jsz=all (nats_consumer_num_pending{account,...}) when JetStream is on.
    values = _nats_values()

    assert values["promExporter"]["enabled"] is True
    assert values["config"]["jetstream"]["enabled"] is True


def test_the_pod_monitor_scrapes_the_nats_servers_exporter_port() -> None:
    monitor = yaml.safe_load((ROOT / "platform/observability/nats-podmonitor.yaml").read_text())
    policy = yaml.safe_load((ROOT / "platform/nats/manifests/network-policy.yaml").read_text())

    # the chart's pod labels, as the NetworkPolicy around the servers selects them
    assert monitor["spec"]["selector"] == policy["spec"]["podSelector"]
    # the chart names the exporter's container port `prom-metrics`
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["prom-metrics"]
    assert monitor["metadata"]["namespace"] == policy["metadata"]["namespace"]


def test_the_nats_network_policy_admits_prometheus_to_the_exporter() -> None:
    policy = yaml.safe_load((ROOT / "platform/nats/manifests/network-policy.yaml").read_text())
    port = _nats_values()["promExporter"]["port"]

    admitted = [
        rule
        for rule in policy["spec"]["ingress"]
        if {"port": port, "protocol": "TCP"} in rule.get("ports", [])
    ]
    assert any(
        peer.get("namespaceSelector", {}).get("matchLabels")
        == {"kubernetes.io/metadata.name": "monitoring"}
        for rule in admitted
        for peer in rule.get("from", [])
    )
