"""The agent graph end to end: the fake OpenAI server over HTTP, an in-memory checkpointer."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, cast

import openai
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from testbed.fake_openai import FakeOpenAI, ToolCall, error, text, tool_calls
from workers.agent_executor.agent.definition import parse_definition
from workers.agent_executor.agent.graph import (
    AgentState,
    InvalidInputError,
    RunContext,
    build_graph,
    final_result,
    initial_state,
)
from workers.agent_executor.agent.llm import LLMClient
from workers.agent_executor.agent.ports import BudgetExceededError

ORCH_MODEL = "orch-model"
SPEC_MODEL = "spec-model"
# deepagents' built-ins, offered to every agent unlisted, in deepagents' order.
BUILTINS = ["write_todos", "ls", "read_file", "write_file", "edit_file", "glob", "grep"]
ADD_SCRIPT = "import json, sys\na = json.load(sys.stdin)\nprint(a['x'] + a['y'])"


def _node(
    node_id: str, kind: str, name: str, model: str, tools: list[str], provider: str = "openai"
) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "config": {
            "name": name,
            "description": f"The {name}.",
            "system_prompt": f"You are the {name}.",
            "model": {"provider": provider, "model": model},
            "tools": tools,
        },
    }


SOLO = {
    "tool_definitions": [
        {"name": "add", "runtime": {"script": ADD_SCRIPT}},
        {"name": "slow", "runtime": {"script": "import time\ntime.sleep(30)"}},
    ],
    "nodes": [
        _node(
            "lead",
            "Orchestrator",
            "lead",
            ORCH_MODEL,
            ["write_todos", "ls", "read_file", "write_file", "edit_file", "add", "slow"],
        )
    ],
}
# The specialist runs through Anthropic's provider, served by the same fake.
TEAM = {
    "nodes": [
        _node("lead", "Orchestrator", "lead", ORCH_MODEL, ["write_file", "task"]),
        _node("res", "Specialist", "researcher", SPEC_MODEL, ["write_file"], "anthropic"),
    ]
}


@dataclass
class Sink:
    """Records events in order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, json.loads(json.dumps(data))))

    def types(self) -> list[str]:
        return [t for t, _ in self.events]

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == event_type]


