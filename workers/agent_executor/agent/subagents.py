"""The `task` tool: which subagents the orchestrator can start and how it names them.

As under deepagents (notes A.9), the roster starts with the `general-purpose` subagent (the
orchestrator's model and own tools, plus the built-ins, but no `task`), then each Specialist
under its `config.name`, which is the `subagent_type` prompts written for deepagents-runtime use
("Guardrail Agent"). A Specialist's node id is accepted as well. A Specialist named
`general-purpose` takes that name's place, as a custom subagent did in deepagents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.agent_executor.agent.definition import TASK_TOOL, AgentDefinition, Node
from workers.agent_executor.agent.tool_protocol import ToolArgs, parse_args

GENERAL_PURPOSE = "general-purpose"
GENERAL_PURPOSE_DESCRIPTION = (
    "An agent with your own tools (all but task) for researching questions, searching files "
    "and content, and doing multi-step work in a fresh context. Use it when a search may take "
    "several tries, or to keep a long piece of work out of your own context."
)
# deepagents-runtime described a specialist without a description by its prompt's start.
DESCRIPTION_FROM_PROMPT_CHARS = 200


@dataclass(frozen=True)
class Subagent:
    """One `subagent_type`: the node whose model it runs on, and whether it is general-purpose."""

    name: str
    description: str
    node: Node
    general_purpose: bool = False


def specialist_description(node: Node) -> str:
    """`config.description`, else the start of the prompt (deepagents-runtime's fallback)."""
    if node.config.description:
        return node.config.description
    prompt = node.config.system_prompt
    if len(prompt) > DESCRIPTION_FROM_PROMPT_CHARS:
        return prompt[:DESCRIPTION_FROM_PROMPT_CHARS] + "..."
    return prompt


def roster(definition: AgentDefinition) -> list[Subagent]:
    """Every subagent the orchestrator may start, general-purpose first."""
    specialists = [
        Subagent(n.config.name, specialist_description(n), n) for n in definition.specialists
    ]
    if any(s.name == GENERAL_PURPOSE for s in specialists):
        return specialists
    general = Subagent(
        GENERAL_PURPOSE, GENERAL_PURPOSE_DESCRIPTION, definition.orchestrator, general_purpose=True
    )
    return [general, *specialists]


def find(definition: AgentDefinition, subagent_type: str) -> Subagent | None:
    """The subagent called `subagent_type`: a roster name, else a Specialist's node id."""
    for subagent in roster(definition):
        if subagent.name == subagent_type:
            return subagent
    node = definition.specialist(subagent_type)
    return None if node is None else Subagent(node.config.name, "", node)


def general_purpose_tool_names(definition: AgentDefinition) -> list[str]:
    """The general-purpose subagent's tools: the orchestrator's, without `task`."""
    return [t for t in definition.tools_of(definition.orchestrator) if t != TASK_TOOL]


def unknown_subagent(subagent_type: str, definition: AgentDefinition) -> str:
    """deepagents' result for a `subagent_type` that does not exist."""
    allowed = ", ".join(f"`{s.name}`" for s in roster(definition))
    return (
        f"We cannot invoke subagent {subagent_type} because it does not exist, "
        f"the only allowed types are {allowed}"
    )


class TaskArgs(ToolArgs):
    """`task`'s arguments, as deepagents declared them."""

    description: str
    subagent_type: str


def parse_task(args: dict[str, Any]) -> TaskArgs | str:
    """Validated `task` arguments, or the langchain-style error text."""
    return parse_args(TaskArgs, TASK_TOOL, args)


def task_schema(definition: AgentDefinition) -> dict[str, Any]:
    """The `task` tool as offered to the orchestrator, listing the roster."""
    agents = "\n".join(f"- {s.name}: {s.description}" for s in roster(definition))
    return {
        "type": "function",
        "function": {
            "name": TASK_TOOL,
            "description": (
                "Start a short-lived subagent for one self-contained task; it works in its own "
                "context and returns a single final message to you.\n\n"
                f"Subagent types (pass one as subagent_type):\n{agents}\n\n"
                "The subagent sees only your description and the files, so say everything it "
                "needs: the goal, what to create or find, and what to report back. It cannot "
                "ask you questions. Start independent tasks in the same turn to run several; "
                "its answer is not shown to the user, so pass on what matters. Do simple "
                "steps yourself instead."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "subagent_type": {"type": "string"},
                },
                "required": ["description", "subagent_type"],
            },
        },
    }
