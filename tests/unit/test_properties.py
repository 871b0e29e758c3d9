"""Properties over generated specs: the function never breaks, and the model agrees with the XRD.

(a) Any JSON-like spec, random or a mutated example XR, goes through `RunFunction` without
    an exception and comes back either refused (a fatal result, no resources) or composed.
(b) For mutated example specs, `admit` refuses exactly what the API server would refuse
    given the XRD's openAPIV3 schema (`openapi_v3_schema()`), including the meaning of its
    CEL rules. That schema is generated from the same pydantic models, so this checks the
    generator as much as the models.
(c) The same two properties for PostgresInstance and DragonflyInstance, whose composition
    also reads observed state: any observed Secrets, of any shape, give a composed XR with
    one stable password, or a fatal result naming the Secret; never an exception.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.agent_executor.admission import admit, normalize_numbers
from functions.agent_executor.databases import names as store_names
from functions.agent_executor.databases.admission import admit_dragonfly, admit_postgres
from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    POSTGRES_KIND,
    RESERVED_DATABASES,
    RESERVED_OWNERS,
    DragonflyInstanceSpec,
    PostgresInstanceSpec,
)
from functions.agent_executor.function import AgentExecutorFunction
from functions.agent_executor.spec import RESERVED_ENV, AgentExecutorSpec
from functions.agent_executor.xrd import DRAGONFLY_INSTANCE, POSTGRES_INSTANCE, openapi_v3_schema

from .database_helpers import database_fixture, database_fixture_names, secret_values, store_xr
from .database_helpers import desired as desired_resources
from .database_helpers import request as store_request
from .strategies import ALPHABET, PROPERTY_SETTINGS, Json, json_values
from .xr_helpers import fixture_names, load_xr, make_request, make_xr

Path = tuple[str | int, ...]

SPEC_SCHEMA: dict[str, Any] = openapi_v3_schema()["properties"]["spec"]
FIXTURE_SPECS: dict[str, dict[str, Any]] = {stem: load_xr(stem)["spec"] for stem in fixture_names()}

# --- generated values --------------------------------------------------------------------------

# Strings near the edge of what the patterns accept, so mutations are often still valid.
NEAR_VALID_STRINGS = [
    "",
    "a",
    "Bad_Name",
    "ok-name",
    "ok.name",
    "-lead",
    "AGENT.JOBS",
    "my workers",
    "nats://nats.nats.svc:4222",
    "tls://a.b.svc:4222,tls://c.b.svc:4222",
    "http://nats:4222",
    "nats://a,b",
    "agent.execute.*",
    "agent.>",
    "agent.>.x",
    ">",
    "*",
    "host:8222",
    "host:",
    "$G",
    "A.B",
    "ghcr.io/org/agent:1.0",
    "ghcr.io/Org/agent:1.0",
    "localhost:5000/agent@sha256:" + "0" * 64,
    "agent@sha256:abc",
    "LOG_LEVEL",
    "1BAD",
    "/app/run",
    "app",
    "postgres",
    "template1",
    "orders_app",
    "10Gi",
    "500Mi",
    "s3://team-backups/db",
    "s3://B/x",
    "https://minio:9000",
    "0 0 3 * * *",
    "0 3 * * *",
    "30d",
    "10.0.0.0/8",
    "10.0.0.1/8",
]
QUANTITY_VALUES: list[Json] = [0, 1, 2, 3, -1, "500m", "2", "1Gi", "1.5", ".5", "-1", "1K", "1e3"]


def _integers_near(node: dict[str, Any]) -> st.SearchStrategy[int]:
    low = node.get("minimum", -5)
    high = node.get("maximum", low + 10)
    return st.integers(min_value=low - 2, max_value=low + 3) | st.integers(
        min_value=high - 3, max_value=high + 2
    )


def near_valid(node: dict[str, Any]) -> st.SearchStrategy[Json]:
    """Values shaped like what the schema node asks for, valid or just past an edge."""
    if node.get("x-kubernetes-int-or-string"):
        return st.sampled_from(QUANTITY_VALUES)
    kind = node["type"]
    if "enum" in node:
        return st.sampled_from([*node["enum"], "other", 2])
    if kind == "integer":
        return _integers_near(node)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        texts = st.sampled_from(NEAR_VALID_STRINGS)
        if "pattern" in node:
            texts |= st.from_regex(node["pattern"], fullmatch=True, alphabet=ALPHABET)
        return texts
    if kind == "array":
        return st.lists(near_valid(node["items"]), max_size=3)
    if set(node.get("properties", {})) == {"name", "value"}:  # an env entry
        return st.fixed_dictionaries(
            {"name": st.sampled_from(["LOG_LEVEL", "NATS_URL", "1BAD", "X"])},
            optional={"value": st.text(alphabet=ALPHABET, max_size=8)},
        )
    return st.just({})


def schema_nodes(node: dict[str, Any], path: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every (path, schema) below `node`; array items are reached through index 0."""
    for key, child in node.get("properties", {}).items():
        yield (*path, key), child
        yield from schema_nodes(child, (*path, key))
    if "items" in node:
        yield from schema_nodes(node["items"], (*path, 0))


