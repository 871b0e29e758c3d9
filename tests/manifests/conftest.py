"""Upstream CRD schemas for manifest checks (tests/schemas/, or CRD_SCHEMA_DIR)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.crd_schema import crd_dir, load_schemas


@pytest.fixture(scope="session")
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    return load_schemas(crd_dir())
