"""`agentplane migrate`, field by field: where each zerotouch-platform field goes, what is
reported for each field that cannot go anywhere, and which inputs are refused."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from functions.render.migrate.convert import MigrationError, convert
from functions.render.migrate.report import Conversion, FieldReport, Outcome
from functions.render.migrate.secret_roles import Role, assign, role_of

API_VERSION = "platform.bizmatters.io/v1alpha1"
IMAGE = "ghcr.io/acme/worker:1.0.0"
NATS = {"stream": "AGENT_EXECUTION", "consumer": "worker-workers"}


def event_driven(**spec: Any) -> dict[str, Any]:
    """An EventDrivenService with the required fields and `spec` on top."""
    return {
        "apiVersion": API_VERSION,
        "kind": "EventDrivenService",
        "metadata": {"name": "worker", "namespace": "team-a"},
        "spec": {"image": IMAGE, "nats": dict(NATS), **spec},
    }


def flat(**spec: Any) -> dict[str, Any]:
    """A flat AgentExecutor of zerotouch-platform's design documents with `spec` on top."""
    return {
        "apiVersion": API_VERSION,
        "kind": "AgentExecutor",
        "metadata": {"name": "worker", "namespace": "team-a"},
        "spec": {"image": IMAGE, "natsStreamName": "AGENT_EXECUTION", **spec},
    }


def value_at(document: dict[str, Any], path: str) -> Any:
    """The value at a report path such as `spec.secrets.extra[0]`."""
    value: Any = document
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        value = value[int(index)] if index else value[name]
    return value


def entry(conversion: Conversion, source: str) -> FieldReport:
    """The one report entry about `source`."""
    matches = [f for f in conversion.fields if f.source == source]
    assert len(matches) == 1, f"{source}: {matches} in {conversion.fields}"
    return matches[0]


# (source document, source field, outcome, target field, value written there)
CARRIED = [
    (event_driven(), "spec.image", Outcome.CARRIED, "spec.image", IMAGE),
    (event_driven(size="large"), "spec.size", Outcome.CARRIED, "spec.size", "large"),
    (
        event_driven(nats={**NATS, "url": "nats://nats.example:4222"}),
        "spec.nats.url",
        Outcome.CARRIED,
        "spec.nats.url",
        "nats://nats.example:4222",
    ),
    (event_driven(), "spec.nats.stream", Outcome.CARRIED, "spec.nats.stream", "AGENT_EXECUTION"),
    (event_driven(), "spec.nats.consumer", Outcome.CARRIED, "spec.nats.consumer", "worker-workers"),
    (
        event_driven(secret1Name="worker-db-conn"),
        "spec.secret1Name",
        Outcome.CHANGED,
        "spec.secrets.postgres",
        "worker-db-conn",
    ),
    (
        event_driven(secret3Name="worker-cache-conn"),
        "spec.secret3Name",
        Outcome.CHANGED,
        "spec.secrets.dragonfly",
        "worker-cache-conn",
    ),
    (
        event_driven(secret2Name="worker-llm-keys"),
        "spec.secret2Name",
        Outcome.CHANGED,
        "spec.secrets.llmKeys",
        "worker-llm-keys",
    ),
    (
        event_driven(secret4Name="worker-redis"),
        "spec.secret4Name",
        Outcome.CHANGED,
        "spec.secrets.dragonfly",
        "worker-redis",
    ),
    (
        event_driven(secret5Name="worker-app-config"),
        "spec.secret5Name",
        Outcome.CARRIED,
        "spec.secrets.extra[0]",
        "worker-app-config",
    ),
    (
        event_driven(secretName="worker-env"),
        "spec.secretName",
        Outcome.CARRIED,
        "spec.secrets.extra[0]",
        "worker-env",
    ),
    (
        event_driven(imagePullSecrets=[{"name": "ghcr-pull"}]),
        "spec.imagePullSecrets",
        Outcome.CARRIED,
        "spec.imagePullSecrets",
        [{"name": "ghcr-pull"}],
    ),
    (
        event_driven(initContainer={"command": ["/bin/sh", "-c"], "args": ["./migrate.sh"]}),
        "spec.initContainer.command",
        Outcome.CARRIED,
        "spec.migrations.command",
        ["/bin/sh", "-c", "./migrate.sh"],
    ),
    (
        event_driven(initContainer={"command": ["/bin/sh", "-c"], "args": ["./migrate.sh"]}),
        "spec.initContainer.args",
        Outcome.CARRIED,
        "spec.migrations.command",
        ["/bin/sh", "-c", "./migrate.sh"],
    ),
    (
        event_driven(scaling={"minReplicas": 2}),
        "spec.scaling.minReplicas",
        Outcome.CARRIED,
        "spec.scaling.minReplicas",
        2,
    ),
    (
        event_driven(scaling={"maxReplicas": 30}),
        "spec.scaling.maxReplicas",
        Outcome.CARRIED,
        "spec.scaling.maxReplicas",
        30,
    ),
    (
        event_driven(scaling={"lagThreshold": "7"}),
        "spec.scaling.lagThreshold",
        Outcome.CHANGED,
        "spec.scaling.lagThreshold",
        7,
    ),
    (
        event_driven(scaling={"lagThreshold": 7}),
        "spec.scaling.lagThreshold",
        Outcome.CARRIED,
        "spec.scaling.lagThreshold",
        7,
    ),
    (flat(), "spec.image", Outcome.CARRIED, "spec.image", IMAGE),
    (flat(size="micro"), "spec.size", Outcome.CARRIED, "spec.size", "micro"),
    (
        flat(natsUrl="tls://nats.example:4222"),
        "spec.natsUrl",
        Outcome.CARRIED,
        "spec.nats.url",
        "tls://nats.example:4222",
    ),
    (flat(), "spec.natsStreamName", Outcome.CARRIED, "spec.nats.stream", "AGENT_EXECUTION"),
    (
        flat(natsConsumerGroup="worker-group"),
        "spec.natsConsumerGroup",
        Outcome.CARRIED,
        "spec.nats.consumer",
        "worker-group",
    ),
    (
        flat(postgresConnectionSecret="worker-pg"),
        "spec.postgresConnectionSecret",
        Outcome.CARRIED,
        "spec.secrets.postgres",
        "worker-pg",
    ),
    (
        flat(dragonflyConnectionSecret="worker-df"),
        "spec.dragonflyConnectionSecret",
        Outcome.CARRIED,
        "spec.secrets.dragonfly",
        "worker-df",
    ),
    (
        flat(llmKeysSecret="worker-keys"),
        "spec.llmKeysSecret",
        Outcome.CARRIED,
        "spec.secrets.llmKeys",
        "worker-keys",
    ),
    (
        flat(imagePullSecrets=["ghcr-pull"]),
        "spec.imagePullSecrets",
        Outcome.CHANGED,
        "spec.imagePullSecrets",
        [{"name": "ghcr-pull"}],
    ),
    (
        flat(imagePullSecrets=[{"name": "ghcr-pull"}]),
        "spec.imagePullSecrets",
        Outcome.CARRIED,
        "spec.imagePullSecrets",
        [{"name": "ghcr-pull"}],
    ),
    (event_driven(), "metadata.name", Outcome.CARRIED, "metadata.name", "worker"),
    (event_driven(), "metadata.namespace", Outcome.CARRIED, "metadata.namespace", "team-a"),
]


