"""The age of the oldest job a worker is running: the `jobs stuck running` alert's input."""

from __future__ import annotations

import pytest

from workers.agent_executor.running_jobs import RunningJobs, oldest_age


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("starts", "now", "age"),
    [
        pytest.param([], 50.0, 0.0, id="idle"),
        pytest.param([40.0], 50.0, 10.0, id="one"),
        pytest.param([45.0, 20.0, 49.0], 50.0, 30.0, id="the-earliest-of-several"),
        pytest.param([51.0], 50.0, 0.0, id="never-negative"),
    ],
)
def test_oldest_age_is_the_time_since_the_earliest_start(
    starts: list[float], now: float, age: float
) -> None:
    assert oldest_age(starts, now) == age


def test_a_run_counts_from_its_start_until_it_ends() -> None:
    clock = Clock()
    jobs = RunningJobs(clock)

    with jobs.running():
        clock.now += 90
        assert jobs.oldest_age() == 90
    assert jobs.oldest_age() == 0


def test_when_the_oldest_run_ends_the_next_oldest_counts() -> None:
    clock = Clock()
    jobs = RunningJobs(clock)
    first, second = jobs.running(), jobs.running()

    first.__enter__()
    clock.now += 100
    second.__enter__()
    clock.now += 20
    first.__exit__(None, None, None)

    assert jobs.oldest_age() == 20
    second.__exit__(None, None, None)


def test_a_run_that_raises_no_longer_counts() -> None:
    clock = Clock()
    jobs = RunningJobs(clock)

    def run_that_times_out() -> None:
        with jobs.running():
            clock.now += 5
            raise TimeoutError

    with pytest.raises(TimeoutError):
        run_that_times_out()
    clock.now += 5

    assert jobs.oldest_age() == 0
