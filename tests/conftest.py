"""Shared pytest fixtures: repository paths and the example XRs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
XR_FIXTURES = ROOT / "tests" / "fixtures" / "xrs"
# PostgresInstance and DragonflyInstance XRs (kept apart: the AgentExecutor property tests
# mutate every XR under XR_FIXTURES).
DATABASE_FIXTURES = ROOT / "tests" / "fixtures" / "databases"


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