@dataclass
class Budget:
    """Records budget calls; refuses a call once `limit` tokens were used."""

    limit: int | None = None
    checks: list[int] = field(default_factory=list)
    records: list[tuple[str, int, int]] = field(default_factory=list)

    async def before_call(self, run_tokens: int) -> None:
        self.checks.append(run_tokens)
        if self.limit is not None and run_tokens >= self.limit:
            raise BudgetExceededError(f"run used {run_tokens} of {self.limit} tokens")

    async def record(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.records.append((model, prompt_tokens, completion_tokens))


@dataclass
class Run:
    state: dict[str, Any]
    sink: Sink
    budget: Budget


async def _invoke(
    fake: FakeOpenAI,
    definition: dict[str, Any],
    graph_input: AgentState | None,
    *,
    sink: Sink,
    budget: Budget,
    checkpointer: InMemorySaver,
    allow_tool_scripts: bool = True,
    thread_id: str = "job-1",
) -> dict[str, Any]:
    llm = LLMClient(
        openai_api_key="sk-openai",
        openai_base_url=fake.base_url,
        anthropic_api_key="sk-ant",
        anthropic_base_url=fake.base_url,
    )
    graph = build_graph(llm, allow_tool_scripts=allow_tool_scripts, script_timeout=0.5).compile(
        checkpointer=checkpointer
    )
    try:
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        context = RunContext(parse_definition(definition), sink, budget)
        state = await graph.ainvoke(graph_input, config, context=context)
    finally:
        await llm.aclose()
    return dict(state)


def _run(
    fake: FakeOpenAI,
    definition: dict[str, Any] = SOLO,
    prompt: str = "Do the thing.",
    *,
    budget: Budget | None = None,
    allow_tool_scripts: bool = True,
) -> Run:
    sink, budget = Sink(), budget or Budget()
    graph_input = initial_state({"messages": [{"role": "user", "content": prompt}]})
    state = asyncio.run(
        _invoke(
            fake,
            definition,
            graph_input,
            sink=sink,
            budget=budget,
            checkpointer=InMemorySaver(),
            allow_tool_scripts=allow_tool_scripts,
        )
    )
    return Run(state, sink, budget)


def _tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


def _offered(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


def test_the_orchestrator_answers_directly(fake: FakeOpenAI) -> None:
    fake.script(text("The answer is 42.", usage=(20, 6)))
    run = _run(fake)
    assert final_result(run.state) == {
        "output": "The answer is 42.",
        "files": {},
        "usage": {ORCH_MODEL: {"prompt_tokens": 20, "completion_tokens": 6}},
    }
    system, user = fake.requests[0]["messages"]
    assert user == {"role": "user", "content": "Do the thing."}
    # The definition's prompt, then our notes on the built-ins and the subagents.
    assert system["role"] == "system"
    assert system["content"].startswith("You are the lead.\n\n")
    for fragment in ("`write_todos`", "`read_file`", "`task`", "\n- general-purpose: "):
        assert fragment in system["content"]


def test_the_orchestrator_is_offered_the_builtins_task_then_its_own_tools(
    fake: FakeOpenAI,
) -> None:
    _run(fake)  # SOLO lists five built-ins (offered once, in deepagents' order) and two scripts
    assert _offered(fake.requests[0]) == [*BUILTINS, "task", "add", "slow"]


def test_a_written_file_is_in_the_result_and_in_a_state_update(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/report.md", "content": "# Report\nok"})),
        text("Wrote the report."),
    )
    run = _run(fake)
    result = final_result(run.state)
    assert result["output"] == "Wrote the report."
    assert result["files"]["/report.md"]["content"] == ["# Report", "ok"]
    updates = run.sink.of("on_state_update")
    assert any("/report.md" in u["files"] for u in updates)
    assert _tool_messages(fake.requests[1])[0]["content"] == "Updated file /report.md"


def test_the_orchestrator_delegates_to_a_specialist_through_task(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(
            ToolCall("task", {"subagent_type": "researcher", "description": "Find X."}, id="t1"),
            model=ORCH_MODEL,
        ),
        text("X is 7.", model=SPEC_MODEL),
        text("Final: X is 7.", model=ORCH_MODEL),
    )
    run = _run(fake, TEAM)
    assert run.state["output"] == "Final: X is 7."
    assert run.state["stack"] == []
    spec_request, final_request = fake.requests[1], fake.requests[2]
    assert spec_request["model"] == SPEC_MODEL
    system, user = spec_request["messages"]
    assert user == {"role": "user", "content": "Find X."}
    assert system["content"].startswith("You are the researcher.\n\n## `write_todos`")
    assert "`task`" not in system["content"]  # subagents cannot delegate
    assert _offered(spec_request) == BUILTINS
    assert fake.request_headers[1]["authorization"] == "Bearer sk-ant"
    assert _tool_messages(final_request) == [
        {"role": "tool", "tool_call_id": "t1", "content": "X is 7."}
    ]


def test_a_specialist_shares_the_files(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "res", "description": "Write it."})),
        tool_calls(
            ToolCall("write_file", {"file_path": "/notes.md", "content": "n"}), model=SPEC_MODEL
        ),
        text("Written.", model=SPEC_MODEL),
        text("Done.", model=ORCH_MODEL),
    )
    run = _run(fake, TEAM)
    assert list(final_result(run.state)["files"]) == ["/notes.md"]
    assert fake.requests[2]["model"] == SPEC_MODEL
    assert _tool_messages(fake.requests[3])[0]["content"] == "Written."


def test_tool_calls_after_a_task_run_once_the_specialist_answered(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(
            ToolCall("task", {"subagent_type": "researcher", "description": "Go."}, id="t1"),
            ToolCall("write_file", {"file_path": "/after.md", "content": "x"}, id="w1"),
            model=ORCH_MODEL,
        ),
        text("Spec answer.", model=SPEC_MODEL),
        text("All done.", model=ORCH_MODEL),
    )
    run = _run(fake, TEAM)
    assert [m["tool_call_id"] for m in _tool_messages(fake.requests[2])] == ["t1", "w1"]
    assert "/after.md" in run.state["files"]
    assert fake.request_count == 3


