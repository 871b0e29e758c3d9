"""Behaviour of each pure builder and of readiness, as DESIGN section 3 describes them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from contract import env, runtime
from functions.agent_executor import names
from functions.agent_executor.builders.deployment import build_deployment
from functions.agent_executor.builders.nats_jetstream import build_consumer, build_stream
from functions.agent_executor.builders.network_policy import build_network_policy
from functions.agent_executor.builders.pod_disruption_budget import build_pod_disruption_budget
from functions.agent_executor.builders.scaled_object import build_scaled_object
from functions.agent_executor.builders.service import build_service
from functions.agent_executor.builders.service_account import build_service_account
from functions.agent_executor.builders.service_monitor import build_service_monitor
from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.compose import Builder, desired_resources
from functions.agent_executor.function import compose_response
from functions.agent_executor.names import Workload
from functions.agent_executor.readiness import CONDITION_TYPE, resource_readiness
from functions.agent_executor.spec import AgentExecutorSpec

from .xr_helpers import (
    WORKLOAD,
    admitted,
    fixture_names,
    load_observed,
    load_xr,
    make_request,
    make_xr,
    spec_with,
)

ALL_BUILDERS: dict[str, Builder] = {
    names.SERVICE_ACCOUNT: build_service_account,
    names.DEPLOYMENT: build_deployment,
    names.SERVICE: build_service,
    names.SCALED_OBJECT: build_scaled_object,
    names.POD_DISRUPTION_BUDGET: build_pod_disruption_budget,
    names.NETWORK_POLICY: build_network_policy,
    names.SERVICE_MONITOR: build_service_monitor,
    names.NATS_STREAM: build_stream,
    names.NATS_CONSUMER: build_consumer,
}
CONTRACT_ENV = [
    "NATS_URL",
    "NATS_STREAM_NAME",
    "NATS_CONSUMER_GROUP",
    "HOST",
    "PORT",
    "WORKER_CONCURRENCY",
    "OTEL_SERVICE_NAME",
]
POSTGRES_KEYS = [
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
]
LLM_KEYS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
NATS_KEYS = ["NATS_USER", "NATS_PASSWORD"]


def _fixture(stem: str) -> tuple[Workload, AgentExecutorSpec]:
    xr = load_xr(stem)
    meta = xr["metadata"]
    return Workload(meta["name"], meta["namespace"]), admitted(xr["spec"])


def _pod(spec: AgentExecutorSpec, workload: Workload = WORKLOAD) -> dict[str, Any]:
    pod: dict[str, Any] = build_deployment(workload, spec)["spec"]["template"]["spec"]
    return pod


def _containers(spec: AgentExecutorSpec) -> dict[str, dict[str, Any]]:
    pod = _pod(spec)
    return {c["name"]: c for c in [*pod.get("initContainers", []), *pod["containers"]]}


def _main(spec: AgentExecutorSpec) -> dict[str, Any]:
    return _containers(spec)[names.CONTAINER]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def _secret_ref(var: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = var["valueFrom"]["secretKeyRef"]
    return ref


def _pod_containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a Deployment's or CronJob's pod; none for other kinds."""
    if manifest["kind"] == "Deployment":
        pod = manifest["spec"]["template"]["spec"]
    elif manifest["kind"] == "CronJob":
        pod = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        return []
    return [*pod.get("initContainers", []), *pod["containers"]]


def _composed_keys(spec: AgentExecutorSpec) -> set[str]:
    return set(desired_resources(WORKLOAD, spec))


# --- ServiceAccount and Service ----------------------------------------------------------------


def test_service_account_does_not_automount_a_token() -> None:
    manifest = build_service_account(WORKLOAD, spec_with())

    assert manifest["kind"] == "ServiceAccount"
    assert manifest["automountServiceAccountToken"] is False


def test_service_account_carries_the_image_pull_secrets() -> None:
    spec = spec_with(imagePullSecrets=[{"name": "ghcr"}, {"name": "internal"}])

    manifest = build_service_account(WORKLOAD, spec)

    assert manifest["imagePullSecrets"] == [{"name": "ghcr"}, {"name": "internal"}]


def test_service_exposes_port_8080_named_http_to_the_worker_pods() -> None:
    manifest = build_service(WORKLOAD, spec_with())

    assert manifest["spec"]["ports"] == [
        {
            "name": "http",
            "port": 8080,
            "targetPort": "http",
            "protocol": "TCP",
            "appProtocol": "http",
        }
    ]
    assert manifest["spec"]["selector"] == WORKLOAD.selector_labels()


# --- Deployment: Pod Security "restricted" -----------------------------------------------------


