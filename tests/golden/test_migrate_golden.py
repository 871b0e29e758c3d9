"""Golden conversions: each zerotouch-platform-shaped claim under tests/fixtures/migrate/
converts to exactly the committed AgentExecutor claim and report, and the converted claim
passes `agentplane validate` and renders.

`make golden` (UPDATE_GOLDEN=1) rewrites tests/golden/migrate/; the diff is what reviewers read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import runtime
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS, DEFAULT_XRDS
from functions.render.engine import Engine
from functions.render.migrate.command import migrate_files, yaml_text
from functions.render.migrate.report import Conversion
from functions.render.validate import validate_paths
from functions.render.yaml_io import load_stream
from tests.conftest import ROOT

SOURCES = ROOT / "tests" / "fixtures" / "migrate"
GOLDEN = ROOT / "tests" / "golden" / "migrate"
FIXTURES = sorted(SOURCES.glob("*.yaml"))


def converted(path: Path) -> Conversion:
    """The one conversion of a fixture file, read as `agentplane migrate` reads it."""
    (migrated,) = migrate_files([path.relative_to(ROOT)])
    (conversion,) = migrated.conversions.values()
    return conversion


def check_golden(golden: Path, text: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing; run `make golden` and review it"
    assert text == golden.read_text(), f"{golden} differs; run `make golden` and review the diff"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reports name files as the user typed them: relative to the repository here.
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_conversion_matches_golden_claim_and_report(path: Path) -> None:
    conversion = converted(path)
    check_golden(GOLDEN / path.name, yaml_text([conversion.claim]))
    report = "\n".join(conversion.lines(str(path.relative_to(ROOT)))) + "\n"
    check_golden(GOLDEN / f"{path.stem}.report.txt", report)


def _fields(value: Any, prefix: str) -> Iterator[str]:
    """Every field path of a source document down to the fields the report speaks of."""
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if path in ("apiVersion", "kind", "metadata", "spec") or path in ("spec.nats", "spec.initContainer", "spec.scaling"):
            yield from _fields(item, path)
        else:
            yield path


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_field_of_the_source_is_in_the_report(path: Path) -> None:
    (document,) = load_stream(path)
    reported = {f.source for f in converted(path).fields}
    for field in _fields(document, ""):
        assert any(
            source == field or source.startswith((f"{field}.", f"{field}[")) for source in reported
        ), f"{path.name}: {field} is not in the report"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_the_converted_claim_passes_agentplane_validate(path: Path, tmp_path: Path) -> None:
    conversion = converted(path)
    claim = tmp_path / conversion.namespace / "agent-executor.yaml"
    claim.parent.mkdir()
    claim.write_text(yaml_text([conversion.claim]))
    xrds = [document for xrd in DEFAULT_XRDS for document in load_stream(xrd)]
    report = validate_paths([tmp_path], xrds)
    assert report.errors == []  # warnings (e.g. a `latest` tag) are the migrate report's notes too
    assert report.claims == 1


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    compositions = [load_stream(path)[0] for path in DEFAULT_COMPOSITIONS]
    with Engine(ROOT, compositions, load_stream(DEFAULT_FUNCTIONS)) as running:
        yield running


def _deployment(resources: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [r for r in resources if r["kind"] == "Deployment"]
    return deployment


@pytest.mark.slow
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_the_converted_claim_renders_what_the_source_asked_for(engine: Engine, path: Path) -> None:
    conversion = converted(path)
    (source,) = load_stream(path)
    pod = _deployment(engine.render(conversion.claim).resources)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == source["spec"]["image"]
    env = {e["name"]: e for e in container["env"]}
    spec = conversion.claim["spec"]
    assert env["NATS_STREAM_NAME"]["value"] == spec["nats"]["stream"]
    assert env["NATS_CONSUMER_GROUP"]["value"] == spec["nats"]["consumer"]
    postgres = spec.get("secrets", {}).get("postgres", "postgres-connection")
    assert env["POSTGRES_HOST"]["valueFrom"]["secretKeyRef"]["name"] == postgres
    mounted = [s["secretRef"]["name"] for s in container.get("envFrom", [])]
    assert mounted == spec.get("secrets", {}).get("extra", [])
    init = [c["command"] for c in pod.get("initContainers", [])]
    migrations = spec.get("migrations", {})
    command = migrations.get("command", list(runtime.MIGRATIONS_COMMAND))
    assert init == ([] if migrations.get("enabled") is False else [command])
    pulled = [s["name"] for s in pod.get("imagePullSecrets", [])]
    assert pulled == [s["name"] for s in spec.get("imagePullSecrets", [])]