def test_an_unknown_specialist_is_an_error_result_not_an_exception(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "nobody", "description": "x"})),
        text("Sorry."),
    )
    run = _run(fake, TEAM)
    assert _tool_messages(fake.requests[1])[0]["content"] == (
        "We cannot invoke subagent nobody because it does not exist, "
        "the only allowed types are `general-purpose`, `researcher`"
    )
    assert run.state["output"] == "Sorry."


def test_events_come_in_order(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "a"})),
        text("Finished now.", chunks=3),
    )
    run = _run(fake)
    assert run.sink.types() == [
        "on_state_update",
        "on_tool_start",
        "on_tool_end",
        "on_state_update",
        "on_llm_stream",
        "on_llm_stream",
        "on_llm_stream",
        "on_state_update",
    ]
    start, end = run.sink.of("on_tool_start")[0], run.sink.of("on_tool_end")[0]
    assert (start["tool"], start["input"]) == ("write_file", {"file_path": "/a.md", "content": "a"})
    assert (end["tool"], end["output"]) == ("write_file", "Updated file /a.md")
    streams = run.sink.of("on_llm_stream")
    assert "".join(s["delta"] for s in streams) == "Finished now."
    assert {s["node_id"] for s in streams} == {"lead"}
    assert streams[0]["raw_event"]["choices"][0]["delta"]["content"] == streams[0]["delta"]
    assert run.sink.of("on_state_update")[-1]["output"] == "Finished now."


def test_task_events_wrap_the_specialist(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "researcher", "description": "Go."})),
        text("Spec says hi.", model=SPEC_MODEL, chunks=1),
        text("Bye.", model=ORCH_MODEL, chunks=1),
    )
    run = _run(fake, TEAM)
    streams = [(t, d.get("node_id"), d.get("tool")) for t, d in run.sink.events]
    assert streams == [
        ("on_state_update", None, None),
        ("on_tool_start", "lead", "task"),
        ("on_state_update", None, None),
        ("on_llm_stream", "res", None),
        ("on_tool_end", "lead", "task"),
        ("on_state_update", None, None),
        ("on_llm_stream", "lead", None),
        ("on_state_update", None, None),
    ]


def test_usage_is_summed_per_model(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "researcher", "description": "Go."})),
        text("Found.", model=SPEC_MODEL, usage=(50, 10)),
        text("Done.", model=ORCH_MODEL, usage=(200, 30)),
    )
    run = _run(fake, TEAM)
    assert run.state["usage"] == {
        ORCH_MODEL: {"prompt_tokens": 210, "completion_tokens": 35},
        SPEC_MODEL: {"prompt_tokens": 50, "completion_tokens": 10},
    }
    assert run.budget.checks == [0, 15, 75]
    assert run.budget.records == [(ORCH_MODEL, 10, 5), (SPEC_MODEL, 50, 10), (ORCH_MODEL, 200, 30)]


def test_a_refused_budget_stops_the_run(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("ls")), text("never"))
    with pytest.raises(BudgetExceededError, match="run used 15 of 10 tokens"):
        _run(fake, budget=Budget(limit=10))
    assert fake.request_count == 1


def test_a_429_surfaces_as_rate_limit_error(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=429, retry_after=3)
    with pytest.raises(openai.RateLimitError):
        _run(fake)
    assert fake.request_count == 1


def test_bad_tool_arguments_become_the_tool_result(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(
            ToolCall("read_file", "{not json"),
            ToolCall("read_file", {"file_path": "/missing.md"}),
            ToolCall("write_file", {"path": "/x"}),  # the argument names from before #11
            ToolCall("no_such_tool", {}, hallucinated=True),
            ToolCall("read_file", {"file_path": "../etc/passwd"}),
            ToolCall("task", {"description": "x"}),
        ),
        text("Recovered."),
    )
    run = _run(fake)
    results = [m["content"] for m in _tool_messages(fake.requests[1])]
    assert results[0].startswith("Error: the arguments are not valid JSON")
    assert results[1:] == [
        "Error: File '/missing.md' not found",
        "Error invoking tool 'write_file' with kwargs {'path': '/x'} with error:\n"
        " file_path: Field required\ncontent: Field required\n"
        " Please fix the error and try again.",
        "Error: no_such_tool is not a valid tool, try one of [write_todos, ls, read_file, "
        "write_file, edit_file, glob, grep, task, add, slow].",
        # deepagents before 0.3.10 let this abort the run; it is a result here, as in 0.3.10.
        "Error: Path traversal not allowed: ../etc/passwd",
        "Error invoking tool 'task' with kwargs {'description': 'x'} with error:\n"
        " subagent_type: Field required\n Please fix the error and try again.",
    ]
    assert run.state["output"] == "Recovered."


