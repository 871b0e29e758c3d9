"""Where `agentplane` finds the platform's data: the APIs (XRDs, Compositions, the Function)
and the upstream CRD schemas of the add-on objects a tenant commits (ExternalSecret).

Every lookup goes through `apis_dir()` or `crd_dir()`, so the data can move without touching
its readers. An installed wheel carries the data inside the package (`PACKAGED`, placed there
by `[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml); a checkout reads it
where the repository keeps it.
"""

from __future__ import annotations

from pathlib import Path

# The repository root, when running from a checkout (the parent of `functions/`).
CHECKOUT = Path(__file__).resolve().parent.parent.parent
# The wheel's copy of the data: `apis/` (platform/apis) and `crds/` (the upstream CRDs).
PACKAGED = Path(__file__).resolve().parent / "platform_data"
# Where a checkout keeps the upstream CRDs a tenant's add-on objects are checked against: the
# External Secrets group of the schemas derived for the tests (scripts/derive_schemas.py,
# sources recorded in tests/schemas/sources.yaml). The wheel carries the same files.
CHECKOUT_CRDS = Path("tests") / "schemas" / "crds" / "external-secrets.io"


def apis_dir() -> Path:
    """The folder with one sub-folder per API (`agent-executor/definition.yaml`, ...)."""
    packaged = PACKAGED / "apis"
    return packaged if packaged.is_dir() else CHECKOUT / "platform" / "apis"


def crd_dir() -> Path:
    """The folder of upstream CRD files (`<group>/<file>.yaml`) that `validate` checks
    add-on objects against."""
    packaged = PACKAGED / "crds" / CHECKOUT_CRDS.name
    return packaged if packaged.is_dir() else CHECKOUT / CHECKOUT_CRDS
