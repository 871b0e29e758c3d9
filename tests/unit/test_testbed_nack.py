"""testbed/nack.py turns NACK Stream and Consumer specs into the JetStream configuration NACK
would send: every field the platform's manifests use, CRD defaults for omitted ones, and an
error (never a silent drop) for anything it does not know."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from testbed.nack import (
    NackError,
    account_connection,
    consumer_config,
    duration_seconds,
    stream_config,
)
from tests.conftest import ROOT

NS = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("168h", 168 * 3600),
        ("720h", 720 * 3600),
        ("2m", 120),
        ("15m", 900),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("500ms", 0.5),
        ("90s", 90),
        ("1ns", 1e-9),
        ("250us", 250e-6),
        ("0", 0),
        ("", 0),
    ],
)
def test_go_durations_become_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2 minutes", "10", "h", "1d", "2m30", "-", "1hh"])
def test_anything_but_a_go_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        duration_seconds(text)


STREAM_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "the generated AGENT_EXECUTION",
        {
            "name": "AGENT_EXECUTION",
            "account": "nats-account",
            "description": "jobs",
            "subjects": ["agent.execute.*"],
            "storage": "file",
            "replicas": 3,
            "maxBytes": 2147483648,
            "maxMsgs": -1,
            "maxMsgsPerSubject": 0,
            "maxConsumers": -1,
            "discardPerSubject": False,
            "noAck": False,
            "allowRollup": False,
            "denyDelete": False,
            "denyPurge": False,
            "preventDelete": True,
            "preventUpdate": False,
            "retention": "workqueue",
            "discard": "new",
            "maxAge": "168h",
            "maxMsgSize": 1048576,
            "duplicateWindow": "2m",
        },
        {
            "name": "AGENT_EXECUTION",
            "description": "jobs",
            "subjects": ["agent.execute.*"],
            "storage": "file",
            "num_replicas": 3,
            "max_bytes": 2147483648,
            "max_msgs": -1,
            "max_msgs_per_subject": 0,
            "max_consumers": -1,
            "discard_new_per_subject": False,
            "no_ack": False,
            "allow_rollup_hdrs": False,
            "deny_delete": False,
            "deny_purge": False,
            "retention": "workqueue",
            "discard": "new",
            "max_age": 168 * 3600 * NS,
            "max_msg_size": 1048576,
            "duplicate_window": 120 * NS,
        },
    ),
    (
        "omitted fields take NACK's CRD defaults, memory storage included",
        {"name": "BARE", "subjects": ["bare.*"]},
        {
            "storage": "memory",
            "retention": "limits",
            "discard": "old",
            "num_replicas": 1,
            "max_bytes": -1,
            "max_msgs": -1,
            "max_msg_size": -1,
            "max_consumers": -1,
            "max_msgs_per_subject": 0,
            "max_age": 0,
            "duplicate_window": 0,
        },
    ),
    (
        "the rarer fields",
        {
            "name": "RARE",
            "compression": "s2",
            "allowDirect": True,
            "firstSequence": 10,
            "allowMsgTtl": True,
            "subjectDeleteMarkerTtl": "5m",
            "persistMode": "async",
            "metadata": {"team": "a"},
        },
        {
            "compression": "s2",
            "allow_direct": True,
            "first_seq": 10,
            "allow_msg_ttl": True,
            "subject_delete_marker_ttl": 300 * NS,
            "persist_mode": "async",
            "metadata": {"team": "a"},
        },
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES]
)
def test_a_stream_spec_becomes_the_jetstream_config_nack_sends(
    spec: dict[str, Any], expected: dict[str, Any]
) -> None:
    sent = stream_config(spec).as_dict()
    assert {k: sent.get(k) for k in expected} == expected


CONSUMER_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "a rendered managed consumer",
        {
            "streamName": "ANALYTICS_EXECUTION",
            "durableName": "analytics-workers",
            "account": "nats-account",
            "description": "workers",
            "deliverPolicy": "all",
            "ackPolicy": "explicit",
            "ackWait": "2m",
            "maxDeliver": 3,
            "maxAckPending": 8,
            "maxWaiting": 512,
            "maxRequestBatch": 4,
            "replayPolicy": "instant",
            "replicas": 3,
            "memStorage": False,
            "headersOnly": False,
            "preventDelete": True,
        },
        {
            "name": "analytics-workers",
            "durable_name": "analytics-workers",
            "description": "workers",
            "deliver_policy": "all",
            "ack_policy": "explicit",
            "ack_wait": 120 * NS,
            "max_deliver": 3,
            "max_ack_pending": 8,
            "max_waiting": 512,
            "max_batch": 4,
            "replay_policy": "instant",
            "num_replicas": 3,
            "mem_storage": False,
            "headers_only": False,
        },
    ),
    (
        "omitted fields take NACK's CRD defaults: no acks, a 1ns ack wait",
        {"streamName": "S", "durableName": "d"},
        {"ack_policy": "none", "ack_wait": 1, "deliver_policy": "all", "replay_policy": "instant"},
    ),
    (
        "durations, start positions and pull limits",
        {
            "streamName": "S",
            "durableName": "d",
            "deliverPolicy": "byStartSequence",
            "optStartSeq": 7,
            "backoff": ["1s", "5s"],
            "inactiveThreshold": "1h",
            "maxRequestExpires": "30s",
            "maxRequestMaxBytes": 1024,
            "filterSubjects": ["a.*", "b.*"],
        },
        {
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": 7,
            "backoff": [NS, 5 * NS],
            "inactive_threshold": 3600 * NS,
            "max_expires": 30 * NS,
            "max_bytes": 1024,
            "filter_subjects": ["a.*", "b.*"],
        },
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in CONSUMER_CASES], ids=[c[0] for c in CONSUMER_CASES]
)
def test_a_consumer_spec_becomes_the_jetstream_config_nack_sends(
    spec: dict[str, Any], expected: dict[str, Any]
) -> None:
    stream, config = consumer_config(spec)
    sent = config.as_dict()
    assert stream == spec["streamName"]
    assert {k: sent.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("kind", "spec", "problem"),
    [
        ("Stream", {"name": "S", "maxBytez": 1}, "spec.maxBytez is not a field"),
        ("Stream", {"name": "S", "mirror": {"name": "X"}}, "spec.mirror is not a field"),
        ("Stream", {"name": "S", "maxBytes": "1Gi"}, "spec.maxBytes: '1Gi' is not an integer"),
        ("Stream", {"name": "S", "replicas": True}, "spec.replicas: True is not an integer"),
        ("Stream", {"name": "S", "retention": "queue"}, "spec.retention: 'queue' is not one of"),
        ("Stream", {"name": "S", "maxAge": "7 days"}, "spec.maxAge: '7 days' is not a Go duration"),
        ("Stream", {"subjects": ["s.*"]}, "spec.name is required"),
        (
            "Consumer",
            {"streamName": "S", "durableName": "d", "priorityGroups": ["g"]},
            "spec.priorityGroups",
        ),
        (
            "Consumer",
            {"streamName": "S", "durableName": "d", "ackPolicy": "always"},
            "spec.ackPolicy",
        ),
        ("Consumer", {"streamName": "S"}, "spec.durableName is required"),
    ],
)
def test_a_field_it_cannot_translate_is_an_error_naming_it(
    kind: str, spec: dict[str, Any], problem: str
) -> None:
    translate = stream_config if kind == "Stream" else consumer_config
    with pytest.raises(NackError, match=problem):
        translate(spec)


def _platform_nack_specs() -> list[tuple[str, dict[str, Any]]]:
    paths = [
        *sorted((ROOT / "platform/tenants/generated").glob("*/nats.yaml")),
        *sorted((ROOT / "tests/golden/files").glob("*.yaml")),
    ]
    found = []
    for path in paths:
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") in ("Stream", "Consumer"):
                found.append((f"{path.name}:{document['metadata']['name']}", document))
    return found


@pytest.mark.parametrize(
    ("where", "document"), _platform_nack_specs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_stream_and_consumer_the_platform_renders_translates(
    where: str, document: dict[str, Any]
) -> None:
    if document["kind"] == "Stream":
        assert stream_config(document["spec"]).name == document["spec"]["name"]
    else:
        assert consumer_config(document["spec"])[0] == document["spec"]["streamName"]


ACCOUNT = {
    "kind": "Account",
    "metadata": {"name": "nats-account", "namespace": "tenant-a"},
    "spec": {
        "name": "tenant-a",
        "servers": ["nats://nats.nats.svc:4222"],
        "user": {"secret": {"name": "admin"}, "user": "NATS_USER", "password": "NATS_PASSWORD"},
    },
}


def _stream(**spec: Any) -> dict[str, Any]:
    return {"kind": "Stream", "metadata": {"name": "s", "namespace": "tenant-a"}, "spec": spec}


def test_an_object_connects_as_the_user_of_the_account_it_names() -> None:
    secrets = {("tenant-a", "admin"): {"NATS_USER": "a-nack-g1", "NATS_PASSWORD": "pw"}}
    connection = account_connection(
        _stream(name="S", account="nats-account"), [ACCOUNT], lambda ns, n: secrets.get((ns, n))
    )
    assert (connection.account, connection.user, connection.password) == (
        "tenant-a",
        "a-nack-g1",
        "pw",
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"name": "S", "servers": ["nats://nats.nats.svc:4222"]}, "has no spec.account"),
        ({"name": "S", "account": "other"}, "no Account tenant-a/other"),
        (
            {"name": "S", "account": "nats-account", "servers": ["nats://nats.nats.svc:4222"]},
            "spec.servers would make NACK connect there",
        ),
    ],
)
def test_an_object_without_a_reachable_account_cannot_be_applied(
    spec: dict[str, Any], problem: str
) -> None:
    # NACK runs with -crd-connect and no default connection: it could not apply these either.
    with pytest.raises(NackError, match=problem):
        account_connection(_stream(**spec), [ACCOUNT], lambda ns, n: None)


def test_a_missing_account_secret_is_named() -> None:
    with pytest.raises(NackError, match="Secret tenant-a/admin does not exist"):
        account_connection(_stream(name="S", account="nats-account"), [ACCOUNT], lambda ns, n: None)
