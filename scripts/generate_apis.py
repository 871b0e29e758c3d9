"""Write the XRD, Composition and Function manifests generated from the spec models.

Run by `make golden`; `tests/manifests/test_apis.py` fails when the committed
files differ from what this would write.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.agent_executor.xrd import (  # noqa: E402 - after the path fix-up
    composite_resource_definition,
    composition,
    development_function,
    function_package,
)
from functions.render.yaml_io import dump  # noqa: E402
from scripts.api_reference import api_reference  # noqa: E402

API_DIR = ROOT / "platform" / "apis" / "agent-executor"
EXAMPLE_DIR = ROOT / "functions" / "agent_executor" / "example"
HEADER = (
    "# Generated from functions/agent_executor/{source} by `make golden`; do not edit by hand.\n"
)


def project_version() -> str:
    """The version in pyproject.toml, which the Function's image tag follows."""
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def rendered() -> dict[Path, str]:
    """Path → file content for every generated API manifest."""
    return {
        API_DIR / "definition.yaml": HEADER.format(source="spec.py")
        + dump(composite_resource_definition()),
        API_DIR / "composition.yaml": HEADER.format(source="xrd.py") + dump(composition()),
        API_DIR / "function.yaml": HEADER.format(source="xrd.py")
        + dump(function_package(project_version())),
        # For `crossplane render` against `make run-function`.
        EXAMPLE_DIR / "composition.yaml": HEADER.format(source="xrd.py") + dump(composition()),
        EXAMPLE_DIR / "functions.yaml": HEADER.format(source="xrd.py")
        + dump(development_function()),
        ROOT / "docs" / "api-reference.md": api_reference(),
    }


def main() -> int:
    for path, content in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
