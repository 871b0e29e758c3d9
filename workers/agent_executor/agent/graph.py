"""The agent as a flat LangGraph graph that a checkpointer can resume after a crash.

Two nodes loop until the orchestrator answers without tool calls:

- `llm` makes exactly one model call: for the agent on top of the `stack`, or the orchestrator
  when the stack is empty. An assistant message with tool calls is appended to that agent's
  messages. A specialist's final answer pops its frame and becomes the `tool` message answering
  the parent's pending `task` call. The orchestrator's final answer sets `output`.
- `tools` runs the unanswered tool calls of the top agent's last assistant message, in order.
  A `task` call pushes a specialist frame (system prompt + task description) and stops there;
  the calls after it run once the specialist has answered.

Every step is one checkpoint, so a resumed run (`ainvoke(None, same thread_id)`) repeats at most
the step that was interrupted, never an LLM call that already finished.

State (JSON only): `messages` (the orchestrator's conversation, OpenAI format, without its system
prompt), `stack` (specialist frames), `files` (the virtual filesystem), `todos`, `usage`
(`{model: {prompt_tokens, completion_tokens}}`) and `output` (the final answer).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from workers.agent_executor.agent.definition import (
    BUILTIN_TOOLS,
    TASK_TOOL,
    AgentDefinition,
    Node,
)
from workers.agent_executor.agent.files import (
    BUILTIN_TOOL_SCHEMAS,
    FileData,
    Todo,
    normalize_path,
    now_iso,
    run_builtin,
)
from workers.agent_executor.agent.llm import LLMClient
from workers.agent_executor.agent.ports import AgentError, EventSink, TokenBudget
from workers.agent_executor.agent.scripts import run_tool_script

LLM_NODE = "llm"
TOOLS_NODE = "tools"
INPUT_ROLES = ("system", "developer", "user", "assistant")


class Frame(TypedDict):
    """A specialist at work: its agent node id, its own conversation, the `task` it answers."""

    agent_id: str
    messages: list[dict[str, Any]]
    parent_tool_call_id: str


class AgentState(TypedDict, total=False):
    """The graph state; every value is plain JSON."""

    messages: list[dict[str, Any]]
    stack: list[Frame]
    files: dict[str, FileData]
    todos: list[Todo]
    usage: dict[str, dict[str, int]]
    output: str | None


class InvalidInputError(AgentError):
    """The input_payload cannot start a run (names the field); never retried."""

    type = "InvalidInput"


# --- state helpers -----------------------------------------------------------------------------


def initial_state(input_payload: Mapping[str, Any]) -> AgentState:
    """The input state for a new run from a job's `input_payload`.

    Accepts `{"messages": [{"role", "content"}, ...]}` (roles system, developer, user,
    assistant), or `{"input": "text"}` as a single user message; optional `files` seeds the
    virtual filesystem with `{path: text}` or `{path: {"content": [lines], ...}}`.
    """
    messages: list[dict[str, Any]] = []
    raw_messages = input_payload.get("messages")
    if raw_messages is None and isinstance(input_payload.get("input"), str):
        raw_messages = [{"role": "user", "content": input_payload["input"]}]
    if not isinstance(raw_messages, list) or not raw_messages:
        raise InvalidInputError("input_payload.messages: a non-empty list of messages is required")
    for i, message in enumerate(raw_messages):
        where = f"input_payload.messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidInputError(f"{where}: must be an object with role and content")
        role = message.get("role")
        if role not in INPUT_ROLES:
            raise InvalidInputError(f"{where}.role: must be one of {', '.join(INPUT_ROLES)}")
        content = message.get("content")
        if not isinstance(content, (str, list)):
            raise InvalidInputError(f"{where}.content: must be a string or a list of parts")
        messages.append({"role": role, "content": content})
    state = AgentState(messages=messages, stack=[], files={}, todos=[], usage={}, output=None)
    raw_files = input_payload.get("files")
    if raw_files is not None:
        state["files"] = _input_files(raw_files)
    return state


def _input_files(raw: Any) -> dict[str, FileData]:
    if not isinstance(raw, dict):
        raise InvalidInputError("input_payload.files: must be an object of path -> content")
    files: dict[str, FileData] = {}
    stamp = now_iso()
    for path, value in raw.items():
        where = f"input_payload.files[{path!r}]"
        try:
            key = normalize_path(str(path))
        except ValueError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        if isinstance(value, str):
            lines = value.split("\n")
        elif isinstance(value, dict) and isinstance(value.get("content"), list):
            lines = [str(line) for line in value["content"]]
        else:
            raise InvalidInputError(f"{where}: must be text or {{content: [lines]}}")
        files[key] = FileData(content=lines, created_at=stamp, modified_at=stamp)
    return files


def state_json(state: Mapping[str, Any]) -> dict[str, Any]:
    """The whole state with every key present, as published in `on_state_update`."""
    return {
        "messages": state.get("messages") or [],
        "stack": state.get("stack") or [],
        "files": state.get("files") or {},
        "todos": state.get("todos") or [],
        "usage": state.get("usage") or {},
        "output": state.get("output"),
    }


def total_tokens(usage: Mapping[str, Mapping[str, int]]) -> int:
    """Prompt plus completion tokens over every model."""
    return sum(u.get("prompt_tokens", 0) + u.get("completion_tokens", 0) for u in usage.values())


def final_result(state: Mapping[str, Any]) -> dict[str, Any]:
    """What a finished run reports: `{"output", "files", "usage"}`."""
    return {
        "output": state.get("output") or "",
        "files": state.get("files") or {},
        "usage": state.get("usage") or {},
    }


def pending_tool_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of the last assistant message that have no tool message yet."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "assistant":
            break
    else:
        return []
    later = messages[index + 1 :]
    if any(m.get("role") != "tool" for m in later):
        return []
    answered = {m.get("tool_call_id") for m in later}
    calls: list[dict[str, Any]] = messages[index].get("tool_calls") or []
    return [c for c in calls if c.get("id") not in answered]


def _parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    if not raw.strip():
        return {}, None
    try:
        args = json.loads(raw)
    except ValueError as exc:
        return None, f"Error: the arguments are not valid JSON ({exc}): {raw[:500]}"
    if not isinstance(args, dict):
        return None, "Error: the arguments must be a JSON object"
    return args, None


# --- the graph ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """What one run brings besides its state: LangGraph's run-scoped context.

    Passed as `context=` on every invocation, so one compiled graph serves every job.
    """

    definition: AgentDefinition
    events: EventSink
    budget: TokenBudget


async def route(state: AgentState) -> Literal["llm", "tools", "__end__"]:
    """The next node: `tools` for unanswered calls, the end after the orchestrator's answer.

    Async although it never awaits: LangGraph runs a plain function in a thread pool, and
    the hand-off to a thread and back cost more than the routing itself, at every step.
    """
    stack = state.get("stack") or []
    messages = stack[-1]["messages"] if stack else state.get("messages") or []
    if pending_tool_calls(messages):
        return "tools"
    if not stack and messages and messages[-1].get("role") == "assistant":
        return "__end__"
    return "llm"


class _Agent:
    """The two nodes; what is the same for every run (the LLM client, the script policy)."""

    def __init__(self, llm: LLMClient, allow_tool_scripts: bool, script_timeout: float) -> None:
        self.llm = llm
        self.allow_tool_scripts = allow_tool_scripts
        self.script_timeout = script_timeout

    @staticmethod
    def _task_schema(definition: AgentDefinition) -> dict[str, Any]:
        lines = [
            f"- {n.config.name}: {n.config.description or '(no description)'}"
            for n in definition.specialists
        ]
        return {
            "type": "function",
            "function": {
                "name": TASK_TOOL,
                "description": (
                    "Delegate a self-contained task to a specialist agent and get its final "
                    "answer back. The specialist sees only the description you give it and "
                    "shares your files.\nSpecialists:\n" + "\n".join(lines)
                ),
                "parameters": {
                    "type": "object",
                    "properties": {
                        "subagent_type": {
                            "type": "string",
                            "enum": [n.config.name for n in definition.specialists],
                            "description": "Which specialist to use.",
                        },
                        "description": {
                            "type": "string",
                            "description": "The complete task, with everything needed to do it.",
                        },
                    },
                    "required": ["subagent_type", "description"],
                    "additionalProperties": False,
                },
            },
        }

    @classmethod
    def _schemas(cls, definition: AgentDefinition, node: Node) -> list[dict[str, Any]]:
        schemas: list[dict[str, Any]] = []
        for name in definition.tools_of(node):
            if name == TASK_TOOL:
                schemas.append(cls._task_schema(definition))
            elif name in BUILTIN_TOOL_SCHEMAS:
                schemas.append(BUILTIN_TOOL_SCHEMAS[name])
            else:
                tool = definition.tool_definition(name)
                assert tool is not None  # parse_definition checked every name
                schemas.append(
                    {
                        "type": "function",
                        "function": {
                            "name": tool.name,
                            "description": tool.description or f"Run the tool {tool.name}.",
                            "parameters": tool.parameters,
                        },
                    }
                )
        return schemas

    @staticmethod
    def _top(definition: AgentDefinition, state: AgentState) -> tuple[Node, list[dict[str, Any]]]:
        stack = state.get("stack") or []
        if stack:
            return definition.node(stack[-1]["agent_id"]), stack[-1]["messages"]
        return definition.orchestrator, state.get("messages") or []

    # The `llm` node: one model call for the agent on top of the stack.
    async def llm_step(self, state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        run = runtime.context
        stack = list(state.get("stack") or [])
        node, messages = self._top(run.definition, state)
        if stack:
            request = messages
        else:
            if not messages:
                raise InvalidInputError("input_payload.messages: at least one message is required")
            prompt = node.config.system_prompt
            request = ([{"role": "system", "content": prompt}] if prompt else []) + messages

        usage = {m: dict(u) for m, u in (state.get("usage") or {}).items()}
        await run.budget.before_call(total_tokens(usage))

        async def on_delta(text: str, raw: dict[str, Any]) -> None:
            await run.events.emit(
                "on_llm_stream", {"delta": text, "node_id": node.id, "raw_event": raw}
            )

        model = node.config.model
        schemas = self._schemas(run.definition, node)
        result = await self.llm.complete(model, request, schemas, on_delta)
        prompt_tokens = result.usage.get("prompt_tokens", 0)
        completion_tokens = result.usage.get("completion_tokens", 0)
        await run.budget.record(model.model, prompt_tokens, completion_tokens)
        counted = usage.setdefault(model.model, {"prompt_tokens": 0, "completion_tokens": 0})
        counted["prompt_tokens"] = counted.get("prompt_tokens", 0) + prompt_tokens
        counted["completion_tokens"] = counted.get("completion_tokens", 0) + completion_tokens

        assistant: dict[str, Any] = {"role": "assistant", "content": result.content}
        if result.tool_calls:
            seen: set[str] = set()
            calls = []
            for call in result.tool_calls:
                call_id = call.get("id") or ""
                if not call_id or call_id in seen:
                    call_id = f"call_{uuid.uuid4().hex[:24]}"
                seen.add(call_id)
                calls.append({**call, "id": call_id})
            assistant["tool_calls"] = calls
            assistant["content"] = result.content or None

        update: dict[str, Any] = {"usage": usage}
        if not stack:
            update["messages"] = [*messages, assistant]
            if not result.tool_calls:
                update["output"] = result.content
        elif result.tool_calls:
            stack[-1] = Frame(
                agent_id=stack[-1]["agent_id"],
                messages=[*messages, assistant],
                parent_tool_call_id=stack[-1]["parent_tool_call_id"],
            )
            update["stack"] = stack
        else:
            # The specialist is done: its answer is the result of the parent's `task` call.
            frame = stack.pop()
            answer = result.content or "(the specialist returned no text)"
            tool_message = {
                "role": "tool",
                "tool_call_id": frame["parent_tool_call_id"],
                "content": answer,
            }
            if stack:
                parent = stack[-1]
                stack[-1] = Frame(
                    agent_id=parent["agent_id"],
                    messages=[*parent["messages"], tool_message],
                    parent_tool_call_id=parent["parent_tool_call_id"],
                )
            else:
                update["messages"] = [*(state.get("messages") or []), tool_message]
            update["stack"] = stack
            await run.events.emit(
                "on_tool_end",
                {
                    "tool": TASK_TOOL,
                    "output": answer,
                    "tool_call_id": frame["parent_tool_call_id"],
                    "node_id": stack[-1]["agent_id"] if stack else run.definition.orchestrator.id,
                },
            )
        await run.events.emit("on_state_update", state_json({**state, **update}))
        return update

    # The `tools` node: the unanswered calls of the top agent's last assistant message.
    async def tools_step(self, state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        run = runtime.context
        definition = run.definition
        stack = list(state.get("stack") or [])
        node, frame_messages = self._top(definition, state)
        messages = list(frame_messages)
        allowed = definition.tools_of(node)
        work: dict[str, Any] = {
            "files": state.get("files") or {},
            "todos": state.get("todos") or [],
        }
        pushed: Frame | None = None
        for call in pending_tool_calls(messages):
            call_id = call["id"]
            function = call.get("function") or {}
            name = str(function.get("name") or "")
            raw_args = str(function.get("arguments") or "")
            args, error = _parse_arguments(raw_args)
            meta = {"tool_call_id": call_id, "node_id": node.id}
            shown = args if args is not None else raw_args
            await run.events.emit("on_tool_start", {"tool": name, "input": shown, **meta})
            if args is None:
                text = error or "Error: invalid arguments"
            elif name not in allowed:
                text = (
                    f"Error: there is no tool '{name}' for you; available tools: "
                    f"{', '.join(allowed) or 'none'}"
                )
            elif name == TASK_TOOL:
                specialist, text = self._task_target(definition, args)
                if specialist is not None:
                    pushed = Frame(
                        agent_id=specialist.id,
                        messages=self._specialist_messages(specialist, str(args["description"])),
                        parent_tool_call_id=call_id,
                    )
                    break  # on_tool_end is emitted when the specialist answers
            elif name in BUILTIN_TOOLS:
                text, changes = run_builtin(name, work, args)
                work.update(changes)
            else:
                tool = definition.tool_definition(name)
                assert tool is not None
                text = await run_tool_script(
                    name,
                    tool.runtime.script,
                    args,
                    allowed=self.allow_tool_scripts,
                    time_limit=self.script_timeout,
                    dependencies=tool.runtime.dependencies,
                )
            await run.events.emit("on_tool_end", {"tool": name, "output": text, **meta})
            messages.append({"role": "tool", "tool_call_id": call_id, "content": text})

        update: dict[str, Any] = {"files": work["files"], "todos": work["todos"]}
        if stack:
            top = stack[-1]
            stack[-1] = Frame(
                agent_id=top["agent_id"],
                messages=messages,
                parent_tool_call_id=top["parent_tool_call_id"],
            )
        else:
            update["messages"] = messages
        if pushed is not None:
            stack.append(pushed)
        update["stack"] = stack
        await run.events.emit("on_state_update", state_json({**state, **update}))
        return update

    @staticmethod
    def _task_target(
        definition: AgentDefinition, args: Mapping[str, Any]
    ) -> tuple[Node | None, str]:
        kind = args.get("subagent_type")
        description = args.get("description")
        names = ", ".join(n.config.name for n in definition.specialists)
        if not isinstance(kind, str) or not isinstance(description, str) or not description:
            return None, (
                "Error: task needs string arguments subagent_type (one of: "
                f"{names}) and a non-empty description"
            )
        specialist = definition.specialist(kind)
        if specialist is None:
            return None, f"Error: unknown subagent_type '{kind}'; choose one of: {names}"
        return specialist, ""

    @staticmethod
    def _specialist_messages(node: Node, description: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if node.config.system_prompt:
            messages.append({"role": "system", "content": node.config.system_prompt})
        messages.append({"role": "user", "content": description})
        return messages


def build_graph(
    llm: LLMClient, *, allow_tool_scripts: bool, script_timeout: float
) -> StateGraph[AgentState, RunContext, AgentState, AgentState]:
    """The uncompiled graph. Compile it once with a checkpointer; every job then runs it with
    its own `thread_id` and `context=RunContext(...)` (compiling per job costs more CPU than
    the rest of a short run)."""
    agent = _Agent(llm, allow_tool_scripts, script_timeout)
    graph: StateGraph[AgentState, RunContext, AgentState, AgentState] = StateGraph(
        AgentState, context_schema=RunContext
    )
    graph.add_node(LLM_NODE, agent.llm_step)
    graph.add_node(TOOLS_NODE, agent.tools_step)
    graph.add_edge(START, LLM_NODE)
    graph.add_conditional_edges(
        LLM_NODE, route, {"llm": LLM_NODE, "tools": TOOLS_NODE, "__end__": END}
    )
    graph.add_edge(TOOLS_NODE, LLM_NODE)
    return graph
