"""The agent as a flat LangGraph graph that a checkpointer can resume after a crash.

Two nodes loop until the orchestrator answers without tool calls:

- `llm` makes exactly one model call: for the agent on top of the `stack`, or the orchestrator
  when the stack is empty. An assistant message with tool calls is appended to that agent's
  messages. A subagent's final answer pops its frame and becomes the `tool` message answering
  the parent's pending `task` call. The orchestrator's final answer sets `output`.
- `tools` runs the unanswered tool calls of the top agent's last assistant message, in order.
  A `task` call pushes a subagent frame (system prompt + task description) and stops there;
  the calls after it run once the subagent has answered.

Every agent is offered deepagents' built-in tools unlisted (`builtin_tools`), the orchestrator
also `task`, whose subagents are deepagents' `general-purpose` agent and the specialists
(`subagents`); system prompts get short notes on those tools (`prompts`).

Files are one shared dictionary: a subagent reads and writes the orchestrator's files directly,
and its writes are there when it answers. (deepagents gave each subagent a copy and merged the
whole copy back, so of two parallel tasks the later one reverted the other's edits of a file it
had not touched; we run tasks one after the other on the same files, and nothing is reverted.)
Todos are per agent, as in deepagents: a subagent starts with none, and its list ends with it.

Every step is one checkpoint, so a resumed run (`ainvoke(None, same thread_id)`) repeats at most
the step that was interrupted, never an LLM call that already finished.

State (JSON only): `messages` (the orchestrator's conversation, OpenAI format, without its system
prompt), `stack` (subagent frames), `files` (the virtual filesystem), `todos`, `usage`
(`{model: {prompt_tokens, completion_tokens}}`) and `output` (the final answer).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from workers.agent_executor.agent import prompts, subagents
from workers.agent_executor.agent.builtin_tools import BUILTIN_SCHEMAS, run_builtin
from workers.agent_executor.agent.definition import (
    BUILTIN_TOOLS,
    TASK_TOOL,
    AgentDefinition,
    Node,
)
from workers.agent_executor.agent.files import (
    FileData,
    Todo,
    normalize_path,
    now_iso,
)
from workers.agent_executor.agent.llm import LLMClient
from workers.agent_executor.agent.ports import (
    AgentError,
    EventSink,
    NoPolicyReporter,
    PolicyReporter,
    TokenBudget,
)
from workers.agent_executor.agent.scripts import run_tool_script
from workers.agent_executor.agent.telemetry import mark_error, tool_span
from workers.agent_executor.agent.tool_protocol import not_a_tool

LLM_NODE = "llm"
TOOLS_NODE = "tools"
INPUT_ROLES = ("system", "developer", "user", "assistant")


class Frame(TypedDict):
    """A subagent at work: its node id, its own conversation, the `task` it answers.

    The general-purpose subagent runs on the orchestrator's node (its model and own tools)
    and is marked `general_purpose`. `todos` is the subagent's own list.
    """

    agent_id: str
    messages: list[dict[str, Any]]
    parent_tool_call_id: str
    general_purpose: NotRequired[bool]
    todos: NotRequired[list[Todo]]


def _with_messages(frame: Frame, messages: list[dict[str, Any]]) -> Frame:
    """`frame` with its conversation replaced (every other key kept)."""
    updated = frame.copy()
    updated["messages"] = messages
    return updated


@dataclass(frozen=True)
class _Turn:
    """Whose turn it is: the agent on top of the stack (the orchestrator when it is empty)."""

    node: Node  # whose model answers
    messages: list[dict[str, Any]]
    tools: list[str]  # the tool names its model is offered
    frame: Frame | None


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
    assistant); or ide-orchestrator's `{"instructions", "context", "context_file_path"}`, whose
    instructions and context become the user turn and whose context is seeded as the file at
    `context_file_path`; or `{"input": "text"}` as a single user message. Optional `files`
    seeds the virtual filesystem with `{path: text}` or `{path: {"content": [lines], ...}}`.
    """
    raw_messages = input_payload.get("messages")
    if raw_messages is None:
        raw_messages = _messages_from_text_fields(input_payload)
    messages = _input_messages(raw_messages)
    state = AgentState(messages=messages, stack=[], files={}, todos=[], usage={}, output=None)
    raw_files = input_payload.get("files")
    if raw_files is not None:
        state["files"] = _input_files(raw_files)
    context_file = _context_file(input_payload)
    if context_file is not None:
        state["files"] = {**context_file, **(state.get("files") or {})}
    return state


