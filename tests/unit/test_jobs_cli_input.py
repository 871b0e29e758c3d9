"""The job `agentplane jobs submit` sends: read from a file or built from a prompt, always as a
structured CloudEvent the executor accepts, and refused before sending when it is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.job_input import DEFAULT_TOOLS, from_file, from_prompt
from workers.agent_executor.envelope import parse_message

DEFINITION = {"nodes": [{"id": "o", "type": "Orchestrator", "config": {"name": "o"}}]}
JOB = {"job_id": "report-1", "agent_definition": DEFINITION, "input_payload": {"messages": []}}


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_bare_job_is_sent_as_a_structured_cloudevent_the_worker_reads(tmp_path: Path) -> None:
    submission = from_file(written(tmp_path, "job.json", json.dumps({**JOB, "team": "a"})))
    event = submission.cloudevent()

    envelope = parse_message(json.dumps(event).encode())
    assert envelope.mode == "structured"
    assert envelope.job.job_id == "report-1"
    assert envelope.job.agent_definition == DEFINITION
    assert event["source"] == "agentplane-cli"
    assert event["data"]["team"] == "a"  # a producer's own fields go along unchanged


def test_a_yaml_cloudevent_keeps_its_attributes_and_job_id_replaces_the_files(
    tmp_path: Path,
) -> None:
    path = written(
        tmp_path,
        "event.yaml",
        "specversion: '1.0'\nid: evt-7\nsource: billing\ntype: dev.my-platform.agent.execute\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"
        f"data: {json.dumps(JOB)}\n",
    )
    event = from_file(path, job_id="report-2").cloudevent()

    assert (event["id"], event["source"]) == ("evt-7", "billing")
    assert event["traceparent"].startswith("00-4bf92f35")
    assert event["data"]["job_id"] == "report-2"


def test_cloudevent_data_may_be_a_json_string(tmp_path: Path) -> None:
    document = {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "dev.my-platform.agent.execute",
        "data": json.dumps(JOB),
    }
    submission = from_file(written(tmp_path, "event.json", json.dumps(document)))
    assert submission.job.agent_definition == DEFINITION


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("job.yaml", "job_id: [", "job.yaml:2:1: invalid YAML: did not find expected node content"),
        ("job.yaml", "- a\n- b\n", "job.yaml: document 1 is not a mapping"),
        ("job.json", "[1]", "job.json: expected a JSON object, found list"),
        ("job.json", json.dumps({"job_id": "a"}), "job.json: agent_definition: Field required"),
        (
            "job.json",
            json.dumps({**JOB, "data_base64": "e30=", "specversion": "1.0", "id": "1",
                        "source": "s", "type": "dev.my-platform.agent.execute"}),
            "job.json: CloudEvent data_base64 is not supported; give JSON data",
        ),
        (
            "job.json",
            json.dumps({"specversion": "0.3", "id": "1", "source": "s", "type": "t"}),
            "job.json: CloudEvent specversion attribute is '0.3', not 1.0",
        ),
        (
            "job.json",
            json.dumps({"specversion": "1.0", "source": "s", "type": "t"}),
            "job.json: CloudEvent id attribute is missing",
        ),
    ],
)  # fmt: skip
def test_a_file_that_is_no_job_is_refused_naming_file_and_field(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    with pytest.raises(JobsError) as raised:
        from_file(written(tmp_path, name, text))
    assert str(raised.value).startswith(f"{tmp_path}/{problem}")


def test_a_prompt_runs_on_one_orchestrator_with_the_built_in_tools() -> None:
    submission = from_prompt("Write a haiku.", model="llama3.2", provider="ollama")
    job = submission.job

    assert job.job_id.startswith("job-")
    assert job.input_payload == {"messages": [{"role": "user", "content": "Write a haiku."}]}
    [node] = job.agent_definition["nodes"]
    assert node["type"] == "Orchestrator"
    assert node["config"]["model"] == {"provider": "ollama", "model": "llama3.2"}
    assert node["config"]["tools"] == list(DEFAULT_TOOLS)
    assert parse_message(json.dumps(submission.cloudevent()).encode()).job.job_id == job.job_id


def test_a_prompt_may_bring_its_own_definition_and_job_id(tmp_path: Path) -> None:
    definition = written(tmp_path, "agent.yaml", json.dumps(DEFINITION))
    job = from_prompt("Go.", definition=definition, job_id="mine-1").job
    assert (job.job_id, job.agent_definition) == ("mine-1", DEFINITION)


def test_an_empty_prompt_is_refused() -> None:
    with pytest.raises(JobsError, match="--prompt must not be empty"):
        from_prompt("  ")
