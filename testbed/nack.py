"""NACK's job, done locally: `jetstream.nats.io/v1beta2` Stream and Consumer manifests become
JetStream streams and consumers, created over the connection the `Account` object names.

The platform runs NACK with `-crd-connect` and no default connection
(platform/nack/values.yaml): every Stream and Consumer reaches NATS through the `Account`
its `spec.account` names, with the user and password from the Secret that Account points
to. `apply` does the same, so a manifest without an account fails here as it would there.

Every spec field is translated or refused: a field this module does not know is an error,
never silently dropped, so a manifest cannot pass here with a setting the server never saw.
Omitted fields take the CRD's schema defaults (the API server fills them in before NACK
reads the object), which for NACK are unsafe ones: memory storage, `ackPolicy: none`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    PersistMode,
    ReplayPolicy,
    RetentionPolicy,
    StorageType,
    StoreCompression,
    StreamConfig,
)
from nats.js.errors import BadRequestError

API_VERSION = "jetstream.nats.io/v1beta2"
STREAM_IN_USE = 10058  # JetStream: "stream name already in use with a different configuration"

# Schema defaults of the NACK v1beta2 CRDs (chart `nack`, crds/): the API server writes them
# into any object that omits the field, so NACK, and this module, see them as set.
STREAM_DEFAULTS: dict[str, Any] = {
    "storage": "memory",
    "retention": "limits",
    "discard": "old",
    "replicas": 1,
    "maxBytes": -1,
    "maxMsgs": -1,
    "maxMsgSize": -1,
    "maxConsumers": -1,
    "maxMsgsPerSubject": 0,
}
CONSUMER_DEFAULTS: dict[str, Any] = {
    "ackPolicy": "none",
    "ackWait": "1ns",
    "deliverPolicy": "all",
    "replayPolicy": "instant",
}

# How a Stream or Consumer reaches NATS, and what NACK does on delete/update: not part of
# the JetStream configuration. Only `account` is supported (crd-connect, as deployed).
_CONNECTION = ("account", "servers", "creds", "nkey", "tls", "tlsFirst", "jsDomain")
_LIFECYCLE = ("preventDelete", "preventUpdate")


class NackError(ValueError):
    """A manifest that NACK would refuse or this module cannot translate; names the field."""


# --- values ---------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def duration_seconds(text: str) -> float:
    """Seconds of a Go `time.Duration` string (`168h`, `2m`, `1h30m`, `500ms`, `1ns`).

    NACK parses these with `time.ParseDuration`; an empty string means unset (0).
    """
    if text == "":
        return 0.0
    sign, rest = (-1.0, text[1:]) if text[:1] == "-" else (1.0, text.removeprefix("+"))
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"{text!r} is not a Go duration (like 168h, 2m, 1h30m, 500ms)")
    position, total = 0, 0.0
    while position < len(rest):
        match = _DURATION_PART.match(rest, position)
        if match is None:
            raise ValueError(f"{text!r} is not a Go duration (like 168h, 2m, 1h30m, 500ms)")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total


def _integer(value: Any) -> int:
    # The CRD's `integer`/`number` fields: a quoted "1Gi" or a bool is not one.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{value!r} is not a list of strings")
    return list(value)


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{value!r} is not a map of strings")
    return dict(value)


def _seconds(value: Any) -> float:
    return duration_seconds(_text(value))


def _optional_seconds(value: Any) -> float | None:
    # Durations whose CRD default is "": unset, not zero.
    return duration_seconds(_text(value)) or None


def _durations(value: Any) -> list[float]:
    return [duration_seconds(v) for v in _texts(value)]


def _timestamp(value: Any) -> datetime:
    return datetime.fromisoformat(_text(value).replace("Z", "+00:00"))


def _optional_text(value: Any) -> str | None:
    return _text(value) or None


def _enum(choices: Mapping[str, Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {sorted(choices)}")
        return choices[value]

    return convert


# --- the translation tables: CRD field → (nats-py config field, converter) -------------------

_STREAM_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "name": ("name", _text),
    "description": ("description", _text),
    "subjects": ("subjects", _texts),
    "retention": ("retention", _enum({p.value: p for p in RetentionPolicy})),
    "maxConsumers": ("max_consumers", _integer),
    "maxMsgs": ("max_msgs", _integer),
    "maxBytes": ("max_bytes", _integer),
    "discard": ("discard", _enum({p.value: p for p in DiscardPolicy})),
    "discardPerSubject": ("discard_new_per_subject", _boolean),
    "maxAge": ("max_age", _seconds),
    "maxMsgsPerSubject": ("max_msgs_per_subject", _integer),
    "maxMsgSize": ("max_msg_size", _integer),
    "storage": ("storage", _enum({p.value: p for p in StorageType})),
    "replicas": ("num_replicas", _integer),
    "noAck": ("no_ack", _boolean),
    "duplicateWindow": ("duplicate_window", _seconds),
    "denyDelete": ("deny_delete", _boolean),
    "denyPurge": ("deny_purge", _boolean),
    "allowRollup": ("allow_rollup_hdrs", _boolean),
    "allowDirect": ("allow_direct", _boolean),
    "mirrorDirect": ("mirror_direct", _boolean),
    "sealed": ("sealed", _boolean),
    "firstSequence": ("first_seq", _integer),
    "compression": (
        "compression",
        _enum(
            {"": StoreCompression.NONE, "none": StoreCompression.NONE, "s2": StoreCompression.S2}
        ),
    ),
    "allowMsgTtl": ("allow_msg_ttl", _boolean),
    "allowMsgSchedules": ("allow_msg_schedules", _boolean),
    "allowMsgCounter": ("allow_msg_counter", _boolean),
    "allowAtomicPublish": ("allow_atomic", _boolean),
    "subjectDeleteMarkerTtl": ("subject_delete_marker_ttl", _optional_seconds),
    "persistMode": (
        "persist_mode",
        _enum({"": None, "default": PersistMode.DEFAULT, "async": PersistMode.ASYNC}),
    ),
    "metadata": ("metadata", _labels),
}

_DELIVER_POLICIES = {
    "all": DeliverPolicy.ALL,
    "last": DeliverPolicy.LAST,
    "new": DeliverPolicy.NEW,
    "byStartSequence": DeliverPolicy.BY_START_SEQUENCE,
    "byStartTime": DeliverPolicy.BY_START_TIME,
    "lastPerSubject": DeliverPolicy.LAST_PER_SUBJECT,
}

_CONSUMER_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "description": ("description", _text),
    "deliverPolicy": ("deliver_policy", _enum(_DELIVER_POLICIES)),
    "optStartSeq": ("opt_start_seq", _integer),
    "optStartTime": ("opt_start_time", _timestamp),
    "ackPolicy": (
        "ack_policy",
        _enum({"none": AckPolicy.NONE, "all": AckPolicy.ALL, "explicit": AckPolicy.EXPLICIT}),
    ),
    "ackWait": ("ack_wait", _seconds),
    "maxDeliver": ("max_deliver", _integer),
    "backoff": ("backoff", _durations),
    "filterSubject": ("filter_subject", _text),
    "filterSubjects": ("filter_subjects", _texts),
    "replayPolicy": ("replay_policy", _enum({p.value: p for p in ReplayPolicy})),
    "rateLimitBps": ("rate_limit_bps", _integer),
    "sampleFreq": ("sample_freq", _text),
    "maxWaiting": ("max_waiting", _integer),
    "maxAckPending": ("max_ack_pending", _integer),
    "flowControl": ("flow_control", _boolean),
    "heartbeatInterval": ("idle_heartbeat", _seconds),
    "headersOnly": ("headers_only", _boolean),
    "deliverSubject": ("deliver_subject", _text),
    "deliverGroup": ("deliver_group", _text),
    "inactiveThreshold": ("inactive_threshold", _seconds),
    "replicas": ("num_replicas", _integer),
    "memStorage": ("mem_storage", _boolean),
    "metadata": ("metadata", _labels),
    "pauseUntil": ("pause_until", _optional_text),
    "maxRequestBatch": ("max_batch", _integer),
    "maxRequestExpires": ("max_expires", _seconds),
    "maxRequestMaxBytes": ("max_bytes", _integer),
}


@dataclass
class PullConsumerConfig(ConsumerConfig):
    """ConsumerConfig with the pull-request limits nats-py does not model (JetStream API names)."""

    max_batch: int | None = None
    max_expires: float | None = None  # seconds, sent as nanoseconds
    max_bytes: int | None = None

    def as_dict(self) -> dict[str, object]:
        result = super().as_dict()
        if self.max_expires is not None:
            result["max_expires"] = self._to_nanoseconds(self.max_expires)
        return result


def _translate(
    kind: str,
    spec: Mapping[str, Any],
    table: Mapping[str, tuple[str, Callable[[Any], Any]]],
    skip: Iterable[str],
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    ignored = set(skip) | set(_CONNECTION) | set(_LIFECYCLE)
    for key, value in spec.items():
        if key in ignored:
            continue
        if key not in table:
            raise NackError(
                f"{kind} spec.{key} is not a field testbed/nack.py translates: add it to "
                "_STREAM_FIELDS/_CONSUMER_FIELDS rather than let the server never see it"
            )
        name, convert = table[key]
        try:
            fields[name] = convert(value)
        except ValueError as exc:
            raise NackError(f"{kind} spec.{key}: {exc}") from None
    return fields


def stream_config(spec: Mapping[str, Any]) -> StreamConfig:
    """The JetStream configuration of a Stream's spec (CRD defaults for omitted fields)."""
    fields = _translate("Stream", {**STREAM_DEFAULTS, **spec}, _STREAM_FIELDS, ())
    if not fields.get("name"):
        raise NackError("Stream spec.name is required")
    return StreamConfig(**fields)


