"""NACK Stream and Consumer for a tenant-managed JetStream input.

NACK's own defaults are unsafe for a job queue (memory storage, `ackPolicy:
none`, `ackWait: 1ns`), so every field that decides whether a job survives is
set here explicitly.

Both objects live in the tenant's NATS account: `account` names the NACK `Account`
resource the platform generates in every tenant namespace, with the servers and the
credentials NACK reaches that account with. No per-object `servers`: NACK would use them
instead of (control loop) or besides (legacy `--crd-connect`) the Account's, and the
Account is the one place that says how the tenant's account is reached.
"""

from __future__ import annotations

from typing import Any

from contract.nats import NACK_ACCOUNT_RESOURCE
from functions.agent_executor.builders.capacity import replica_ceiling
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

NACK_API_VERSION = "jetstream.nats.io/v1beta2"
# Worker heartbeats (`in_progress`) extend this while a run is alive.
ACK_WAIT = "2m"
MAX_AGE = "168h"
MAX_BYTES = 10 * 1024**3
MAX_MSG_SIZE = 1024**2
DUPLICATE_WINDOW = "2m"


def stream_resource_name(workload: Workload) -> str:
    """Kubernetes name of the Stream (stream names themselves may be upper case)."""
    return f"{workload.name}-stream"


def consumer_resource_name(workload: Workload) -> str:
    """Kubernetes name of the Consumer."""
    return f"{workload.name}-consumer"


def build_stream(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """A file-backed work-queue Stream that refuses new jobs rather than dropping old ones."""
    nats = spec.nats
    return custom_resource(
        NACK_API_VERSION,
        "Stream",
        workload,
        name=stream_resource_name(workload),
        spec={
            "name": nats.stream,
            "description": f"Jobs for AgentExecutor {workload.namespace}/{workload.name}",
            "subjects": list(nats.subjects),
            "storage": "file",
            "retention": "workqueue",
            "replicas": nats.replicas,
            "discard": "new",
            "maxAge": MAX_AGE,
            "maxBytes": MAX_BYTES,
            "maxMsgs": -1,
            "maxMsgSize": MAX_MSG_SIZE,
            "maxConsumers": -1,
            "duplicateWindow": DUPLICATE_WINDOW,
            "noAck": False,
            "denyDelete": False,
            "denyPurge": False,
            "allowRollup": False,
            # Deleting the claim must not delete queued jobs with it.
            "preventDelete": True,
            "account": NACK_ACCOUNT_RESOURCE,
        },
    )


def build_consumer(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """The durable pull Consumer the workers bind to."""
    nats = spec.nats
    return custom_resource(
        NACK_API_VERSION,
        "Consumer",
        workload,
        name=consumer_resource_name(workload),
        spec={
            "streamName": nats.stream,
            "durableName": nats.consumer,
            "description": f"Workers of AgentExecutor {workload.namespace}/{workload.name}",
            "deliverPolicy": "all",
            "ackPolicy": "explicit",
            "ackWait": ACK_WAIT,
            "maxDeliver": nats.max_deliver,
            # Every slot of every pod may hold one job; more would only wait.
            "maxAckPending": max(1, replica_ceiling(spec)) * spec.concurrency,
            "maxWaiting": 512,
            "maxRequestBatch": spec.concurrency,
            "replayPolicy": "instant",
            "replicas": nats.replicas,
            "memStorage": False,
            "preventDelete": True,
            "account": NACK_ACCOUNT_RESOURCE,
        },
    )
