"""What the system tests start is what the platform deploys."""

from __future__ import annotations

import yaml

from scripts.tenancy.nats_server import PRODUCTION_VALUES
from tests.conftest import ROOT


def test_the_nats_application_deploys_the_values_the_system_tests_start_from() -> None:
    # scripts/nats_config.render (which the system tests run) reads PRODUCTION_VALUES; Argo CD
    # must hand the chart the same files, the generated tenant accounts included: without
    # values-tenants.yaml the deployed server has no tenant account and refuses every worker.
    app = yaml.safe_load((ROOT / "apps/components/nats.yaml").read_text())
    (chart,) = [s for s in app["spec"]["sources"] if "chart" in s]
    assert chart["helm"]["valueFiles"] == [f"$values/{path}" for path in PRODUCTION_VALUES]
