"""How a failed tool call reads to the model: the texts LangGraph's ToolNode gave deepagents.

Agents written for deepagents saw these exact strings when they called a tool wrongly, so we
give the same ones (langgraph-prebuilt 1.0.x, langchain-core 1.0.x; notes A.1):

- arguments that fail validation: `Error invoking tool '{name}' with kwargs {args!r} with
  error:\\n {loc}: {msg}\\n Please fix the error and try again.` (one `loc: msg` line per problem);
- a tool the agent does not have: `Error: {name} is not a valid tool, try one of [{names}].`

Arguments the tool does not take are ignored, as langchain's argument models ignored them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

ArgsT = TypeVar("ArgsT", bound="ToolArgs")


class ToolArgs(BaseModel):
    """The arguments of a built-in tool; unknown arguments are dropped, not refused."""

    model_config = ConfigDict(extra="ignore")


def invalid_arguments(name: str, args: Mapping[str, Any], error: ValidationError) -> str:
    """The validation-error result for a call of `name` with `args`."""
    problems = "\n".join(
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
    )
    return (
        f"Error invoking tool '{name}' with kwargs {dict(args)!r} with error:\n"
        f" {problems}\n"
        " Please fix the error and try again."
    )


def not_a_tool(name: str, offered: Sequence[str]) -> str:
    """The result for a call of a tool the agent was not given."""
    return f"Error: {name} is not a valid tool, try one of [{', '.join(offered)}]."


def parse_args(model: type[ArgsT], name: str, args: Mapping[str, Any]) -> ArgsT | str:
    """`args` validated by `model`, or the result text that tells the model what was wrong."""
    try:
        return model.model_validate(dict(args))
    except ValidationError as exc:
        return invalid_arguments(name, args, exc)
