"""Monitoring works on the running platform: a real Prometheus (Debian's `prometheus`) scrapes
every worker the way the executor's composed ServiceMonitor tells the Prometheus Operator to,
with the rule groups of platform/observability/prometheusrule.yaml loaded; real conditions
(a dead-lettered job, a daily token budget crossed, a stopped worker) fire the alerts that
describe them, and every query of the Grafana dashboard returns data.

Alerts whose production `for:` is minutes fire within seconds here: Prometheus loads a copy
of the rules in which only `for:` is shortened (testbed.prometheus.rules_for_tests; the
first test proves nothing else differs).

Not covered here, and why: NATS's JetStream series (the consumer's pending count, the
consumer lag alert and the dashboard's "Pending" panels). nats-server (2.14) serves its
monitoring endpoints (/varz, /jsz, ...) as JSON only, which Prometheus cannot parse (/metrics
is a 404); in the cluster the chart's prometheus-nats-exporter sidecar translates them (the
PodMonitor platform/observability/nats-podmonitor.yaml scrapes it), and that exporter is not
obtainable on these machines (not in Debian, not on PyPI, no Go
toolchain). A home-made stand-in would test itself, not the exporter, so the lag alert's
coverage is its `promtool test rules` unit test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from testbed.fake_openai import FakeOpenAI, Reply, ToolCall, error, text, tool_calls
from testbed.grafana import label_values_variables, panel_queries, substitute
from testbed.producer import StoredResult, connect, submit, wait_results
from testbed.prometheus import (
    SCRAPE_SECONDS,
    TEST_FOR,
    Prometheus,
    has_data,
    rule_groups,
    rules_for_tests,
)
from testbed.service_monitor import pod_name, scrape_jobs
from testbed.worker import job
from tests.system.conftest import Tenant, scrape_jobs_of

pytestmark = pytest.mark.slow

# The tenant the alert tests drive: its claim composes a ServiceMonitor, sets a daily token
# budget and a finite maxDeliver.
DRIVEN = "intelligence-analytics"
# The alert on a scraped worker that does not answer (`up == 0`).
WORKER_DOWN = "AgentExecutorWorkerDown"
# Series of prometheus-nats-exporter, which these machines cannot run (see the module
# docstring): `jetstream_*` (its JetStream collector's default names) and `nats_*` (the same
# with the NATS chart's `-prefix=nats`). Dashboard queries over these alone are not checked.
NATS_EXPORTER_SERIES = re.compile(r"\b(?:jetstream|nats)_[a-z0-9_]+")


def _alert_names(groups: list[dict[str, Any]]) -> list[str]:
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def _run(tenant: Tenant, body: dict[str, Any], within: float = 60) -> StoredResult:
    """Submit `body` with the tenant's producer; its first result."""

    async def scenario() -> StoredResult:
        producer = await connect(tenant.platform.nats.urls, tenant.producer)
        try:
            await submit(producer, tenant.subject(body["job_id"]), body)
            results = await wait_results(producer, [body["job_id"]], within=within)
            return results[body["job_id"]][0]
        finally:
            await producer.close()

    return asyncio.run(scenario())


def _job_answered(llm: FakeOpenAI, *replies: Reply) -> dict[str, Any]:
    """A job whose model (its own name) answers with `replies`, in order."""
    model = f"mon-{uuid.uuid4().hex[:10]}"
    llm.script(*(dataclasses.replace(reply, model=model) for reply in replies))
    return job(f"mon-{uuid.uuid4().hex[:10]}", model=model)


def _only_nats_exporter_series(expr: str) -> bool:
    """True when `expr` reads exporter series and none of the worker's."""
    return bool(NATS_EXPORTER_SERIES.search(expr)) and "agent_executor_" not in expr


def _not_firing(prometheus: Prometheus, alertname: str, namespace: str) -> None:
    assert not prometheus.firing(alertname, {"namespace": namespace}), (
        f"{alertname} already fires for {namespace}: the test would prove nothing"
    )


@contextmanager
def _fresh_budget_day(tenant: Tenant) -> Iterator[int]:
    """The tenant's daily token budget with nothing used yet today, as after midnight UTC;
    the day's usage is cleared again afterwards so later jobs are not refused."""
    env = tenant.executor.env
    conninfo = psycopg.conninfo.make_conninfo(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DB"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
    )

    def clear() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM agent_token_usage WHERE day = (now() AT TIME ZONE 'utc')::date"
            )

    clear()
    try:
        yield int(env["DAILY_TOKEN_BUDGET"])
    finally:
        clear()


