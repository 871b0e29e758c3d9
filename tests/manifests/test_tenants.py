"""The tenant registry is the one source of every tenant's NATS account, credentials,
streams and AppProject: the committed files are exactly what `make tenants` writes, and
the NATS config they make is one `nats-server` accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract import nats_permissions
from contract.nats import NACK_ACCOUNT_RESOURCE
from functions.agent_executor.spec import SecretsSpec
from scripts.nats_config import render
from scripts.tenancy.credentials import ROLES, TENANT_SECRETS, password_variable, user_name
from scripts.tenancy.generate import capacity_problem, generated_files, stale_files
from scripts.tenancy.manifests import reserved_bytes
from scripts.tenancy.nats_server import (
    PRODUCTION_VALUES,
    deep_merge,
    load_values,
    password_variables,
    server_config,
)
from scripts.tenancy.registry import load_registry, quantity_bytes
from tests.conftest import ROOT

ENTRIES = load_registry(ROOT)
NATS_SERVER = Path(sys.executable).parent / "nats-server"


def _yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


def test_committed_files_are_what_make_tenants_writes() -> None:
    for path, text in generated_files(ENTRIES).items():
        assert (ROOT / path).is_file(), f"{path} is missing; run `make tenants`"
        assert (ROOT / path).read_text() == text, f"{path} is stale; run `make tenants`"


def test_no_generated_file_outlives_its_tenant() -> None:
    assert stale_files(ROOT, ENTRIES) == []


def test_make_tenants_check_fails_on_drift(tmp_path: Path) -> None:
    # --check is what CI users run; it must fail, naming the file, when one drifted.
    copy = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
    values = copy / "platform/nats/values-tenants.yaml"
    values.write_text(values.read_text().replace("agent.status.>", "agent.>"))
    done = subprocess.run(
        [sys.executable, str(copy / "scripts/generate_tenants.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "platform/nats/values-tenants.yaml" in done.stderr


def test_every_tenant_has_its_own_account_with_one_user_per_role_and_generation() -> None:
    accounts = load_values(ROOT, PRODUCTION_VALUES)["config"]["merge"]["accounts"]
    assert set(accounts) == {"SYS", *(e.account for e in ENTRIES)}
    for entry in ENTRIES:
        users = {u["user"]: u for u in accounts[entry.account]["users"]}
        expected = {user_name(entry, r, g) for r in ROLES for g in entry.nats.credentials}
        assert set(users) == expected


def test_each_role_gets_exactly_the_permissions_the_contract_lists() -> None:
    accounts = load_values(ROOT, PRODUCTION_VALUES)["config"]["merge"]["accounts"]
    for entry in ENTRIES:
        users = {u["user"]: u for u in accounts[entry.account]["users"]}
        for role in ROLES:
            user = users[user_name(entry, role, entry.current_generation)]
            assert user["permissions"] == nats_permissions.ROLES[role].as_config()


def test_no_password_is_written_anywhere_only_variable_references() -> None:
    for entry in ENTRIES:
        for user in load_values(ROOT, PRODUCTION_VALUES)["config"]["merge"]["accounts"][
            entry.account
        ]["users"]:
            assert user["password"].startswith("<< $") and user["password"].endswith(" >>")


def test_the_server_secret_carries_every_password_variable_the_config_reads() -> None:
    config = server_config(load_values(ROOT, PRODUCTION_VALUES))
    read = set(password_variables(config)) - {"SERVER_NAME"}
    external = next(
        d
        for d in _yaml_documents(Path("platform/external-secrets/config/nats-credentials.yaml"))
        if d["kind"] == "ExternalSecret"
    )
    keys = {item["secretKey"] for item in external["spec"]["data"]}
    env = load_values(ROOT, PRODUCTION_VALUES)["container"]["env"]
    from_secret = {
        name for name, value in env.items() if isinstance(value, dict) and "valueFrom" in value
    }
    assert read == keys == from_secret


def test_tenant_credentials_pair_the_newest_user_with_its_password() -> None:
    for entry in ENTRIES:
        documents = _yaml_documents(Path(f"platform/tenants/generated/{entry.namespace}/nats.yaml"))
        secrets = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ExternalSecret"}
        for role, name in TENANT_SECRETS.items():
            spec = secrets[name]["spec"]
            generation = entry.current_generation
            assert spec["target"]["template"]["data"]["NATS_USER"] == user_name(
                entry, role, generation
            )
            assert spec["data"][0]["remoteRef"]["key"].endswith(f"/{role}-g{generation}")
            assert secrets[name]["metadata"]["namespace"] == entry.namespace


def test_every_stream_and_consumer_of_a_tenant_lives_in_its_account() -> None:
    for entry in ENTRIES:
        documents = _yaml_documents(Path(f"platform/tenants/generated/{entry.namespace}/nats.yaml"))
        accounts = [d for d in documents if d["kind"] == "Account"]
        assert [a["metadata"]["name"] for a in accounts] == [NACK_ACCOUNT_RESOURCE]
        assert accounts[0]["spec"]["user"]["secret"]["name"] == TENANT_SECRETS["nack"]
        for document in documents:
            if document["kind"] in ("Stream", "Consumer"):
                assert document["spec"]["account"] == NACK_ACCOUNT_RESOURCE
                assert document["metadata"]["namespace"] == entry.namespace
                assert "servers" not in document["spec"]


def _server_environment() -> dict[str, str]:
    config = server_config(load_values(ROOT, PRODUCTION_VALUES))
    names = password_variables(config)
    return {**os.environ, **{name: f"p{i}value" for i, name in enumerate(names)}}


def _check_config(
    path: Path, text: str, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # `nats-server -t` parses and checks a config without starting: the real parser.
    path.write_text(text)
    return subprocess.run(
        [str(NATS_SERVER), "-t", "-c", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


@pytest.mark.parametrize("dev", [False, True], ids=["production", "development"])
def test_nats_server_accepts_the_config_make_nats_config_prints(tmp_path: Path, dev: bool) -> None:
    done = _check_config(tmp_path / "nats.conf", render(dev=dev), _server_environment())
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_config_refuses_to_load_without_its_secrets(tmp_path: Path) -> None:
    # A missing Secret key must stop the server, never start it open.
    environment = _server_environment()
    del environment[password_variable(ENTRIES[0], "worker", ENTRIES[0].current_generation)]
    done = _check_config(tmp_path / "nats.conf", render(), environment)
    assert done.returncode != 0
    assert "can not be found" in done.stdout + done.stderr


def test_the_worker_secret_is_the_one_an_agent_executor_reads_by_default() -> None:
    assert SecretsSpec().nats == TENANT_SECRETS["worker"]


def test_every_tenant_account_holds_the_streams_its_claims_manage() -> None:
    # JetStream refuses a stream its account cannot reserve ('insufficient storage
    # resources'): the registry's maxFileStore must hold the generated streams plus every
    # stream the tenant's claims compose (golden renders of claims/), replicas counted.
    limits = {e.namespace: (e, quantity_bytes(e.nats.max_file_store)) for e in ENTRIES}
    for golden in sorted((ROOT / "tests/golden/files").glob("intelligence-*__*.yaml")):
        for document in yaml.safe_load_all(golden.read_text()):
            if not document or document.get("kind") != "Stream":
                continue
            entry, limit = limits[document["metadata"]["namespace"]]
            spec = document["spec"]
            needed = reserved_bytes(entry) + spec["maxBytes"] * spec["replicas"]
            assert needed <= limit, f"{golden.name}: {entry.namespace} needs {needed} bytes"


def test_the_production_and_development_servers_hold_every_tenant_account() -> None:
    production = load_values(ROOT, [Path("platform/nats/values.yaml")])
    development = deep_merge(production, load_values(ROOT, [Path("platform/nats/values-dev.yaml")]))
    assert capacity_problem(ENTRIES, production, "production") is None
    assert capacity_problem(ENTRIES, development, "development") is None
