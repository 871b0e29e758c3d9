"""Errors the NATS server reports to a worker are counted by a bounded kind."""

from __future__ import annotations

import pytest

from workers.agent_executor.services import nats_error_kind


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('nats: permissions violation for subscription to "agent.control.cancel.*"', "permissions"),
        ("nats: 'Permissions Violation for Publish to \"agent.status.completed\"'", "permissions"),
        ("nats: 'Authorization Violation'", "authorization"),
        ("nats: 'Authentication Timeout'", "authorization"),
        ("nats: unexpected EOF", "other"),
    ],
)
def test_nats_error_kind(message: str, kind: str) -> None:
    assert nats_error_kind(Exception(message)) == kind