def _text_field(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"input_payload.{key}: must be text, got {type(value).__name__}")
    return value


def _messages_from_text_fields(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    instructions = _text_field(payload, "instructions")
    if instructions is None:
        text = _text_field(payload, "input")
        if text:
            return [{"role": "user", "content": text}]
        keys = ", ".join(sorted(payload)) or "none"
        raise InvalidInputError(
            "input_payload: needs messages (a non-empty list of {role, content}) or "
            f"instructions (text); it has: {keys}"
        )
    if not instructions.strip():
        raise InvalidInputError("input_payload.instructions: must not be empty")
    context = _text_field(payload, "context") or ""
    path = _text_field(payload, "context_file_path")
    turn = instructions
    if context.strip():
        where = f" (from {path})" if path else ""
        turn += f"\n\nContext{where}:\n{context}"
    elif path:
        turn += f"\n\nThe file in question is {path}."
    return [{"role": "user", "content": turn}]


def _context_file(payload: Mapping[str, Any]) -> dict[str, FileData] | None:
    path = _text_field(payload, "context_file_path")
    context = _text_field(payload, "context")
    if not path or not context:
        return None
    try:
        key = normalize_path(path)
    except ValueError as exc:
        raise InvalidInputError(f"input_payload.context_file_path: {exc}") from None
    stamp = now_iso()
    return {key: FileData(content=context.split("\n"), created_at=stamp, modified_at=stamp)}


def _input_messages(raw_messages: Any) -> list[dict[str, Any]]:
    if not isinstance(raw_messages, list) or not raw_messages:
        raise InvalidInputError("input_payload.messages: a non-empty list of messages is required")
    messages: list[dict[str, Any]] = []
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
    return messages


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
    policy: PolicyReporter = field(default_factory=NoPolicyReporter)


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
    def _schemas(definition: AgentDefinition, names: list[str]) -> list[dict[str, Any]]:
        schemas: list[dict[str, Any]] = []
        for name in names:
            if name == TASK_TOOL:
                schemas.append(subagents.task_schema(definition))
            elif name in BUILTIN_SCHEMAS:
                schemas.append(BUILTIN_SCHEMAS[name])
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
    def _turn(definition: AgentDefinition, state: AgentState) -> _Turn:
        stack = state.get("stack") or []
        if not stack:
            node = definition.orchestrator
            return _Turn(node, state.get("messages") or [], definition.tools_of(node), None)
        frame = stack[-1]
        node = definition.node(frame["agent_id"])
        tools = (
            subagents.general_purpose_tool_names(definition)
            if frame.get("general_purpose")
            else definition.tools_of(node)
        )
        return _Turn(node, frame["messages"], tools, frame)

    # The `llm` node: one model call for the agent on top of the stack.
    async def llm_step(self, state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        run = runtime.context
        stack = list(state.get("stack") or [])
        turn = self._turn(run.definition, state)
        node, messages = turn.node, turn.messages
        if stack:
            request = messages  # a subagent's frame starts with its system prompt
        else:
            if not messages:
                raise InvalidInputError("input_payload.messages: at least one message is required")
            roster = [(s.name, s.description) for s in subagents.roster(run.definition)]
            prompt = prompts.orchestrator_prompt(node.config.system_prompt, roster)
            request = [{"role": "system", "content": prompt}, *messages]

        usage = {m: dict(u) for m, u in (state.get("usage") or {}).items()}
        await run.budget.before_call(total_tokens(usage))

        async def on_delta(text: str, raw: dict[str, Any]) -> None:
            await run.events.emit(
                "on_llm_stream", {"delta": text, "node_id": node.id, "raw_event": raw}
            )

        model = node.config.model
        schemas = self._schemas(run.definition, turn.tools)
        result = await self.llm.complete(model, request, schemas, on_delta)
        prompt_tokens = result.usage.get("prompt_tokens", 0)
        completion_tokens = result.usage.get("completion_tokens", 0)
        # Under the model that answered: a fallback's tokens are the fallback's.
        answered = result.answered_by
        await run.budget.record(answered, prompt_tokens, completion_tokens)
        counted = usage.setdefault(answered, {"prompt_tokens": 0, "completion_tokens": 0})
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
            stack[-1] = _with_messages(stack[-1], [*messages, assistant])
            update["stack"] = stack
        else:
            # The subagent is done: its answer is the result of the parent's `task` call.
            frame = stack.pop()
            answer = result.content or "(the specialist returned no text)"
            tool_message = {
                "role": "tool",
                "tool_call_id": frame["parent_tool_call_id"],
                "content": answer,
            }
            if stack:
                stack[-1] = _with_messages(stack[-1], [*stack[-1]["messages"], tool_message])
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
        turn = self._turn(definition, state)
        node = turn.node
        messages = list(turn.messages)
        own_todos = turn.frame.get("todos", []) if turn.frame else state.get("todos")
        work: dict[str, Any] = {"files": state.get("files") or {}, "todos": own_todos or []}
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
            with tool_span(name, call_id, _tool_kind(name, turn.tools)) as span:
                if args is None:
                    text = error or "Error: invalid arguments"
                    mark_error(span, "InvalidToolArguments")
                elif name not in turn.tools:
                    text = not_a_tool(name, turn.tools)
                    mark_error(span, "UnknownTool")
                elif name == TASK_TOOL:
                    # The span is the hand-over; the subagent's own calls follow it.
                    pushed, text = self._start_task(definition, args, call_id)
                elif name in BUILTIN_TOOLS:
                    text, changes = run_builtin(name, work, args)
                    work.update(changes)
                else:
                    tool = definition.tool_definition(name)
                    assert tool is not None
                    if not self.allow_tool_scripts:
                        run.policy.tool_script_refused(name)
                    text = await run_tool_script(
                        name,
                        tool.runtime.script,
                        args,
                        allowed=self.allow_tool_scripts,
                        time_limit=self.script_timeout,
                        dependencies=tool.runtime.dependencies,
                    )
            if pushed is not None:
                break  # on_tool_end is emitted when the subagent answers
            await run.events.emit("on_tool_end", {"tool": name, "output": text, **meta})
            messages.append({"role": "tool", "tool_call_id": call_id, "content": text})

        update: dict[str, Any] = {"files": work["files"]}
        if stack:
            top = _with_messages(stack[-1], messages)
            top["todos"] = work["todos"]
            stack[-1] = top
        else:
            update["messages"] = messages
            update["todos"] = work["todos"]
        if pushed is not None:
            stack.append(pushed)
        update["stack"] = stack
        await run.events.emit("on_state_update", state_json({**state, **update}))
        return update

    @staticmethod
    def _start_task(
        definition: AgentDefinition, args: dict[str, Any], call_id: str
    ) -> tuple[Frame | None, str]:
        """The frame of the subagent a `task` call starts, or the result text why not."""
        parsed = subagents.parse_task(args)
        if isinstance(parsed, str):
            return None, parsed
        target = subagents.find(definition, parsed.subagent_type)
        if target is None:
            return None, subagents.unknown_subagent(parsed.subagent_type, definition)
        if target.general_purpose:
            prompt = prompts.general_purpose_prompt()
        else:
            prompt = prompts.subagent_prompt(target.node.config.system_prompt)
        frame = Frame(
            agent_id=target.node.id,
            messages=[
                {"role": "system", "content": prompt},
                # As in deepagents, the description is the subagent's only user message.
                {"role": "user", "content": parsed.description},
            ],
            parent_tool_call_id=call_id,
        )
        if target.general_purpose:
            frame["general_purpose"] = True
        return frame, ""


def _tool_kind(name: str, offered: list[str]) -> str:
    """Which kind of tool a call runs, for its span: builtin, task, script or unknown."""
    if name not in offered:
        return "unknown"
    if name == TASK_TOOL:
        return "task"
    return "builtin" if name in BUILTIN_TOOLS else "script"


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
