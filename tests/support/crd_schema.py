"""Upstream CRD schemas for tests, read from CRD_SCHEMA_DIR (`.ci/run` sets it)."""

from __future__ import annotations

import os
from pathlib import Path

from functions.render.schema_check import load_crd_schemas, problems

ENV = "CRD_SCHEMA_DIR"

__all__ = ["ENV", "crd_dir", "load_schemas", "problems"]


def crd_dir() -> Path | None:
    """The directory of upstream CRDs, if configured."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


load_schemas = load_crd_schemas
