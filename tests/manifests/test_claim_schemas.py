"""The published JSON Schema of each claim kind: what editors check a claim file against.

`test_apis.py` already fails when a committed `platform/apis/<api>/schema.json` differs from
what the spec models generate; these tests say what the schemas are for.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from functions.agent_executor.claim_schema import SCHEMA_FILE
from functions.agent_executor.xrd import API_BY_KIND, APIS, ApiDefinition
from functions.render.claims import find_claims
from tests.conftest import ROOT

MODELINE = re.compile(r"# yaml-language-server: \$schema=(\S+)\n")
EXAMPLES = find_claims([ROOT / "claims", ROOT / "functions/agent_executor/example/xr.yaml"])
EXAMPLE_IDS = [str(c.path.relative_to(ROOT)) for c in EXAMPLES]


def schema_of(api: ApiDefinition) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (ROOT / "platform/apis" / api.slug / SCHEMA_FILE).read_text()
    )
    return loaded


@pytest.mark.parametrize("api", APIS, ids=[a.slug for a in APIS])
def test_each_schema_is_a_valid_draft_7_schema(api: ApiDefinition) -> None:
    jsonschema.Draft7Validator.check_schema(schema_of(api))


@pytest.mark.parametrize("claim", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_claim_names_its_kinds_schema_in_a_modeline(claim: Any) -> None:
    match = MODELINE.match(claim.path.read_text())
    assert match, f"{claim.path} does not start with a yaml-language-server modeline"
    target = (claim.path.parent / match.group(1)).resolve()
    assert target == ROOT / "platform/apis" / API_BY_KIND[claim.kind].slug / SCHEMA_FILE


@pytest.mark.parametrize("claim", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_claim_satisfies_its_schema(claim: Any) -> None:
    schema = schema_of(API_BY_KIND[claim.kind])
    assert list(jsonschema.Draft7Validator(schema).iter_errors(claim.document)) == []


EXECUTOR = """\
apiVersion: platform.bizmatters.io/v1alpha1
kind: AgentExecutor
metadata: {name: a, namespace: intelligence-a}
spec:
  image: ghcr.io/a/b:1.0.0
"""


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("kind: AgentExecutor", "kind: AgentExecuter", ["kind"]),
        ("v1alpha1", "v1alpha2", ["apiVersion"]),
        ("  image: ghcr.io/a/b:1.0.0", "  image: x:1\n  sise: small", ["spec"]),
        ("  image: ghcr.io/a/b:1.0.0", "  image: x:1\n  size: huge", ["spec", "size"]),
        (
            "  image: ghcr.io/a/b:1.0.0",
            "  image: x:1\n  concurrency: many",
            ["spec", "concurrency"],
        ),
        (
            "  image: ghcr.io/a/b:1.0.0",
            "  image: x:1\n  scaling: {minReplica: 1}",
            ["spec", "scaling"],
        ),
        ("{name: a, namespace: intelligence-a}", "{name: a}", ["metadata"]),
    ],
    ids=["kind", "version", "misspelt-field", "enum", "type", "nested-field", "no-namespace"],
)
def test_the_schema_flags_what_the_api_server_refuses(old: str, new: str, path: list[str]) -> None:
    claim = yaml.safe_load(EXECUTOR.replace(old, new))
    errors = list(
        jsonschema.Draft7Validator(schema_of(API_BY_KIND["AgentExecutor"])).iter_errors(claim)
    )
    assert [list(e.absolute_path) for e in errors] == [path]
