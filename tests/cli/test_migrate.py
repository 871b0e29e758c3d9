"""`agentplane migrate` as a tenant runs it: where the claims go, what the report says, and
the exit status (0 everything carried, 1 something not carried over, 2 error and nothing
written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from functions.render.cli import main
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "migrate"
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: intelligence-research
"""


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tenant folder with zerotouch-platform claims, as the working directory."""
    folder = tmp_path / "claims"
    folder.mkdir()
    for name in ("event-driven-agent-executor.yaml", "event-driven-http.yaml"):
        shutil.copy(FIXTURES / name, folder / name)
    monkeypatch.chdir(tmp_path)
    return folder


def test_a_claim_that_loses_nothing_prints_the_agent_executor_and_exits_0(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["migrate", "claims/event-driven-agent-executor.yaml"])
    out, err = capsys.readouterr()
    assert status == 0, err
    (claim,) = yaml.safe_load_all(out)
    assert claim["kind"] == "AgentExecutor"
    assert claim["spec"]["secrets"]["postgres"] == "research-agent-db-conn"
    assert (
        "claims/event-driven-agent-executor.yaml (EventDrivenService intelligence-research/"
        "research-agent): spec.secret1Name → spec.secrets.postgres: changed: " in err
    )
    assert err.endswith(
        "1 claim(s) converted; fields: 10 carried over, 3 changed, 0 not carried over, 0 invalid\n"
    )


def test_a_field_not_carried_over_is_reported_and_exits_1_with_the_claim_printed(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["migrate", "claims/event-driven-http.yaml"])
    out, err = capsys.readouterr()
    assert status == 1
    assert yaml.safe_load(out)["metadata"]["name"] == "planner-runtime"
    assert "spec.httpPort: not carried over: " in err
    assert "spec.sessionAffinity: not carried over: " in err


def test_a_directory_converts_every_claim_in_file_order(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tenant / "namespace.yaml").write_text(NAMESPACE)
    status = main(["migrate", "claims"])
    out, err = capsys.readouterr()
    assert status == 1
    names = [c["metadata"]["name"] for c in yaml.safe_load_all(out)]
    assert names == ["research-agent", "planner-runtime"]
    assert "Namespace" not in out
    assert "2 claim(s) converted" in err


def test_output_writes_the_claims_to_a_file_and_nothing_to_stdout(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["migrate", "claims/event-driven-agent-executor.yaml", "-o", "new/ae.yaml"])
    out, err = capsys.readouterr()
    assert (status, out) == (0, "")
    assert "wrote new/ae.yaml" in err
    (claim,) = yaml.safe_load_all((tenant.parent / "new" / "ae.yaml").read_text())
    assert claim["metadata"]["name"] == "research-agent"


def test_in_place_replaces_each_claim_and_keeps_the_files_other_documents(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tenant / "event-driven-agent-executor.yaml"
    path.write_text(NAMESPACE + "---\n" + path.read_text())
    status = main(["migrate", "--in-place", "claims/event-driven-agent-executor.yaml"])
    out, err = capsys.readouterr()
    assert (status, out) == (0, "")
    assert "wrote claims/event-driven-agent-executor.yaml" in err
    kinds = [d["kind"] for d in yaml.safe_load_all(path.read_text())]
    assert kinds == ["Namespace", "AgentExecutor"]
    untouched = (tenant / "event-driven-http.yaml").read_text()
    assert untouched == (FIXTURES / "event-driven-http.yaml").read_text()


def test_the_migrated_file_migrates_to_nothing(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--in-place", "claims/event-driven-agent-executor.yaml"]) == 0
    capsys.readouterr()
    assert main(["migrate", "claims/event-driven-agent-executor.yaml"]) == 2
    assert "AgentExecutor is already in this platform's shape" in capsys.readouterr().err


def test_output_and_in_place_together_are_a_usage_error(
    tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["migrate", "claims", "-o", "x.yaml", "--in-place"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("spec: [unclosed\n", "bad.yaml:2:1: invalid YAML"),
        ("- just\n- a list\n", "bad.yaml: document 1 is not a mapping"),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            "nothing to migrate in claims/bad.yaml",
        ),
        (
            "apiVersion: platform.bizmatters.io/v1alpha1\nkind: EventDrivenService\n"
            "metadata: {name: x, namespace: y}\nspec: {image: 'a:1', size: huge, "
            "nats: {stream: S, consumer: c}}\n",
            "claims/bad.yaml: document 1: not a valid EventDrivenService: spec.size: ",
        ),
    ],
    ids=["not-yaml", "not-a-mapping", "wrong-kind", "invalid-source"],
)
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(
    tenant: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    (tenant / "bad.yaml").write_text(content)
    before = {p.name: p.read_text() for p in tenant.iterdir()}
    target = "claims" if "nothing to migrate" not in words else "claims/bad.yaml"
    status = main(["migrate", "--in-place", target])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith("agentplane: ")
    assert words in err
    assert {p.name: p.read_text() for p in tenant.iterdir()} == before


def test_a_missing_file_exits_2(tenant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "claims/absent.yaml"]) == 2
    assert "claims/absent.yaml: cannot read" in capsys.readouterr().err
