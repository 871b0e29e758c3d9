"""Kubernetes manifests generated for each tenant from its registry entry.

Per tenant, in the tenant's namespace (delivered by the tenant's own Application as its
second source, `platform/tenants/generated/<namespace>/`): the ExternalSecrets that
bring its NATS credentials (worker, producer, NACK), the NACK `Account` for its NATS
account, and its four streams and work-queue consumer. Per tenant in `argocd`: the
AppProject. In `nats`: the ExternalSecret of every password the server reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract import nats as nats_contract
from scripts.tenancy.credentials import (
    ADMIN_PARAMETER,
    ADMIN_PASSWORD_VARIABLE,
    ROLES,
    SERVER_SECRET,
    TENANT_SECRETS,
    parameter,
    password_variable,
    user_name,
)
from scripts.tenancy.registry import RegistryEntry, quantity_bytes

PLATFORM_REPO = "https://github.com/bizmatters/agentplane.git"
GENERATED_DIR = "platform/tenants/generated"
SECRET_STORE = {"kind": "ClusterSecretStore", "name": "aws-parameter-store"}
NATS_URL = nats_contract.DEFAULT_URL
REPLICAS = 3  # the production cluster; a single development server: platform/nats/README.md
NACK_API = "jetstream.nats.io/v1beta2"


def _labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "agentplane",
        "app.kubernetes.io/managed-by": "agentplane-tenants",
    }


def credentials_secret(entry: RegistryEntry, role: str) -> dict[str, Any]:
    """The ExternalSecret that puts `role`'s NATS user and password in the tenant namespace.

    The user name is not secret: it is written by the template, so the Secret always
    pairs the newest generation's user with that generation's password.
    """
    generation = entry.current_generation
    name = TENANT_SECRETS[role]
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {
            "name": name,
            "namespace": entry.namespace,
            "labels": _labels(name, "nats-credentials"),
        },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": dict(SECRET_STORE),
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": {
                    "engineVersion": "v2",
                    "data": {
                        "NATS_USER": user_name(entry, role, generation),
                        "NATS_PASSWORD": "{{ .password }}",
                    },
                },
            },
            "data": [
                {"secretKey": "password", "remoteRef": {"key": parameter(entry, role, generation)}}
            ],
        },
    }


def nack_account(entry: RegistryEntry) -> dict[str, Any]:
    """NACK's connection to the tenant's account: every Stream and Consumer names it."""
    name = nats_contract.NACK_ACCOUNT_RESOURCE
    return {
        "apiVersion": NACK_API,
        "kind": "Account",
        "metadata": {
            "name": name,
            "namespace": entry.namespace,
            "labels": _labels(name, "jetstream-account"),
        },
        "spec": {
            "name": entry.account,
            "servers": [NATS_URL],
            "user": {
                "secret": {"name": TENANT_SECRETS["nack"]},
                "user": "NATS_USER",
                "password": "NATS_PASSWORD",
            },
        },
    }


_STREAMS: dict[str, dict[str, Any]] = {
    nats_contract.DEFAULT_STREAM: {
        "object": "agent-execution",
        "description": "Agent execution jobs (CloudEvents), consumed once by the workers",
        "retention": "workqueue",
        "discard": "new",
        "maxAge": "168h",
        "maxMsgSize": 1048576,
        "duplicateWindow": "2m",
    },
    nats_contract.STATUS_STREAM: {
        "object": "agent-status",
        "description": "Agent execution results (completed / failed CloudEvents)",
        "retention": "limits",
        "discard": "old",
        "maxAge": "168h",
        "maxMsgSize": 4194304,
        "duplicateWindow": "15m",
    },
    nats_contract.DLQ_STREAM: {
        "object": "agent-dlq",
        "description": "Dead-lettered agent execution jobs, one subject per job id",
        "retention": "limits",
        "discard": "old",
        "maxAge": "720h",
        "maxMsgSize": 4194304,
        "duplicateWindow": "15m",
    },
    nats_contract.HEARTBEAT_STREAM: {
        "object": "agent-heartbeats",
        "description": "Each worker pod's newest heartbeat (agentplane status)",
        "retention": "limits",
        "discard": "old",
        "maxAge": f"{nats_contract.HEARTBEAT_MAX_AGE_SECONDS // 60}m",
        "maxMsgsPerSubject": nats_contract.HEARTBEAT_MAX_MSGS_PER_SUBJECT,
        "maxMsgSize": 65536,
        "duplicateWindow": "2m",
    },
}


def _stream_bytes(entry: RegistryEntry) -> dict[str, int]:
    sizes = entry.nats.streams
    return {
        nats_contract.DEFAULT_STREAM: quantity_bytes(sizes.execution),
        nats_contract.STATUS_STREAM: quantity_bytes(sizes.status),
        nats_contract.DLQ_STREAM: quantity_bytes(sizes.dlq),
        nats_contract.HEARTBEAT_STREAM: quantity_bytes(sizes.heartbeats),
    }


def reserved_bytes(entry: RegistryEntry) -> int:
    """File storage the tenant's streams reserve in its account, every replica counted."""
    return sum(_stream_bytes(entry).values()) * REPLICAS


