"""Image hygiene that can be checked without a Docker engine."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from contract.runtime import MIGRATIONS_COMMAND, RUN_AS_USER, WORKER_COMMAND
from tests.conftest import ROOT

DOCKERFILE = ROOT / "functions" / "agent_executor" / "Dockerfile"


def test_function_image_builds_and_runs_on_the_same_python() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert froms[0].startswith("${PYTHON_IMAGE}") and froms[1] == "${PYTHON_IMAGE}"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text, flags=re.MULTILINE)


def test_function_image_runs_as_a_numeric_non_root_user() -> None:
    users = re.findall(r"^USER (\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"


def test_function_image_carries_no_tests_and_no_dev_dependencies() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY tests" not in text and "COPY . " not in text
    assert "--extra function" in text and "--extra dev" not in text
    assert "tests" in (ROOT / ".dockerignore").read_text().split()


WORKER_DOCKERFILE = ROOT / "workers" / "agent_executor" / "Dockerfile"


def test_worker_image_is_non_root_with_psql_and_an_exec_form_entrypoint() -> None:
    text = WORKER_DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] == "10001:10001"  # the Deployment's runAsUser
    assert "postgresql-client" in text
    assert 'ENTRYPOINT ["python", "-m", "workers.agent_executor"]' in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text and "compileall" in text  # read-only root fs


def test_worker_image_carries_no_tests_and_only_the_worker_extra() -> None:
    text = WORKER_DOCKERFILE.read_text()
    assert "COPY tests" not in text and "COPY . " not in text
    assert "--extra worker" in text and "--extra dev" not in text


def test_worker_image_copies_every_shared_module_the_worker_imports() -> None:
    text = WORKER_DOCKERFILE.read_text()
    imported = set()
    for path in (ROOT / "workers").rglob("*.py"):
        source = path.read_text()
        imported |= set(re.findall(r"^from (functions\.[\w.]+) import", source, re.MULTILINE))
    for module in imported:
        assert module.replace(".", "/") + ".py" in text, f"the image lacks {module}"


def test_worker_image_user_and_command_are_the_contracts() -> None:
    text = WORKER_DOCKERFILE.read_text()
    assert f"USER {RUN_AS_USER}:{RUN_AS_USER}" in text
    assert f"ENTRYPOINT {json.dumps(list(WORKER_COMMAND))}" in text
    assert (
        f"COPY scripts/ci/run-migrations.sh /app{MIGRATIONS_COMMAND[0].removeprefix('/app')}"
        in text
    )


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, WORKER_DOCKERFILE], ids=["function", "worker"])
def test_both_images_carry_the_contract_whole(dockerfile: Path) -> None:
    assert re.search(r"^COPY contract /app/contract$", dockerfile.read_text(), flags=re.MULTILINE)


def test_the_worker_image_carries_nothing_of_the_function() -> None:
    assert "functions/" not in WORKER_DOCKERFILE.read_text()


def _imported_modules(package: Path) -> set[str]:
    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("package", "foreign"),
    [
        ("workers", {"functions", "tests", "testbed"}),
        ("functions", {"workers", "tests", "testbed"}),
        ("contract", {"functions", "workers", "tests", "testbed"}),
        ("scripts", {"tests"}),
        ("benchmarks", {"tests"}),
    ],
)
def test_packages_import_only_what_they_may(package: str, foreign: set[str]) -> None:
    assert not _imported_modules(ROOT / package) & foreign


@pytest.mark.parametrize(
    ("dockerfile", "module"),
    [
        (ROOT / "workers" / "agent_executor" / "Dockerfile", "workers.agent_executor.healthcheck"),
        (DOCKERFILE, "functions.agent_executor.healthcheck"),
    ],
    ids=["worker", "function"],
)
def test_both_images_declare_a_healthcheck_that_needs_no_curl(
    dockerfile: Path, module: str
) -> None:
    lines = dockerfile.read_text().replace("\\\n", " ").splitlines()
    (line,) = [line for line in lines if line.startswith("HEALTHCHECK")]
    command = json.loads(line.partition(" CMD ")[2])
    assert command == ["python", "-m", module]
    assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file()
