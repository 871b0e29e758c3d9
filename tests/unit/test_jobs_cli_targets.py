"""Where `agentplane jobs` connects: places from flags (or their env defaults), secrets only
from the environment, and never a secret in what it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.targets import ApiTarget, NatsTarget, redact, resolve

ENV = {
    "AGENTPLANE_API_TOKEN": "api-secret",
    "NATS_USER": "bob",
    "NATS_PASSWORD": "nats-secret",
    "REDIS_PASSWORD": "redis-secret",
}


def test_api_flag_takes_the_token_from_the_environment() -> None:
    target = resolve(api="https://exec.example/", nats=None, redis=None, creds=None, env=ENV)
    assert target == ApiTarget(url="https://exec.example", token="api-secret")
    assert "api-secret" not in repr(target)


def test_nats_flag_takes_user_and_passwords_from_the_environment() -> None:
    target = resolve(api=None, nats="nats://n:4222", redis="redis://r:6379/0", creds=None, env=ENV)
    assert isinstance(target, NatsTarget)
    assert (target.user, target.password, target.redis_password) == (
        "bob",
        "nats-secret",
        "redis-secret",
    )
    assert "secret" not in repr(target)


def test_without_flags_the_api_url_then_the_nats_url_of_the_environment() -> None:
    both = {"AGENTPLANE_API_URL": "http://api", "NATS_URL": "nats://n", "REDIS_URL": "redis://r"}
    assert isinstance(resolve(api=None, nats=None, redis=None, creds=None, env=both), ApiTarget)
    nats_only = {"NATS_URL": "nats://n", "REDIS_URL": "redis://r"}
    target = resolve(api=None, nats=None, redis=None, creds=None, env=nats_only)
    assert isinstance(target, NatsTarget) and target.redis_url == "redis://r"


@pytest.mark.parametrize(
    ("api", "nats", "creds", "message"),
    [
        (None, None, None, "say where the executor is: --api URL"),
        ("http://a", "nats://n", None, "give either --api or --nats, not both"),
        (None, "nats://n", Path("/no/such.creds"), "NATS credentials file /no/such.creds"),
    ],
)
def test_what_cannot_be_resolved_is_named(
    api: str | None, nats: str | None, creds: Path | None, message: str
) -> None:
    with pytest.raises(JobsError, match=message.replace(".", r"\.")):
        resolve(api=api, nats=nats, redis=None, creds=creds, env={})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://bob:pw@n1:4222,nats://bob:pw@n2:4222", "nats://n1:4222,nats://n2:4222"),
        ("redis://:p%40ss@r:6379/0", "redis://r:6379/0"),
        ("https://token@exec.example/api", "https://exec.example/api"),
        ("nats://n:4222", "nats://n:4222"),
    ],
)
def test_redact_drops_user_and_password(url: str, shown: str) -> None:
    assert redact(url) == shown
