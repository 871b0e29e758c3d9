"""The platform on this machine, as deployed: NATS from `make nats-config`, every tenant of the
registry with the streams and credentials `make tenants` generated, and each example claim's
executor with the environment the function renders (DESIGN section 8, "System tests").

Package-scoped: the servers and workers live while tests/system runs and are gone before the
rest of the suite continues.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.tenancy.registry import RegistryEntry, load_registry
from testbed import nack
from testbed.deployment import Executor, render_claims
from testbed.external_secrets import SecretStore
from testbed.fake_openai import FakeOpenAI, fake_openai
from testbed.platform_nats import PlatformNats, platform_nats
from testbed.prometheus import Prometheus, ScrapeJob, prometheus_server, rules_for_tests
from testbed.service_monitor import scrape_jobs
from testbed.stores import running_stores
from testbed.tenant import (
    Credentials,
    TenantExecutor,
    credentials,
    execute_subject,
    generated_documents,
    prepare_executor,
    publish_nats_secrets,
)
from testbed.worker import Worker
from tests.conftest import ROOT

ENTRIES: list[RegistryEntry] = load_registry(ROOT)
NAMESPACES = [entry.namespace for entry in ENTRIES]


def apply_nack(
    nats: PlatformNats, secrets: SecretStore, documents: Iterable[Mapping[str, Any]]
) -> None:
    """Create NACK objects as NACK would, in the shape `nats` runs.

    The one place the manifests are changed: a single development server refuses
    `replicas > 1`, so there the R3 streams and consumers are applied at R1, as the
    platform's development clusters apply them (platform/nats/values-dev.yaml). The
    production shape applies them unchanged.
    """
    replicas = 1 if nats.dev else None
    asyncio.run(nack.apply(documents, secrets.get, nats.urls, replicas=replicas))


@dataclass
class Platform:
    """The platform's NATS with every tenant's credentials and generated NACK objects."""

    nats: PlatformNats
    secrets: SecretStore

    def credentials(self, namespace: str, role: str) -> Credentials:
        return credentials(self.secrets, namespace, role)


@contextlib.contextmanager
def started_platform(*, dev: bool) -> Iterator[Platform]:
    """NATS in the given shape, each tenant's Secrets resolved and its NACK objects applied."""
    with platform_nats(dev=dev) as nats:
        secrets = SecretStore()
        documents = []
        for namespace in NAMESPACES:
            publish_nats_secrets(namespace, nats.parameters, secrets)
            documents += generated_documents(namespace)
        apply_nack(nats, secrets, documents)
        yield Platform(nats, secrets)


@dataclass
class Tenant:
    """A tenant with its executor running: what its producer and workers are given."""

    namespace: str
    platform: Platform
    executor: TenantExecutor
    stream_documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def worker(self) -> Worker:
        return self.executor.workers[0]

    @property
    def producer(self) -> Credentials:
        return self.platform.credentials(self.namespace, "producer")

    @property
    def worker_user(self) -> Credentials:
        return self.platform.credentials(self.namespace, "worker")

    @property
    def llm_key(self) -> str:
        return self.executor.env["OPENAI_API_KEY"]

    def subject(self, job_id: str) -> str:
        """Where the tenant's producer publishes `job_id` so its executor gets it."""
        return execute_subject(self.stream_documents, self.executor.stream, job_id)


@contextlib.contextmanager
def running_tenants(
    platform: Platform,
    executors: list[Executor],
    *,
    stores: list[Executor],
    llm: FakeOpenAI,
    workdir: Path,
    workers: int,
    only: Iterable[str] | None = None,
) -> Iterator[dict[str, Tenant]]:
    """Every claim's NACK objects, then the executors of `only` (default: all), each with its
    tenant's database and cache running as composed (`stores`: the rendered PostgresInstance
    and DragonflyInstance claims), its Secrets, migrations and `workers` workers."""
    # The rendered Streams and Consumers name the Account `make tenants` generated.
    accounts = [
        d for e in executors for d in generated_documents(e.namespace) if d["kind"] == "Account"
    ]
    apply_nack(
        platform.nats,
        platform.secrets,
        [*accounts, *(o for e in executors for o in e.nack_objects)],
    )
    chosen = [e for e in executors if only is None or e.namespace in set(only)]
    with contextlib.ExitStack() as stack:
        tenants: dict[str, Tenant] = {}
        for executor in chosen:
            made = stack.enter_context(running_stores(stores, executor.namespace))
            for name, data in made.secrets.items():
                platform.secrets.put(executor.namespace, name, data)
            running = prepare_executor(
                executor,
                platform.secrets,
                platform.nats.parameters,
                nats_urls=platform.nats.urls,
                openai_base_url=llm.base_url,
                home=workdir / executor.namespace,
            )
            stack.callback(running.stop)
            running.start(workers, log_dir=workdir)
            tenants[executor.namespace] = Tenant(
                executor.namespace,
                platform,
                running,
                [*generated_documents(executor.namespace), *executor.nack_objects],
            )
        yield tenants


@pytest.fixture(scope="package")
def llm() -> Iterator[FakeOpenAI]:
    """The fake model; tests script it per model name, so they never share a reply."""
    with fake_openai() as fake:
        yield fake


@pytest.fixture(scope="package")
def claims() -> list[Executor]:
    """Every example claim (the tenants' AgentExecutors, PostgresInstances and
    DragonflyInstances), composed by the function."""
    return render_claims(sorted(ROOT / e.path for e in ENTRIES))


@pytest.fixture(scope="package")
def executors(claims: list[Executor]) -> list[Executor]:
    """The tenants' AgentExecutors, rendered."""
    return [c for c in claims if c.claim["kind"] == "AgentExecutor"]


@pytest.fixture(scope="package")
def stores(claims: list[Executor]) -> list[Executor]:
    """The tenants' PostgresInstances and DragonflyInstances, composed."""
    return [c for c in claims if c.claim["kind"] != "AgentExecutor"]


@pytest.fixture(scope="package")
def dev_platform() -> Iterator[Platform]:
    """The development shape: one server, every tenant's account, streams at R1."""
    with started_platform(dev=True) as platform:
        yield platform


@pytest.fixture(scope="package")
def dev_tenants(
    dev_platform: Platform,
    executors: list[Executor],
    stores: list[Executor],
    llm: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Tenant]]:
    """Every tenant's executor on the development shape, one worker each."""
    with running_tenants(
        dev_platform,
        executors,
        stores=stores,
        llm=llm,
        workdir=tmp_path_factory.mktemp("dev-tenants"),
        workers=1,
    ) as tenants:
        yield tenants


def scrape_jobs_of(tenants: Mapping[str, Tenant]) -> list[ScrapeJob]:
    """What the Prometheus Operator would scrape: each executor's ServiceMonitor, its workers."""
    return [
        job
        for tenant in tenants.values()
        for job in scrape_jobs(tenant.executor.executor, tenant.executor.workers)
    ]


@pytest.fixture(scope="package")
def prometheus(
    dev_tenants: dict[str, Tenant], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """A real Prometheus scraping the dev tenants' workers as their composed ServiceMonitors
    say, with the platform's rules loaded (`for:` shortened: testbed.prometheus)."""
    with prometheus_server(
        scrape_jobs_of(dev_tenants),
        rules_for_tests(),
        directory=tmp_path_factory.mktemp("prometheus"),
    ) as server:
        yield server