def test_a_tool_script_runs_when_allowed(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("add", {"x": 2, "y": 40})), text("42"))
    _run(fake, allow_tool_scripts=True)
    assert _tool_messages(fake.requests[1])[0]["content"] == "42"


def test_a_tool_script_does_not_run_when_not_allowed(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("add", {"x": 2, "y": 40})), text("ok"))
    _run(fake, allow_tool_scripts=False)
    assert "tool scripts are disabled" in _tool_messages(fake.requests[1])[0]["content"]


def test_a_slow_tool_script_times_out_into_the_tool_result(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("slow", {})), text("ok"))
    _run(fake, allow_tool_scripts=True)
    content = _tool_messages(fake.requests[1])[0]["content"]
    assert content == "Error: tool 'slow' failed: tool script timed out after 0.5 s"


def test_a_run_resumes_after_a_failed_llm_call_without_repeating_the_first(
    fake: FakeOpenAI,
) -> None:
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/step1.md", "content": "one"})),
        error(500),
    )
    checkpointer = InMemorySaver()
    first_sink, second_sink, budget = Sink(), Sink(), Budget()
    graph_input = initial_state({"messages": [{"role": "user", "content": "Go."}]})

    async def scenario() -> dict[str, Any]:
        with pytest.raises(openai.InternalServerError):
            await _invoke(
                fake,
                SOLO,
                graph_input,
                sink=first_sink,
                budget=budget,
                checkpointer=checkpointer,
            )
        assert fake.request_count == 2
        fake.script(text("Resumed and finished."))
        return await _invoke(
            fake, SOLO, None, sink=second_sink, budget=budget, checkpointer=checkpointer
        )

    state = asyncio.run(scenario())
    assert fake.request_count == 3
    assert state["output"] == "Resumed and finished."
    assert state["files"]["/step1.md"]["content"] == ["one"]
    # The resumed call carries the first call's tool result: nothing before it was repeated.
    assert _tool_messages(fake.requests[2])[0]["content"] == "Updated file /step1.md"
    assert "on_tool_start" not in second_sink.types()
    assert state["usage"] == {ORCH_MODEL: {"prompt_tokens": 20, "completion_tokens": 10}}


def test_an_input_without_messages_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match=r"needs messages .* it has: prompt"):
        initial_state({"prompt": 3})
    with pytest.raises(InvalidInputError, match=r"input_payload\.messages\[0\]\.role"):
        initial_state({"messages": [{"role": "tool", "content": "x"}]})


def test_a_raw_input_payload_also_runs(fake: FakeOpenAI) -> None:
    fake.script(text("hi"))

    async def scenario() -> dict[str, Any]:
        return await _invoke(
            fake,
            SOLO,
            cast(AgentState, {"messages": [{"role": "user", "content": "hi"}], "trace": "x"}),
            sink=Sink(),
            budget=Budget(),
            checkpointer=InMemorySaver(),
        )

    assert final_result(asyncio.run(scenario()))["output"] == "hi"


def test_usage_and_budget_count_the_fallback_model_that_answered(fake: FakeOpenAI) -> None:
    lead = _node("lead", "Orchestrator", "lead", ORCH_MODEL, [])
    lead["config"]["model"]["fallbacks"] = ["backup-model"]
    definition = {"nodes": [lead]}
    fake.script(error(503, model=ORCH_MODEL), text("From the backup.", model="backup-model"))
    run = _run(fake, definition)
    assert run.state["output"] == "From the backup."
    assert run.state["usage"] == {"backup-model": {"prompt_tokens": 10, "completion_tokens": 5}}
    assert run.budget.records == [("backup-model", 10, 5)]