@pytest.mark.parametrize("container", [names.CONTAINER, names.INIT_CONTAINER])
def test_container_meets_pod_security_restricted(container: str) -> None:
    context = _containers(spec_with())[container]["securityContext"]

    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("container", [names.CONTAINER, names.INIT_CONTAINER])
def test_container_gets_a_writable_tmp_from_an_empty_dir(container: str) -> None:
    pod = _pod(spec_with())
    mounts = {
        m["mountPath"]: m["name"] for m in _containers(spec_with())[container]["volumeMounts"]
    }
    volumes = {v["name"]: v for v in pod["volumes"]}

    assert "/tmp" in mounts
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_pod_runs_as_non_root_with_runtime_default_seccomp() -> None:
    context = _pod(spec_with())["securityContext"]

    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pod_uses_the_service_account_without_a_token() -> None:
    pod = _pod(spec_with())

    assert pod["serviceAccountName"] == WORKLOAD.name
    assert pod["automountServiceAccountToken"] is False


def test_pod_allows_time_to_drain_in_flight_executions() -> None:
    pod = _pod(spec_with())
    shutdown = _env(_main(spec_with()))["SHUTDOWN_TIMEOUT_SECONDS"]["value"]

    assert pod["terminationGracePeriodSeconds"] >= 60
    assert int(shutdown) < pod["terminationGracePeriodSeconds"]


def test_pod_template_has_prometheus_scrape_annotations() -> None:
    template = build_deployment(WORKLOAD, spec_with())["spec"]["template"]

    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }


def test_pod_spreads_over_zones_and_hosts_by_its_selector() -> None:
    spread = _pod(spec_with())["topologySpreadConstraints"]

    assert {c["topologyKey"] for c in spread} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert all(c["labelSelector"]["matchLabels"] == WORKLOAD.selector_labels() for c in spread)


def test_main_container_serves_http_8080_with_health_ready_and_startup_probes() -> None:
    main = _main(spec_with())

    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert "httpGet" in main["startupProbe"]


# --- Deployment: environment -------------------------------------------------------------------


def test_env_starts_with_the_contract_variables_in_order() -> None:
    names_in_order = [e["name"] for e in _main(spec_with())["env"]]

    assert names_in_order[: len(CONTRACT_ENV)] == CONTRACT_ENV


def test_contract_env_values_come_from_the_spec() -> None:
    spec = spec_with(
        nats={"url": "tls://n1.nats.svc:4222", "stream": "JOBS", "consumer": "w"}, concurrency=3
    )

    env = _env(_main(spec))

    assert {k: env[k]["value"] for k in CONTRACT_ENV} == {
        "NATS_URL": "tls://n1.nats.svc:4222",
        "NATS_STREAM_NAME": "JOBS",
        "NATS_CONSUMER_GROUP": "w",
        "HOST": "0.0.0.0",
        "PORT": "8080",
        "WORKER_CONCURRENCY": "3",
        "OTEL_SERVICE_NAME": WORKLOAD.name,
    }


def test_secret_keys_follow_the_contract_variables() -> None:
    names_in_order = [e["name"] for e in _main(spec_with())["env"]]
    secret_vars = [
        e["name"] for e in _main(spec_with())["env"] if "secretKeyRef" in e.get("valueFrom", {})
    ]

    assert names_in_order.index(POSTGRES_KEYS[0]) > names_in_order.index(CONTRACT_ENV[-1])
    assert secret_vars == [
        *POSTGRES_KEYS,
        *env.POSTGRES_TLS_KEYS,
        "DRAGONFLY_HOST",
        "DRAGONFLY_PORT",
        "DRAGONFLY_PASSWORD",
        *env.DRAGONFLY_TLS_KEYS,
        *LLM_KEYS,
        *NATS_KEYS,
    ]


@pytest.mark.parametrize(
    ("keys", "secret_field", "secret_name"),
    [
        (POSTGRES_KEYS, "postgres", "pg-conn"),
        (["DRAGONFLY_HOST", "DRAGONFLY_PORT", "DRAGONFLY_PASSWORD"], "dragonfly", "df-conn"),
        (LLM_KEYS, "llmKeys", "my-llm-keys"),
        (NATS_KEYS, "nats", "team-a-nats"),
    ],
)
def test_secret_keys_are_mapped_by_secret_key_ref_to_the_configured_secret(
    keys: list[str], secret_field: str, secret_name: str
) -> None:
    env = _env(_main(spec_with(secrets={secret_field: secret_name})))

    for key in keys:
        assert _secret_ref(env[key])["name"] == secret_name
        assert _secret_ref(env[key])["key"] == key


def test_llm_keys_are_optional() -> None:
    env = _env(_main(spec_with()))

    assert all(_secret_ref(env[key]).get("optional") is True for key in LLM_KEYS)


