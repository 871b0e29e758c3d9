"""The API manifests: generated from the spec models, committed as generated, valid upstream."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from functions.agent_executor.databases.spec import DragonflyInstanceSpec, PostgresInstanceSpec
from functions.agent_executor.spec import AgentExecutorSpec
from functions.agent_executor.xrd import (
    APIS,
    DRAGONFLY_INSTANCE,
    FUNCTION_NAME,
    POSTGRES_INSTANCE,
    ApiDefinition,
    openapi_v3_schema,
)
from scripts.generate_apis import rendered
from tests.support.crd_schema import problems

API_IDS = [api.slug for api in APIS]


def test_committed_api_manifests_equal_what_the_spec_model_generates() -> None:
    for path, content in rendered().items():
        assert path.exists(), f"{path} is missing; run `make golden`"
        assert path.read_text() == content, f"{path} is stale; run `make golden` and review"


@pytest.mark.parametrize("api", APIS, ids=API_IDS)
def test_every_spec_field_of_the_model_is_in_the_xrd_schema(api: ApiDefinition) -> None:
    schema = openapi_v3_schema(api)["properties"]["spec"]["properties"]
    aliases = {f.alias or n for n, f in api.spec.model_fields.items()}
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


@pytest.mark.parametrize(
    ("api", "model"),
    [(POSTGRES_INSTANCE, PostgresInstanceSpec), (DRAGONFLY_INSTANCE, DragonflyInstanceSpec)],
    ids=["postgres-instance", "dragonfly-instance"],
)
def test_database_xrd_defaults_match_the_model_defaults(api: ApiDefinition, model: Any) -> None:
    defaults = model().model_dump(by_alias=True)
    schema = openapi_v3_schema(api)["properties"]["spec"]
    # `spec: {}` is complete: the spec itself and each block default to {}.
    assert schema["default"] == {}
    for field, sub in schema["properties"].items():
        if sub.get("type") == "object" and sub.get("default") == {}:
            for inner, node in sub["properties"].items():
                if "default" in node:
                    assert node["default"] == defaults[field][inner], f"{field}.{inner}"
        elif "default" in sub:
            assert sub["default"] == defaults[field], field


@pytest.mark.parametrize("api", APIS, ids=API_IDS)
@pytest.mark.parametrize("name", ["definition.yaml", "composition.yaml"])
def test_api_manifest_is_valid_against_its_upstream_crd(
    api: ApiDefinition, name: str, root: Any, crd_schemas: dict[tuple[str, str], dict[str, Any]]
) -> None:
    document = yaml.safe_load((root / "platform" / "apis" / api.slug / name).read_text())
    schema = crd_schemas[(document["apiVersion"], document["kind"])]
    assert problems(document, schema) == []


def test_the_function_package_is_valid_against_its_upstream_crd(
    root: Any, crd_schemas: dict[tuple[str, str], dict[str, Any]]
) -> None:
    document = yaml.safe_load((root / "platform/apis/agent-executor/function.yaml").read_text())
    schema = crd_schemas[(document["apiVersion"], document["kind"])]
    assert problems(document, schema) == []


@pytest.mark.parametrize("api", APIS, ids=API_IDS)
def test_composition_calls_the_function_package_that_exists(api: ApiDefinition, root: Any) -> None:
    apis = root / "platform" / "apis"
    composition = yaml.safe_load((apis / api.slug / "composition.yaml").read_text())
    function = yaml.safe_load((apis / "agent-executor" / "function.yaml").read_text())
    xrd = yaml.safe_load((apis / api.slug / "definition.yaml").read_text())
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
    assert xrd["spec"]["defaultCompositionRef"]["name"] == composition["metadata"]["name"]


def test_one_function_package_serves_every_api(root: Any) -> None:
    # One image, one pinned Function: only the AgentExecutor folder carries the package pin.
    pins = sorted(p.parent.name for p in (root / "platform" / "apis").glob("*/function.yaml"))
    assert pins == ["agent-executor"]