# --- a spec-builders-like run (deepagents-runtime's flagship workflow) -------------------------

SPEC_BUILDERS = {
    "nodes": [
        _node(
            "builder_agent_orchestrator",
            "Orchestrator",
            "Builder Agent Orchestrator",
            ORCH_MODEL,
            [],
        ),
        _node("guardrail-agent", "Specialist", "Guardrail Agent", SPEC_MODEL, []),
        _node("workflow-spec-agent", "Specialist", "Workflow Spec Agent", SPEC_MODEL, []),
    ]
}


def test_a_spec_builders_run_keeps_every_file_written_with_unlisted_builtins(
    fake: FakeOpenAI,
) -> None:
    guardrail = "Perform a guardrail assessment on the user request."
    fake.script(
        tool_calls(
            ToolCall("write_file", {"file_path": "/user_request.md", "content": "Hello agent"}),
            model=ORCH_MODEL,
        ),
        tool_calls(
            ToolCall("task", {"subagent_type": "Guardrail Agent", "description": guardrail}),
            model=ORCH_MODEL,
        ),
        tool_calls(ToolCall("read_file", {"file_path": "/user_request.md"}), model=SPEC_MODEL),
        tool_calls(
            ToolCall(
                "write_file",
                {"file_path": "/guardrail_assessment.md", "content": "# Guardrail\nSafe."},
            ),
            model=SPEC_MODEL,
        ),
        text("Guardrail assessment saved.", model=SPEC_MODEL),
        tool_calls(
            ToolCall("task", {"subagent_type": "Workflow Spec Agent", "description": "Spec it."}),
            model=ORCH_MODEL,
        ),
        tool_calls(
            ToolCall(
                "write_file", {"file_path": "/THE_SPEC/constitution.md", "content": "Be kind"}
            ),
            # A relative path: deepagents puts a leading slash on it.
            ToolCall("write_file", {"file_path": "THE_SPEC/requirements.md", "content": "R1: TBD"}),
            model=SPEC_MODEL,
        ),
        text("Spec written.", model=SPEC_MODEL),
        tool_calls(
            ToolCall("read_file", {"file_path": "/guardrail_assessment.md"}),
            ToolCall(
                "edit_file",
                {
                    "file_path": "/THE_SPEC/requirements.md",
                    "old_string": "TBD",
                    "new_string": "greets users",
                },
            ),
            model=ORCH_MODEL,
        ),
        text("All files are ready.", model=ORCH_MODEL),
    )
    run = _run(fake, SPEC_BUILDERS, "Create a simple hello world agent that greets users")

    expected = {
        "/user_request.md": ["Hello agent"],
        "/guardrail_assessment.md": ["# Guardrail", "Safe."],
        "/THE_SPEC/constitution.md": ["Be kind"],
        "/THE_SPEC/requirements.md": ["R1: greets users"],
    }
    result = final_result(run.state)
    assert result["output"] == "All files are ready."
    assert {p: f["content"] for p, f in result["files"].items()} == expected
    last_update = run.sink.of("on_state_update")[-1]
    assert {p: f["content"] for p, f in last_update["files"].items()} == expected

    requests = fake.requests
    assert len(requests) == 10 and fake.pending == 0
    orchestrator = [r for r in requests if r["model"] == ORCH_MODEL]
    specialists = [r for r in requests if r["model"] == SPEC_MODEL]
    assert all(_offered(r) == [*BUILTINS, "task"] for r in orchestrator)
    assert all(_offered(r) == BUILTINS for r in specialists)
    # The specialist read the orchestrator's file; the orchestrator got each tool's result.
    assert _tool_messages(requests[3])[0]["content"] == "     1\tHello agent"
    assert [m["content"] for m in _tool_messages(requests[-1])] == [
        "Updated file /user_request.md",
        "Guardrail assessment saved.",
        "Spec written.",
        "     1\t# Guardrail\n     2\tSafe.",
        "Successfully replaced 1 instance(s) of the string in '/THE_SPEC/requirements.md'",
    ]
    spec_writes = _tool_messages(requests[7])
    assert [m["content"] for m in spec_writes] == [
        "Updated file /THE_SPEC/constitution.md",
        "Updated file /THE_SPEC/requirements.md",
    ]
    assert requests[2]["messages"][-1] == {"role": "user", "content": guardrail}