SCHEMA_NODES = list(schema_nodes(SPEC_SCHEMA))


def set_path(root: dict[str, Any], path: Path, value: Json) -> None:
    """Set `value` at `path`, creating (or replacing with) containers of the right kind."""
    node: Any = root
    for key, following in itertools.pairwise(path):
        kind: type = list if isinstance(following, int) else dict
        if isinstance(key, int):
            while len(node) <= key:
                node.append(kind())
            if not isinstance(node[key], kind):
                node[key] = kind()
        elif not isinstance(node.get(key), kind):
            node[key] = kind()
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def delete_path(root: dict[str, Any], path: Path) -> None:
    """Remove the value at `path` if it is there."""
    node: Any = root
    for key in path[:-1]:
        if isinstance(key, int):
            if not isinstance(node, list) or len(node) <= key:
                return
        elif not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    last = path[-1]
    if isinstance(last, str) and isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(last, int) and isinstance(node, list) and len(node) > last:
        del node[last]


@st.composite
def mutation(
    draw: st.DrawFn,
    spec: dict[str, Any],
    nodes: list[tuple[Path, dict[str, Any]]] = SCHEMA_NODES,
) -> None:
    """Apply one random change to `spec`: a field set, a field deleted, or an unknown key added."""
    path, node = draw(st.sampled_from(nodes))
    action = draw(st.sampled_from(["near-valid", "near-valid", "random", "delete", "unknown"]))
    if action == "delete":
        delete_path(spec, path)
    elif action == "unknown":
        parent = draw(st.sampled_from([(), *[p for p, n in nodes if "properties" in n]]))
        set_path(spec, (*parent, draw(st.sampled_from(["sise", "Image", "extra_", "x"]))), 1)
    else:
        values = near_valid(node) if action == "near-valid" else json_values
        set_path(spec, path, draw(values))


