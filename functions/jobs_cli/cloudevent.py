"""The structured CloudEvent a job travels in, over NATS and over HTTP alike."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from contract.events import EXECUTE_TYPE
from functions.jobs_cli.models import JobExecutionEvent

SOURCE = "agentplane-cli"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def structured(
    job: JobExecutionEvent, attributes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`job` as a structured CloudEvent; the attributes of a CloudEvent read from a file are kept
    (its id, source, traceparent), only its data is the validated job."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": EXECUTE_TYPE,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
    }
    event.update({k: v for k, v in (attributes or {}).items() if k not in ("data", "data_base64")})
    event["data"] = job.model_dump(mode="json", exclude_none=True)
    return event


def encode(event: Mapping[str, Any]) -> bytes:
    """The wire form: compact JSON."""
    return json.dumps(event, separators=(",", ":")).encode()