@pytest.mark.parametrize(
    ("document", "source", "outcome", "target", "value"),
    CARRIED,
    ids=[f"{d['kind']}:{s}->{t}" for d, s, _, t, _ in CARRIED],
)
def test_each_source_field_lands_in_its_agent_executor_field(
    document: dict[str, Any], source: str, outcome: Outcome, target: str, value: Any
) -> None:
    conversion = convert(document)
    assert (entry(conversion, source).outcome, entry(conversion, source).target) == (
        outcome,
        target,
    )
    assert value_at(conversion.claim, target) == value
    assert conversion.claim["apiVersion"] == API_VERSION
    assert conversion.claim["kind"] == "AgentExecutor"
    assert not conversion.lost


# (source document, source field, outcome, words the detail must contain)
NOT_CARRIED = [
    (event_driven(httpPort=8080), "spec.httpPort", Outcome.BUILT_IN, "8080"),
    (event_driven(httpPort=8000), "spec.httpPort", Outcome.DROPPED, "port 8000 must use 8080"),
    (event_driven(healthPath="/health"), "spec.healthPath", Outcome.BUILT_IN, "GET /health"),
    (event_driven(healthPath="/healthz"), "spec.healthPath", Outcome.DROPPED, "GET /health"),
    (event_driven(readyPath="/ready"), "spec.readyPath", Outcome.BUILT_IN, "GET /ready"),
    (event_driven(readyPath="/readyz"), "spec.readyPath", Outcome.DROPPED, "GET /ready"),
    (event_driven(sessionAffinity="None"), "spec.sessionAffinity", Outcome.BUILT_IN, "no session"),
    (
        event_driven(sessionAffinity="ClientIP"),
        "spec.sessionAffinity",
        Outcome.DROPPED,
        "no session affinity",
    ),
    (
        event_driven(initContainer={"command": ["m"], "image": IMAGE}),
        "spec.initContainer.image",
        Outcome.BUILT_IN,
        "executor's image",
    ),
    (
        event_driven(initContainer={"command": ["m"], "image": "ghcr.io/acme/migrator:1"}),
        "spec.initContainer.image",
        Outcome.DROPPED,
        "own image",
    ),
    (
        event_driven(scaling={"lagThreshold": "lots"}),
        "spec.scaling.lagThreshold",
        Outcome.DROPPED,
        "'lots' is not a whole number",
    ),
    (event_driven(replicas=3), "spec.replicas", Outcome.DROPPED, "not a field of Event"),
    (
        event_driven(env=[{"name": "A", "value": "1"}]),
        "spec.env",
        Outcome.DROPPED,
        "never took effect",
    ),
    (
        event_driven(nats={**NATS, "maxDeliver": 5}),
        "spec.nats.maxDeliver",
        Outcome.DROPPED,
        "not a field of EventDrivenService",
    ),
    (
        event_driven(initContainer={"command": ["m"], "env": []}),
        "spec.initContainer.env",
        Outcome.DROPPED,
        "not a field of EventDrivenService",
    ),
    (
        event_driven(scaling={"cooldown": 60}),
        "spec.scaling.cooldown",
        Outcome.DROPPED,
        "not a field of EventDrivenService",
    ),
    (
        event_driven(imagePullSecrets=[{"name": "p", "namespace": "x"}]),
        "spec.imagePullSecrets[0].namespace",
        Outcome.DROPPED,
        "not a field",
    ),
    (
        event_driven(compositionSelector={"matchLabels": {"tier": "gold"}}),
        "spec.compositionSelector",
        Outcome.DROPPED,
        "platform's own Composition",
    ),
    (
        event_driven(writeConnectionSecretToRef={"name": "conn"}),
        "spec.writeConnectionSecretToRef",
        Outcome.DROPPED,
        "no connection details",
    ),
    (
        event_driven(compositionUpdatePolicy="Manual"),
        "spec.compositionUpdatePolicy",
        Outcome.DROPPED,
        "rolls its Composition",
    ),
    (
        event_driven(compositionUpdatePolicy="Automatic"),
        "spec.compositionUpdatePolicy",
        Outcome.OMITTED,
        "default",
    ),
    (event_driven(compositionRef={"name": "eds"}), "spec.compositionRef", Outcome.OMITTED, "Cross"),
    (event_driven(resourceRef={"name": "x"}), "spec.resourceRef", Outcome.OMITTED, "Crossplane"),
    (
        event_driven() | {"status": {"conditions": []}},
        "status",
        Outcome.OMITTED,
        "written by the cluster",
    ),
    (
        event_driven() | {"metadata": {"name": "w", "namespace": "t", "uid": "1"}},
        "metadata.uid",
        Outcome.OMITTED,
        "written by the cluster",
    ),
    (
        event_driven() | {"metadata": {"name": "w", "namespace": "t", "generateName": "w-"}},
        "metadata.generateName",
        Outcome.DROPPED,
        "not carried",
    ),
    (flat(replicas=2), "spec.replicas", Outcome.DROPPED, "not a field of the flat AgentExecutor"),
]


