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
def fake(server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The module's fake, its script and recorded requests cleared for this test.

    Strict: a scripted call of a tool the request did not offer fails the test here too, even
    when the run under test swallowed the fake's HTTP 400.
    """
    server.reset()
    yield server
    assert server.violations == [], "the fake model was scripted to call tools never offered"
