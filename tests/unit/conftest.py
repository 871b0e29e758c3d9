"""Fixtures shared by the unit tests of the agent's LLM client and graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.fake_openai import FakeOpenAI, fake_openai


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    """The OpenAI-compatible fake over HTTP, one per test module."""
    with fake_openai() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    """The module's fake, its script and recorded requests cleared for this test."""
    server.reset()
    return server
