"""POST /jobs publishes where the executor's own consumer reads."""

from __future__ import annotations

import pytest

from workers.agent_executor.submission import submit_subject


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("agent.execute.*", "agent.execute.api"),
        ("agent.execute.analytics.*", "agent.execute.analytics.api"),
        ("agent.execute.>", "agent.execute.api"),
        ("jobs.fixed", "jobs.fixed"),
    ],
)
def test_the_submit_subject_is_one_the_pattern_matches(pattern: str, subject: str) -> None:
    assert submit_subject(pattern) == subject