def test_the_rules_prometheus_loads_differ_from_the_platforms_only_in_for() -> None:
    platform, loaded = rule_groups(), rules_for_tests()

    def without_for(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**g, "rules": [{k: v for k, v in r.items() if k != "for"} for r in g["rules"]]}
            for g in groups
        ]

    assert without_for(loaded) == without_for(platform)
    shortened = [r for g in loaded for r in g["rules"] if "for" in r]
    assert shortened, "no rule has a for: the copy changes nothing"
    assert {r["for"] for r in shortened} == {TEST_FOR}
    assert [r.get("alert") for g in platform for r in g["rules"] if "for" in r] == [
        r.get("alert") for r in shortened
    ]


def test_prometheus_loads_every_rule_of_the_platform_and_evaluates_each_without_error(
    prometheus: Prometheus,
) -> None:
    groups = rule_groups()
    deadline = time.monotonic() + 30
    while True:
        loaded = prometheus.rules()
        rules = [r for g in loaded for r in g["rules"]]
        if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules):
            break
        assert time.monotonic() < deadline, f"rules never evaluated: {loaded}"
        time.sleep(0.5)
    assert sorted(g["name"] for g in loaded) == sorted(g["name"] for g in groups)
    assert sorted(r["name"] for r in rules if r["type"] == "alerting") == sorted(
        _alert_names(groups)
    )
    assert {r["name"]: r.get("lastError", "") for r in rules if r["health"] != "ok"} == {}


def test_every_worker_of_an_executor_with_a_service_monitor_is_scraped_under_its_namespace(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus
) -> None:
    expected = {
        (target.address, target.labels["namespace"], target.labels["pod"])
        for job_ in scrape_jobs_of(dev_tenants)
        for target in job_.targets
    }
    assert DRIVEN in {namespace for _, namespace, _ in expected}
    deadline = time.monotonic() + 30
    while True:
        up = {
            (t["labels"]["instance"], t["labels"]["namespace"], t["labels"]["pod"])
            for t in prometheus.targets()
            if t["health"] == "up"
        }
        if up >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert up == expected, prometheus.targets()
    in_flight = prometheus.query("agent_executor_jobs_in_flight")
    assert {s.labels["namespace"] for s in in_flight} == {n for _, n, _ in expected}


def test_a_dead_lettered_job_fires_agent_executor_dead_letters_for_its_namespace(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus, llm: FakeOpenAI
) -> None:
    tenant = dev_tenants[DRIVEN]
    (consumer,) = [o for o in tenant.executor.executor.nack_objects if o["kind"] == "Consumer"]
    prometheus.wait_for(f'agent_executor_jobs_total{{namespace="{DRIVEN}"}}')
    # Other tests of the package dead-letter jobs of this tenant too (a job id conflict, a
    # poison message): the alert may fire already. Then this job must raise its value.
    before = _dead_letters_alerted(prometheus)

    # The model is unavailable at every delivery (more errors scripted than calls are
    # made): the last delivery dead-letters the job.
    body = _job_answered(llm, *[error(503)] * (5 * int(consumer["spec"]["maxDeliver"])))
    result = _run(tenant, body)

    assert result.subject == "agent.status.failed"
    deadline = time.monotonic() + 60
    while _dead_letters_alerted(prometheus) <= before:
        assert time.monotonic() < deadline, (
            f"AgentExecutorDeadLetters for {DRIVEN} did not fire, or did not count the job "
            f"({before} dead letters before it), within 60 s"
        )
        time.sleep(0.5)
    alert = prometheus.wait_for_alert("AgentExecutorDeadLetters", {"namespace": DRIVEN})
    assert alert["labels"]["severity"] == "warning"


def _dead_letters_alerted(prometheus: Prometheus) -> float:
    """The firing AgentExecutorDeadLetters alert's value for DRIVEN (dead letters in its
    window), 0 when it does not fire."""
    firing = prometheus.firing("AgentExecutorDeadLetters", {"namespace": DRIVEN})
    return max((float(alert["value"]) for alert in firing), default=0.0)