@pytest.mark.parametrize(
    ("keys", "secret_name"),
    [
        (POSTGRES_KEYS, "postgres-connection"),
        (["DRAGONFLY_HOST", "DRAGONFLY_PORT", "DRAGONFLY_PASSWORD"], "dragonfly-connection"),
        (LLM_KEYS, "llm-keys"),
        (NATS_KEYS, "nats-credentials"),
    ],
)
def test_secret_keys_come_from_the_default_secret_names(keys: list[str], secret_name: str) -> None:
    env = _env(_main(spec_with()))

    assert {_secret_ref(env[key])["name"] for key in keys} == {secret_name}


def test_nats_credentials_are_required_so_a_missing_secret_stops_the_pod() -> None:
    # The platform's NATS admits no anonymous client: without them the worker never runs,
    # and the pod should say so (CreateContainerConfigError naming the Secret).
    env = _env(_main(spec_with()))

    assert all("optional" not in _secret_ref(env[key]) for key in NATS_KEYS)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"secrets": {"nats": "team-a-nats"}}, id="explicit-secret"),
        pytest.param({"retention": {"enabled": True}}, id="with-retention"),
    ],
)
def test_only_the_worker_container_gets_the_nats_credentials(spec: dict[str, Any]) -> None:
    # run-migrations and prune never talk to NATS.
    admitted_spec = spec_with(**spec)
    others = [
        c
        for key, manifest in desired_resources(WORKLOAD, admitted_spec).items()
        for c in _pod_containers(manifest)
        if not (key == names.DEPLOYMENT and c["name"] == names.CONTAINER)
    ]

    assert others
    assert all(not {e["name"] for e in c.get("env", [])} & set(NATS_KEYS) for c in others)


def test_database_and_dragonfly_connection_keys_are_required() -> None:
    env = _env(_main(spec_with()))

    required = [*POSTGRES_KEYS, "DRAGONFLY_HOST", "DRAGONFLY_PORT"]
    assert all(not _secret_ref(env[key]).get("optional", False) for key in required)


def test_tenant_env_comes_after_the_platform_env_with_its_values() -> None:
    spec = spec_with(env=[{"name": "LOG_LEVEL", "value": "debug"}, {"name": "EMPTY"}])

    env = _main(spec)["env"]

    assert env[-2:] == [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "EMPTY", "value": ""}]


def test_extra_secrets_become_env_from_and_are_absent_otherwise() -> None:
    with_extra = _main(spec_with(secrets={"extra": ["tools", "more"]}))

    assert with_extra["envFrom"] == [
        {"secretRef": {"name": "tools"}},
        {"secretRef": {"name": "more"}},
    ]
    assert "envFrom" not in _main(spec_with())


# --- Deployment: migrations --------------------------------------------------------------------


def test_migrations_init_container_is_present_by_default() -> None:
    pod = _pod(spec_with())

    assert [c["name"] for c in pod["initContainers"]] == ["run-migrations"]


def test_migrations_init_container_is_absent_when_disabled() -> None:
    assert "initContainers" not in _pod(spec_with(migrations={"enabled": False}))


def test_migrations_use_the_worker_image_and_the_database_env() -> None:
    spec = spec_with(
        secrets={"postgres": "pg-conn"}, migrations={"command": ["/bin/migrate", "-v"]}
    )

    containers = _containers(spec)
    init = containers[names.INIT_CONTAINER]

    assert init["image"] == containers[names.CONTAINER]["image"] == spec.image
    assert init["command"] == ["/bin/migrate", "-v"]
    database = [*POSTGRES_KEYS, *env.POSTGRES_TLS_KEYS]
    assert [e["name"] for e in init["env"]] == database
    assert init["env"] == [_env(containers[names.CONTAINER])[k] for k in database]


# --- Scaling modes and ScaledObject ------------------------------------------------------------


def test_keda_mode_leaves_replicas_to_the_autoscaler() -> None:
    deployment = build_deployment(WORKLOAD, spec_with(scaling={"minReplicas": 2}))

    assert "replicas" not in deployment["spec"]


def test_fixed_mode_sets_replicas_to_min_replicas() -> None:
    spec = spec_with(scaling={"mode": "fixed", "minReplicas": 3})

    assert build_deployment(WORKLOAD, spec)["spec"]["replicas"] == 3


def test_fixed_mode_composes_no_scaled_object() -> None:
    spec = spec_with(scaling={"mode": "fixed", "minReplicas": 3})

    assert names.SCALED_OBJECT not in _composed_keys(spec)


def test_keda_mode_composes_a_scaled_object() -> None:
    assert names.SCALED_OBJECT in _composed_keys(spec_with())