def test_the_general_purpose_subagent_has_the_orchestrators_model_and_tools_but_task(
    fake: FakeOpenAI,
) -> None:
    # SOLO has no specialists: task is offered all the same, for general-purpose.
    fake.script(
        tool_calls(
            ToolCall("write_todos", {"todos": [{"content": "delegate", "status": "in_progress"}]}),
            ToolCall("task", {"subagent_type": "general-purpose", "description": "Sum it."}),
            model=ORCH_MODEL,
        ),
        tool_calls(
            ToolCall("write_todos", {"todos": [{"content": "sum", "status": "completed"}]}),
            ToolCall("write_file", {"file_path": "/sum.md", "content": "42"}),
            model=ORCH_MODEL,
        ),
        text("The sum is in /sum.md.", model=ORCH_MODEL),
        text("Done.", model=ORCH_MODEL),
    )
    run = _run(fake)
    general = fake.requests[1]
    assert _offered(general) == [*BUILTINS, "add", "slow"]
    system, user = general["messages"]
    assert user == {"role": "user", "content": "Sum it."}
    assert system["content"].startswith("You are a general-purpose agent")
    assert "`task`" not in system["content"]
    assert _tool_messages(fake.requests[3])[-1]["content"] == "The sum is in /sum.md."
    assert run.state["files"]["/sum.md"]["content"] == ["42"]
    # The subagent's todo list was its own; the orchestrator's is unchanged.
    assert run.state["todos"] == [{"content": "delegate", "status": "in_progress"}]


def test_a_specialist_is_not_given_task(fake: FakeOpenAI) -> None:
    fake.script(
        tool_calls(ToolCall("task", {"subagent_type": "researcher", "description": "Go."})),
        tool_calls(
            ToolCall(
                "task", {"subagent_type": "researcher", "description": "x"}, hallucinated=True
            ),
            model=SPEC_MODEL,
        ),
        text("Could not delegate.", model=SPEC_MODEL),
        text("Done.", model=ORCH_MODEL),
    )
    _run(fake, TEAM)
    assert _tool_messages(fake.requests[2])[0]["content"] == (
        "Error: task is not a valid tool, try one of "
        "[write_todos, ls, read_file, write_file, edit_file, glob, grep]."
    )


def test_the_task_description_lists_general_purpose_then_specialists_by_name(
    fake: FakeOpenAI,
) -> None:
    _run(fake, SPEC_BUILDERS)
    task = next(t for t in fake.requests[0]["tools"] if t["function"]["name"] == "task")
    listed = [
        line.split(":")[0]
        for line in task["function"]["description"].splitlines()
        if line.startswith("- ")
    ]
    assert listed == ["- general-purpose", "- Guardrail Agent", "- Workflow Spec Agent"]
    assert task["function"]["parameters"] == {
        "type": "object",
        "properties": {"description": {"type": "string"}, "subagent_type": {"type": "string"}},
        "required": ["description", "subagent_type"],
    }


def test_a_later_task_does_not_revert_an_earlier_tasks_edit(fake: FakeOpenAI) -> None:
    # Under deepagents, parallel tasks each merged back their whole copy of the files, so the
    # second (idle) one reverted the first one's edit. Our subagents share one set of files.
    fake.script(
        tool_calls(
            ToolCall("write_file", {"file_path": "/x.md", "content": "draft"}),
            ToolCall("task", {"subagent_type": "researcher", "description": "Edit /x.md."}),
            ToolCall("task", {"subagent_type": "researcher", "description": "Do nothing."}),
            model=ORCH_MODEL,
        ),
        tool_calls(
            ToolCall(
                "edit_file",
                {"file_path": "/x.md", "old_string": "draft", "new_string": "final"},
            ),
            model=SPEC_MODEL,
        ),
        text("Edited.", model=SPEC_MODEL),
        text("Nothing done.", model=SPEC_MODEL),
        text("Done.", model=ORCH_MODEL),
    )
    run = _run(fake, TEAM)
    assert run.state["files"]["/x.md"]["content"] == ["final"]