@pytest.mark.parametrize(
    ("document", "source", "outcome", "words"),
    NOT_CARRIED,
    ids=[f"{d['kind']}:{s}:{o.name}" for d, s, o, _ in NOT_CARRIED],
)
def test_each_field_without_a_place_is_reported_with_the_reason(
    document: dict[str, Any], source: str, outcome: Outcome, words: str
) -> None:
    conversion = convert(document)
    reported = entry(conversion, source)
    assert reported.outcome is outcome
    assert words in reported.detail
    assert conversion.lost is (outcome is Outcome.DROPPED)


def test_metadata_labels_and_annotations_are_carried_but_kubectls_copy_is_not() -> None:
    document = event_driven()
    document["metadata"] |= {
        "labels": {"team": "a"},
        "annotations": {
            "acme.io/owner": "team-a",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    }
    conversion = convert(document)
    assert conversion.claim["metadata"] == {
        "name": "worker",
        "namespace": "team-a",
        "labels": {"team": "a"},
        "annotations": {"acme.io/owner": "team-a"},
    }
    omitted = entry(
        conversion, "metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]"
    )
    assert omitted.outcome is Outcome.OMITTED


def test_no_init_container_turns_the_platforms_migrations_off() -> None:
    conversion = convert(event_driven())
    assert conversion.claim["spec"]["migrations"] == {"enabled": False}
    notes = {f.target for f in conversion.fields if f.outcome is Outcome.NOTE}
    assert "spec.migrations.enabled" in notes


def test_the_flat_agent_executor_keeps_the_platforms_migrations() -> None:
    # The design documents' composition always ran the init container (it patched its image).
    assert "migrations" not in convert(flat()).claim["spec"]


@pytest.mark.parametrize(
    ("secrets", "notes"),
    [
        ({}, {"spec.secrets.postgres", "spec.secrets.dragonfly", "spec.secrets.nats"}),
        ({"secret1Name": "w-db-conn"}, {"spec.secrets.dragonfly", "spec.secrets.nats"}),
        (
            {"secret1Name": "w-db-conn", "secret2Name": "w-cache-conn"},
            {"spec.secrets.nats"},
        ),
    ],
)
def test_a_secret_the_executor_needs_and_the_source_lacks_is_a_note(
    secrets: dict[str, str], notes: set[str]
) -> None:
    conversion = convert(event_driven(**secrets))
    assert {
        f.target
        for f in conversion.fields
        if f.outcome is Outcome.NOTE and f.target.startswith("spec.secrets.")
    } == notes


@pytest.mark.parametrize(("stream", "noted"), [("AGENT_EXECUTION", False), ("ORDERS_JOBS", True)])
def test_a_stream_the_platform_does_not_create_is_a_note(stream: str, noted: bool) -> None:
    conversion = convert(event_driven(nats={"stream": stream, "consumer": "c"}))
    notes = [
        f for f in conversion.fields if f.target == "spec.nats.stream" and f.outcome is Outcome.NOTE
    ]
    assert bool(notes) is noted


# (name, the secret's role by its name)
ROLES = [
    ("orders-db-conn", Role.POSTGRES),
    ("orders-postgres", Role.POSTGRES),
    ("pg_main", Role.POSTGRES),
    ("orders.database", Role.POSTGRES),
    ("orders-cache-conn", Role.DRAGONFLY),
    ("session-redis", Role.DRAGONFLY),
    ("orders-dragonfly", Role.DRAGONFLY),
    ("team-llm-keys", Role.LLM_KEYS),
    ("openai-key", Role.LLM_KEYS),
    ("app-config", None),
    ("dashboard-settings", None),  # 'db' only as a whole word
    ("db-cache", None),  # two roles: mounted whole rather than guessed
]


@pytest.mark.parametrize(("name", "role"), ROLES)
def test_a_secrets_role_comes_from_one_roles_word_in_its_name(name: str, role: Role | None) -> None:
    assert role_of(name) is role


def test_the_first_secret_of_a_role_takes_it_and_the_next_is_mounted_whole() -> None:
    first, second = assign([("spec.secret1Name", "a-db"), ("spec.secret2Name", "b-db")])
    assert (first.role, second.role) == (Role.POSTGRES, Role.EXTRA)
    assert "spec.secret1Name" in second.why


def test_the_converted_claim_is_checked_with_the_functions_own_rules() -> None:
    document = event_driven()
    document["metadata"] = {"name": "1worker"}  # a valid EventDrivenService name, no namespace
    conversion = convert(document)
    invalid = {f.target: f.detail for f in conversion.fields if f.outcome is Outcome.INVALID}
    assert set(invalid) == {"metadata.name", "metadata.namespace"}
    assert "DNS-1035" in invalid["metadata.name"]
    assert conversion.lost


def test_a_latest_tag_is_a_note_not_a_loss() -> None:
    conversion = convert(event_driven(image="ghcr.io/acme/worker:latest"))
    notes = [f for f in conversion.fields if f.target == "spec.image" and f.outcome is Outcome.NOTE]
    assert notes and "latest" in notes[0].detail
    assert not conversion.lost


# (document, words the error must contain)
REFUSED = [
    ({"apiVersion": "apps/v1", "kind": "Deployment"}, "apps/v1 Deployment is not a zerotouch"),
    (
        {"apiVersion": API_VERSION, "kind": "AgentExecutor", "spec": {"image": IMAGE}},
        "already in this platform's shape",
    ),
    (
        {**event_driven(), "spec": {"image": IMAGE}},
        "not a valid EventDrivenService: spec.nats: Field required",
    ),
    (event_driven(size="huge"), "spec.size: Input should be 'micro'"),
    (event_driven(httpPort="8000"), "spec.httpPort: Input should be a valid integer"),
    (event_driven(httpPort=70000), "spec.httpPort: Input should be less than or equal to 65535"),
    (event_driven(initContainer={"args": ["x"]}), "spec.initContainer.command: Field required"),
    (
        {**event_driven(), "apiVersion": "platform.bizmatters.io/v1beta1"},
        "apiVersion: Input should be 'platform.bizmatters.io/v1alpha1'",
    ),
    ({**event_driven(), "metadata": {"namespace": "a"}}, "metadata.name: Field required"),
    (flat(imagePullSecrets=["ok", 7]), "not a valid flat AgentExecutor: spec.imagePullSecrets[1]"),
]


@pytest.mark.parametrize(("document", "words"), REFUSED, ids=[w[:40] for _, w in REFUSED])
def test_what_cannot_be_converted_is_refused_naming_the_field(
    document: dict[str, Any], words: str
) -> None:
    with pytest.raises(MigrationError) as raised:
        convert(copy.deepcopy(document))
    assert words in str(raised.value)
