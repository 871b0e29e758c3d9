"""Control commands on `agent.control.<command>` and their replies (DESIGN section 6).

`cancel` (the job id in the subject) and `heartbeat` are handled where they live; these are
the bodies of `set_budget` and `flush_cache`. A body is a JSON object; `command`, when given,
must name the subject's command (seed 001's control messages carry `{"command": ...}`).
Unknown fields are refused, so a misspelt field is an error, never silently ignored.
A command sent as a request gets a `ControlReply`; an invalid one gets `ok: false` with the
error, and is logged either way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.nats import CONTROL_PREFIX

SET_BUDGET = "set_budget"
FLUSH_CACHE = "flush_cache"
SET_BUDGET_SUBJECT = CONTROL_PREFIX + SET_BUDGET
FLUSH_CACHE_SUBJECT = CONTROL_PREFIX + FLUSH_CACHE
# The largest per-run budget set_budget accepts: a typo of a few zeros is refused.
MAX_TOKEN_BUDGET_PER_RUN = 1_000_000_000
INVALID_COMMAND = "InvalidCommand"
COMMAND_FAILED = "CommandFailed"


class SetBudget(BaseModel):
    """Override TOKEN_BUDGET_PER_RUN for every worker of the executor; `null` clears it."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["set_budget"] = "set_budget"
    # Required, so `{}` is an error rather than a silent clear; strict, so `true` is not 1.
    token_budget_per_run: Annotated[
        int | None, Field(strict=True, ge=1, le=MAX_TOKEN_BUDGET_PER_RUN)
    ]
    reason: str | None = Field(default=None, max_length=500)


class FlushCache(BaseModel):
    """Drop the cached model clients and compiled patterns; they are rebuilt on next use."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["flush_cache"] = "flush_cache"


class ControlError(BaseModel):
    """Why a command was not carried out."""

    message: str
    type: str


class ControlReply(BaseModel):
    """The answer to a command sent as a request (NATS request/reply)."""

    ok: bool
    command: str
    worker: str
    # What the command did (set_budget: the budget in force; flush_cache: what was dropped).
    result: dict[str, Any] = Field(default_factory=dict)
    error: ControlError | None = None


class InvalidCommandError(ValueError):
    """A command body that cannot be carried out; the message says what to change."""


COMMAND_MODELS: dict[str, type[SetBudget] | type[FlushCache]] = {
    SET_BUDGET: SetBudget,
    FLUSH_CACHE: FlushCache,
}


def parse_command(command: str, body: bytes) -> SetBudget | FlushCache:
    """The validated body of `command`; InvalidCommandError names what is wrong.

    An empty body is `{}` (flush_cache needs nothing more).
    """
    model = COMMAND_MODELS[command]
    try:
        return model.model_validate_json(body.strip() or b"{}")
    except ValidationError as exc:
        raise InvalidCommandError(f"invalid {command} command: {_errors(exc)}") from None


def _errors(exc: ValidationError) -> str:
    """Each error as `field: message`, without echoing the input back."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
