"""The heartbeat a worker publishes, and answers the `heartbeat` control command with.

Every worker publishes a structured CloudEvent of type `HEARTBEAT_TYPE` every
`HEARTBEAT_SECONDS` on `agent.heartbeat.<namespace>.<executor>.<pod>` into the tenant's
`AGENT_HEARTBEATS` stream. The pod is the last token so that the stream, keeping one
message per subject, keeps each pod's newest heartbeat: with `<namespace>.<executor>` only,
the pods of one executor would overwrite each other and the fleet would look like one pod.
`agentplane status` reads the stream's last message per subject; a request on
`agent.control.heartbeat` gets the same `WorkerStatus` from every worker, now.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.nats import CONTROL_PREFIX, HEARTBEAT_PREFIX

HEARTBEAT_TYPE: Literal["dev.my-platform.agent.heartbeat"] = "dev.my-platform.agent.heartbeat"
HEARTBEAT_SOURCE = "agent-executor-service"
HEARTBEAT_CONTROL_SUBJECT = CONTROL_PREFIX + "heartbeat"
DEFAULT_HEARTBEAT_SECONDS = 15.0
# A pod whose newest heartbeat is older than this many intervals is stale: it missed two.
STALE_AFTER_INTERVALS = 2

State = Literal["running", "draining", "stopped"]

_NOT_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_part(name: str) -> str:
    """`name` as one subject token: anything but letters, digits, `_` and `-` becomes `_`.

    Kubernetes names never need it; a host name outside a cluster (`build.example.com`)
    would otherwise add tokens, and `*` or `>` would be wildcards.
    """
    return _NOT_A_TOKEN.sub("_", name) or "_"


def heartbeat_subject(namespace: str, executor: str, pod: str) -> str:
    """`agent.heartbeat.<namespace>.<executor>.<pod>`: one subject, so one kept message, per pod."""
    return HEARTBEAT_PREFIX + ".".join(subject_part(p) for p in (namespace, executor, pod))


class WorkerStatus(BaseModel):
    """One worker process as an operator sees it: the `data` of a heartbeat CloudEvent.

    Counts are since the process started (a restarted pod starts again at zero), except
    `tokens_today`: this process's LLM tokens since 00:00 UTC.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    namespace: str = Field(description="The executor's namespace (the tenant).")
    executor: str = Field(description="The AgentExecutor (its Deployment) the pod belongs to.")
    pod: str = Field(description="The pod (the host name outside Kubernetes).")
    image: str | None = Field(default=None, description="The image the executor's claim names.")
    version: str | None = Field(default=None, description="The image's tag or digest.")
    state: State = Field(description="running; draining after SIGTERM; stopped: its last beat.")
    started_at: datetime = Field(description="When the process started.")
    uptime_seconds: float = Field(ge=0)
    heartbeat_seconds: float = Field(gt=0, description="How often this worker publishes one.")
    concurrency: int = Field(ge=1, description="Jobs this pod runs at once at most.")
    in_flight: int = Field(ge=0, description="Jobs running now.")
    completed: int = Field(ge=0)
    failed: int = Field(ge=0, description="Failed, cancelled and dead-lettered jobs.")
    jobs_per_minute: float = Field(ge=0, description="Jobs finished per minute, recent minutes.")
    tokens_today: int = Field(ge=0)
    last_activity_at: datetime | None = Field(
        default=None,
        description="When this pod was last seen starting, running or finishing a job.",
    )
    sent_at: datetime = Field(description="When this status was taken.")


class HeartbeatEvent(BaseModel):
    """The structured CloudEvent a heartbeat travels in."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str = HEARTBEAT_SOURCE
    type: Literal["dev.my-platform.agent.heartbeat"] = HEARTBEAT_TYPE
    subject: str = Field(description="`<namespace>/<executor>/<pod>`.")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: WorkerStatus