def test_scaled_object_targets_the_deployment_with_a_nats_jetstream_trigger() -> None:
    spec = spec_with(
        nats={"stream": "JOBS", "consumer": "w"},
        scaling={"minReplicas": 0, "maxReplicas": 7, "lagThreshold": 4},
    )

    scaled = build_scaled_object(WORKLOAD, spec)

    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["name"] == "worker-scaler"
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "worker",
    }
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (0, 7)
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "nats-jetstream"
    assert trigger["metadata"]["stream"] == "JOBS"
    assert trigger["metadata"]["consumer"] == "w"
    assert trigger["metadata"]["lagThreshold"] == "4"


@pytest.mark.parametrize(
    ("nats", "namespace", "account"),
    [
        pytest.param({}, "team-a", "team-a", id="unset-is-the-namespace"),
        pytest.param({}, "intelligence-deepagents", "intelligence-deepagents", id="other-ns"),
        pytest.param({"account": "ACC"}, "team-a", "ACC", id="explicit-account"),
    ],
)
def test_scaled_object_trigger_account_is_the_spec_account_else_the_tenant_namespace(
    nats: dict[str, Any], namespace: str, account: str
) -> None:
    scaled = build_scaled_object(Workload("worker", namespace), spec_with(nats=nats))

    assert scaled["spec"]["triggers"][0]["metadata"]["account"] == account


def test_scaled_object_reads_the_monitoring_endpoint_without_credentials() -> None:
    # The monitoring port takes no credentials: no TriggerAuthentication, nothing secret.
    scaled = build_scaled_object(WORKLOAD, spec_with())

    [trigger] = scaled["spec"]["triggers"]
    assert "authenticationRef" not in trigger
    assert set(trigger["metadata"]) == {
        "natsServerMonitoringEndpoint",
        "account",
        "stream",
        "consumer",
        "lagThreshold",
        "activationLagThreshold",
        "useHttps",
    }
    assert not {"TriggerAuthentication", "ClusterTriggerAuthentication"} & {
        m["kind"] for m in desired_resources(WORKLOAD, spec_with()).values()
    }


def test_scaled_object_trigger_metadata_is_all_strings() -> None:
    scaled = build_scaled_object(WORKLOAD, spec_with())

    metadata = scaled["spec"]["triggers"][0]["metadata"]
    assert metadata
    assert all(isinstance(value, str) for value in metadata.values())


# --- PodDisruptionBudget -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scaling", "pdb", "composed"),
    [
        pytest.param({}, {}, True, id="default-max-10"),
        pytest.param({"maxReplicas": 2}, {}, True, id="max-2"),
        pytest.param({"maxReplicas": 1}, {}, False, id="max-1"),
        pytest.param({"maxReplicas": 1}, {"enabled": True}, True, id="max-1-explicitly-on"),
        pytest.param({"maxReplicas": 5}, {"enabled": False}, False, id="max-5-explicitly-off"),
    ],
)
def test_pod_disruption_budget_by_default_only_when_more_than_one_replica(
    scaling: dict[str, Any], pdb: dict[str, Any], composed: bool
) -> None:
    spec = spec_with(scaling=scaling, podDisruptionBudget=pdb)

    assert (names.POD_DISRUPTION_BUDGET in _composed_keys(spec)) is composed


@pytest.mark.parametrize(("min_replicas", "composed"), [(1, False), (3, True)])
def test_fixed_mode_pod_disruption_budget_follows_the_fixed_replica_count(
    min_replicas: int, composed: bool
) -> None:
    # In fixed mode minReplicas pods run, whatever maxReplicas says.
    spec = spec_with(scaling={"mode": "fixed", "minReplicas": min_replicas, "maxReplicas": 10})

    assert (names.POD_DISRUPTION_BUDGET in _composed_keys(spec)) is composed


def test_pod_disruption_budget_lets_one_pod_go_at_a_time() -> None:
    pdb = build_pod_disruption_budget(WORKLOAD, spec_with())

    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == WORKLOAD.selector_labels()


# --- NetworkPolicy -----------------------------------------------------------------------------


