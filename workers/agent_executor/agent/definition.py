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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


NodeType = Literal["Orchestrator", "Specialist"]


class Node(_Model):
    """One agent: the orchestrator or a specialist it delegates to through `task`."""

    id: str = Field(min_length=1)
    # deepagents-runtime compared types case-insensitively, and a node without one was a
    # specialist; so do we.
    type: NodeType = "Specialist"
    config: NodeConfig

    @field_validator("type", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("orchestrator", "specialist"):
            return value.capitalize()
        return value


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
    # Set by parse_definition: the node that runs as the orchestrator, and what the run's
    # result should tell the user about how the definition was read.
    orchestrator_id: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def orchestrator(self) -> Node:
        """The node that runs as the orchestrator."""
        return self.node(self.orchestrator_id) if self.orchestrator_id else self.nodes[0]

    @property
    def specialists(self) -> list[Node]:
        """The Specialist nodes, in definition order (never the running orchestrator)."""
        return [n for n in self.nodes if n.type == "Specialist" and n.id != self.orchestrator.id]

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

    def offers(self, node: Node, tool_name: str) -> bool:
        """True when `tool_name`, listed by `node`, is one it can be given."""
        if tool_name == TASK_TOOL:
            return node.id == self.orchestrator.id
        return tool_name in BUILTIN_TOOLS or self.tool_definition(tool_name) is not None

    def tools_of(self, node: Node) -> list[str]:
        """The tools `node` is offered and may call: `tool_names_offered` less any name
        without a tool_definition (deepagents-runtime skipped those, with a warning)."""
        offered = tool_names_offered(node, orchestrator=node.id == self.orchestrator.id)
        return [
            name
            for name in offered
            if name in BUILTIN_TOOLS or name == TASK_TOOL or self.tool_definition(name)
        ]


def tool_names_offered(node: Node, *, orchestrator: bool) -> list[str]:
    """The tools `node`'s model is offered, in deepagents' order.

    The built-ins, then `task` for the running orchestrator (always: deepagents'
    general-purpose subagent exists even without specialists), then the node's own tools as
    listed. A listed built-in is not offered twice; `task` listed by a specialist is not
    offered (deepagents-runtime skipped tool names it could not resolve, and subagents had
    no `task`).
    """
    own = [t for t in node.config.tools if t not in BUILTIN_TOOLS and t != TASK_TOOL]
    task = [TASK_TOOL] if orchestrator else []
    return [*BUILTIN_TOOLS, *task, *dict.fromkeys(own)]


def _path(loc: Sequence[int | str]) -> str:
    out = ROOT
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _choose_orchestrator(nodes: list[Node]) -> tuple[str, list[str]]:
    """The node that runs as the orchestrator, and warnings about the choice.

    deepagents-runtime kept the last Orchestrator node it met and dropped the others; with
    none, it ran the first node. We do the same, and say so in the result.
    """
    orchestrators = [(i, n) for i, n in enumerate(nodes) if n.type == "Orchestrator"]
    if not orchestrators:
        first = nodes[0]
        return first.id, [
            f"{ROOT}.nodes: no node has type Orchestrator; nodes[0] ('{first.config.name}') "
            "ran as the orchestrator"
        ]
    index, chosen = orchestrators[-1]
    if len(orchestrators) == 1:
        return chosen.id, []
    dropped = ", ".join(f"nodes[{i}] ('{n.config.name}')" for i, n in orchestrators[:-1])
    return chosen.id, [
        f"{ROOT}.nodes: {len(orchestrators)} nodes have type Orchestrator; nodes[{index}] "
        f"('{chosen.config.name}') ran, as in deepagents-runtime, and {dropped} did not run"
    ]


def _check(definition: AgentDefinition) -> tuple[list[str], list[str]]:
    """Errors that stop the definition, and warnings about what runs differently than written."""
    errors: list[str] = []
    warnings: list[str] = []
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
        for j, tool_name in enumerate(node.config.tools):
            if not definition.offers(node, tool_name):
                # deepagents-runtime skipped a tool it could not find, with a warning.
                warnings.append(
                    f"{ROOT}.nodes[{i}].config.tools[{j}]: unknown tool '{tool_name}' was "
                    f"skipped (built-ins: {', '.join(BUILTIN_TOOLS)}, {TASK_TOOL} for the "
                    "orchestrator; or a tool_definitions name)"
                )
    return errors, warnings


def _is_agent_node(node: Any) -> bool:
    """An ide-orchestrator graph node: type AgentNode, its settings under `data`."""
    if not isinstance(node, dict):
        return False
    return node.get("type") == "AgentNode" or ("data" in node and "config" not in node)


def foreign_shape(raw: dict[str, Any]) -> str | None:
    """What a document that is not an agent_definition is, when we can tell."""
    graph = raw.get("graph")
    if graph is None and isinstance(raw.get("definition"), dict):
        graph = raw["definition"].get("graph")
    nodes = graph.get("nodes") if isinstance(graph, dict) else raw.get("nodes")
    agent_nodes = isinstance(nodes, list) and any(
        isinstance(n, dict)
        and (n.get("type") == "AgentNode" or ("data" in n and "config" not in n))
        for n in nodes
    )
    if graph is not None or agent_nodes:
        return (
            f"{ROOT}: this is an ide-orchestrator workflow specification (graph.nodes[].data "
            "with llm_config), not an agent_definition: send nodes[{id, type: Orchestrator|"
            "Specialist, config: {name, system_prompt, model: {provider, model}, tools}}]"
        )
    if not raw:
        return (
            f"{ROOT}: is empty; it needs nodes[{{id, type, config}}] with one Orchestrator "
            "(ide-orchestrator's refinement sends {} until it has a specification)"
        )
    return None


def parse_definition(raw: Any) -> AgentDefinition:
    """Validate a raw `agent_definition`; InvalidAgentDefinitionError names every bad field.

    What deepagents-runtime ran, we run: the returned definition's `warnings` say where it
    was read leniently (several orchestrators, unknown tool names).
    """
    if not isinstance(raw, dict):
        raise InvalidAgentDefinitionError(f"{ROOT}: must be an object, got {type(raw).__name__}")
    foreign = foreign_shape(raw)
    if foreign is not None:
        raise InvalidAgentDefinitionError(foreign)
    try:
        definition = AgentDefinition.model_validate(raw)
    except ValidationError as exc:
        messages = [f"{_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InvalidAgentDefinitionError("; ".join(messages)) from None
    orchestrator_id, chosen = _choose_orchestrator(definition.nodes)
    definition = definition.model_copy(update={"orchestrator_id": orchestrator_id})
    errors, warnings = _check(definition)
    if errors:
        raise InvalidAgentDefinitionError("; ".join(errors))
    return definition.model_copy(update={"warnings": (*chosen, *warnings)})
