"""Every composed resource of every golden render is valid against its real schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT
from tests.support.crd_schema import problems

GOLDEN = sorted((ROOT / "tests" / "golden" / "files").glob("*.yaml"))
KUBERNETES_VERSION = "1.33"
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1"}


def composed(path: Path) -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [d for d in documents[1:] if d.get("kind") != "Result"]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_core_kinds_pass_kubernetes_strict_validation(path: Path) -> None:
    for document in composed(path):
        if document["apiVersion"] in CORE_GROUPS:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_custom_resources_match_their_upstream_crds(
    path: Path, crd_schemas: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for document in composed(path):
        if document["apiVersion"] in CORE_GROUPS:
            continue
        key = (document["apiVersion"], document["kind"])
        assert key in crd_schemas, f"no upstream CRD for {key}"
        assert problems(document, crd_schemas[key]) == [], f"{path.name}: {key}"


def test_every_composed_custom_kind_of_the_databases_is_validated() -> None:
    # The Cluster, its ScheduledBackup and the Dragonfly, with every optional part the
    # fixtures exercise, are among the golden renders checked above against the upstream CRDs.
    kinds = {(d["apiVersion"], d["kind"]) for path in GOLDEN for d in composed(path)}
    assert kinds >= {
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("postgresql.cnpg.io/v1", "ScheduledBackup"),
        ("dragonflydb.io/v1alpha1", "Dragonfly"),
    }


def test_pod_template_meets_pod_security_restricted() -> None:
    for path in GOLDEN:
        for document in composed(path):
            if document["kind"] != "Deployment":
                continue
            pod = document["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            for container in pod["containers"] + pod.get("initContainers", []):
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, container["name"]
                assert context["capabilities"]["drop"] == ["ALL"], container["name"]
                assert context["readOnlyRootFilesystem"] is True, container["name"]
                assert "hostPort" not in str(container.get("ports", []))