def _egress(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = build_network_policy(WORKLOAD, spec)["spec"]["egress"]
    return rules


def _ports(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for p in rule["ports"]}


def _rule_with_port(rules: list[dict[str, Any]], port: int) -> dict[str, Any]:
    return next(r for r in rules if any(p["port"] == port for p in r["ports"]))


def test_network_policy_allows_dns_on_port_53_anywhere() -> None:
    dns = _rule_with_port(_egress(spec_with()), 53)

    assert {("UDP", 53), ("TCP", 53)} <= _ports(dns)
    assert "to" not in dns


def test_network_policy_allows_nats_in_the_namespace_named_by_the_url() -> None:
    nats = _rule_with_port(_egress(spec_with(nats={"url": "nats://nats.nats.svc:4222"})), 4222)

    assert nats["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}}}
    ]


def test_network_policy_allows_each_nats_server_of_a_url_list() -> None:
    url = "tls://n-0.messaging.svc.cluster.local:4223,tls://n-1.queues.svc:4224"

    rules = _egress(spec_with(nats={"url": url}))

    selectors = {
        port: _rule_with_port(rules, port)["to"][0]["namespaceSelector"]["matchLabels"]
        for port in (4223, 4224)
    }
    assert selectors == {
        4223: {"kubernetes.io/metadata.name": "messaging"},
        4224: {"kubernetes.io/metadata.name": "queues"},
    }


def test_network_policy_allows_the_own_namespaces_database_and_cache_pods_by_label() -> None:
    postgres = _rule_with_port(_egress(spec_with()), 5432)
    dragonfly = _rule_with_port(_egress(spec_with()), 6379)

    # A pod selector without a namespace selector: only pods of the executor's namespace,
    # and only those a PostgresInstance or DragonflyInstance labels.
    assert _ports(postgres) == {("TCP", 5432)}
    assert postgres["to"] == [
        {"podSelector": {"matchLabels": {"platform.bizmatters.io/store": "postgres"}}}
    ]
    assert _ports(dragonfly) == {("TCP", 6379)}
    assert dragonfly["to"] == [
        {"podSelector": {"matchLabels": {"platform.bizmatters.io/store": "dragonfly"}}}
    ]


def test_network_policy_allows_the_external_stores_the_claim_lists() -> None:
    spec = spec_with(
        networkPolicy={
            "externalStores": [
                {"cidr": "10.20.0.0/16"},
                {"cidr": "fd00:10::/64", "ports": [6380, 6380, 5433]},
            ]
        }
    )
    blocks = [r for r in _egress(spec) if any("ipBlock" in peer for peer in r.get("to", []))]

    assert [(r["to"], _ports(r)) for r in blocks] == [
        ([{"ipBlock": {"cidr": "10.20.0.0/16"}}], {("TCP", 5432), ("TCP", 6379)}),
        ([{"ipBlock": {"cidr": "fd00:10::/64"}}], {("TCP", 6380), ("TCP", 5433)}),
    ]
    assert [len(r["ports"]) for r in blocks] == [2, 2], "a port listed twice is opened once"


def test_no_external_store_is_reachable_unless_listed() -> None:
    assert not [r for r in _egress(spec_with()) if "ipBlock" in str(r)]


def test_network_policy_allows_https_for_llm_apis() -> None:
    https = _rule_with_port(_egress(spec_with()), 443)

    assert _ports(https) == {("TCP", 443)}


def test_network_policy_admits_ingress_on_8080_only() -> None:
    # Who may call is in test_api_access.py; here only that nothing else is open.
    policy = build_network_policy(WORKLOAD, spec_with())["spec"]

    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert [rule["ports"] for rule in policy["ingress"]] == [[{"port": 8080, "protocol": "TCP"}]]


def test_network_policy_is_composed_unless_disabled() -> None:
    assert names.NETWORK_POLICY in _composed_keys(spec_with())
    assert names.NETWORK_POLICY not in _composed_keys(spec_with(networkPolicy={"enabled": False}))


# --- ServiceMonitor ----------------------------------------------------------------------------


def test_service_monitor_is_composed_by_default_and_can_be_turned_off() -> None:
    assert names.SERVICE_MONITOR in _composed_keys(spec_with())
    assert names.SERVICE_MONITOR not in _composed_keys(spec_with(serviceMonitor={"enabled": False}))


def test_service_monitor_scrapes_metrics_on_the_http_port() -> None:
    monitor = build_service_monitor(WORKLOAD, spec_with())

    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}


def test_service_monitor_names_every_executor_job_agent_executor() -> None:
    # The Service's component label becomes `job`, the one selector of the worker alerts.
    monitor = build_service_monitor(WORKLOAD, spec_with())
    service = build_service(WORKLOAD, spec_with())

    job_label = monitor["spec"]["jobLabel"]
    assert service["metadata"]["labels"][job_label] == "agent-executor"


@pytest.mark.parametrize(
    ("service_monitor", "selector_labels"),
    [
        pytest.param({}, {"release": "kube-prometheus-stack"}, id="default"),
        pytest.param(
            {"labels": {"prometheus": "platform"}}, {"prometheus": "platform"}, id="replaced"
        ),
        pytest.param(
            {"labels": {"release": "monitoring", "example.com/team": "ai"}},
            {"release": "monitoring", "example.com/team": "ai"},
            id="several",
        ),
        pytest.param({"labels": {}}, {}, id="none"),
    ],
)
def test_service_monitor_carries_the_labels_prometheus_selects(
    service_monitor: dict[str, Any], selector_labels: dict[str, str]
) -> None:
    monitor = build_service_monitor(WORKLOAD, spec_with(serviceMonitor=service_monitor))

    assert monitor["metadata"]["labels"] == {**selector_labels, **WORKLOAD.labels()}