def test_crossing_80_percent_of_the_daily_token_budget_fires_the_warning_only(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus, llm: FakeOpenAI
) -> None:
    tenant = dev_tenants[DRIVEN]
    with _fresh_budget_day(tenant) as budget:
        # The worker checks the day's usage before each LLM call: the second job sees 85%.
        first = _job_answered(llm, text("most of it", usage=(budget * 85 // 100, 0)))
        assert _run(tenant, first).subject == "agent.status.completed"
        second = _job_answered(llm, text("a little more", usage=(1, 1)))
        assert _run(tenant, second).subject == "agent.status.completed"

        prometheus.wait_for_alert("AgentExecutorTokenBudget80Percent", {"namespace": DRIVEN})
        _not_firing(prometheus, "AgentExecutorTokenBudgetExhausted", DRIVEN)


def test_spending_the_daily_token_budget_fires_agent_executor_token_budget_exhausted(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus, llm: FakeOpenAI
) -> None:
    tenant = dev_tenants[DRIVEN]
    with _fresh_budget_day(tenant) as budget:
        spent = _job_answered(llm, text("all of it", usage=(budget, 0)))
        assert _run(tenant, spent).subject == "agent.status.completed"
        refused = _run(tenant, _job_answered(llm, text("never asked")))
        assert refused.event["data"]["error"]["type"] == "BudgetExceeded"

        exhausted = "AgentExecutorTokenBudgetExhausted"
        alert = prometheus.wait_for_alert(exhausted, {"namespace": DRIVEN})
        assert alert["labels"]["severity"] == "critical"


def test_a_worker_that_stops_fires_agent_executor_worker_down(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus, tmp_path: Path
) -> None:
    assert WORKER_DOWN in [r["name"] for g in prometheus.rules() for r in g["rules"]]
    tenant = dev_tenants[DRIVEN]
    # A second pod of the executor, so the tenant's own worker keeps serving the other tests.
    (pod,) = tenant.executor.start(1, log_dir=tmp_path)
    try:
        prometheus.set_targets(scrape_jobs_of(dev_tenants))
        name = pod_name(tenant.executor.executor, pod)
        prometheus.wait_for(f'up{{namespace="{DRIVEN}", pod="{name}"}} == 1')
        _not_firing(prometheus, WORKER_DOWN, DRIVEN)

        pod.terminate()

        alert = prometheus.wait_for_alert(WORKER_DOWN, {"namespace": DRIVEN})
        assert alert["labels"].get("pod", name) == name
    finally:
        # The pod is deleted: it leaves the Service's endpoints and Prometheus's targets.
        pod.stop()
        tenant.executor.workers.remove(pod)
        prometheus.set_targets(scrape_jobs_of(dev_tenants))


def test_every_dashboard_query_returns_data_once_a_job_ran(
    dev_tenants: dict[str, Tenant], prometheus: Prometheus, llm: FakeOpenAI
) -> None:
    tenant = dev_tenants[DRIVEN]
    assert scrape_jobs(tenant.executor.executor, tenant.executor.workers)
    # A rate needs a series sampled before and after it grows: a scrape before the job, and
    # two calls of the job's (new) model with scrapes between them.
    prometheus.wait_for(f'agent_executor_jobs_total{{namespace="{DRIVEN}"}}')
    charted = _job_answered(
        llm,
        tool_calls(ToolCall("write_file", {"file_path": "/chart.md", "content": "."})),
        text("charted", latency=3 * SCRAPE_SECONDS),
    )
    assert _run(tenant, charted).subject == "agent.status.completed"

    values = {}
    for variable in label_values_variables():
        found = prometheus.label_values(variable.label, variable.match)
        assert DRIVEN in found, f"variable {variable.name}: {found}"
        values[variable.name] = DRIVEN
    queries = [q for q in panel_queries() if not _only_nats_exporter_series(q.expr)]
    assert queries

    deadline = time.monotonic() + 30
    empty = queries
    while empty and time.monotonic() < deadline:
        empty = [q for q in empty if not has_data(prometheus.query(substitute(q.expr, values)))]
        time.sleep(0.5)
    assert empty == [], "no data for:\n" + "\n".join(str(q) for q in empty)
