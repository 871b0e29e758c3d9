"""A logged exception never carries the values its frames held (passwords, tokens, keys)."""

from __future__ import annotations

import logging

import pytest
import structlog

from workers.agent_executor import logs


def _connect(password: str) -> None:
    raise ConnectionError("nats: 'Authorization Violation'")


def test_a_traceback_is_logged_without_frame_locals(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("INFO")
        try:
            _connect(password="s3cret-Value-42")
        except ConnectionError:
            structlog.get_logger().exception("connect failed")
        out = capsys.readouterr().out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "Authorization Violation" in out
    assert "_connect" in out
    assert "s3cret-Value-42" not in out
