"""Bad input is refused with a message that names the field and the reason (DESIGN section 3).

Every refusal is an `Admission` without a spec, and through the function a single
fatal result with no desired resources: never an exception, never a partial state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from functions.agent_executor.admission import admit
from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.function import compose_response

from .xr_helpers import VALID_IMAGE, make_request, make_xr

MISSING = object()  # a spec key to leave out of the base spec


@dataclass(frozen=True)
class BadInput:
    """One refused XR: what changes from a valid one, and what the error line must say."""

    id: str
    path: str
    reason: str
    spec: dict[str, Any] = field(default_factory=dict)
    name: str = "worker"
    namespace: str = "team-a"


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": VALID_IMAGE}
    for key, value in changes.items():
        if value is MISSING:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


DNS_1123 = "lower-case DNS-1123 subdomain"
OCI = "must be an OCI image reference"
NATS_NAME = "no dots, spaces or wildcards"
GE_1 = "greater than or equal to 1"
DNS_1123_LABEL = "must be a DNS-1123 label"

BAD_INPUTS = [
    BadInput("image-upper-case-repo", "spec.image", OCI, _spec(image="ghcr.io/BizMatters/agent:1")),
    BadInput("image-short-digest", "spec.image", OCI, _spec(image="ghcr.io/org/agent@sha256:abc")),
    BadInput("image-space", "spec.image", OCI, _spec(image="ghcr.io/org/agent 1.0")),
    BadInput("image-missing", "spec.image", "is required", _spec(image=MISSING)),
    BadInput("size-unknown", "spec.size", "must be one of 'micro'", _spec(size="huge")),
    BadInput(
        "min-above-max",
        "spec.scaling.minReplicas",
        "must not exceed maxReplicas (3 > 2)",
        _spec(scaling={"minReplicas": 3, "maxReplicas": 2}),
    ),
    BadInput(
        "min-above-default-max",
        "spec.scaling.minReplicas",
        "must not exceed maxReplicas (11 > 10)",
        _spec(scaling={"minReplicas": 11}),
    ),
    BadInput(
        "postgres-secret-name",
        "spec.secrets.postgres",
        DNS_1123,
        _spec(secrets={"postgres": "Bad_Name"}),
    ),
    BadInput(
        "llm-keys-secret-name",
        "spec.secrets.llmKeys",
        DNS_1123,
        _spec(secrets={"llmKeys": "keys!"}),
    ),
    BadInput(
        "nats-secret-name",
        "spec.secrets.nats",
        DNS_1123,
        _spec(secrets={"nats": "NATS_CREDENTIALS"}),
    ),
    BadInput(
        "nats-secret-name-empty",
        "spec.secrets.nats",
        "at least 1 character",
        _spec(secrets={"nats": ""}),
    ),
    BadInput(
        "extra-secret-name",
        "spec.secrets.extra[0]",
        DNS_1123,
        _spec(secrets={"extra": ["Bad_Name"]}),
    ),
    BadInput(
        "image-pull-secret-name",
        "spec.imagePullSecrets[0].name",
        DNS_1123,
        _spec(imagePullSecrets=[{"name": "Bad_Name"}]),
    ),
    BadInput(
        "stream-with-dot", "spec.nats.stream", NATS_NAME, _spec(nats={"stream": "AGENT.JOBS"})
    ),
    BadInput(
        "account-with-dot",
        "spec.nats.account",
        "NATS account name without dots",
        _spec(nats={"account": "team.a"}),
    ),
    BadInput(
        "account-empty",
        "spec.nats.account",
        "NATS account name without dots",
        _spec(nats={"account": ""}),
    ),
    BadInput(
        "consumer-with-space",
        "spec.nats.consumer",
        NATS_NAME,
        _spec(nats={"consumer": "my workers"}),
    ),
    BadInput(
        "nats-url-http", "spec.nats.url", "nats://, tls://", _spec(nats={"url": "http://nats:4222"})
    ),
    BadInput(
        "subject-gt-not-last",
        "spec.nats.subjects[0]",
        "'>' only last",
        _spec(nats={"subjects": ["agent.>.execute"]}),
    ),
    BadInput("nats-replicas-2", "spec.nats.replicas", "1, 3 or 5", _spec(nats={"replicas": 2})),
    BadInput("concurrency-negative", "spec.concurrency", GE_1, _spec(concurrency=-1)),
    BadInput("concurrency-zero", "spec.concurrency", GE_1, _spec(concurrency=0)),
    BadInput(
        "lag-threshold-negative",
        "spec.scaling.lagThreshold",
        GE_1,
        _spec(scaling={"lagThreshold": -1}),
    ),
    BadInput(
        "unknown-field-typo", "spec.sise", "is not a field of AgentExecutor", _spec(sise="small")
    ),
    BadInput("string-for-integer", "spec.concurrency", "valid integer", _spec(concurrency="8")),
    BadInput("bool-for-integer", "spec.concurrency", "valid integer", _spec(concurrency=True)),
    BadInput(
        "float-min-replicas",
        "spec.scaling.minReplicas",
        "valid integer",
        _spec(scaling={"minReplicas": 1.5}),
    ),
    BadInput(
        "env-name-leading-digit",
        "spec.env[0].name",
        "C identifier",
        _spec(env=[{"name": "1BAD", "value": "x"}]),
    ),
    BadInput(
        "env-name-reserved",
        "spec.env[0].name",
        "NATS_URL is set by the platform",
        _spec(env=[{"name": "NATS_URL", "value": "nats://elsewhere:4222"}]),
    ),
    BadInput(
        "requests-cpu-above-limit",
        "spec.resources.requests.cpu",
        "exceeds the limit 2",
        _spec(resources={"requests": {"cpu": "3"}}),
    ),
    BadInput(
        "requests-memory-above-explicit-limit",
        "spec.resources.requests.memory",
        "exceeds the limit 512Mi",
        _spec(resources={"limits": {"memory": "512Mi"}}),
    ),
    BadInput(
        "quantity-negative-string",
        "spec.resources.requests.cpu",
        "non-negative Kubernetes quantity",
        _spec(resources={"requests": {"cpu": "-1"}}),
    ),
    BadInput(
        "quantity-float",
        "spec.resources.limits.memory",
        "integer or a quantity string",
        _spec(resources={"limits": {"memory": 1.5}}),
    ),
    BadInput(
        "scaling-mode-auto",
        "spec.scaling.mode",
        "'keda' or 'fixed'",
        _spec(scaling={"mode": "auto"}),
    ),
    BadInput(
        "allow-from-upper-case",
        "spec.api.allowFrom[1]",
        DNS_1123_LABEL,
        _spec(api={"allowFrom": ["team-b", "Team-C"]}),
    ),
    BadInput(
        "allow-from-with-dot",
        "spec.api.allowFrom[0]",
        DNS_1123_LABEL,
        _spec(api={"allowFrom": ["team.b"]}),
    ),
    BadInput(
        "allow-from-too-long",
        "spec.api.allowFrom[0]",
        "at most 63 characters",
        _spec(api={"allowFrom": ["a" * 64]}),
    ),
    BadInput(
        "allow-from-a-string",
        "spec.api.allowFrom",
        "valid list",
        _spec(api={"allowFrom": "team-b"}),
    ),
    BadInput(
        "allow-from-too-many",
        "spec.api.allowFrom",
        "at most 32 items",
        _spec(api={"allowFrom": [f"team-{i}" for i in range(33)]}),
    ),
    BadInput(
        "token-secret-name",
        "spec.api.tokenSecret",
        DNS_1123,
        _spec(api={"tokenSecret": "API_TOKEN"}),
    ),
    BadInput(
        "monitoring-namespace-underscore",
        "spec.api.monitoringNamespace",
        DNS_1123_LABEL,
        _spec(api={"monitoringNamespace": "kube_prometheus"}),
    ),
    BadInput(
        "api-unknown-field",
        "spec.api.token",
        "is not a field of AgentExecutor",
        _spec(api={"token": "s3cr3t"}),
    ),
    BadInput(
        "env-api-token-reserved",
        "spec.env[0].name",
        "API_TOKEN is set by the platform",
        _spec(env=[{"name": "API_TOKEN", "value": "x"}]),
    ),
    BadInput(
        "env-host-reserved",
        "spec.env[0].name",
        "HOST is set by the platform",
        _spec(env=[{"name": "HOST", "value": "127.0.0.1"}]),
    ),
    *(
        BadInput(
            f"service-monitor-label-{suffix}",
            path,
            reason,
            _spec(serviceMonitor={"labels": labels}),
        )
        for suffix, path, labels, reason in [
            ("key-space", "spec.serviceMonitor.labels", {"my release": "x"}, "must be a label key"),
            ("key-empty", "spec.serviceMonitor.labels", {"": "x"}, "must be a label key"),
            ("key-64", "spec.serviceMonitor.labels", {"a" * 64: "x"}, "must be a label key"),
            (
                "key-bad-prefix",
                "spec.serviceMonitor.labels",
                {"Example.com/team": "x"},
                "prefix before '/'",
            ),
            (
                "key-platform-owned",
                "spec.serviceMonitor.labels",
                {"app.kubernetes.io/name": "x"},
                "set by the platform",
            ),
            (
                "value-space",
                "spec.serviceMonitor.labels.release",
                {"release": "kube prometheus"},
                "must be a label value",
            ),
            (
                "value-64",
                "spec.serviceMonitor.labels.release",
                {"release": "a" * 64},
                "at most 63 characters",
            ),
            (
                "too-many",
                "spec.serviceMonitor.labels",
                {f"k{i}": "v" for i in range(17)},
                "at most 16 items",
            ),
        ]
    ),
    BadInput("xr-name-underscore", "metadata.name", "DNS-1035 label", _spec(), name="Bad_Name"),
    BadInput("xr-name-too-long", "metadata.name", "at most 63 characters", _spec(), name="a" * 64),
    BadInput(
        "xr-name-trailing-newline", "metadata.name", "DNS-1035 label", _spec(), name="worker\n"
    ),
    BadInput("xr-namespace-missing", "metadata.namespace", "is required", _spec(), namespace=""),
    *(
        BadInput(
            f"xr-namespace-{suffix}", "metadata.namespace", reason, _spec(), namespace=namespace
        )
        for suffix, namespace, reason in [
            ("upper-case", "Team-A", DNS_1123_LABEL),
            ("underscore", "team_a", DNS_1123_LABEL),
            ("dot", "team.a", DNS_1123_LABEL),
            ("space", "team a", DNS_1123_LABEL),
            ("leading-dash", "-team", DNS_1123_LABEL),
            ("trailing-dash", "team-", DNS_1123_LABEL),
            ("trailing-newline", "team-a\n", DNS_1123_LABEL),
            ("non-ascii", "équipe", DNS_1123_LABEL),
            ("too-long", "a" * 64, "at most 63 characters"),
        ]
    ),
]


def _by_id(cases: list[BadInput]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


def _line_for(errors: list[str], path: str) -> str:
    matching = [line for line in errors if line.startswith(f"{path}:")]
    assert matching, f"no error line for {path} in {errors}"
    return matching[0]


def _run(xr: dict[str, Any]) -> fnv1.RunFunctionResponse:
    return compose_response(make_request(xr), ComposeCache())


def test_the_table_covers_at_least_eighteen_distinct_fields() -> None:
    assert len({case.path for case in BAD_INPUTS}) >= 18


@pytest.mark.parametrize("case", _by_id(BAD_INPUTS))
def test_admit_refuses_with_a_line_naming_the_field_and_reason(case: BadInput) -> None:
    verdict = admit(case.name, case.namespace, case.spec)

    assert verdict.spec is None
    assert case.reason in _line_for(verdict.errors, case.path)


@pytest.mark.parametrize("case", _by_id(BAD_INPUTS))
def test_function_answers_bad_input_with_one_fatal_result_and_no_resources(
    case: BadInput,
) -> None:
    rsp = _run(make_xr(case.spec, case.name, case.namespace))

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert f"{case.path}:" in rsp.results[0].message
    assert case.reason in rsp.results[0].message
    assert len(rsp.desired.resources) == 0


def test_function_keeps_desired_resources_from_earlier_steps_untouched_on_fatal() -> None:
    req = make_request(make_xr(_spec(size="huge")))
    req.desired.resources["from-earlier-step"].resource.update({"kind": "ConfigMap"})

    rsp = compose_response(req, ComposeCache())

    assert list(rsp.desired.resources) == ["from-earlier-step"]


def test_missing_spec_is_refused_as_a_required_object() -> None:
    rsp = _run(make_xr(None, with_spec=False))

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert "spec: is required and must be an object" in rsp.results[0].message
    assert len(rsp.desired.resources) == 0


@pytest.mark.parametrize("spec", [[], "image: ghcr.io/x:1", 42], ids=["list", "string", "number"])
def test_spec_that_is_not_an_object_is_refused(spec: Any) -> None:
    verdict = admit("worker", "team-a", spec)

    assert verdict.spec is None
    assert verdict.errors == ["spec: is required and must be an object"]


def test_every_invalid_field_gets_its_own_line() -> None:
    spec = _spec(size="huge", concurrency=0, nats={"stream": "a.b"})

    verdict = admit("worker", "team-a", spec)

    assert {line.split(":", 1)[0] for line in verdict.errors} == {
        "spec.size",
        "spec.concurrency",
        "spec.nats.stream",
    }


@pytest.mark.parametrize(
    "namespace",
    [
        pytest.param("team-a", id="letters-and-dash"),
        pytest.param("1team", id="leading-digit"),
        pytest.param("0", id="one-digit"),
        pytest.param("a" * 63, id="63-characters"),
    ],
)
def test_namespaces_that_are_dns_1123_labels_are_admitted(namespace: str) -> None:
    # A label may start with a digit, unlike the name's DNS-1035 label.
    verdict = admit("worker", namespace, _spec())

    assert verdict.errors == []
    assert verdict.spec is not None


@pytest.mark.parametrize(
    "namespace",
    [5, ["team-a"], {"name": "team-a"}, True],
    ids=["number", "list", "object", "bool"],
)
def test_a_namespace_that_is_not_a_string_is_a_fatal_result_naming_it(namespace: Any) -> None:
    xr = make_xr(_spec())
    xr["metadata"]["namespace"] = namespace

    rsp = _run(xr)

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert f"metadata.namespace: {DNS_1123_LABEL}" in rsp.results[0].message
    assert len(rsp.desired.resources) == 0


def test_bad_metadata_and_bad_spec_are_reported_together() -> None:
    verdict = admit("Bad_Name", "", _spec(size="huge"))

    assert [line.split(":", 1)[0] for line in verdict.errors] == [
        "metadata.name",
        "metadata.namespace",
        "spec.size",
    ]


def test_integral_floats_from_protobuf_are_accepted_as_integers() -> None:
    # protobuf's Struct carries every number as a double: `concurrency: 4` arrives as 4.0.
    verdict = admit("worker", "team-a", _spec(concurrency=4.0, scaling={"maxReplicas": 3.0}))

    assert verdict.errors == []
    assert verdict.spec is not None
    assert verdict.spec.concurrency == 4


def test_quantity_with_fractional_exponent_is_refused_not_raised() -> None:
    verdict = admit("worker", "team-a", _spec(resources={"requests": {"cpu": "1e1.5"}}))

    assert verdict.spec is None
    assert "quantity" in _line_for(verdict.errors, "spec.resources.requests.cpu")


def test_negative_integer_quantity_is_refused() -> None:
    verdict = admit("worker", "team-a", _spec(resources={"requests": {"cpu": -1}}))

    assert verdict.spec is None
    assert "non-negative" in _line_for(verdict.errors, "spec.resources.requests.cpu")


@pytest.mark.parametrize(
    "url",
    [
        "nats://nats.nats.svc:99999",
        "nats://nats.nats.svc:abc",
        "nats://a.svc:4222,nats://b.svc:70000",
    ],
)
def test_nats_url_with_a_bad_port_is_a_fatal_result_naming_the_field(url: str) -> None:
    rsp = _run(make_xr(_spec(nats={"url": url})))

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert "spec.nats.url:" in rsp.results[0].message
    assert len(rsp.desired.resources) == 0


@pytest.mark.parametrize("endpoint", ["nats-headless:0", "nats-headless:65536"])
def test_monitoring_endpoint_with_a_port_out_of_range_is_refused(endpoint: str) -> None:
    verdict = admit("worker", "team-a", _spec(nats={"monitoringEndpoint": endpoint}))

    assert verdict.spec is None
    assert "outside 1-65535" in _line_for(verdict.errors, "spec.nats.monitoringEndpoint")


def test_nats_url_with_port_zero_is_refused() -> None:
    verdict = admit("worker", "team-a", _spec(nats={"url": "nats://nats.nats.svc:0"}))

    assert verdict.spec is None
    assert "outside 1-65535" in _line_for(verdict.errors, "spec.nats.url")


# --- warnings about mutable image references ------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/bizmatters/agent-executor:latest",
        "ghcr.io/bizmatters/agent-executor",
        "registry.internal:5000/agents/executor",
        "registry.internal:5000/agents/executor:latest",
    ],
)
def test_unpinned_image_is_admitted_with_a_warning_about_spec_image(image: str) -> None:
    verdict = admit("worker", "team-a", _spec(image=image))

    assert verdict.spec is not None
    assert len(verdict.warnings) == 1
    assert verdict.warnings[0].startswith("spec.image:")


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/bizmatters/agent-executor:0.1.0",
        "registry.internal:5000/agents/executor:1.4.2",
        "ghcr.io/bizmatters/agent-executor@sha256:" + "ab" * 32,
        "ghcr.io/bizmatters/agent-executor:latest@sha256:" + "ab" * 32,
    ],
)
def test_pinned_tag_or_digest_gives_no_warning(image: str) -> None:
    verdict = admit("worker", "team-a", _spec(image=image))

    assert verdict.spec is not None
    assert verdict.warnings == []


def test_function_reports_the_image_warning_and_still_composes() -> None:
    rsp = _run(make_xr(_spec(image="ghcr.io/bizmatters/agent-executor:latest")))

    warnings = [r for r in rsp.results if r.severity == fnv1.SEVERITY_WARNING]
    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_WARNING]
    assert warnings[0].message.startswith("spec.image:")
    assert "deployment" in rsp.desired.resources


# --- env values may hold credentials: never repeat them ---------------------------------------

SECRET = "sk-live-DoNotEcho-8f3a9c"

ENV_LEAKS = [
    pytest.param([{"name": "NATS_URL", "value": SECRET}], id="reserved-name"),
    pytest.param([{"name": "1BAD", "value": SECRET}], id="bad-name"),
    pytest.param([{"name": "OK", "value": SECRET * 2000}], id="value-too-long"),
    pytest.param([{"name": "OK", "value": [SECRET]}], id="value-is-a-list"),
    pytest.param([{"name": "OK", "value": {"from": SECRET}}], id="value-is-an-object"),
    pytest.param([{"name": "OK", "value": SECRET, "valueFrom": {}}], id="unknown-key"),
    pytest.param([{"value": SECRET}], id="name-missing"),
]


@pytest.mark.parametrize("env", ENV_LEAKS)
def test_env_values_are_never_echoed_by_admit(env: list[Any]) -> None:
    verdict = admit("worker", "team-a", _spec(env=env))

    assert verdict.spec is None
    assert verdict.errors
    assert not any(SECRET in line for line in verdict.errors)


@pytest.mark.parametrize("env", ENV_LEAKS)
def test_env_values_are_never_echoed_in_the_fatal_result(env: list[Any]) -> None:
    rsp = _run(make_xr(_spec(env=env)))

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert SECRET not in rsp.results[0].message


def test_env_values_are_not_echoed_when_another_field_is_wrong() -> None:
    verdict = admit(
        "worker", "team-a", _spec(size="huge", env=[{"name": "TOKEN", "value": SECRET}])
    )

    assert verdict.spec is None
    assert not any(SECRET in line for line in verdict.errors)


@pytest.mark.parametrize(
    "env",
    [
        pytest.param([f"OPENAI_TOKEN={SECRET}"], id="list-of-key-equals-value"),
        pytest.param({"OPENAI_TOKEN": SECRET}, id="mapping"),
    ],
)
def test_env_values_written_compose_style_are_never_echoed(env: Any) -> None:
    verdict = admit("worker", "team-a", _spec(env=env))

    assert verdict.spec is None
    assert not any(SECRET in line for line in verdict.errors)


@pytest.mark.parametrize(
    "token_secret",
    [
        pytest.param(SECRET, id="token-pasted-as-the-name"),
        pytest.param([SECRET], id="a-list"),
        pytest.param({"API_TOKEN": SECRET}, id="a-mapping"),
    ],
)
def test_a_refused_token_secret_is_never_echoed(token_secret: Any) -> None:
    rsp = _run(make_xr(_spec(api={"tokenSecret": token_secret})))

    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert "spec.api.tokenSecret:" in rsp.results[0].message
    assert SECRET not in rsp.results[0].message