def streams(entry: RegistryEntry) -> list[dict[str, Any]]:
    """The tenant's AGENT_EXECUTION, AGENT_STATUS, AGENT_DLQ and AGENT_HEARTBEATS, every safety
    field explicit."""
    sizes = _stream_bytes(entry)
    documents = []
    for stream, subjects in nats_contract.PLATFORM_STREAMS.items():
        shape = dict(_STREAMS[stream])
        name = shape.pop("object")
        documents.append(
            {
                "apiVersion": NACK_API,
                "kind": "Stream",
                "metadata": {
                    "name": name,
                    "namespace": entry.namespace,
                    "labels": _labels(name, "jetstream-stream"),
                },
                "spec": {
                    "name": stream,
                    "account": nats_contract.NACK_ACCOUNT_RESOURCE,
                    "description": shape.pop("description"),
                    "subjects": list(subjects),
                    "storage": "file",
                    "replicas": REPLICAS,
                    "maxBytes": sizes[stream],
                    "maxMsgs": -1,
                    "maxMsgsPerSubject": shape.pop("maxMsgsPerSubject", 0),
                    "maxConsumers": -1,
                    "discardPerSubject": False,
                    "noAck": False,
                    "allowRollup": False,
                    "denyDelete": False,
                    "denyPurge": False,
                    "preventDelete": True,
                    "preventUpdate": False,
                    **shape,
                },
            }
        )
    return documents


def consumer(entry: RegistryEntry) -> dict[str, Any]:
    """The durable pull consumer the tenant's executors bind (NATS_CONSUMER_GROUP)."""
    name = nats_contract.DEFAULT_CONSUMER
    return {
        "apiVersion": NACK_API,
        "kind": "Consumer",
        "metadata": {
            "name": name,
            "namespace": entry.namespace,
            "labels": _labels(name, "jetstream-consumer"),
        },
        "spec": {
            "streamName": nats_contract.DEFAULT_STREAM,
            "durableName": name,
            "account": nats_contract.NACK_ACCOUNT_RESOURCE,
            "description": "Agent executor workers (durable pull, explicit ack)",
            "deliverPolicy": "all",
            "ackPolicy": "explicit",
            "ackWait": f"{nats_contract.DEFAULT_ACK_WAIT_SECONDS // 60}m",
            "maxDeliver": nats_contract.DEFAULT_MAX_DELIVER,
            "maxAckPending": 400,
            "maxWaiting": 512,
            "replayPolicy": "instant",
            "replicas": REPLICAS,
            "memStorage": False,
            "headersOnly": False,
            "preventDelete": True,
            "preventUpdate": False,
        },
    }


def tenant_nats_objects(entry: RegistryEntry) -> list[dict[str, Any]]:
    """Everything the tenant's namespace needs for NATS, in apply order."""
    return [
        *(credentials_secret(entry, role) for role in ROLES),
        nack_account(entry),
        *streams(entry),
        consumer(entry),
    ]


def app_project(entry: RegistryEntry) -> dict[str, Any]:
    """The AppProject that fences the tenant's Application into its namespace."""
    repos = sorted({entry.repo_url, PLATFORM_REPO})
    kinds = [
        ("platform.bizmatters.io", "AgentExecutor"),
        ("platform.bizmatters.io", "PostgresInstance"),
        ("platform.bizmatters.io", "DragonflyInstance"),
        ("external-secrets.io", "ExternalSecret"),
        ("", "Secret"),
        ("", "ConfigMap"),
        # the tenant's own NATS account's streams (generated, second source)
        ("jetstream.nats.io", "Account"),
        ("jetstream.nats.io", "Stream"),
        ("jetstream.nats.io", "Consumer"),
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {
            "name": f"tenant-{entry.namespace}",
            "namespace": "argocd",
            "annotations": {"argocd.argoproj.io/sync-wave": "0"},
            "labels": {"layer": entry.layer, "category": entry.category},
        },
        "spec": {
            "description": (
                f"Tenant {entry.namespace} (layer {entry.layer}, category {entry.category})"
            ),
            "sourceRepos": repos,
            "destinations": [
                {"server": "https://kubernetes.default.svc", "namespace": entry.namespace}
            ],
            "clusterResourceWhitelist": [
                {"group": "", "kind": "Namespace", "name": entry.namespace}
            ],
            "namespaceResourceBlacklist": [
                {"group": "", "kind": "ResourceQuota"},
                {"group": "", "kind": "LimitRange"},
                {"group": "networking.k8s.io", "kind": "NetworkPolicy"},
            ],
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in kinds],
        },
    }


def server_credentials(entries: Iterable[RegistryEntry]) -> list[dict[str, Any]]:
    """Namespace `nats` and the ExternalSecret of every password the server reads."""
    data = [{"secretKey": ADMIN_PASSWORD_VARIABLE, "remoteRef": {"key": ADMIN_PARAMETER}}]
    data += [
        {
            "secretKey": password_variable(entry, role, generation),
            "remoteRef": {"key": parameter(entry, role, generation)},
        }
        for entry in entries
        for generation in entry.nats.credentials
        for role in ROLES
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nats"}},
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": SERVER_SECRET, "namespace": "nats"},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": dict(SECRET_STORE),
                "target": {
                    "name": SERVER_SECRET,
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                },
                "data": data,
            },
        },
    ]
