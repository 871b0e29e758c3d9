"""Every metric the platform's alerts and dashboard use exists, with the labels they use."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from testbed.fake_openai import FakeOpenAI, text
from testbed.servers import NatsServer
from testbed.worker import Worker, cloudevent, job, publish, wait_result
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# Labels Prometheus adds when it scrapes (target labels) or that histograms carry.
SCRAPE_LABELS = {"namespace", "pod", "instance", "job", "service", "container", "le"}
# Exported by the NATS server's exporter, not by the worker.
# prometheus-nats-exporter's series: `jetstream_*`, or `nats_*` with the NATS chart's
# `-prefix=nats` (platform/nats/values.yaml); never the worker's `agent_executor_*`.
NATS_EXPORTER = re.compile(r"\b(?:jetstream|nats)_[a-z0-9_]+")
METRIC = re.compile(r"\b((?:agent_executor|jetstream)_[a-z_]+)(\{[^}]*\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def queries() -> list[str]:
    rule = yaml.safe_load((ROOT / "platform/observability/prometheusrule.yaml").read_text())
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    board = yaml.safe_load((ROOT / "platform/observability/grafana-dashboard.yaml").read_text())
    dashboard = json.loads(next(iter(board["data"].values())))
    panels = dashboard["panels"] + [p for row in dashboard["panels"] for p in row.get("panels", [])]
    exprs += [t["expr"] for p in panels for t in p.get("targets", []) if "expr" in t]
    assert len(exprs) > 10
    return exprs


@dataclass
class Family:
    labels: dict[str, set[str]] = field(default_factory=dict)


def scrape(url: str) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        entry = families.setdefault(family.name, Family())
        for sample in family.samples:
            for name, value in sample.labels.items():
                entry.labels.setdefault(name, set()).add(value)
    return families


def family_of(metric: str, families: dict[str, Family]) -> Family | None:
    for suffix in ("_bucket", "_count", "_sum", "_total", ""):
        base = metric.removesuffix(suffix) if suffix else metric
        if base in families:
            return families[base]
    return None


def test_alerts_and_dashboard_use_only_metrics_and_labels_the_worker_exports(
    start_worker: Callable[..., Worker], nats: NatsServer, fake: FakeOpenAI
) -> None:
    worker = start_worker(DAILY_TOKEN_BUDGET="1000000")
    fake.script(text("observed", usage=(8, 3)))
    body = job()
    asyncio.run(publish(nats.url, cloudevent(body)))
    wait_result(nats, body["job_id"])
    families = scrape(worker.url)

    problems = []
    for expr in queries():
        used_labels: set[str] = set()
        for metric, selector in METRIC.findall(expr):
            if NATS_EXPORTER.fullmatch(metric):
                continue
            family = family_of(metric, families)
            if family is None:
                problems.append(f"{metric}: not exported")
                continue
            used_labels |= set(family.labels)
            for label, op, value in MATCHER.findall(selector or ""):
                if label in SCRAPE_LABELS:
                    continue
                if label not in family.labels:
                    problems.append(f"{metric}: no label {label!r}")
                elif op in ("=", "=~"):
                    for wanted in value.split("|"):
                        if not wanted.startswith("$") and wanted not in family.labels[label]:
                            problems.append(f"{metric}{{{label}={wanted!r}}}: no such series")
        if NATS_EXPORTER.search(expr):
            continue  # grouped by the exporter's labels, not the worker's
        for grouping in GROUPING.findall(expr):
            for label in (g.strip() for g in grouping.split(",")):
                if label and label not in SCRAPE_LABELS and label not in used_labels:
                    problems.append(f"{expr[:60]}…: groups by unknown label {label!r}")
    assert problems == []
