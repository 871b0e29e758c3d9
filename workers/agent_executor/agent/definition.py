"""The seed `agent_definition` format as pydantic models, and its validation.

```yaml
tool_definitions:            # optional
  - name: fetch_weather
    description: ...          # optional
    parameters: {...}         # optional JSON schema of the arguments
    runtime: {script: "import json, sys; ..."}
nodes:
  - id: orchestrator
    type: Orchestrator        # exactly one
    config:
      name: lead
      description: ...
      system_prompt: ...
      model: {provider: openai, model: gpt-4o-mini, temperature: 0.2, max_tokens: 1024}
      tools: [fetch_weather]  # built-ins need no listing (listing them is allowed)
  - id: researcher
    type: Specialist
    config: {...}
```

Every agent is offered deepagents' built-ins (`write_todos`, `ls`, `read_file`, `write_file`,
`edit_file`, `glob`, `grep`), the orchestrator also `task`, then the tools its node lists:
`tool_names_offered(node)`.

Unknown keys (layout hints from editors and the like) are ignored; everything the agent uses is
checked, and every error names its field path (`agent_definition.nodes[1].config.tools[0]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Re-exported: ModelConfig was defined here, and callers import it from here.
from workers.agent_executor.agent.builtin_tools import BUILTIN_NAMES
from workers.agent_executor.agent.model_config import ModelConfig as ModelConfig
from workers.agent_executor.agent.ports import InvalidAgentDefinitionError

# deepagents' built-ins, in the order it offered them; every agent has them unlisted.
BUILTIN_TOOLS: tuple[str, ...] = BUILTIN_NAMES
TASK_TOOL = "task"
ROOT = "agent_definition"
# What the OpenAI API accepts as a function name.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _open_object_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": True}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class NodeConfig(_Model):
    """What an agent node is: its name, prompt, model and tool names."""

    name: str = Field(min_length=1)
    description: str = ""
    system_prompt: str = ""
    model: ModelConfig
    tools: list[str] = Field(default_factory=list)


class Node(_Model):
    """One agent: the orchestrator or a specialist it delegates to through `task`."""

    id: str = Field(min_length=1)
    type: Literal["Orchestrator", "Specialist"]
    config: NodeConfig


class ToolRuntime(_Model):
    """How a defined tool runs: Python source that reads JSON args on stdin, prints the result."""

    script: str = Field(min_length=1)


class ToolDefinition(_Model):
    """A tool backed by a script."""

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=_open_object_schema)
    runtime: ToolRuntime


class AgentDefinition(_Model):
    """A validated agent definition; build it with `parse_definition`."""

    tool_definitions: list[ToolDefinition] = Field(default_factory=list)
    nodes: list[Node] = Field(min_length=1)

    @property
    def orchestrator(self) -> Node:
        """The one Orchestrator node."""
        return next(n for n in self.nodes if n.type == "Orchestrator")

    @property
    def specialists(self) -> list[Node]:
        """The Specialist nodes, in definition order."""
        return [n for n in self.nodes if n.type == "Specialist"]

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError when there is none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def specialist(self, name_or_id: str) -> Node | None:
        """The specialist whose config name (or else id) is `name_or_id`.

        deepagents-runtime named each subagent by `config.name` (display names with spaces,
        such as "Guardrail Agent"): that is the `subagent_type` real prompts use. The node id
        is accepted too, as it always was here.
        """
        for node in self.specialists:
            if node.config.name == name_or_id:
                return node
        for node in self.specialists:
            if node.id == name_or_id:
                return node
        return None

    def tool_definition(self, name: str) -> ToolDefinition | None:
        """The script tool called `name`, if defined."""
        return next((t for t in self.tool_definitions if t.name == name), None)

    def tools_of(self, node: Node) -> list[str]:
        """The tools `node` is offered and may call: `tool_names_offered(node)` less any name
        without a tool_definition (deepagents-runtime skipped those, with a warning)."""
        return [
            name
            for name in tool_names_offered(node)
            if name in BUILTIN_TOOLS or name == TASK_TOOL or self.tool_definition(name)
        ]


def tool_names_offered(node: Node) -> list[str]:
    """The tools `node`'s model is offered, in deepagents' order.

    The built-ins, then `task` for the orchestrator (always: deepagents' general-purpose
    subagent exists even without specialists), then the node's own tools as listed. A listed
    built-in is not offered twice; `task` listed by a specialist is not offered (deepagents-
    runtime skipped tool names it had no tool_definition for, and subagents had no `task`).
    """
    own = [t for t in node.config.tools if t not in BUILTIN_TOOLS and t != TASK_TOOL]
    task = [TASK_TOOL] if node.type == "Orchestrator" else []
    return [*BUILTIN_TOOLS, *task, *dict.fromkeys(own)]


def _path(loc: Sequence[int | str]) -> str:
    out = ROOT
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _semantic_errors(definition: AgentDefinition) -> list[str]:
    errors: list[str] = []
    orchestrators = [i for i, n in enumerate(definition.nodes) if n.type == "Orchestrator"]
    if len(orchestrators) != 1:
        where = ", ".join(f"nodes[{i}]" for i in orchestrators) or "none"
        errors.append(
            f"{ROOT}.nodes: exactly one node must have type 'Orchestrator' "
            f"(found {len(orchestrators)}: {where})"
        )

    tool_names: dict[str, int] = {}
    for i, tool in enumerate(definition.tool_definitions):
        path = f"{ROOT}.tool_definitions[{i}].name"
        if tool.name in BUILTIN_TOOLS or tool.name == TASK_TOOL:
            errors.append(f"{path}: '{tool.name}' is a built-in tool name")
        elif tool.name in tool_names:
            errors.append(
                f"{path}: duplicate tool name '{tool.name}' "
                f"(also tool_definitions[{tool_names[tool.name]}])"
            )
        else:
            tool_names[tool.name] = i

    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, node in enumerate(definition.nodes):
        if node.id in ids:
            errors.append(
                f"{ROOT}.nodes[{i}].id: duplicate node id '{node.id}' (also nodes[{ids[node.id]}])"
            )
        else:
            ids[node.id] = i
        name = node.config.name
        if name in names:
            errors.append(
                f"{ROOT}.nodes[{i}].config.name: duplicate node name '{name}' "
                f"(also nodes[{names[name]}])"
            )
        else:
            names[name] = i
        seen: set[str] = set()
        for j, tool_name in enumerate(node.config.tools):
            path = f"{ROOT}.nodes[{i}].config.tools[{j}]"
            if tool_name in seen:
                errors.append(f"{path}: tool '{tool_name}' is listed twice")
            seen.add(tool_name)
            if tool_name in BUILTIN_TOOLS or tool_name == TASK_TOOL:
                # Listing one is allowed: it is offered anyway (see tool_names_offered), as
                # deepagents gave them to every agent unlisted.
                continue
            if tool_name not in tool_names:
                errors.append(
                    f"{path}: unknown tool '{tool_name}' (built-ins: {', '.join(BUILTIN_TOOLS)}, "
                    f"{TASK_TOOL}; or a tool_definitions name)"
                )
    return errors


def parse_definition(raw: Any) -> AgentDefinition:
    """Validate a raw `agent_definition`; InvalidAgentDefinitionError names every bad field."""
    if not isinstance(raw, dict):
        raise InvalidAgentDefinitionError(f"{ROOT}: must be an object, got {type(raw).__name__}")
    try:
        definition = AgentDefinition.model_validate(raw)
    except ValidationError as exc:
        messages = [f"{_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InvalidAgentDefinitionError("; ".join(messages)) from None
    errors = _semantic_errors(definition)
    if errors:
        raise InvalidAgentDefinitionError("; ".join(errors))
    return definition
