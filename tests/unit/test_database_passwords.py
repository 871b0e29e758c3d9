"""The generated password (DESIGN 3b): made once, then read back from observed state on every
reconcile, across function restarts; never in the XR, its status, a result, a log or a render.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import json_format

from functions.agent_executor.databases import names
from functions.agent_executor.databases.compose import STORE_KINDS
from functions.agent_executor.databases.passwords import (
    ALPHABET,
    LENGTH,
    PLACEHOLDER,
    Password,
    Source,
    UnreadablePasswordError,
    resolve,
)
from functions.agent_executor.databases.spec import DRAGONFLY_KIND, POSTGRES_KIND
from functions.agent_executor.function import AgentExecutorFunction

from .database_helpers import as_observed, desired, fatal_messages, run, secret_values, store_xr

PASSWORD = re.compile(rf"[{re.escape(ALPHABET)}]{{{LENGTH}}}")


def postgres_password(rsp: fnv1.RunFunctionResponse) -> str:
    composed = desired(rsp)
    password = secret_values(composed[names.CREDENTIALS])["password"]
    assert secret_values(composed[names.CONNECTION_SECRET])["POSTGRES_PASSWORD"] == password
    return password


def dragonfly_password(rsp: fnv1.RunFunctionResponse) -> str:
    return secret_values(desired(rsp)[names.CONNECTION_SECRET])["DRAGONFLY_PASSWORD"]


def everything_but_the_secrets(rsp: fnv1.RunFunctionResponse) -> str:
    """The response as JSON without the desired Secrets: the XR status, results, conditions."""
    copy = fnv1.RunFunctionResponse()
    copy.CopyFrom(rsp)
    for key in (names.CREDENTIALS, names.CONNECTION_SECRET):
        if key in copy.desired.resources:
            del copy.desired.resources[key]
    return str(json_format.MessageToJson(copy))


def with_data(secret: dict[str, Any], **values: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    return {**secret, "data": encoded}


# --- generated once, then read back -------------------------------------------------------------


def test_the_first_reconcile_generates_a_strong_password() -> None:
    password = postgres_password(run(store_xr(POSTGRES_KIND)))
    assert PASSWORD.fullmatch(password)


def test_two_databases_get_different_passwords() -> None:
    first = postgres_password(run(store_xr(POSTGRES_KIND, name="a")))
    second = postgres_password(run(store_xr(POSTGRES_KIND, name="b")))
    assert first != second


def test_the_postgres_password_is_stable_across_reconciles_and_function_restarts() -> None:
    xr = store_xr(POSTGRES_KIND, {"owner": "orders_app"})
    rsp = run(xr)
    password = postgres_password(rsp)
    for _ in range(3):
        # Each reconcile on a fresh function process: nothing is remembered in memory.
        rsp = run(xr, as_observed(rsp), function=AgentExecutorFunction())
        assert postgres_password(rsp) == password
    url = secret_values(desired(rsp)[names.CONNECTION_SECRET])["DATABASE_URL"]
    assert f":{password}@" in url


def test_the_dragonfly_password_is_stable_across_reconciles_and_function_restarts() -> None:
    xr = store_xr(DRAGONFLY_KIND, {"replicas": 2}, name="cache")
    rsp = run(xr)
    password = dragonfly_password(rsp)
    for _ in range(3):
        rsp = run(xr, as_observed(rsp), function=AgentExecutorFunction())
        assert dragonfly_password(rsp) == password
    assert PASSWORD.fullmatch(password)


def test_a_spec_change_keeps_the_password() -> None:
    xr = store_xr(POSTGRES_KIND, {"size": "small"})
    first = run(xr)
    xr["spec"] = {"size": "large", "instances": 3}
    assert postgres_password(run(xr, as_observed(first))) == postgres_password(first)


def test_renaming_the_connection_secret_keeps_the_password() -> None:
    xr = store_xr(DRAGONFLY_KIND, {}, name="cache")
    first = run(xr)
    xr["spec"] = {"connectionSecret": {"name": "cache-connection"}}
    renamed = run(xr, as_observed(first))

    assert desired(renamed)[names.CONNECTION_SECRET]["metadata"]["name"] == "cache-connection"
    assert dragonfly_password(renamed) == dragonfly_password(first)


def test_the_credentials_the_database_was_bootstrapped_from_win() -> None:
    observed = as_observed(run(store_xr(POSTGRES_KIND)))
    observed[names.CREDENTIALS] = with_data(
        observed[names.CREDENTIALS], username="app", password="FromCredentials1"
    )
    observed[names.CONNECTION_SECRET] = with_data(
        observed[names.CONNECTION_SECRET], POSTGRES_PASSWORD="FromConnection2"
    )
    assert postgres_password(run(store_xr(POSTGRES_KIND), observed)) == "FromCredentials1"


def test_the_connection_secret_alone_is_enough_to_read_it_back() -> None:
    observed = as_observed(run(store_xr(POSTGRES_KIND)))
    del observed[names.CREDENTIALS]
    password = secret_values(observed[names.CONNECTION_SECRET])["POSTGRES_PASSWORD"]
    assert postgres_password(run(store_xr(POSTGRES_KIND), observed)) == password


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ({}, "its data is missing"),
        ({"data": None}, "its data is null"),
        ({"data": {"username": "YXBw"}}, "it has no key password"),
        ({"data": {"password": "not base64!"}}, "its key password is not base64 of a password"),
        ({"data": {"password": base64.b64encode(b"").decode()}}, "is not base64 of a password"),
        ({"data": {"password": base64.b64encode(b"two words").decode()}}, "not base64 of a"),
        ({"data": {"password": 12}}, "not base64 of a password"),
    ],
)
def test_a_secret_without_a_readable_password_is_fatal_never_a_new_password(
    secret: dict[str, Any], problem: str
) -> None:
    observed = {names.CREDENTIALS: {"apiVersion": "v1", "kind": "Secret", **secret}}
    rsp = run(store_xr(POSTGRES_KIND), observed)

    [message] = fatal_messages(rsp)
    assert "cannot read the generated password back from the composed Secret credentials" in message
    assert problem in message
    assert "refusing to generate a new one" in message
    assert not rsp.desired.resources


def test_resolve_never_shows_the_value_in_its_repr() -> None:
    password = Password("s3cretValue", "generated")
    assert "s3cretValue" not in repr(password)


def test_resolve_reads_sources_in_order_and_generates_only_when_none_exists() -> None:
    secret = {"data": {"k": base64.b64encode(b"Stored1").decode()}}
    sources = (Source("a", "k"), Source("b", "k"))

    assert resolve({"b": secret}, sources, live=True) == Password("Stored1", "observed b")
    assert resolve({}, sources, live=True).origin == "generated"
    assert resolve({"a": secret}, sources, live=False) == Password(PLACEHOLDER, "placeholder")
    with pytest.raises(UnreadablePasswordError):
        resolve({"a": {"data": {}}}, sources, live=True)


# --- never shown -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [POSTGRES_KIND, DRAGONFLY_KIND])
def test_the_password_is_never_in_the_xr_its_status_results_or_conditions(kind: str) -> None:
    xr = store_xr(kind)
    first = run(xr)
    password = (postgres_password if kind == POSTGRES_KIND else dragonfly_password)(first)
    observed = as_observed(first)
    observed[names.CLUSTER if kind == POSTGRES_KIND else names.DRAGONFLY]["status"] = {
        "phase": "Ready"
    }
    for rsp in (first, run(xr, observed)):
        assert password not in everything_but_the_secrets(rsp)
        assert password not in str(resource.struct_to_dict(rsp.desired.composite.resource))


@pytest.mark.parametrize("kind", [POSTGRES_KIND, DRAGONFLY_KIND])
def test_a_render_shows_the_placeholder_even_with_the_real_secret_observed(kind: str) -> None:
    live = run(store_xr(kind))
    password = (postgres_password if kind == POSTGRES_KIND else dragonfly_password)(live)
    # `crossplane render --observed-resources` of an XR read from a file: no uid.
    rendered = run(store_xr(kind, uid=None), as_observed(live))

    shown = (postgres_password if kind == POSTGRES_KIND else dragonfly_password)(rendered)
    assert shown == PLACEHOLDER
    assert password not in json_format.MessageToJson(rendered)
    assert base64.b64encode(password.encode()).decode() not in json_format.MessageToJson(rendered)


def test_an_internal_error_logs_and_reports_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    observed = as_observed(run(store_xr(POSTGRES_KIND)))
    password = secret_values(observed[names.CREDENTIALS])["password"]

    def explode(*_: Any) -> dict[str, Any]:
        raise ValueError(f"a message that quotes observed state: {password}")

    broken = dataclasses.replace(STORE_KINDS[POSTGRES_KIND], build=explode)
    monkeypatch.setitem(STORE_KINDS, POSTGRES_KIND, broken)
    rsp = run(store_xr(POSTGRES_KIND), observed, function=AgentExecutorFunction())

    [message] = fatal_messages(rsp)
    assert message == "internal error composing PostgresInstance: ValueError"
    logged = capsys.readouterr()
    assert "compose failed" in logged.out + logged.err
    assert password not in logged.out + logged.err
