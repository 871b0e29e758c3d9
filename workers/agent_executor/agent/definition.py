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
      tools: [write_todos, write_file, task]
  - id: researcher
    type: Specialist
    config: {...}
```

Unknown keys (layout hints from editors and the like) are ignored; everything the agent uses is
checked, and every error names its field path (`agent_definition.nodes[1].config.tools[0]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workers.agent_executor.agent.ports import InvalidAgentDefinitionError

BUILTIN_TOOLS: tuple[str, ...] = ("write_todos", "ls", "read_file", "write_file", "edit_file")
TASK_TOOL = "task"
ROOT = "agent_definition"
# What the OpenAI API accepts as a function name.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _open_object_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": True}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ModelConfig(_Model):
    """Which model a node calls, and how."""

    provider: Literal["openai", "anthropic"]
    model: str = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)


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
    """How a defined tool runs: Python source, either a script that reads JSON args on stdin
    and prints the result, or a module defining a LangChain tool or a function to call.

    `dependencies` (requirement strings such as `requests>=2`) are checked before the script
    runs, never installed: a missing one fails the call with its name.
    """

    script: str = Field(min_length=1)
    dependencies: list[str] = Field(default_factory=list)


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
        """The specialist whose config name (or else id) is `name_or_id`."""
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
        """The tools `node` may call: its list, plus `task` for an orchestrator with specialists."""
        tools = list(node.config.tools)
        if node.type == "Orchestrator" and self.specialists and TASK_TOOL not in tools:
            tools.append(TASK_TOOL)
        return tools


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
    has_specialist = any(n.type == "Specialist" for n in definition.nodes)
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
            if tool_name == TASK_TOOL:
                if node.type != "Orchestrator":
                    errors.append(f"{path}: '{TASK_TOOL}' is only available to the Orchestrator")
                elif not has_specialist:
                    errors.append(f"{path}: '{TASK_TOOL}' needs at least one Specialist node")
            elif tool_name not in BUILTIN_TOOLS and tool_name not in tool_names:
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
