"""Upstream CRD schemas for tests: the copy derived into tests/schemas/crds/, or CRD_SCHEMA_DIR.

`scripts/derive_schemas.py` writes tests/schemas/crds/ from the upstream files that
tests/schemas/sources.yaml records. CRD_SCHEMA_DIR, when set, points at another directory of
CRDs to validate against instead (a newer upstream release, for example).
"""

from __future__ import annotations

import os
from pathlib import Path

from functions.render.schema_check import load_crd_schemas, problems

ENV = "CRD_SCHEMA_DIR"
DERIVED = Path(__file__).resolve().parents[1] / "schemas" / "crds"

__all__ = ["DERIVED", "ENV", "crd_dir", "load_schemas", "problems"]


def crd_dir() -> Path:
    """The directory of CRDs to validate against: CRD_SCHEMA_DIR, else the derived copy."""
    value = os.environ.get(ENV)
    return Path(value) if value else DERIVED


load_schemas = load_crd_schemas
