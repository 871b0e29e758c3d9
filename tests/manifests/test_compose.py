"""The compose files: valid by the Compose Specification's schema (check-jsonschema), every
service with a healthcheck that needs no curl, dependencies that wait for health, and the
test services where seed 004 (requirement 3) puts them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.runtime import MIGRATIONS_COMMAND
from tests.conftest import ROOT

COMPOSE_FILES = [ROOT / "docker-compose.test.yml", ROOT / "docker-compose.yml"]


def _services(path: Path) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(path.read_text())["services"])


def test_compose_files_are_valid_by_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.compose-spec",
            *map(str, COMPOSE_FILES),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_long_running_service_has_a_healthcheck_without_curl(path: Path) -> None:
    for name, service in _services(path).items():
        if service.get("restart") == "no":  # a one-shot job: it completes, it is not healthy
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD", f"{path.name}: {name} has no exec-form healthcheck"
        assert "curl" not in test, f"{path.name}: {name}'s image may have no curl"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_dependencies_wait_for_health_or_completion(path: Path) -> None:
    for name, service in _services(path).items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}, (
                f"{path.name}: {name} starts before {dependency} is up"
            )


def test_the_test_suites_dragonfly_is_published_on_localhost_16380() -> None:
    dragonfly = _services(ROOT / "docker-compose.test.yml")["dragonfly"]
    assert "dragonflydb/dragonfly" in dragonfly["image"]
    assert dragonfly["ports"] == ["16380:6379"]


def test_the_local_stack_runs_the_migrations_then_the_worker_built_from_its_dockerfile() -> None:
    services = _services(ROOT / "docker-compose.yml")
    migrations, worker = services["migrations"], services["worker"]
    assert migrations["build"]["dockerfile"] == "workers/agent_executor/Dockerfile"
    assert migrations["entrypoint"] == list(MIGRATIONS_COMMAND)
    assert worker["image"] == migrations["image"]
    assert worker["depends_on"]["migrations"]["condition"] == "service_completed_successfully"
    assert worker["healthcheck"]["test"][-1] == "--ready"
