"""The API manifests: generated from the spec model, committed as generated, valid upstream."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from functions.agent_executor.spec import AgentExecutorSpec
from functions.agent_executor.xrd import FUNCTION_NAME, openapi_v3_schema
from scripts.generate_apis import rendered
from tests.support.crd_schema import problems


def test_committed_api_manifests_equal_what_the_spec_model_generates() -> None:
    for path, content in rendered().items():
        assert path.exists(), f"{path} is missing; run `make golden`"
        assert path.read_text() == content, f"{path} is stale; run `make golden` and review"


def test_every_spec_field_of_the_model_is_in_the_xrd_schema() -> None:
    schema = openapi_v3_schema()["properties"]["spec"]["properties"]
    aliases = {f.alias or n for n, f in AgentExecutorSpec.model_fields.items()}
    assert aliases == set(schema)


def test_xrd_defaults_match_the_model_defaults() -> None:
    defaults = AgentExecutorSpec(image="ghcr.io/a/b:1").model_dump(by_alias=True)
    schema = openapi_v3_schema()["properties"]["spec"]["properties"]
    for block in ("nats", "secrets", "migrations", "scaling", "networkPolicy", "serviceMonitor"):
        for field, sub in schema[block]["properties"].items():
            if "default" in sub:
                assert sub["default"] == defaults[block][field], f"{block}.{field}"
    assert schema["size"]["default"] == defaults["size"] == "medium"
    assert schema["concurrency"]["default"] == defaults["concurrency"] == 8


@pytest.mark.parametrize("name", ["definition.yaml", "composition.yaml", "function.yaml"])
def test_api_manifest_is_valid_against_its_upstream_crd(
    name: str, root: Any, crd_schemas: dict[tuple[str, str], dict[str, Any]]
) -> None:
    document = yaml.safe_load((root / "platform" / "apis" / "agent-executor" / name).read_text())
    schema = crd_schemas[(document["apiVersion"], document["kind"])]
    assert problems(document, schema) == []


def test_composition_calls_the_function_package_that_exists(root: Any) -> None:
    apis = root / "platform" / "apis" / "agent-executor"
    composition = yaml.safe_load((apis / "composition.yaml").read_text())
    function = yaml.safe_load((apis / "function.yaml").read_text())
    xrd = yaml.safe_load((apis / "definition.yaml").read_text())
    assert [s["functionRef"]["name"] for s in composition["spec"]["pipeline"]] == [FUNCTION_NAME]
    assert function["metadata"]["name"] == FUNCTION_NAME
    package = function["spec"]["package"]
    assert package.split("/")[0].count(".") >= 1 and ":" in package.rsplit("/", 1)[1], package
    group, version = composition["spec"]["compositeTypeRef"]["apiVersion"].split("/")
    assert (group, version, composition["spec"]["compositeTypeRef"]["kind"]) == (
        xrd["spec"]["group"],
        xrd["spec"]["versions"][0]["name"],
        xrd["spec"]["names"]["kind"],
    )
