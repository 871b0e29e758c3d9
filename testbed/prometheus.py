"""A real Prometheus server for tests (Debian's `prometheus`), and a small client for its API.

```python
with prometheus_server([job], rules_for_tests(), directory=tmp) as prom:
    prom.set_targets([job_with_new_pods])   # file_sd: picked up within a few seconds
    prom.wait_for_alert("AgentExecutorDeadLetters", {"namespace": "team-a"})
```

The server runs on a free port in `directory` with a generated `prometheus.yml`: one scrape
job per `ScrapeJob` (testbed.service_monitor derives them from the composed ServiceMonitors),
its targets in a file_sd file so pods can come and go while it runs, and the rule groups of
the platform's PrometheusRule. Scrapes and rule evaluations run every second.

`test_rule_groups` is the platform's rules with ONE change: every alert's `for:` is shortened
to `TEST_FOR`, so an alert whose production `for:` is minutes fires within seconds.
Expressions, labels, annotations and thresholds are the platform's own.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from testbed.servers import ServerError, _binary, end_process, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_RULE = ROOT / "platform" / "observability" / "prometheusrule.yaml"
SCRAPE_SECONDS = 1
INTERVAL = f"{SCRAPE_SECONDS}s"  # scrape, scrape timeout and rule evaluation
TEST_FOR = "1s"  # every alert's `for:` in the test copy of the rules


@dataclass(frozen=True)
class Target:
    """One scraped endpoint (a pod's port) and the target labels Prometheus gives it."""

    address: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class ScrapeJob:
    """A scrape config: what the Prometheus Operator generates for one ServiceMonitor endpoint."""

    name: str
    metrics_path: str
    scheme: str
    targets: tuple[Target, ...] = ()


def rule_groups(path: Path = PROMETHEUS_RULE) -> list[dict[str, Any]]:
    """The rule groups of the platform's PrometheusRule (its `spec.groups`)."""
    document = yaml.safe_load(path.read_text())
    if document.get("kind") != "PrometheusRule":
        raise ValueError(f"{path} is a {document.get('kind')}, not a PrometheusRule")
    return list(document["spec"]["groups"])


def with_short_for(groups: Iterable[Mapping[str, Any]], to: str = TEST_FOR) -> list[dict[str, Any]]:
    """A copy of `groups` in which every rule's `for:` is `to`; nothing else differs."""
    shortened = [copy.deepcopy(dict(group)) for group in groups]
    for group in shortened:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = to
    return shortened


def rules_for_tests(path: Path = PROMETHEUS_RULE) -> list[dict[str, Any]]:
    """The rules the test Prometheus loads: the platform's, `for:` shortened to TEST_FOR."""
    return with_short_for(rule_groups(path))


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector."""

    labels: dict[str, str]
    value: float


class PrometheusError(RuntimeError):
    """The API answered with an error (a bad query, for one); the message is Prometheus's."""


@dataclass
class Prometheus:
    """A running server (see `prometheus_server`) and its HTTP API."""

    directory: Path
    jobs: tuple[str, ...]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        log = self.directory / "prometheus.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def _get(self, path: str, **params: Any) -> Any:
        reply = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        body = reply.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[Sample]:
        """The instant vector `expr` evaluates to now (a scalar as one sample, no labels)."""
        data = self._get("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [Sample({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr}: a {data['resultType']}, not an instant vector")
        return [Sample(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def label_values(self, label: str, match: str) -> list[str]:
        """Values of `label` on the series `match` selects (Grafana's `label_values`)."""
        return list(self._get(f"/api/v1/label/{label}/values", **{"match[]": match}))

    def alerts(self) -> list[dict[str, Any]]:
        """Every active alert (pending or firing) with its labels, state and value."""
        return list(self._get("/api/v1/alerts")["alerts"])

    def rules(self) -> list[dict[str, Any]]:
        """The loaded rule groups with each rule's health and last error."""
        return list(self._get("/api/v1/rules")["groups"])

    def targets(self) -> list[dict[str, Any]]:
        """The active targets with their labels, health and last scrape error."""
        return list(self._get("/api/v1/targets", state="active")["activeTargets"])

    def firing(
        self, alertname: str, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The firing alerts named `alertname` whose labels include `labels`."""
        wanted = {"alertname": alertname, **(labels or {})}
        return [
            alert
            for alert in self.alerts()
            if alert["state"] == "firing"
            and all(alert["labels"].get(k) == v for k, v in wanted.items())
        ]

    def wait_for_alert(
        self, alertname: str, labels: Mapping[str, str] | None = None, within: float = 60
    ) -> dict[str, Any]:
        """The first firing alert named `alertname` with `labels`, waiting up to `within` s."""
        deadline = time.monotonic() + within
        while True:
            found = self.firing(alertname, labels)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{alertname} {dict(labels or {})} did not fire within {within} s; "
                    f"active alerts: {[(a['labels'], a['state']) for a in self.alerts()]}; "
                    f"its rule: {self._rule_state(alertname)}"
                )
            time.sleep(0.5)

    def wait_for(self, expr: str, within: float = 30) -> list[Sample]:
        """The samples of `expr` once it has at least one, waiting up to `within` s."""
        deadline = time.monotonic() + within
        while True:
            found = self.query(expr)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} returned nothing within {within} s")
            time.sleep(0.5)

    def _rule_state(self, alertname: str) -> Any:
        for group in self.rules():
            for rule in group["rules"]:
                if rule.get("name") == alertname:
                    return {k: rule.get(k) for k in ("state", "health", "lastError", "query")}
        return "no such rule loaded"

    def set_targets(self, jobs: Sequence[ScrapeJob]) -> None:
        """Replace every job's targets (file_sd; Prometheus applies them within ~5 s)."""
        unknown = {job.name for job in jobs} - set(self.jobs)
        if unknown:
            raise ValueError(f"scrape jobs {sorted(unknown)} were not configured at start")
        for job in jobs:
            groups = [{"targets": [t.address], "labels": dict(t.labels)} for t in job.targets]
            path = self._targets_file(job.name)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(groups))
            os.replace(temporary, path)  # atomic: Prometheus never reads half a file

    def _targets_file(self, job: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in job)
        return self.directory / "targets" / f"{safe}.json"

    def config(self, jobs: Sequence[ScrapeJob]) -> dict[str, Any]:
        """The generated prometheus.yml."""
        return {
            "global": {
                "scrape_interval": INTERVAL,
                "scrape_timeout": INTERVAL,
                "evaluation_interval": INTERVAL,
            },
            "rule_files": [str(self.directory / "rules.yml")],
            "scrape_configs": [
                {
                    "job_name": job.name,
                    "metrics_path": job.metrics_path,
                    "scheme": job.scheme,
                    "file_sd_configs": [
                        {"files": [str(self._targets_file(job.name))], "refresh_interval": "1s"}
                    ],
                }
                for job in jobs
            ],
        }

    def start(self, jobs: Sequence[ScrapeJob], groups: Sequence[Mapping[str, Any]]) -> None:
        (self.directory / "targets").mkdir(parents=True, exist_ok=True)
        (self.directory / "rules.yml").write_text(yaml.safe_dump({"groups": list(groups)}))
        (self.directory / "prometheus.yml").write_text(yaml.safe_dump(self.config(jobs)))
        self.set_targets(jobs)
        argv = [
            _binary("prometheus"),
            f"--config.file={self.directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with (self.directory / "prometheus.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        try:
            wait_for_port(self.port, "prometheus", self.proc)
            deadline = time.monotonic() + 30
            while not _ready(self.url):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise ServerError("prometheus did not become ready")
                time.sleep(0.1)
        except ServerError as exc:
            self.stop()
            raise ServerError(f"{exc}; its log ends:\n{self.logs()[-3000:]}") from None

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc)
        self.proc = None


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prometheus_server(
    jobs: Sequence[ScrapeJob], groups: Sequence[Mapping[str, Any]], *, directory: Path
) -> Iterator[Prometheus]:
    """A Prometheus scraping `jobs` with the rule `groups` loaded; stopped afterwards."""
    server = Prometheus(directory, tuple(job.name for job in jobs))
    server.start(jobs, groups)
    try:
        yield server
    finally:
        server.stop()


def has_data(samples: Iterable[Sample]) -> bool:
    """True when a query returned a number (Grafana shows NaN as no value)."""
    return any(not math.isnan(sample.value) for sample in samples)
