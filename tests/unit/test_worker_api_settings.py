"""The worker's HOST and API_TOKEN settings, and where the worker process listens."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError

from workers.agent_executor import __main__ as worker_main
from workers.agent_executor.settings import Settings

STORES = {"DATABASE_URL": "postgresql://db.example/agents", "REDIS_URL": "redis://cache.example"}
SHORT = "short-s3cr3t"


@pytest.fixture(autouse=True)
def only_these_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test alone, never from the environment the tests run in."""
    for name in ("HOST", "PORT", "API_TOKEN", *STORES):
        monkeypatch.delenv(name, raising=False)
    for name, value in STORES.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param(None, None, id="unset"),
        pytest.param("0123456789abcdef", "0123456789abcdef", id="sixteen-characters"),
        pytest.param("0123456789abcdef\n", "0123456789abcdef", id="newline-from-a-file"),
        pytest.param("  0123456789abcdef  ", "0123456789abcdef", id="surrounding-spaces"),
    ],
)
def test_api_token_is_kept_without_surrounding_whitespace(
    monkeypatch: pytest.MonkeyPatch, given: str | None, kept: str | None
) -> None:
    if given is not None:
        monkeypatch.setenv("API_TOKEN", given)

    token = Settings().API_TOKEN

    assert (token.get_secret_value() if token else None) == kept


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("", id="empty"),
        pytest.param(" \n", id="whitespace"),
        pytest.param(SHORT, id="fifteen-characters-or-fewer"),
        pytest.param(f" {SHORT}   \n", id="short-once-stripped"),
    ],
)
def test_an_unusable_api_token_stops_the_worker_without_repeating_it(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("API_TOKEN", given)

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert [e["loc"] for e in refused.value.errors()] == [("API_TOKEN",)]
    assert "at least 16 characters" in str(refused.value)
    assert SHORT not in str(refused.value)


def test_the_api_token_is_never_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "0123456789abcdef-do-not-print")

    assert "do-not-print" not in repr(Settings())


# --- where the process listens -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "bound"),
    [
        pytest.param(None, "127.0.0.1", id="loopback-unless-told"),
        pytest.param("0.0.0.0", "0.0.0.0", id="the-pod-address-as-the-deployment-sets-it"),
        pytest.param("::1", "::1", id="ipv6-loopback"),
    ],
)
def test_the_worker_listens_on_host(
    monkeypatch: pytest.MonkeyPatch, host: str | None, bound: str
) -> None:
    served: dict[str, Any] = {}

    def serve(server: uvicorn.Server, sockets: Any = None) -> None:
        served.update(host=server.config.host, port=server.config.port)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", serve)
    monkeypatch.setattr(worker_main, "configure", lambda *_, **__: None)
    if host is not None:
        monkeypatch.setenv("HOST", host)

    assert worker_main.main([]) == 0
    assert (served["host"], served["port"]) == (bound, 8080)


def test_an_empty_host_stops_the_worker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOST", "")

    assert worker_main.main([]) == 2
    assert "HOST" in capsys.readouterr().err