def consumer_config(spec: Mapping[str, Any]) -> tuple[str, PullConsumerConfig]:
    """The stream a Consumer's spec names and its JetStream configuration."""
    fields = _translate(
        "Consumer", {**CONSUMER_DEFAULTS, **spec}, _CONSUMER_FIELDS, ("streamName", "durableName")
    )
    stream, durable = spec.get("streamName"), spec.get("durableName")
    if not isinstance(stream, str) or not stream:
        raise NackError("Consumer spec.streamName is required")
    if not isinstance(durable, str) or not durable:
        raise NackError("Consumer spec.durableName is required (the platform's are durable)")
    return stream, PullConsumerConfig(name=durable, durable_name=durable, **fields)


# --- applying, as NACK does ------------------------------------------------------------------


SecretLookup = Callable[[str, str], Mapping[str, str] | None]
"""(namespace, name) → the Secret's data, or None when there is no such Secret."""


def _label(document: Mapping[str, Any]) -> str:
    meta = document.get("metadata", {})
    return f"{document.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


@dataclass(frozen=True)
class Connection:
    """How NACK reaches NATS for one object: the Account's user and password."""

    account: str
    user: str
    password: str


def account_connection(
    document: Mapping[str, Any], accounts: Iterable[Mapping[str, Any]], secrets: SecretLookup
) -> Connection:
    """The credentials NACK uses for `document`: those of the Account `spec.account` names."""
    spec = document["spec"]
    namespace = document["metadata"]["namespace"]
    if not spec.get("account"):
        raise NackError(
            f"{_label(document)} has no spec.account: NACK runs with -crd-connect and no "
            "default connection (platform/nack/values.yaml), so it cannot reach NATS for it"
        )
    if spec.get("servers"):
        raise NackError(
            f"{_label(document)}: spec.servers would make NACK connect there rather than "
            "through the Account; the platform's objects leave the connection to the Account"
        )
    for extra in ("creds", "nkey", "tls", "jsDomain"):
        if spec.get(extra):
            raise NackError(f"{_label(document)}: spec.{extra} is not supported by testbed/nack.py")
    account = next(
        (
            a
            for a in accounts
            if a["metadata"]["name"] == spec["account"] and a["metadata"]["namespace"] == namespace
        ),
        None,
    )
    if account is None:
        raise NackError(f"{_label(document)}: no Account {namespace}/{spec['account']}")
    user = account["spec"].get("user")
    unknown = set(account["spec"]) - {"name", "servers", "user", "tlsFirst"}
    if user is None or unknown:
        raise NackError(
            f"{_label(account)}: only user/password Accounts are supported (has {sorted(unknown)})"
        )
    secret_name = user["secret"]["name"]
    data = secrets(namespace, secret_name)
    if data is None:
        raise NackError(f"{_label(account)}: Secret {namespace}/{secret_name} does not exist")
    missing = [k for k in (user["user"], user["password"]) if k not in data]
    if missing:
        raise NackError(f"{_label(account)}: Secret {secret_name} has no key {missing}")
    return Connection(account["spec"]["name"], data[user["user"]], data[user["password"]])


