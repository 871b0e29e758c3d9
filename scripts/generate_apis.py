"""Write the XRDs, Compositions, claim JSON Schemas and the Function manifest generated from
the spec models.

Run by `make golden`; `tests/manifests/test_apis.py` fails when the committed
files differ from what this would write.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.agent_executor.claim_schema import (  # noqa: E402 - after the path fix-up
    SCHEMA_FILE,
    claim_json_schema,
)
from functions.agent_executor.xrd import (  # noqa: E402
    AGENT_EXECUTOR,
    APIS,
    ApiDefinition,
    composite_resource_definition,
    composition,
    development_function,
    function_package,
)
from functions.render.yaml_io import dump  # noqa: E402
from scripts.api_reference import api_reference  # noqa: E402

APIS_DIR = ROOT / "platform" / "apis"
API_DIR = APIS_DIR / AGENT_EXECUTOR.slug
EXAMPLE_DIR = ROOT / "functions" / "agent_executor" / "example"
HEADER = (
    "# Generated from functions/agent_executor/{source} by `make golden`; do not edit by hand.\n"
)


def project_version() -> str:
    """The version in pyproject.toml, which the Function's image tag follows."""
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


SPEC_SOURCES = {AGENT_EXECUTOR.kind: "spec.py"}


def api_dir(api: ApiDefinition) -> Path:
    """The platform folder of one API: its XRD and its Composition."""
    return APIS_DIR / api.slug


def example_composition(api: ApiDefinition) -> Path:
    """The Composition `crossplane render` uses against `make run-function`."""
    if api is AGENT_EXECUTOR:
        return EXAMPLE_DIR / "composition.yaml"
    return EXAMPLE_DIR / f"composition-{api.slug}.yaml"


def rendered() -> dict[Path, str]:
    """Path → file content for every generated API manifest."""
    files: dict[Path, str] = {}
    for api in APIS:
        source = SPEC_SOURCES.get(api.kind, "databases/spec.py")
        files[api_dir(api) / "definition.yaml"] = HEADER.format(source=source) + dump(
            composite_resource_definition(api)
        )
        files[api_dir(api) / "composition.yaml"] = HEADER.format(source="xrd.py") + dump(
            composition(api)
        )
        # For editors: the claim's JSON Schema, named by the example claims' modelines.
        files[api_dir(api) / SCHEMA_FILE] = json.dumps(claim_json_schema(api), indent=2) + "\n"
        # For `crossplane render` against `make run-function`.
        files[example_composition(api)] = HEADER.format(source="xrd.py") + dump(composition(api))
    # One Function serves every API: its package pin lives beside the AgentExecutor's.
    files[API_DIR / "function.yaml"] = HEADER.format(source="xrd.py") + dump(
        function_package(project_version())
    )
    files[EXAMPLE_DIR / "functions.yaml"] = HEADER.format(source="xrd.py") + dump(
        development_function()
    )
    files[ROOT / "docs" / "api-reference.md"] = api_reference()
    return files


def main() -> int:
    for path, content in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