# --- NACK Stream and Consumer ------------------------------------------------------------------


def test_nack_stream_and_consumer_are_composed_only_with_manage_stream() -> None:
    managed = _composed_keys(
        spec_with(nats={"manageStream": True, "stream": "JOBS", "subjects": ["jobs.>"]})
    )

    assert {names.NATS_STREAM, names.NATS_CONSUMER} <= managed
    assert not {names.NATS_STREAM, names.NATS_CONSUMER} & _composed_keys(spec_with())


def test_nack_stream_is_a_file_backed_work_queue_with_the_spec_subjects() -> None:
    spec = spec_with(nats={"manageStream": True, "stream": "JOBS", "subjects": ["jobs.>"]})

    stream = build_stream(WORKLOAD, spec)

    assert stream["apiVersion"] == "jetstream.nats.io/v1beta2"
    assert stream["kind"] == "Stream"
    assert stream["spec"]["name"] == "JOBS"
    assert stream["spec"]["subjects"] == ["jobs.>"]
    assert stream["spec"]["storage"] == "file"
    assert stream["spec"]["retention"] == "workqueue"


def test_nack_consumer_acks_explicitly_with_an_ack_wait_and_the_spec_max_deliver() -> None:
    spec = spec_with(
        nats={
            "manageStream": True,
            "stream": "JOBS",
            "subjects": ["jobs.>"],
            "consumer": "w",
            "maxDeliver": 9,
        }
    )

    consumer = build_consumer(WORKLOAD, spec)["spec"]

    assert consumer["streamName"] == "JOBS"
    assert consumer["durableName"] == "w"
    assert consumer["ackPolicy"] == "explicit"
    assert consumer["ackWait"]
    assert consumer["ackWait"] != "1ns"
    assert consumer["maxDeliver"] == 9


MANAGED_NATS = {"manageStream": True, "stream": "JOBS", "subjects": ["jobs.>"]}


@pytest.mark.parametrize("build", [build_stream, build_consumer], ids=["stream", "consumer"])
@pytest.mark.parametrize(
    "nats",
    [
        pytest.param({}, id="default-account"),
        pytest.param({"account": "ACC"}, id="explicit-account"),
        pytest.param({"url": "nats://a.n.svc:4222,nats://b.n.svc:4222"}, id="url-list"),
    ],
)
def test_nack_objects_live_in_the_tenant_account_through_its_nack_account_resource(
    build: Builder, nats: dict[str, Any]
) -> None:
    # NACK connects with the namespace's Account resource (servers and credentials);
    # per-object servers would replace or add to the Account's, so there are none.
    manifest = build(WORKLOAD, spec_with(nats={**MANAGED_NATS, **nats}))

    assert manifest["spec"]["account"] == "nats-account"
    assert "servers" not in manifest["spec"]


# --- Resources: size table and explicit overrides ----------------------------------------------


