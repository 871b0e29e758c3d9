"""The CLI reads results where the worker publishes them (the rest it imports from contract/)."""

from __future__ import annotations

from contract.nats import PLATFORM_STREAMS, STATUS_COMPLETED, STATUS_FAILED, subjects_overlap
from functions.jobs_cli import nats_results


def test_results_are_read_where_the_worker_publishes_them() -> None:
    assert nats_results.STATUS_SUBJECTS in PLATFORM_STREAMS["AGENT_STATUS"]
    for published in (STATUS_COMPLETED, STATUS_FAILED):
        assert subjects_overlap(nats_results.STATUS_SUBJECTS, published)
