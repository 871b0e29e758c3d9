"""The platform's alert rules as a plain Prometheus rule file, and their promtool checks.

`platform/observability/prometheusrule.yaml` is a Prometheus Operator PrometheusRule;
promtool and a bare Prometheus read the `groups` of its spec as a rule file. The unit tests
of the alerts (`platform/observability/tests/*.yaml`, `promtool test rules`) name that file
`RULE_FILE` and are run next to it.

    python -m scripts.alert_rules        # promtool check rules + test rules, exit code 1 on failure
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_RULE = ROOT / "platform/observability/prometheusrule.yaml"
RULE_TESTS = ROOT / "platform/observability/tests"
# The name the promtool test files give in `rule_files`.
RULE_FILE = "agent-executor.rules.yaml"


def rule_groups(manifest: Path = PROMETHEUS_RULE) -> list[dict[str, Any]]:
    """The rule groups of a PrometheusRule manifest."""
    document = yaml.safe_load(manifest.read_text())
    groups: list[dict[str, Any]] = document["spec"]["groups"]
    return groups


def alert_names(groups: list[dict[str, Any]]) -> list[str]:
    """Every alerting rule's name, in file order."""
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def unit_test_files(directory: Path = RULE_TESTS) -> list[Path]:
    """The promtool unit test files."""
    return sorted(directory.glob("*.yaml"))


def alerts_expected_to_fire(files: list[Path]) -> set[str]:
    """Alerts that some promtool test case expects to fire (a case with `exp_alerts`)."""
    names = set()
    for path in files:
        for case in yaml.safe_load(path.read_text()).get("tests", []):
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    names.add(check["alertname"])
    return names


def stage(directory: Path, manifest: Path = PROMETHEUS_RULE) -> list[Path]:
    """Write the rule file and copies of the test files into `directory`; the test copies."""
    (directory / RULE_FILE).write_text(yaml.safe_dump({"groups": rule_groups(manifest)}))
    return [Path(shutil.copy(path, directory)) for path in unit_test_files()]


def promtool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run promtool (Debian package `prometheus`) and capture its output."""
    return subprocess.run(
        ["promtool", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


def main() -> int:
    """Check the rules and run their unit tests; print promtool's output."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        tests = stage(directory)
        status = 0
        commands: list[list[str | Path]] = [
            ["check", "rules", RULE_FILE],
            ["test", "rules", *tests],
        ]
        for args in commands:
            done = promtool(*args, cwd=directory)
            print(done.stdout + done.stderr, end="")
            status = status or done.returncode
        return status


if __name__ == "__main__":
    sys.exit(main())
