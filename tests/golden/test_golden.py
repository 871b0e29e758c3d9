"""Golden files: every fixture XR and example claim, of all three kinds, renders exactly as
committed.

`make golden` (UPDATE_GOLDEN=1) rewrites them; the diff is what reviewers read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.render.claims import find_claims
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
from functions.render.engine import Engine
from functions.render.yaml_io import dump_stream, load_stream
from tests.conftest import DATABASE_FIXTURES, ROOT, XR_FIXTURES

GOLDEN = ROOT / "tests" / "golden" / "files"
# Observed composed resources of a fixture, when the fixture's folder has a file of its name.
OBSERVED = {
    XR_FIXTURES: ROOT / "tests" / "fixtures" / "observed",
    DATABASE_FIXTURES: DATABASE_FIXTURES / "observed",
}
SOURCES = sorted(XR_FIXTURES.glob("*.yaml")) + sorted(DATABASE_FIXTURES.glob("*.yaml")) + [
    ROOT / "functions" / "agent_executor" / "example" / "xr.yaml",
    *sorted((ROOT / "claims").rglob("*.yaml")),
]
CASES = [(path, claim) for path in SOURCES for claim in find_claims([path])]


def golden_name(path: Path, claim_name: str) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    return "__".join(relative.parts[-2:]) + f"__{claim_name}.yaml"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    compositions = [load_stream(path)[0] for path in DEFAULT_COMPOSITIONS]
    functions = load_stream(DEFAULT_FUNCTIONS)
    with Engine(ROOT, compositions, functions) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "claim"), CASES, ids=[golden_name(p, c.document["metadata"]["name"]) for p, c in CASES]
)
def test_render_matches_golden_file(engine: Engine, path: Path, claim: object) -> None:
    document = claim.document  # type: ignore[attr-defined]
    observed_file = OBSERVED[path.parent] / path.name if path.parent in OBSERVED else None
    observed = load_stream(observed_file) if observed_file and observed_file.exists() else []
    rendered = dump_stream(engine.render(document, observed).documents(include_results=True))
    golden = GOLDEN / golden_name(path, document["metadata"]["name"])
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered)
    assert golden.exists(), f"{golden} is missing; run `make golden` and review it"
    assert rendered == golden.read_text(), f"{golden} differs; run `make golden` and review the diff"


def test_every_golden_file_has_a_source() -> None:
    expected = {golden_name(p, c.document["metadata"]["name"]) for p, c in CASES}
    stale = sorted(p.name for p in GOLDEN.glob("*.yaml") if p.name not in expected)
    assert not stale, f"golden files without a source XR: {stale}"


def test_at_least_six_fixture_xrs_are_covered() -> None:
    assert len([p for p, _ in CASES if p.parent == XR_FIXTURES]) >= 6


def test_every_kind_has_golden_renders_of_fixtures_and_of_the_reference_tenant() -> None:
    kinds = {c.kind for p, c in CASES if p.parent == DATABASE_FIXTURES}
    tenant = {c.kind for p, c in CASES if p.parent.name == "intelligence-deepagents"}
    assert kinds == {"PostgresInstance", "DragonflyInstance"}
    assert tenant == {"AgentExecutor", "PostgresInstance", "DragonflyInstance"}
