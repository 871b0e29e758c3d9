"""The CLI restates the worker's wire names (it may not import the worker): they must agree."""

from __future__ import annotations

from contract.nats import PLATFORM_STREAMS, STATUS_COMPLETED, STATUS_FAILED, subjects_overlap
from functions.jobs_cli import models, nats_results, replay
from workers.agent_executor import envelope, runner, streaming


def test_the_cloudevent_type_is_the_one_the_worker_accepts() -> None:
    assert models.EXECUTE_TYPE == envelope.EXECUTE_TYPE


def test_the_replay_stream_is_the_one_the_worker_writes() -> None:
    assert replay.replay_key("j-1") == streaming.replay_key("j-1")


def test_results_are_read_where_the_worker_publishes_them() -> None:
    assert nats_results.STATUS_SUBJECTS in PLATFORM_STREAMS["AGENT_STATUS"]
    for published in (STATUS_COMPLETED, STATUS_FAILED):
        assert subjects_overlap(nats_results.STATUS_SUBJECTS, published)


def test_a_cancelled_job_is_known_by_the_workers_error_type() -> None:
    assert runner.JobCancelledError.type == models.CANCELLED
