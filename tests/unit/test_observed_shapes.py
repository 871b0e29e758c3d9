"""Observed state of any shape never turns a valid XR into an error (issue #10, item 8).

Observed resources are whatever the API server holds, written by controllers and webhooks
the function does not own. The function reads them only for readiness and status, so a field
it cannot read makes that resource "not ready", with a reason that names the field; it never
makes the XR fatal, never drops a desired resource.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import given
from hypothesis import strategies as st

from functions.agent_executor import names
from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.function import AgentExecutorFunction, compose_response
from functions.agent_executor.observed import as_count
from functions.agent_executor.readiness import CONDITION_TYPE, resource_readiness

from .strategies import ALPHABET, PROPERTY_SETTINGS, Json, json_scalars, json_values
from .xr_helpers import load_xr, make_request

UNREADABLE = "ObservedStateUnreadable"
# The example that asks for every optional resource, so every name below is composed.
EVERY_RESOURCE_XR = load_xr("every-field")
FUNCTION = AgentExecutorFunction()


def _run(observed: dict[str, Any]) -> fnv1.RunFunctionResponse:
    return asyncio.run(FUNCTION.RunFunction(make_request(EVERY_RESOURCE_XR, observed)))


def _executor_condition(rsp: fnv1.RunFunctionResponse) -> fnv1.Condition:
    matching: list[fnv1.Condition] = [c for c in rsp.conditions if c.type == CONDITION_TYPE]
    [condition] = matching
    return condition


# --- the property: any JSON-like observed resources ---------------------------------------------

# Counts near what readiness expects, and anything else.
counts = st.integers(min_value=0, max_value=4) | json_scalars
# Condition entries that are often almost right: a known type, a string status.
condition_entries = json_values | st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["Available", "Ready", "Progressing"]) | json_scalars,
        "status": st.sampled_from(["True", "False", "Unknown"]) | json_values,
        "reason": json_values,
        "message": json_values,
    },
)
statuses = json_values | st.fixed_dictionaries(
    {},
    optional={
        "conditions": json_values | st.lists(condition_entries, max_size=3),
        "observedGeneration": counts,
        "replicas": counts,
        "updatedReplicas": counts,
        "readyReplicas": counts,
    },
)
observed_resources = st.dictionaries(
    st.text(alphabet=ALPHABET, max_size=12), json_values
) | st.fixed_dictionaries(
    {},
    optional={
        "metadata": json_values | st.fixed_dictionaries({}, optional={"generation": counts}),
        "spec": json_values | st.fixed_dictionaries({}, optional={"replicas": counts}),
        "status": statuses,
    },
)
observed_sets = st.dictionaries(st.sampled_from(names.RESOURCE_NAMES), observed_resources)


def test_the_example_used_composes_every_resource_name() -> None:
    # Otherwise the property below would not reach some resource's readiness.
    rsp = _run({})

    assert set(rsp.desired.resources) == set(names.RESOURCE_NAMES)


@PROPERTY_SETTINGS
@given(observed=observed_sets)
def test_a_valid_xr_is_composed_whatever_its_observed_resources_look_like(
    observed: dict[str, Json],
) -> None:
    rsp = _run(observed)

    assert [r.message for r in rsp.results] == []
    assert set(rsp.desired.resources) == set(names.RESOURCE_NAMES)
    assert {r.ready for r in rsp.desired.resources.values()} <= {
        fnv1.READY_TRUE,
        fnv1.READY_FALSE,
    }
    assert _executor_condition(rsp).status in (
        fnv1.STATUS_CONDITION_TRUE,
        fnv1.STATUS_CONDITION_FALSE,
    )


@PROPERTY_SETTINGS
@given(name=st.sampled_from(names.RESOURCE_NAMES), observed=json_values | observed_resources)
def test_readiness_is_a_verdict_for_any_json_value(name: str, observed: Json) -> None:
    # Wider than what a protobuf Struct can carry: the resource itself may be a list or a number.
    verdict = resource_readiness(name, observed)

    assert isinstance(verdict.ready, bool)
    assert isinstance(verdict.reason, str)
    assert verdict.reason
    assert isinstance(verdict.message, str)


# --- named odd shapes ---------------------------------------------------------------------------


def _ready_deployment() -> dict[str, Any]:
    return {
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 3,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "conditions": [{"type": "Available", "status": "True"}],
        },
    }


def _ready_operator_resource() -> dict[str, Any]:
    return {
        "metadata": {},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


@dataclass(frozen=True)
class OddShape:
    """A ready observed resource with one field of the wrong shape, and the field to be named."""

    id: str
    name: str
    path: tuple[str, ...]  # where to put `value`
    value: Json
    named: str  # the field the not-ready message must name

    def observed(self) -> dict[str, Any]:
        """The ready resource of this kind with `value` put at `path`."""
        base = _ready_deployment() if self.name == names.DEPLOYMENT else _ready_operator_resource()
        node = base
        for key in self.path[:-1]:
            node = node[key]
        node[self.path[-1]] = copy.deepcopy(self.value)
        return base


D, S = names.DEPLOYMENT, names.SCALED_OBJECT
AVAILABLE = {"type": "Available", "status": "True"}
READY = {"type": "Ready", "status": "True"}

ODD_SHAPES = [
    OddShape("conditions-a-dict", D, ("status", "conditions"), AVAILABLE, "status.conditions"),
    OddShape("conditions-a-string", D, ("status", "conditions"), "Available", "status.conditions"),
    OddShape("conditions-a-number", D, ("status", "conditions"), 1, "status.conditions"),
    OddShape(
        "condition-entry-a-string",
        D,
        ("status", "conditions"),
        ["Available", AVAILABLE],
        "status.conditions[0]",
    ),
    OddShape(
        "condition-entry-a-list",
        D,
        ("status", "conditions"),
        [AVAILABLE, ["Available"]],
        "status.conditions[1]",
    ),
    OddShape(
        "condition-type-missing",
        D,
        ("status", "conditions"),
        [{"status": "True"}, AVAILABLE],
        "status.conditions[0].type",
    ),
    OddShape(
        "condition-type-a-number",
        D,
        ("status", "conditions"),
        [{"type": 7, "status": "True"}, AVAILABLE],
        "status.conditions[0].type",
    ),
    OddShape(
        "condition-status-a-bool",
        D,
        ("status", "conditions"),
        [{"type": "Available", "status": True}],
        "status.conditions[0].status",
    ),
    OddShape(
        "condition-status-missing",
        D,
        ("status", "conditions"),
        [{"type": "Available"}],
        "status.conditions[0].status",
    ),
    OddShape(
        "ready-replicas-a-string", D, ("status", "readyReplicas"), "2", "status.readyReplicas"
    ),
    OddShape("ready-replicas-negative", D, ("status", "readyReplicas"), -2, "status.readyReplicas"),
    OddShape(
        "updated-replicas-a-fraction",
        D,
        ("status", "updatedReplicas"),
        2.5,
        "status.updatedReplicas",
    ),
    OddShape(
        "observed-generation-a-bool",
        D,
        ("status", "observedGeneration"),
        True,
        "status.observedGeneration",
    ),
    OddShape("spec-replicas-an-object", D, ("spec", "replicas"), {"n": 2}, "spec.replicas"),
    OddShape("generation-a-string", D, ("metadata", "generation"), "3", "metadata.generation"),
    OddShape("status-a-list", D, ("status",), [AVAILABLE], "status"),
    OddShape("status-a-string", D, ("status",), "Available", "status"),
    OddShape("metadata-a-string", D, ("metadata",), "deployment", "metadata"),
    OddShape("spec-a-list", D, ("spec",), [2], "spec"),
    OddShape("so-conditions-a-dict", S, ("status", "conditions"), READY, "status.conditions"),
    OddShape(
        "so-condition-entry-null",
        S,
        ("status", "conditions"),
        [None, READY],
        "status.conditions[0]",
    ),
    OddShape(
        "so-condition-status-a-number",
        S,
        ("status", "conditions"),
        [{"type": "Ready", "status": 1}],
        "status.conditions[0].status",
    ),
    OddShape("so-status-a-list", S, ("status",), [READY], "status"),
]


def _by_id(cases: list[OddShape]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


@pytest.mark.parametrize("name", [D, S])
def test_the_unaltered_resources_of_the_table_are_ready(name: str) -> None:
    # Each odd shape changes one field of these; that change alone makes them not ready.
    base = _ready_deployment() if name == D else _ready_operator_resource()

    assert resource_readiness(name, base).ready is True


@pytest.mark.parametrize("case", _by_id(ODD_SHAPES))
def test_a_field_of_the_wrong_shape_makes_the_resource_not_ready_naming_the_field(
    case: OddShape,
) -> None:
    verdict = resource_readiness(case.name, case.observed())

    assert verdict.ready is False
    assert verdict.reason == UNREADABLE
    assert f"{case.named} is " in verdict.message


@pytest.mark.parametrize("case", _by_id(ODD_SHAPES))
def test_the_function_composes_and_marks_the_odd_resource_not_ready(case: OddShape) -> None:
    rsp = _run({case.name: case.observed()})

    assert [r.message for r in rsp.results] == []
    assert set(rsp.desired.resources) == set(names.RESOURCE_NAMES)
    assert rsp.desired.resources[case.name].ready == fnv1.READY_FALSE


@pytest.mark.parametrize(
    "name",
    [names.SERVICE_ACCOUNT, names.SERVICE, names.NETWORK_POLICY, names.SERVICE_MONITOR],
)
def test_resources_ready_by_existence_stay_ready_whatever_their_status(name: str) -> None:
    # Nothing of their status is read, so nothing of it can be unreadable.
    assert resource_readiness(name, {"status": [{"conditions": "?"}], "metadata": 1}).ready is True


@pytest.mark.parametrize(
    ("observed", "reason"),
    [
        pytest.param({}, "DeploymentUnavailable", id="empty"),
        pytest.param({"status": None}, "DeploymentUnavailable", id="status-null"),
        pytest.param(
            {"status": {"conditions": None}}, "DeploymentUnavailable", id="conditions-null"
        ),
        pytest.param(
            {"status": {"conditions": [{"type": "Progressing", "status": "True"}]}},
            "DeploymentUnavailable",
            id="only-other-conditions",
        ),
    ],
)
def test_absent_or_null_fields_are_not_a_shape_problem(observed: Json, reason: str) -> None:
    # Absent and null mean "not written yet", as for a Deployment its controller has not seen.
    verdict = resource_readiness(names.DEPLOYMENT, observed)

    assert (verdict.ready, verdict.reason) == (False, reason)


def test_a_deployment_without_metadata_is_judged_by_its_status() -> None:
    observed = _ready_deployment()
    del observed["metadata"]

    assert resource_readiness(names.DEPLOYMENT, observed).ready is True


def test_the_xr_condition_names_the_unreadable_deployment_field() -> None:
    observed = _ready_deployment()
    observed["status"]["conditions"] = AVAILABLE

    condition = _executor_condition(_run({names.DEPLOYMENT: observed}))

    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert condition.reason == UNREADABLE
    assert condition.message.startswith("deployment: ")
    assert "status.conditions is an object" in condition.message


def test_an_operator_reason_that_is_not_a_string_is_replaced() -> None:
    observed = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": {}}]}}

    verdict = resource_readiness(names.SCALED_OBJECT, observed)

    assert (verdict.ready, verdict.reason) == (False, "NotReady")


@pytest.mark.parametrize(
    "deployment_status",
    [
        pytest.param([], id="status-a-list"),
        pytest.param({"replicas": "2", "readyReplicas": {"n": 1}}, id="counts-not-numbers"),
        pytest.param({"replicas": -1, "readyReplicas": 0.5}, id="counts-not-counts"),
    ],
)
def test_the_xr_status_reports_zero_replicas_it_cannot_read(deployment_status: Json) -> None:
    rsp = compose_response(
        make_request(EVERY_RESOURCE_XR, {names.DEPLOYMENT: {"status": deployment_status}}),
        ComposeCache(),
    )

    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert (status["replicas"], status["readyReplicas"]) == (0, 0)


# --- what counts as a count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count"),
    [
        pytest.param(0, 0, id="zero"),
        pytest.param(3, 3, id="int"),
        pytest.param(3.0, 3, id="integral-float-from-protobuf"),
        pytest.param(-1, None, id="negative"),
        pytest.param(-1.0, None, id="negative-float"),
        pytest.param(2.5, None, id="fraction"),
        pytest.param(float("inf"), None, id="infinity"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param(True, None, id="bool"),
        pytest.param("2", None, id="numeric-string"),
        pytest.param(None, None, id="null"),
        pytest.param([2], None, id="list"),
        pytest.param({"n": 2}, None, id="object"),
    ],
)
def test_only_non_negative_whole_numbers_are_counts(value: Json, count: int | None) -> None:
    assert as_count(value) == count
