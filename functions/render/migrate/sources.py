"""The claims `agentplane migrate` reads, as zerotouch-platform defines them.

- `EventDrivenService` (`platform.bizmatters.io/v1alpha1`), the claim of zerotouch-platform's
  XRD `xeventdrivenservices.platform.bizmatters.io`: `image`, `size`, `nats.{url,stream,consumer}`,
  `secret1Name` … `secret5Name`, `imagePullSecrets`, `httpPort`, `healthPath`, `readyPath`,
  `sessionAffinity`, `initContainer.{command,args}`; and, from the design documents' earlier
  shape of the same XRD, `scaling`, `secretName` and `initContainer.image`.
- The flat `AgentExecutor` of that project's design documents: `natsUrl`, `natsStreamName`,
  `natsConsumerGroup`, `postgresConnectionSecret`, `dragonflyConnectionSecret`, `llmKeysSecret`
  and `imagePullSecrets` as a list of names, beside `image` and `size`.

Types and enums are the source XRD's, so a claim its API server would refuse is refused here
too. Fields the models do not know are kept (`extra="allow"`) so the conversion can name each.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from functions.agent_executor.spec import API_GROUP, COMPOSITE_API_VERSION, KIND

EVENT_DRIVEN_SERVICE = "EventDrivenService"

# Keys of a spec that only the flat AgentExecutor has: one of them makes a claim of kind
# AgentExecutor a source to migrate rather than one of this platform's.
FLAT_ONLY_FIELDS = frozenset(
    {
        "natsUrl",
        "natsStreamName",
        "natsConsumerGroup",
        "postgresConnectionSecret",
        "dragonflyConnectionSecret",
        "llmKeysSecret",
    }
)

Name = Annotated[StrictStr, Field(min_length=1, max_length=253)]


class SourceKind(Enum):
    """Which source shape a document has."""

    EVENT_DRIVEN_SERVICE = EVENT_DRIVEN_SERVICE
    FLAT_AGENT_EXECUTOR = "AgentExecutor (flat)"


class _Source(BaseModel):
    """camelCase on the wire, the source XRD's types, unknown fields kept for the report."""

    model_config = ConfigDict(alias_generator=to_camel, extra="allow", strict=True, frozen=True)

    def unknown(self) -> dict[str, Any]:
        """The fields the source API does not define, as they were written."""
        return dict(self.model_extra or {})


class SourceMetadata(_Source):
    """A claim's metadata: what a tenant writes, and what the cluster adds to an export."""

    name: Name
    namespace: Name | None = None
    labels: dict[str, StrictStr] = Field(default_factory=dict)
    annotations: dict[str, StrictStr] = Field(default_factory=dict)


class NameReference(_Source):
    """`{name: ...}`, a reference to a Secret in the claim's namespace."""

    name: Name


class EventDrivenNats(_Source):
    """`spec.nats` of an EventDrivenService (stream and consumer are required there)."""

    url: StrictStr | None = None
    stream: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    consumer: Annotated[StrictStr, Field(min_length=1, max_length=255)]


class InitContainer(_Source):
    """`spec.initContainer`: a command run in the service's own image before it starts."""

    command: Annotated[list[StrictStr], Field(min_length=1)]
    args: list[StrictStr] = Field(default_factory=list)
    image: StrictStr | None = None  # the design documents' shape only


class EventDrivenScaling(_Source):
    """`spec.scaling` of the design documents' EventDrivenService (`lagThreshold` a string)."""

    min_replicas: StrictInt | None = None
    max_replicas: StrictInt | None = None
    lag_threshold: StrictStr | StrictInt | None = None


class EventDrivenServiceSpec(_Source):
    """The spec of zerotouch-platform's `EventDrivenService` claim."""

    image: Annotated[StrictStr, Field(min_length=1)]
    size: Literal["micro", "small", "medium", "large"] | None = None
    nats: EventDrivenNats
    secret1_name: Name | None = None
    secret2_name: Name | None = None
    secret3_name: Name | None = None
    secret4_name: Name | None = None
    secret5_name: Name | None = None
    secret_name: Name | None = None  # the design documents' one envFrom Secret
    image_pull_secrets: list[NameReference] = Field(default_factory=list)
    http_port: Annotated[StrictInt, Field(ge=1, le=65535)] | None = None
    health_path: StrictStr | None = None
    ready_path: StrictStr | None = None
    session_affinity: Literal["None", "ClientIP"] | None = None
    init_container: InitContainer | None = None
    scaling: EventDrivenScaling | None = None


class FlatAgentExecutorSpec(_Source):
    """The spec of the flat `AgentExecutor` claim in zerotouch-platform's design documents."""

    image: Annotated[StrictStr, Field(min_length=1)]
    size: Literal["micro", "small", "medium", "large"] | None = None
    nats_url: StrictStr | None = None
    nats_stream_name: StrictStr | None = None
    nats_consumer_group: StrictStr | None = None
    postgres_connection_secret: Name | None = None
    dragonfly_connection_secret: Name | None = None
    llm_keys_secret: Name | None = None
    image_pull_secrets: list[Name | NameReference] = Field(default_factory=list)


class EventDrivenServiceClaim(_Source):
    """A whole `EventDrivenService` document."""

    api_version: Literal["platform.bizmatters.io/v1alpha1"]
    kind: Literal["EventDrivenService"]
    metadata: SourceMetadata
    spec: EventDrivenServiceSpec


class FlatAgentExecutorClaim(_Source):
    """A whole flat `AgentExecutor` document."""

    api_version: Literal["platform.bizmatters.io/v1alpha1"]
    kind: Literal["AgentExecutor"]
    metadata: SourceMetadata
    spec: FlatAgentExecutorSpec


def _is_flat(spec: Any) -> bool:
    if not isinstance(spec, dict):
        return False
    pull = spec.get("imagePullSecrets")
    names_only = isinstance(pull, list) and any(isinstance(item, str) for item in pull)
    return names_only or bool(FLAT_ONLY_FIELDS & spec.keys())


def source_kind(document: dict[str, Any]) -> SourceKind | None:
    """The source shape of a document, or None when there is nothing to migrate in it."""
    group = str(document.get("apiVersion", "")).split("/", 1)[0]
    if group != API_GROUP:
        return None
    if document.get("kind") == EVENT_DRIVEN_SERVICE:
        return SourceKind.EVENT_DRIVEN_SERVICE
    if document.get("kind") == KIND and _is_flat(document.get("spec")):
        return SourceKind.FLAT_AGENT_EXECUTOR
    return None


def is_target(document: dict[str, Any]) -> bool:
    """True for an AgentExecutor already in this platform's shape."""
    return (
        document.get("apiVersion") == COMPOSITE_API_VERSION
        and document.get("kind") == KIND
        and source_kind(document) is None
    )
