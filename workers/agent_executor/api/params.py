"""Path and header parameters as OpenAPI shows them.

The rules are written into the document only (`json_schema_extra`); the routes check them
themselves, so a breach is their 400 naming the rule, never FastAPI's validation error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path

from contract.jobs import JOB_ID_MAX_LENGTH, JOB_ID_PATTERN, JOB_ID_RULE
from workers.agent_executor.event_replay import ENTRY_ID_PATTERN

_JOB_ID_SCHEMA = {"pattern": JOB_ID_PATTERN, "minLength": 1, "maxLength": JOB_ID_MAX_LENGTH}

JobIdPath = Annotated[
    str, Path(description=f"The job id: {JOB_ID_RULE}.", json_schema_extra=_JOB_ID_SCHEMA)
]
ThreadIdPath = Annotated[
    str,
    Path(
        description=f"The LangGraph thread id, which is the job id: {JOB_ID_RULE}.",
        json_schema_extra=_JOB_ID_SCHEMA,
    ),
]


def _entry_id_schema(schema: dict[str, Any]) -> None:
    # An absent header is `required: false`; "null" is no value a header can have.
    schema.pop("anyOf", None)
    schema.update(type="string", pattern=ENTRY_ID_PATTERN)


LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this event id (an EventSource sends it when reconnecting).",
        json_schema_extra=_entry_id_schema,
    ),
]
