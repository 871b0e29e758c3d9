"""The input envelope: a JobExecutionEvent, bare or in a CloudEvent (DESIGN section 6)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from contract.events import attribute_problem
from contract.jobs import JOB_ID_MAX_LENGTH, JOB_ID_PATTERN, is_valid_job_id

# Every CloudEvent must have these (CloudEvents 1.0, "Required Attributes").
# Deeper input is refused before anything walks it: the standard library and the
# checkpoint serializers recurse once per level, and no agent definition or input needs
# more than a few dozen.
MAX_JSON_DEPTH = 100
_TOO_DEEP = f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)"


class InvalidEventError(ValueError):
    """Input that can never run; `job_id` is set when the event named one."""

    type = "InvalidInput"

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobExecutionEvent(BaseModel):
    """One job: the LangGraph thread id, the agent to run and its input."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=JOB_ID_MAX_LENGTH, pattern=JOB_ID_PATTERN)
    agent_definition: dict[str, Any]
    input_payload: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = None
    # The runner, the handling of its outcome and the submission all ask for the digest;
    # serializing the whole definition once per job is enough.
    _digest: str | None = PrivateAttr(default=None)

    def digest(self) -> str:
        """What this job is, as a digest: the same id with another digest is a conflict."""
        if self._digest is None:
            canonical = json.dumps(
                {"agent_definition": self.agent_definition, "input_payload": self.input_payload},
                sort_keys=True,
                separators=(",", ":"),
            )
            self._digest = "job:" + hashlib.sha256(canonical.encode()).hexdigest()
        return self._digest


def body_digest(body: bytes) -> str:
    """The digest of a message that could not be read as a job: its bytes."""
    return "body:" + hashlib.sha256(body).hexdigest()


class Envelope(BaseModel):
    """A parsed job with where it came from: a CloudEvent's attributes, or none when bare."""

    job: JobExecutionEvent
    event_id: str | None = None
    traceparent: str | None = None
    mode: Literal["structured", "binary", "bare"] = "bare"


def _job_id_hint(data: Any) -> str | None:
    if isinstance(data, dict):
        candidate = data.get("job_id")
        if is_valid_job_id(candidate):
            return str(candidate)
    return None


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors()
    )


def _too_deep(document: Any) -> bool:
    """True when `document` nests lists/objects more than MAX_JSON_DEPTH levels deep.

    Level by level, without recursion, so it cannot itself run out of stack on the input
    it is there to refuse, and it stops one level past the limit.
    """
    level = [document] if isinstance(document, dict | list) else []
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            return True
        deeper: list[Any] = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            deeper += [child for child in children if isinstance(child, dict | list)]
        level, depth = deeper, depth + 1
    return False


def _load(text: str | bytes, where: str) -> Any:
    """Parse JSON; unreadable or too deeply nested JSON is an InvalidEventError."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        # json's C parser recurses once per level and gives up near the interpreter's
        # recursion limit: poison, not a crash of the consumer.
        raise InvalidEventError(f"{where}: {_TOO_DEEP}") from exc
    except ValueError as exc:
        raise InvalidEventError(f"{where}: not JSON ({exc})") from exc


def _job(data: Any, job_hint: str | None, where: str) -> JobExecutionEvent:
    """Validate the job; `where` names it in errors (the body, or a CloudEvent's data)."""
    # Checked before validation: nothing downstream (pydantic, the ledger's and the
    # checkpointer's serializers) walks a job deeper than the limit.
    if _too_deep(data):
        raise InvalidEventError(f"{where}: {_TOO_DEEP}", job_hint)
    try:
        return JobExecutionEvent.model_validate(data)
    except ValidationError as exc:
        raise InvalidEventError(_describe(exc), job_hint) from exc


def parse_message(body: bytes, headers: dict[str, str] | None = None) -> Envelope:
    """Parse a NATS message or HTTP request: binary (ce-* headers), structured, or bare.

    Every refusal is an InvalidEventError naming what is wrong; it carries the job id
    whenever the job names a valid one, so the caller can publish a failed event for it.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    document = _load(body, "body")
    if "ce-specversion" in headers:
        attributes = {k.removeprefix("ce-"): v for k, v in headers.items() if k.startswith("ce-")}
        return _from_cloudevent(attributes, document, "binary", headers)
    if isinstance(document, dict) and "specversion" in document:
        data = document.get("data")
        if data is None and "data_base64" in document:
            raise InvalidEventError("data_base64 is not supported; send JSON data", None)
        if isinstance(data, str):
            data = _load(data, "data")
        return _from_cloudevent(document, data, "structured", headers)
    return Envelope(
        job=_job(document, _job_id_hint(document), "body"),
        mode="bare",
        traceparent=headers.get("traceparent"),
    )


def _from_cloudevent(
    attributes: dict[str, Any],
    data: Any,
    mode: Literal["structured", "binary"],
    headers: dict[str, str],
) -> Envelope:
    # The job id comes from the data, so it is known even when the attributes are wrong.
    job_hint = _job_id_hint(data)
    problem = attribute_problem(attributes, binary=mode == "binary")
    if problem is not None:
        raise InvalidEventError(f"{mode} CloudEvent: {problem}", job_hint)
    traceparent = attributes.get("traceparent")
    return Envelope(
        job=_job(data, job_hint, "body" if mode == "binary" else "data"),
        event_id=attributes["id"],
        traceparent=traceparent if isinstance(traceparent, str) else headers.get("traceparent"),
        mode=mode,
    )