@st.composite
def mutated_fixture_specs(draw: st.DrawFn) -> dict[str, Any]:
    """An example XR's spec with one to three random changes."""
    spec = copy.deepcopy(FIXTURE_SPECS[draw(st.sampled_from(sorted(FIXTURE_SPECS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        draw(mutation(spec))
    return spec


# --- (a) the function never breaks -------------------------------------------------------------


def _run(spec: Json, name: str) -> fnv1.RunFunctionResponse:
    req = make_request(make_xr(spec, name=name))
    return asyncio.run(AgentExecutorFunction().RunFunction(req))


def _assert_refused_or_composed(rsp: fnv1.RunFunctionResponse) -> None:
    fatal = [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    event("refused" if fatal else "composed")
    if fatal:
        assert len(fatal) == 1
        assert len(rsp.desired.resources) == 0
    else:
        assert "deployment" in rsp.desired.resources


@PROPERTY_SETTINGS
@given(spec=json_values, name=st.sampled_from(["worker", "Bad_Name", ""]))
def test_random_json_specs_are_refused_or_composed_never_raised(spec: Json, name: str) -> None:
    _assert_refused_or_composed(_run(spec, name))


@PROPERTY_SETTINGS
@given(spec=mutated_fixture_specs())
def test_mutated_example_specs_are_refused_or_composed_never_raised(spec: dict[str, Any]) -> None:
    _assert_refused_or_composed(_run(spec, "worker"))


# --- (b) the pydantic verdict equals the XRD's verdict -----------------------------------------


def _pattern_as_re2(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # Python's `$` also matches before a trailing newline; RE2's (and Rust's) do not.
    assert pattern.endswith("$"), pattern
    if validator.is_type(instance, "string") and not re.search(pattern[:-1] + r"\Z", instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _as_api_server_sees_it(node: Any) -> Any:
    """The XRD schema as the API server applies it, in jsonschema terms.

    `x-kubernetes-*` keys are dropped (CEL is evaluated in `_cel_rules_hold`) and every
    object refuses unknown fields, as `kubectl apply` does with strict field validation.
    """
    if isinstance(node, list):
        return [_as_api_server_sees_it(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: _as_api_server_sees_it(value)
        for key, value in node.items()
        if not key.startswith("x-kubernetes-")
    }
    if node.get("type") == "object" and "properties" in node:
        out["additionalProperties"] = False
    return out


XRD_VALIDATOR = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _pattern_as_re2}
)(_as_api_server_sees_it(SPEC_SCHEMA))


SCALING_RULE = "self.minReplicas <= self.maxReplicas"


def _cel_rules_hold(spec: dict[str, Any]) -> bool:
    """The XRD's CEL rules, evaluated on the spec after the API server applied defaults."""
    scaling = spec.get("scaling", {})
    minimum, maximum = scaling.get("minReplicas", 1), scaling.get("maxReplicas", 10)
    env_names = {var["name"] for var in spec.get("env", [])}
    return minimum <= maximum and not env_names & set(RESERVED_ENV)


def cel_rules(node: Any) -> Iterator[str]:
    """Every CEL rule anywhere in a schema."""
    if isinstance(node, dict):
        for rule in node.get("x-kubernetes-validations", []):
            yield rule["rule"]
        for value in node.values():
            yield from cel_rules(value)
    elif isinstance(node, list):
        for item in node:
            yield from cel_rules(item)


def xrd_accepts(spec: dict[str, Any]) -> bool:
    """Would the API server accept this spec? CEL runs only on a schema-valid object."""
    return XRD_VALIDATOR.is_valid(spec) and _cel_rules_hold(spec)


def model_accepts(spec: dict[str, Any]) -> bool:
    """Does the pydantic model accept this spec? `admit` must then agree when it refuses.

    `admit` adds checks the XRD does not carry (requests above limits, port ranges), so
    the model's own verdict is what the XRD is compared with.
    """
    try:
        AgentExecutorSpec.model_validate(spec)
    except ValidationError:
        verdict = admit("worker", "team-a", spec)
        assert verdict.spec is None
        assert verdict.errors
        assert all(line.startswith("spec") for line in verdict.errors), verdict.errors
        return False
    return True


def _without_nulls(value: Json) -> Json:
    # The API server prunes null fields that are not `nullable` before validating.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def as_stored(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as it reaches both judges: nulls pruned, integral floats as ints."""
    stored: dict[str, Any] = normalize_numbers(_without_nulls(spec))
    return stored


def test_every_example_spec_is_accepted_by_both() -> None:
    for stem, spec in FIXTURE_SPECS.items():
        assert model_accepts(spec), stem
        assert xrd_accepts(spec), stem


def test_the_xrd_judge_knows_every_cel_rule_of_the_schema() -> None:
    # A new rule in the models must be taught to `_cel_rules_hold`, or (b) would miss it.
    env_rule = next(rule for rule in cel_rules(SPEC_SCHEMA) if "self.env" in rule)

    assert sorted(cel_rules(SPEC_SCHEMA)) == sorted([SCALING_RULE, env_rule])
    assert all(f"'{name}'" in env_rule for name in RESERVED_ENV)


def test_the_xrd_judge_refuses_what_each_cel_rule_forbids() -> None:
    base = {"image": "ghcr.io/org/agent:1"}

    assert xrd_accepts(base)
    assert not xrd_accepts({**base, "scaling": {"minReplicas": 11}})
    assert not xrd_accepts({**base, "env": [{"name": "PORT", "value": "1"}]})
    assert not xrd_accepts({**base, "sise": "small"})
    assert not xrd_accepts({**base, "image": "ghcr.io/org/agent:1\n"})


@PROPERTY_SETTINGS
@given(spec=mutated_fixture_specs())
def test_model_and_xrd_schema_give_the_same_verdict(spec: dict[str, Any]) -> None:
    stored = as_stored(spec)

    accepted = model_accepts(stored)
    event("accepted" if accepted else "refused")
    assert accepted == xrd_accepts(stored), admit("worker", "team-a", stored).errors


# --- (c) PostgresInstance and DragonflyInstance ------------------------------------------------

STORE_SPEC_SCHEMAS: dict[str, dict[str, Any]] = {
    POSTGRES_KIND: openapi_v3_schema(POSTGRES_INSTANCE)["properties"]["spec"],
    DRAGONFLY_KIND: openapi_v3_schema(DRAGONFLY_INSTANCE)["properties"]["spec"],
}
STORE_NODES = {kind: list(schema_nodes(schema)) for kind, schema in STORE_SPEC_SCHEMAS.items()}
STORE_FIXTURE_SPECS: dict[str, list[dict[str, Any]]] = {
    kind: [database_fixture(stem)["spec"] for stem in database_fixture_names(kind)]
    for kind in STORE_SPEC_SCHEMAS
}
STORE_MODELS: dict[str, Any] = {
    POSTGRES_KIND: (PostgresInstanceSpec, admit_postgres),
    DRAGONFLY_KIND: (DragonflyInstanceSpec, admit_dragonfly),
}
STORE_MAIN = {POSTGRES_KIND: store_names.CLUSTER, DRAGONFLY_KIND: store_names.DRAGONFLY}
STORE_VALIDATORS = {
    kind: jsonschema.validators.extend(
        jsonschema.Draft202012Validator, {"pattern": _pattern_as_re2}
    )(_as_api_server_sees_it(schema))
    for kind, schema in STORE_SPEC_SCHEMAS.items()
}
store_kinds = st.sampled_from(sorted(STORE_SPEC_SCHEMAS))


@st.composite
def mutated_store_specs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A database fixture's kind and spec with one to three random changes."""
    kind = draw(store_kinds)
    spec = copy.deepcopy(draw(st.sampled_from(STORE_FIXTURE_SPECS[kind])))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        draw(mutation(spec, STORE_NODES[kind]))
    return kind, spec


def _run_store(
    kind: str, spec: Json, observed: dict[str, Any] | None = None
) -> fnv1.RunFunctionResponse:
    req = store_request(store_xr(kind, spec), observed)
    return asyncio.run(AgentExecutorFunction().RunFunction(req))


def _assert_store_refused_or_composed(kind: str, rsp: fnv1.RunFunctionResponse) -> None:
    fatal = [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    event("refused" if fatal else "composed")
    if fatal:
        assert len(fatal) == 1
        assert len(rsp.desired.resources) == 0
        assert not fatal[0].message.startswith("internal error"), fatal[0].message
    else:
        assert STORE_MAIN[kind] in rsp.desired.resources
        assert store_names.CONNECTION_SECRET in rsp.desired.resources


@PROPERTY_SETTINGS
@given(kind=store_kinds, spec=json_values)
def test_random_database_specs_are_refused_or_composed_never_raised(kind: str, spec: Json) -> None:
    _assert_store_refused_or_composed(kind, _run_store(kind, spec))


@PROPERTY_SETTINGS
@given(case=mutated_store_specs())
def test_mutated_database_specs_are_refused_or_composed_never_raised(
    case: tuple[str, dict[str, Any]],
) -> None:
    kind, spec = case
    _assert_store_refused_or_composed(kind, _run_store(kind, spec))


# Observed Secrets that are often almost right: data with the password key, base64 or not.
secret_data = st.dictionaries(
    st.sampled_from(["password", "POSTGRES_PASSWORD", "DRAGONFLY_PASSWORD", "username", "x"]),
    st.sampled_from(["c2VjcmV0MQ==", "", "not base64", "dHdvIHdvcmRz", "w6k="]) | json_values,
    max_size=3,
)
# Observed resources are always objects (a Struct); anything may be inside.
observed_secrets = st.dictionaries(
    st.text(alphabet=ALPHABET, max_size=8), json_values
) | st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Secret")},
    optional={"data": secret_data | json_values, "type": json_values},
)


@PROPERTY_SETTINGS
@given(
    kind=store_kinds,
    observed=st.dictionaries(
        st.sampled_from(
            [store_names.CREDENTIALS, store_names.CONNECTION_SECRET, store_names.CLUSTER, "other"]
        ),
        observed_secrets,
        max_size=3,
    ),
)
def test_any_observed_secrets_give_one_password_or_a_fatal_result(
    kind: str, observed: dict[str, Any]
) -> None:
    rsp = _run_store(kind, {}, observed)
    _assert_store_refused_or_composed(kind, rsp)
    if not rsp.results:
        composed = desired_resources(rsp)
        secrets = [secret_values(m) for k, m in composed.items() if m.get("kind") == "Secret"]
        passwords = {v for values in secrets for k, v in values.items() if "PASSWORD" in k.upper()}
        assert len(passwords) == 1, passwords


def _store_cel_rules_hold(kind: str, spec: dict[str, Any]) -> bool:
    if kind != POSTGRES_KIND:
        return True
    return (
        spec.get("owner", "app") not in RESERVED_OWNERS
        and spec.get("database", "app") not in RESERVED_DATABASES
    )


def store_xrd_accepts(kind: str, spec: dict[str, Any]) -> bool:
    """Would the API server accept this database spec? CEL runs on a schema-valid object."""
    return STORE_VALIDATORS[kind].is_valid(spec) and _store_cel_rules_hold(kind, spec)


def store_model_accepts(kind: str, spec: dict[str, Any]) -> bool:
    """Does the spec model accept it? When it refuses, admission must too, naming `spec...`."""
    model, admission = STORE_MODELS[kind]
    try:
        model.model_validate(spec)
    except ValidationError:
        verdict = admission("db", "team-a", spec)
        assert verdict.spec is None
        assert verdict.errors
        assert all(line.startswith("spec") for line in verdict.errors), verdict.errors
        return False
    return True


def test_the_database_xrd_judge_knows_every_cel_rule() -> None:
    rules = sorted(cel_rules(STORE_SPEC_SCHEMAS[POSTGRES_KIND]))
    assert len(rules) == 2 and all("self.owner" in r or "self.database" in r for r in rules)
    assert not list(cel_rules(STORE_SPEC_SCHEMAS[DRAGONFLY_KIND]))
    assert not store_xrd_accepts(POSTGRES_KIND, {"owner": "postgres"})
    assert not store_xrd_accepts(POSTGRES_KIND, {"database": "template0"})
    assert store_xrd_accepts(POSTGRES_KIND, {})


def test_every_database_example_spec_is_accepted_by_both() -> None:
    for kind, specs in STORE_FIXTURE_SPECS.items():
        for spec in specs:
            assert store_model_accepts(kind, spec), spec
            assert store_xrd_accepts(kind, spec), spec


@PROPERTY_SETTINGS
@given(case=mutated_store_specs())
def test_database_model_and_xrd_schema_give_the_same_verdict(
    case: tuple[str, dict[str, Any]],
) -> None:
    kind, spec = case
    stored = as_stored(spec)

    accepted = store_model_accepts(kind, stored)
    event("accepted" if accepted else "refused")
    _, admission = STORE_MODELS[kind]
    assert accepted == store_xrd_accepts(kind, stored), admission("db", "team-a", stored).errors