@pytest.mark.parametrize(
    ("size", "requests", "limits"),
    [
        ("micro", {"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "1Gi"}),
        ("small", {"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "2Gi"}),
        ("medium", {"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "4Gi"}),
        ("large", {"cpu": "1", "memory": "2Gi"}, {"cpu": "4", "memory": "8Gi"}),
    ],
)
def test_size_sets_requests_and_limits_from_the_table(
    size: str, requests: dict[str, str], limits: dict[str, str]
) -> None:
    resources = _main(spec_with(size=size))["resources"]

    assert resources == {"requests": requests, "limits": limits}


def test_default_size_is_medium() -> None:
    assert _main(spec_with())["resources"] == _main(spec_with(size="medium"))["resources"]


def test_explicit_resources_override_only_the_given_keys() -> None:
    spec = spec_with(
        size="large", resources={"requests": {"cpu": "1500m"}, "limits": {"memory": "12Gi"}}
    )

    resources = _main(spec)["resources"]

    assert resources == {
        "requests": {"cpu": "1500m", "memory": "2Gi"},
        "limits": {"cpu": "4", "memory": "12Gi"},
    }


def test_integer_resource_override_becomes_a_quantity_string() -> None:
    resources = _main(spec_with(resources={"limits": {"cpu": 3}}))["resources"]

    assert resources["limits"]["cpu"] == "3"


# --- Every composed resource: labels, namespace, names, determinism ---------------------------

FULL_SPEC: dict[str, Any] = {
    "image": "ghcr.io/bizmatters/agent-executor:0.1.0",
    "nats": {"manageStream": True, "stream": "JOBS", "subjects": ["jobs.>"]},
    "serviceMonitor": {"labels": {}},
}


@pytest.mark.parametrize("key", list(ALL_BUILDERS))
def test_every_builder_sets_the_recommended_labels_and_the_xr_namespace(key: str) -> None:
    workload = Workload("research", "intelligence-deepagents")

    manifest = ALL_BUILDERS[key](workload, admitted(FULL_SPEC))

    assert manifest["metadata"]["namespace"] == "intelligence-deepagents"
    # The ServiceMonitor also carries serviceMonitor.labels, which FULL_SPEC empties.
    assert manifest["metadata"]["labels"] == {
        "app.kubernetes.io/name": "agent-executor",
        "app.kubernetes.io/instance": "research",
        "app.kubernetes.io/component": "agent-executor",
        "app.kubernetes.io/part-of": "agentplane",
        "app.kubernetes.io/managed-by": "crossplane",
    }


@pytest.mark.parametrize(
    ("key", "kind", "name"),
    [
        (names.SERVICE_ACCOUNT, "ServiceAccount", "worker"),
        (names.DEPLOYMENT, "Deployment", "worker"),
        (names.SERVICE, "Service", "worker"),
        (names.SCALED_OBJECT, "ScaledObject", "worker-scaler"),
        (names.POD_DISRUPTION_BUDGET, "PodDisruptionBudget", "worker"),
        (names.NETWORK_POLICY, "NetworkPolicy", "worker"),
        (names.SERVICE_MONITOR, "ServiceMonitor", "worker"),
        (names.NATS_STREAM, "Stream", "worker-stream"),
        (names.NATS_CONSUMER, "Consumer", "worker-consumer"),
    ],
)
def test_each_resource_has_its_kind_and_deterministic_name(key: str, kind: str, name: str) -> None:
    manifest = desired_resources(WORKLOAD, admitted(FULL_SPEC))[key]

    assert (manifest["kind"], manifest["metadata"]["name"]) == (kind, name)


@pytest.mark.parametrize("stem", fixture_names())
def test_composed_resources_of_each_fixture_live_in_the_xr_namespace(stem: str) -> None:
    workload, spec = _fixture(stem)

    resources = desired_resources(workload, spec)

    assert {m["metadata"]["namespace"] for m in resources.values()} == {workload.namespace}
    assert all(
        m["metadata"]["labels"]["app.kubernetes.io/instance"] == workload.name
        for m in resources.values()
    )


@pytest.mark.parametrize("stem", fixture_names())
def test_building_twice_gives_equal_output(stem: str) -> None:
    workload, spec = _fixture(stem)

    first = desired_resources(workload, spec)
    second = desired_resources(workload, admitted(load_xr(stem)["spec"]))

    assert first == second


def test_builders_do_not_share_mutable_state_between_calls() -> None:
    spec = admitted(FULL_SPEC)
    first = desired_resources(WORKLOAD, spec)
    pristine = copy.deepcopy(first)

    first[names.DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0]["env"].clear()
    first[names.SERVICE]["metadata"]["labels"].clear()

    assert desired_resources(WORKLOAD, spec) == pristine


def test_every_fixture_composes_the_base_resources() -> None:
    for stem in fixture_names():
        workload, spec = _fixture(stem)
        keys = set(desired_resources(workload, spec))
        assert {names.SERVICE_ACCOUNT, names.DEPLOYMENT, names.SERVICE} <= keys, stem


# --- Readiness ---------------------------------------------------------------------------------


def _deployment(
    *,
    generation: int = 3,
    observed_generation: int = 3,
    replicas: int = 2,
    updated: int = 2,
    ready: int = 2,
    available: str | None = "True",
) -> dict[str, Any]:
    conditions = [] if available is None else [{"type": "Available", "status": available}]
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed_generation,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "conditions": conditions,
        },
    }


def _with_ready(status: str | None) -> dict[str, Any]:
    conditions = [] if status is None else [{"type": "Ready", "status": status, "reason": "Why"}]
    return {"metadata": {}, "spec": {}, "status": {"conditions": conditions}}


def test_deployment_is_ready_when_available_and_every_replica_is_updated_and_ready() -> None:
    assert resource_readiness(names.DEPLOYMENT, _deployment()).ready is True


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"available": "False"}, id="available-false"),
        pytest.param({"available": None}, id="no-available-condition"),
        pytest.param({"updated": 1}, id="not-all-updated"),
        pytest.param({"ready": 1}, id="not-all-ready"),
        pytest.param({"observed_generation": 2}, id="controller-behind-generation"),
    ],
)
def test_deployment_is_not_ready_otherwise(changes: dict[str, Any]) -> None:
    verdict = resource_readiness(names.DEPLOYMENT, _deployment(**changes))

    assert verdict.ready is False
    assert verdict.reason