@dataclass(frozen=True)
class Applied:
    """What `apply` created, by object."""

    streams: dict[str, StreamConfig]
    consumers: dict[str, PullConsumerConfig]


async def _connect(servers: list[str], connection: Connection) -> NatsClient:
    return await nats.connect(
        servers=servers,
        user=connection.user,
        password=connection.password,
        name="nack-testbed",
        allow_reconnect=False,
        connect_timeout=5,
    )


async def apply(
    documents: Iterable[Mapping[str, Any]],
    secrets: SecretLookup,
    servers: list[str],
    *,
    replicas: int | None = None,
) -> Applied:
    """Create (or update) every Stream, then every Consumer, as NACK would.

    `servers` stands for the Account's `spec.servers` (cluster DNS names) on this machine.
    `replicas`, when given, replaces every object's replica count: the single development
    server refuses `replicas > 1` (platform/nats/values-dev.yaml), so the R3 manifests are
    applied at R1 there, the way the platform's development clusters apply them.
    """
    documents = [d for d in documents if str(d.get("apiVersion")) == API_VERSION]
    accounts = [d for d in documents if d["kind"] == "Account"]
    applied = Applied({}, {})
    for kind in ("Stream", "Consumer"):
        for document in (d for d in documents if d["kind"] == kind):
            spec = dict(document["spec"])
            if replicas is not None:
                spec["replicas"] = replicas
            connection = account_connection(document, accounts, secrets)
            client = await _connect(servers, connection)
            try:
                js = client.jetstream(timeout=10)
                if kind == "Stream":
                    config = stream_config(spec)
                    try:
                        await js.add_stream(config)
                    except BadRequestError as exc:
                        if exc.err_code != STREAM_IN_USE or spec.get("preventUpdate"):
                            raise
                        await js.update_stream(config)
                    applied.streams[_label(document)] = config
                else:
                    stream, consumer = consumer_config(spec)
                    await js.add_consumer(stream, consumer)
                    applied.consumers[_label(document)] = consumer
            finally:
                await client.close()
    return applied
