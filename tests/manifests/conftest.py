"""Upstream CRD schemas for manifest checks (CRD_SCHEMA_DIR; .ci/run sets it)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.support.crd_schema import ENV, crd_dir, load_schemas


@pytest.fixture(scope="session")
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    directory = crd_dir()
    if directory is None:
        message = f"{ENV} is not set: checks against upstream CRD schemas DID NOT RUN"
        print(f"\n*** {message} ***", file=sys.stderr)
        pytest.skip(message)
    return load_schemas(directory)