def test_deployment_ahead_of_its_generation_counts_as_seen() -> None:
    observed = _deployment(generation=3, observed_generation=4)

    assert resource_readiness(names.DEPLOYMENT, observed).ready is True


@pytest.mark.parametrize("key", [names.SCALED_OBJECT, names.NATS_STREAM, names.NATS_CONSUMER])
@pytest.mark.parametrize(("status", "ready"), [("True", True), ("False", False), (None, False)])
def test_operator_resources_are_ready_by_their_ready_condition(
    key: str, status: str | None, ready: bool
) -> None:
    assert resource_readiness(key, _with_ready(status)).ready is ready


@pytest.mark.parametrize("key", list(ALL_BUILDERS))
def test_a_resource_not_observed_yet_is_not_ready(key: str) -> None:
    verdict = resource_readiness(key, None)

    assert verdict.ready is False
    assert verdict.reason == "Creating"


@pytest.mark.parametrize(
    "key",
    [names.SERVICE_ACCOUNT, names.SERVICE, names.POD_DISRUPTION_BUDGET, names.NETWORK_POLICY],
)
def test_plain_resources_are_ready_once_they_exist(key: str) -> None:
    assert resource_readiness(key, {"metadata": {}, "spec": {}, "status": {}}).ready is True


def test_function_marks_every_resource_ready_from_the_observed_fixture() -> None:
    rsp = compose_response(make_request(load_xr("ready"), load_observed("ready")), ComposeCache())

    assert {k: r.ready for k, r in rsp.desired.resources.items()} == {
        k: fnv1.READY_TRUE for k in load_observed("ready")
    }
    [condition] = [c for c in rsp.conditions if c.type == CONDITION_TYPE]
    assert condition.status == fnv1.STATUS_CONDITION_TRUE


def test_function_writes_the_status_from_the_observed_deployment() -> None:
    rsp = compose_response(make_request(load_xr("ready"), load_observed("ready")), ComposeCache())

    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert status == {
        "replicas": 2,
        "readyReplicas": 2,
        "image": "ghcr.io/bizmatters/agent-executor:0.1.0",
        "endpoint": "http://ready.team-a.svc:8080",
        "stream": "AGENT_EXECUTION",
        "consumer": "agent-executor-workers",
    }


def test_function_marks_everything_not_ready_without_observed_resources() -> None:
    rsp = compose_response(make_request(make_xr({"image": "ghcr.io/x/y:1"})), ComposeCache())

    assert rsp.desired.resources
    assert all(r.ready == fnv1.READY_FALSE for r in rsp.desired.resources.values())
    [condition] = [c for c in rsp.conditions if c.type == CONDITION_TYPE]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE


def test_function_names_the_deployment_when_it_is_rolling_out() -> None:
    observed = load_observed("ready")
    observed["deployment"]["status"]["readyReplicas"] = 1

    rsp = compose_response(make_request(load_xr("ready"), observed), ComposeCache())

    assert rsp.desired.resources[names.DEPLOYMENT].ready == fnv1.READY_FALSE
    [condition] = [c for c in rsp.conditions if c.type == CONDITION_TYPE]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert condition.message.startswith("deployment:")


# --- LLM keys as files (rotation without a redeploy) -------------------------------------------


def test_the_llm_keys_secret_is_mounted_read_only_and_named_by_llm_keys_dir() -> None:
    spec = spec_with(secrets={"llmKeys": "team-llm"})
    pod, main = _pod(spec), _main(spec)
    volume = next(v for v in pod["volumes"] if v["name"] == runtime.LLM_KEYS_VOLUME)
    assert volume["secret"] == {"secretName": "team-llm", "optional": True, "defaultMode": 0o440}
    mount = next(m for m in main["volumeMounts"] if m["name"] == runtime.LLM_KEYS_VOLUME)
    assert mount == {
        "name": runtime.LLM_KEYS_VOLUME,
        "mountPath": runtime.LLM_KEYS_MOUNT_PATH,
        "readOnly": True,
    }
    assert _env(main)[env.LLM_KEYS_DIR]["value"] == runtime.LLM_KEYS_MOUNT_PATH


@pytest.mark.parametrize("value", ["true", "True", "1", "yes"])
def test_a_claim_enabling_tool_scripts_gets_its_llm_keys_as_variables_only(value: str) -> None:
    spec = spec_with(env=[{"name": "ALLOW_TOOL_SCRIPTS", "value": value}])
    pod, main = _pod(spec), _main(spec)
    assert runtime.LLM_KEYS_VOLUME not in {v["name"] for v in pod["volumes"]}
    assert env.LLM_KEYS_DIR not in _env(main)
    assert set(env.LLM_KEYS) <= set(_env(main))
