"""The job to submit: read from a file (a JobExecutionEvent or a CloudEvent, JSON or YAML) or
built from a prompt around a one-orchestrator agent definition."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contract.events import attribute_problem
from contract.jobs import JOB_ID_RULE
from functions.jobs_cli.cloudevent import structured
from functions.jobs_cli.documents import read_mapping
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.models import JobExecutionEvent

# pydantic's words for a job id that breaks the rule; the rule itself says it better.
_JOB_ID_ERRORS = {"string_pattern_mismatch", "string_too_short", "string_too_long"}
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PROVIDER = "openai"
# The built-in tools of the executor: a prompt-only job may write files and keep a to-do list.
DEFAULT_TOOLS = ("write_todos", "ls", "read_file", "write_file", "edit_file")
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful agent. Work step by step; when asked for a document, write it to a "
    "file with write_file, then answer briefly."
)


@dataclass(frozen=True)
class Submission:
    """A validated job and the CloudEvent attributes it came with (none for a bare job)."""

    job: JobExecutionEvent
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        """The job's id: its LangGraph thread id, ledger key and message id."""
        return self.job.job_id

    def cloudevent(self) -> dict[str, Any]:
        """The structured CloudEvent to send."""
        return structured(self.job, self.attributes)


def new_job_id() -> str:
    """A fresh job id for a job that names none."""
    return f"job-{uuid.uuid4().hex[:12]}"


def from_file(path: Path, job_id: str | None = None) -> Submission:
    """The job in `path`; `job_id` replaces the one the file names. Errors name file and field."""
    document = read_mapping(path)
    if "specversion" in document:
        problem = attribute_problem(document)
        if problem is not None:
            raise JobsError(f"{path}: CloudEvent {problem}")
        if "data_base64" in document and "data" not in document:
            raise JobsError(f"{path}: CloudEvent data_base64 is not supported; give JSON data")
        attributes = {k: v for k, v in document.items() if k != "data"}
        return Submission(
            _job(path, _data(path, document.get("data")), job_id, "data."), attributes
        )
    return Submission(_job(path, document, job_id, ""))


def from_prompt(
    prompt: str,
    *,
    definition: Path | None = None,
    job_id: str | None = None,
    model: str = DEFAULT_MODEL,
    provider: str = DEFAULT_PROVIDER,
) -> Submission:
    """A job whose user turn is `prompt`, run by `definition` or a default orchestrator."""
    if not prompt.strip():
        raise JobsError("--prompt must not be empty")
    agent_definition = (
        read_mapping(definition) if definition else default_definition(model, provider)
    )
    document = {
        "job_id": job_id or new_job_id(),
        "agent_definition": agent_definition,
        "input_payload": {"messages": [{"role": "user", "content": prompt}]},
    }
    return Submission(_job(definition or Path("--prompt"), document, None, ""))


def default_definition(model: str, provider: str) -> dict[str, Any]:
    """One orchestrator with the built-in file and to-do tools."""
    return {
        "nodes": [
            {
                "id": "orchestrator",
                "type": "Orchestrator",
                "config": {
                    "name": "orchestrator",
                    "description": "answers the prompt, writing files when asked",
                    "system_prompt": DEFAULT_SYSTEM_PROMPT,
                    "model": {"provider": provider, "model": model},
                    "tools": list(DEFAULT_TOOLS),
                },
            }
        ]
    }


def _data(path: Path, data: Any) -> Any:
    # A structured CloudEvent may carry its JSON data as a string.
    if not isinstance(data, str):
        return data
    try:
        return json.loads(data)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise JobsError(f"{path}: CloudEvent data is a string that is not JSON") from exc


def _message(error: ErrorDetails) -> str:
    if error["loc"] == ("job_id",) and error["type"] in _JOB_ID_ERRORS:
        return f"must be {JOB_ID_RULE}"
    return error["msg"]


def _job(path: Path, data: Any, job_id: str | None, prefix: str) -> JobExecutionEvent:
    if not isinstance(data, dict):
        raise JobsError(f"{path}: {prefix or 'the file '}must be a JobExecutionEvent object")
    if job_id is not None:
        data = {**data, "job_id": job_id}
    try:
        return JobExecutionEvent.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{prefix}{'.'.join(str(p) for p in error['loc']) or 'job'}: {_message(error)}"
            for error in exc.errors()
        )
        raise JobsError(f"{path}: {problems}") from exc
