"""PostgresInstance and DragonflyInstance: admission, builders, readiness and status (DESIGN 3b).

The password's life (generated once, read back, never shown) is in test_database_passwords.py;
the wiring of the reference tenant's three claims in tests/render/test_tenant_wiring.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from contract import env, stores
from functions.agent_executor.builders.dragonfly import build_dragonfly
from functions.agent_executor.builders.postgres import (
    IMAGES,
    build_cluster,
    build_scheduled_backup,
)
from functions.agent_executor.databases import names
from functions.agent_executor.databases.admission import admit_dragonfly, admit_postgres
from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.readiness import (
    DRAGONFLY_CONDITION,
    POSTGRES_CONDITION,
    cluster_readiness,
    dragonfly_readiness,
)
from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    POSTGRES_KIND,
    DragonflyInstanceSpec,
    PostgresInstanceSpec,
)

from .database_helpers import (
    database_fixture,
    desired,
    fatal_messages,
    run,
    secret_values,
    store_xr,
)

PG = Store("db", "team-a", stores.POSTGRES_STORE)
DF = Store("cache", "team-a", stores.DRAGONFLY_STORE)


def postgres(**fields: Any) -> PostgresInstanceSpec:
    verdict = admit_postgres("db", "team-a", fields)
    assert verdict.spec is not None, verdict.errors
    return verdict.spec


def dragonfly(**fields: Any) -> DragonflyInstanceSpec:
    verdict = admit_dragonfly("cache", "team-a", fields)
    assert verdict.spec is not None, verdict.errors
    return verdict.spec


# --- admission: bad input is one fatal result naming the field ----------------------------------

BAD_POSTGRES = [
    pytest.param({"owner": "postgres"}, "spec.owner", "reserved", id="owner-postgres"),
    pytest.param(
        {"owner": "streaming_replica"}, "spec.owner", "reserved", id="owner-streaming-replica"
    ),
    pytest.param({"database": "template1"}, "spec.database", "reserved", id="database-template"),
    pytest.param({"owner": "App"}, "spec.owner", "PostgreSQL identifier", id="owner-upper"),
    pytest.param({"database": "1db"}, "spec.database", "PostgreSQL identifier", id="db-digit"),
    pytest.param({"version": 13}, "spec.version", "must be one of", id="version-13"),
    pytest.param({"version": "17"}, "spec.version", "must be one of", id="version-string"),
    pytest.param({"instances": 0}, "spec.instances", "greater than or equal to 1", id="zero"),
    pytest.param({"instances": 10}, "spec.instances", "less than or equal to 9", id="ten"),
    pytest.param({"size": "huge"}, "spec.size", "must be one of 'micro'", id="size"),
    pytest.param({"storage": {"size": "500Mi"}}, "spec.storage.size", "below 1Gi", id="small"),
    pytest.param({"storage": {"size": "ten"}}, "spec.storage.size", "quantity", id="bad-size"),
    pytest.param(
        {"storage": {"storageClass": "GP3"}}, "spec.storage.storageClass", "DNS-1123", id="class"
    ),
    pytest.param(
        {"backup": {"destinationPath": "https://bucket"}},
        "spec.backup.destinationPath",
        "S3 location",
        id="backup-not-s3",
    ),
    pytest.param({"backup": {}}, "spec.backup.destinationPath", "is required", id="backup-path"),
    pytest.param(
        {"backup": {"destinationPath": "s3://b1/x", "schedule": "0 3 * * *"}},
        "spec.backup.schedule",
        "six-field cron",
        id="backup-five-field-cron",
    ),
    pytest.param(
        {"backup": {"destinationPath": "s3://b1/x", "retentionPolicy": "30h"}},
        "spec.backup.retentionPolicy",
        "retention",
        id="backup-retention",
    ),
    pytest.param(
        {"backup": {"destinationPath": "s3://b1/x", "endpointURL": "minio:9000"}},
        "spec.backup.endpointURL",
        "http:// or https://",
        id="backup-endpoint",
    ),
    pytest.param(
        {"connectionSecret": {"name": "Bad_Name"}},
        "spec.connectionSecret.name",
        "DNS-1123",
        id="secret-name",
    ),
    pytest.param({"sise": "small"}, "spec.sise", "is not a field of PostgresInstance", id="typo"),
]


@pytest.mark.parametrize(("spec", "path", "reason"), BAD_POSTGRES)
def test_a_bad_postgres_instance_is_refused_naming_the_field(
    spec: dict[str, Any], path: str, reason: str
) -> None:
    verdict = admit_postgres("db", "team-a", spec)
    rsp = run(store_xr(POSTGRES_KIND, spec))

    assert verdict.spec is None
    assert any(line.startswith(f"{path}: ") and reason in line for line in verdict.errors), (
        verdict.errors
    )
    [message] = fatal_messages(rsp)
    assert message.startswith("invalid PostgresInstance team-a/db: ")
    assert path in message
    assert not rsp.desired.resources


BAD_DRAGONFLY = [
    pytest.param({"replicas": 0}, "spec.replicas", "greater than or equal to 1", id="zero"),
    pytest.param({"replicas": 2.5}, "spec.replicas", "valid integer", id="fraction"),
    pytest.param({"size": "xl"}, "spec.size", "must be one of", id="size"),
    pytest.param(
        {"connectionSecret": {"name": ""}}, "spec.connectionSecret.name", "at least 1", id="empty"
    ),
    pytest.param({"password": "x"}, "spec.password", "not a field of DragonflyInstance", id="pw"),
]


@pytest.mark.parametrize(("spec", "path", "reason"), BAD_DRAGONFLY)
def test_a_bad_dragonfly_instance_is_refused_naming_the_field(
    spec: dict[str, Any], path: str, reason: str
) -> None:
    rsp = run(store_xr(DRAGONFLY_KIND, spec, name="cache"))

    [message] = fatal_messages(rsp)
    assert message.startswith("invalid DragonflyInstance team-a/cache: ")
    assert f"{path}: " in message and reason in message, message
    assert not rsp.desired.resources


@pytest.mark.parametrize(
    ("kind", "name", "limit"),
    [(POSTGRES_KIND, "p" * 51, 50), (DRAGONFLY_KIND, "d" * 53, 52), (POSTGRES_KIND, "9db", 50)],
    ids=["postgres-too-long", "dragonfly-too-long", "starts-with-a-digit"],
)
def test_a_name_the_operator_cannot_use_is_refused(kind: str, name: str, limit: int) -> None:
    [message] = fatal_messages(run(store_xr(kind, {}, name=name)))
    assert f"metadata.name: must be a DNS-1035 label of at most {limit} characters" in message


def test_a_missing_namespace_names_the_kind() -> None:
    [message] = fatal_messages(run(store_xr(POSTGRES_KIND, {}, namespace="")))
    assert "metadata.namespace: is required; PostgresInstance is a namespaced resource" in message


@pytest.mark.parametrize("spec", [None, {}], ids=["no-spec", "empty-spec"])
def test_every_field_has_a_default(spec: dict[str, Any] | None) -> None:
    xr = store_xr(POSTGRES_KIND, {})
    if spec is None:
        del xr["spec"]
    assert not fatal_messages(run(xr))


def test_a_spec_that_is_not_an_object_is_refused() -> None:
    [message] = fatal_messages(run(store_xr(DRAGONFLY_KIND, ["replicas", 2])))
    assert "spec: must be an object" in message


@pytest.mark.parametrize("kind", [POSTGRES_KIND, DRAGONFLY_KIND, "AgentExecutor"])
def test_crossplanes_own_spec_block_is_not_the_tenants(kind: str) -> None:
    # Crossplane 2.x writes compositionRef, resourceRefs, ... under spec.crossplane.
    spec: dict[str, Any] = {"image": "ghcr.io/a/b:1"} if kind == "AgentExecutor" else {}
    spec["crossplane"] = {
        "compositionRef": {"name": "x"},
        "compositionUpdatePolicy": "Automatic",
        "resourceRefs": [{"apiVersion": "v1", "kind": "Secret", "name": "s"}],
    }
    assert not fatal_messages(run(store_xr(kind, spec)))


def test_an_unknown_kind_is_refused_naming_the_kinds_served() -> None:
    [message] = fatal_messages(run(store_xr("RedisInstance", {})))
    assert "AgentExecutor, PostgresInstance, DragonflyInstance" in message
    assert "'RedisInstance'" in message


# --- what a PostgresInstance composes ------------------------------------------------------------


def test_a_postgres_instance_composes_credentials_cluster_and_connection_secret() -> None:
    assert sorted(desired(run(store_xr(POSTGRES_KIND)))) == [
        names.CLUSTER,
        names.CONNECTION_SECRET,
        names.CREDENTIALS,
    ]


def test_backups_add_the_scheduled_backup() -> None:
    spec = {"backup": {"destinationPath": "s3://bucket-a/db"}}
    assert names.SCHEDULED_BACKUP in desired(run(store_xr(POSTGRES_KIND, spec)))


@pytest.mark.parametrize("version", sorted(IMAGES))
def test_each_major_version_runs_its_pinned_image(version: int) -> None:
    image = build_cluster(PG, postgres(version=version))["spec"]["imageName"]
    assert image.startswith(f"ghcr.io/cloudnative-pg/postgresql:{version}.")
    assert image.endswith("-system-trixie")


def test_the_cluster_bootstraps_the_database_and_owner_from_the_credentials_secret() -> None:
    cluster = build_cluster(PG, postgres(database="orders", owner="orders_app"))["spec"]

    assert cluster["bootstrap"]["initdb"] == {
        "database": "orders",
        "owner": "orders_app",
        "secret": {"name": "db-credentials"},
        "dataChecksums": True,
    }
    assert cluster["enableSuperuserAccess"] is False


def test_the_cluster_pods_carry_the_label_the_executors_select() -> None:
    cluster = build_cluster(PG, postgres())["spec"]
    assert cluster["inheritedMetadata"] == {"labels": {stores.STORE_LABEL: stores.POSTGRES_STORE}}


@pytest.mark.parametrize(("instances", "pdb"), [(1, False), (2, True), (3, True)])
def test_a_lone_instance_has_no_disruption_budget(instances: int, pdb: bool) -> None:
    assert build_cluster(PG, postgres(instances=instances))["spec"]["enablePDB"] is pdb


def test_size_and_storage_reach_the_cluster() -> None:
    cluster = build_cluster(
        PG, postgres(size="medium", storage={"size": "50Gi", "storageClass": "gp3"})
    )["spec"]

    assert cluster["resources"] == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert cluster["storage"] == {"size": "50Gi", "storageClass": "gp3"}


def test_backups_with_a_credentials_secret_use_its_two_keys() -> None:
    spec = postgres(
        backup={
            "destinationPath": "s3://bucket-a/db",
            "endpointURL": "https://minio.example:9000",
            "credentialsSecret": "backup-keys",
            "retentionPolicy": "4w",
        }
    )
    backup = build_cluster(PG, spec)["spec"]["backup"]

    assert backup["retentionPolicy"] == "4w"
    assert backup["barmanObjectStore"] == {
        "destinationPath": "s3://bucket-a/db",
        "endpointURL": "https://minio.example:9000",
        "s3Credentials": {
            "accessKeyId": {"name": "backup-keys", "key": "ACCESS_KEY_ID"},
            "secretAccessKey": {"name": "backup-keys", "key": "ACCESS_SECRET_KEY"},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }


def test_backups_without_a_secret_use_the_pods_iam_role() -> None:
    spec = postgres(backup={"destinationPath": "s3://bucket-a/db"})
    store = build_cluster(PG, spec)["spec"]["backup"]["barmanObjectStore"]
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assert "endpointURL" not in store


def test_no_backup_section_without_backups() -> None:
    assert "backup" not in build_cluster(PG, postgres())["spec"]


def test_the_scheduled_backup_field_by_field() -> None:
    # tests/manifests/test_composed_resources.py validates it against CloudNativePG's CRD;
    # this pins the values the function chooses for it.
    spec = postgres(backup={"destinationPath": "s3://bucket-a/db", "schedule": "0 15 1 * * *"})
    backup = build_scheduled_backup(PG, spec)

    assert (backup["apiVersion"], backup["kind"]) == ("postgresql.cnpg.io/v1", "ScheduledBackup")
    assert backup["metadata"]["name"] == "db-backup"
    assert backup["metadata"]["namespace"] == "team-a"
    assert backup["spec"] == {
        "schedule": "0 15 1 * * *",
        "cluster": {"name": "db"},
        "method": "barmanObjectStore",
        "backupOwnerReference": "self",
        "immediate": True,
    }


def test_the_postgres_connection_secret_has_exactly_the_contract_keys() -> None:
    spec = {"database": "orders", "owner": "orders_app", "connectionSecret": {"name": "pg"}}
    secret = desired(run(store_xr(POSTGRES_KIND, spec)))[names.CONNECTION_SECRET]
    values = secret_values(secret)

    assert secret["metadata"]["name"] == "pg"
    assert secret["type"] == "Opaque"
    assert sorted(values) == sorted(env.POSTGRES_CONNECTION_KEYS)
    assert set(values) == {*env.POSTGRES_KEYS, env.POSTGRES_SSLMODE, env.DATABASE_URL}
    # CloudNativePG always serves TLS: the executor and psql require it.
    assert values[env.POSTGRES_SSLMODE] == "require"
    assert values[env.DATABASE_URL].endswith("?sslmode=require")
    assert values["POSTGRES_HOST"] == "db-rw.team-a.svc"
    assert values["POSTGRES_PORT"] == "5432"
    assert values["POSTGRES_DB"] == "orders"
    assert values["POSTGRES_USER"] == "orders_app"
    url = urlsplit(values["DATABASE_URL"])
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "postgresql",
        "db-rw.team-a.svc",
        5432,
        "/orders",
    )
    assert (url.username, url.password) == ("orders_app", values["POSTGRES_PASSWORD"])


def test_the_credentials_secret_is_what_cloudnative_pg_reads() -> None:
    composed = desired(run(store_xr(POSTGRES_KIND, {"owner": "orders_app"})))
    credentials = composed[names.CREDENTIALS]
    values = secret_values(credentials)

    assert credentials["metadata"]["name"] == "db-credentials"
    assert credentials["type"] == "kubernetes.io/basic-auth"
    assert values == {
        "username": "orders_app",
        "password": secret_values(composed[names.CONNECTION_SECRET])["POSTGRES_PASSWORD"],
    }


# --- what a DragonflyInstance composes -----------------------------------------------------------


def test_a_dragonfly_instance_composes_the_dragonfly_and_its_connection_secret() -> None:
    assert sorted(desired(run(store_xr(DRAGONFLY_KIND, name="cache")))) == [
        names.CONNECTION_SECRET,
        names.DRAGONFLY,
    ]


def test_dragonfly_requires_the_password_of_the_connection_secret() -> None:
    spec = build_dragonfly(DF, dragonfly(connectionSecret={"name": "df"}))["spec"]
    assert spec["authentication"] == {
        "passwordFromSecret": {"name": "df", "key": "DRAGONFLY_PASSWORD"}
    }


@pytest.mark.parametrize(("size", "threads"), [("micro", 1), ("small", 1), ("large", 4)])
def test_dragonfly_runs_one_thread_per_cpu_of_its_limit(size: str, threads: int) -> None:
    spec = build_dragonfly(DF, dragonfly(size=size, replicas=3))["spec"]
    assert spec["args"] == [f"--proactor_threads={threads}"]
    assert spec["replicas"] == 3
    assert spec["resources"]["requests"]["memory"] == spec["resources"]["limits"]["memory"]


def test_the_dragonfly_pods_carry_the_label_the_executors_select() -> None:
    spec = build_dragonfly(DF, dragonfly())["spec"]
    assert spec["podMetadata"] == {"labels": {stores.STORE_LABEL: stores.DRAGONFLY_STORE}}


def test_the_dragonfly_connection_secret_has_exactly_the_contract_keys() -> None:
    composed = desired(run(store_xr(DRAGONFLY_KIND, name="cache")))
    values = secret_values(composed[names.CONNECTION_SECRET])

    assert composed[names.CONNECTION_SECRET]["metadata"]["name"] == "dragonfly-connection"
    assert sorted(values) == sorted(env.DRAGONFLY_CONNECTION_KEYS)
    assert values["DRAGONFLY_HOST"] == "cache.team-a.svc"
    assert values["DRAGONFLY_PORT"] == "6379"
    url = urlsplit(values["REDIS_URL"])
    assert (url.scheme, url.hostname, url.port, url.password) == (
        "redis",
        "cache.team-a.svc",
        6379,
        values["DRAGONFLY_PASSWORD"],
    )


# --- readiness and status from the operators' status ---------------------------------------------


def _cluster(status: Any) -> dict[str, Any]:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "status": status}


HEALTHY = "Cluster in healthy state"
READY_CONDITION = {"type": "Ready", "status": "True", "reason": "ClusterIsReady"}
CLUSTER_CASES = [
    pytest.param({}, 1, False, "0/1 instances ready: no status from the operator", id="no-status"),
    pytest.param(
        {"phase": "Setting up primary", "readyInstances": 0},
        1,
        False,
        "0/1 instances ready: Setting up primary",
        id="setting-up",
    ),
    pytest.param(
        {"phase": HEALTHY, "readyInstances": 1, "conditions": [READY_CONDITION]},
        1,
        True,
        "1/1 instances ready",
        id="ready",
    ),
    pytest.param(
        {"phase": HEALTHY, "readyInstances": 2},
        2,
        True,
        "2/2 instances ready",
        id="healthy-without-condition",
    ),
    pytest.param(
        {
            "phase": "Creating a new replica",
            "readyInstances": 1,
            "conditions": [{"type": "Ready", "status": "False", "message": "replica 2 joining"}],
        },
        2,
        False,
        "1/2 instances ready: replica 2 joining",
        id="replica-joining",
    ),
]


@pytest.mark.parametrize(("status", "instances", "ready", "message"), CLUSTER_CASES)
def test_cluster_readiness_follows_cloudnative_pg(
    status: dict[str, Any], instances: int, ready: bool, message: str
) -> None:
    verdict = cluster_readiness(_cluster(status), postgres(instances=instances))
    assert verdict.ready is ready
    assert message in verdict.message


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ({"readyInstances": "two"}, "status.readyInstances"),
        ({"phase": 3}, "status.phase"),
        ({"conditions": {"Ready": True}}, "status.conditions"),
    ],
)
def test_an_unreadable_cluster_status_is_not_ready_naming_the_field(
    status: dict[str, Any], field: str
) -> None:
    verdict = cluster_readiness(_cluster(status), postgres())
    assert (verdict.ready, verdict.reason) == (False, "ObservedStateUnreadable")
    assert field in verdict.message


@pytest.mark.parametrize(
    ("status", "ready", "reason"),
    [
        ({}, False, "DragonflyNotReady"),
        ({"phase": "ResourcesCreated"}, False, "DragonflyNotReady"),
        ({"phase": "Configuring"}, False, "DragonflyNotReady"),
        ({"phase": "Ready"}, True, "DragonflyReady"),
        ({"phase": "ready"}, True, "DragonflyReady"),
        ({"phase": "Ready", "isRollingUpdate": True}, False, "RollingUpdate"),
        ({"phase": "Ready", "isRollingUpdate": "yes"}, False, "ObservedStateUnreadable"),
        ({"phase": ["Ready"]}, False, "ObservedStateUnreadable"),
    ],
)
def test_dragonfly_readiness_follows_the_operators_phase(
    status: dict[str, Any], ready: bool, reason: str
) -> None:
    verdict = dragonfly_readiness({"status": status})
    assert (verdict.ready, verdict.reason) == (ready, reason)


def _condition(rsp: fnv1.RunFunctionResponse, kind: str) -> fnv1.Condition:
    matching: list[fnv1.Condition] = [c for c in rsp.conditions if c.type == kind]
    [condition] = matching
    return condition


def test_a_postgres_instance_is_ready_once_the_cluster_accepts_connections() -> None:
    xr = store_xr(POSTGRES_KIND, {}, uid=None)
    first = run(xr)
    observed = desired(first)
    not_yet = _condition(first, POSTGRES_CONDITION)
    observed[names.CLUSTER]["status"] = {
        "phase": HEALTHY,
        "readyInstances": 1,
        "conditions": [READY_CONDITION],
    }
    ready = run(xr, observed)
    status = resource.struct_to_dict(ready.desired.composite.resource)["status"]

    assert not_yet.status == fnv1.STATUS_CONDITION_FALSE
    assert "cluster: not observed yet" in not_yet.message
    assert _condition(ready, POSTGRES_CONDITION).status == fnv1.STATUS_CONDITION_TRUE
    assert all(r.ready == fnv1.READY_TRUE for r in ready.desired.resources.values())
    assert status == {
        "endpoint": "postgresql://db-rw.team-a.svc:5432/app",
        "host": "db-rw.team-a.svc",
        "port": 5432,
        "database": "app",
        "connectionSecret": "postgres-connection",
        "version": 17,
        "instances": 1,
        "readyInstances": 1,
        "phase": HEALTHY,
    }


def test_a_dragonfly_instance_is_ready_once_the_operator_says_so() -> None:
    xr = store_xr(DRAGONFLY_KIND, {"replicas": 2}, name="cache", uid=None)
    observed = desired(run(xr))
    observed[names.DRAGONFLY]["status"] = {"phase": "Configuring"}
    configuring = run(xr, observed)
    observed[names.DRAGONFLY]["status"] = {"phase": "Ready", "isRollingUpdate": False}
    ready = run(xr, observed)
    status = resource.struct_to_dict(ready.desired.composite.resource)["status"]

    assert _condition(configuring, DRAGONFLY_CONDITION).status == fnv1.STATUS_CONDITION_FALSE
    assert "dragonfly: phase Configuring" in _condition(configuring, DRAGONFLY_CONDITION).message
    assert _condition(ready, DRAGONFLY_CONDITION).status == fnv1.STATUS_CONDITION_TRUE
    assert status == {
        "endpoint": "redis://cache.team-a.svc:6379",
        "host": "cache.team-a.svc",
        "port": 6379,
        "connectionSecret": "dragonfly-connection",
        "replicas": 2,
        "phase": "Ready",
    }


def test_every_fixture_is_composed() -> None:
    for stem in ("postgres-minimal", "postgres-every-field", "dragonfly-every-field"):
        assert not fatal_messages(run(database_fixture(stem))), stem
