"""Subject overlap, and the guard that keeps managed streams off the platform's streams."""

from __future__ import annotations

import pytest

from contract.nats import subjects_overlap
from functions.agent_executor.admission import admit


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("agent.execute.*", "agent.execute.research", True),
        ("agent.execute.*", "agent.execute.team.*", False),
        ("agent.execute.team.>", "agent.execute.*", False),
        ("agent.>", "agent.execute.*", True),
        (">", "agent.dlq.*", True),
        ("agent.status.*", "agent.execute.*", False),
        ("agent.*.x", "agent.execute.*", True),
        ("agent.execute", "agent.execute.*", False),
    ],
)
def test_subjects_overlap(first: str, second: str, overlap: bool) -> None:
    assert subjects_overlap(first, second) is overlap
    assert subjects_overlap(second, first) is overlap


def _managed(**nats: object) -> list[str]:
    spec = {"image": "ghcr.io/a/b:1", "nats": {"manageStream": True, **nats}}
    return admit("worker", "team-a", spec).errors


def test_a_managed_stream_may_not_reuse_a_platform_stream_name() -> None:
    errors = _managed(stream="AGENT_EXECUTION", subjects=["agent.execute.team-a.*"])
    assert errors == [
        "spec.nats.stream: AGENT_EXECUTION is a platform stream; "
        "a managed stream (manageStream: true) needs a name of its own"
    ]


def test_a_managed_stream_may_not_overlap_platform_subjects() -> None:
    errors = _managed(
        stream="TEAM_A", subjects=["agent.execute.team-a.*", "agent.execute.research"]
    )
    assert len(errors) == 1
    assert errors[0].startswith("spec.nats.subjects[1]: 'agent.execute.research' overlaps")


def test_the_default_subjects_are_refused_for_a_managed_stream() -> None:
    assert any(e.startswith("spec.nats.subjects[0]:") for e in _managed(stream="TEAM_A"))


def test_an_unmanaged_stream_may_use_the_platform_stream() -> None:
    assert admit("worker", "team-a", {"image": "ghcr.io/a/b:1"}).errors == []
