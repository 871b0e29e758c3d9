"""A registry entry that cannot make a working tenant is refused, naming the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.tenancy.generate import capacity_problem, generated_files
from scripts.tenancy.registry import RegistryEntry, RegistryError, load_entry, quantity_bytes

VALID: dict[str, Any] = {
    "layer": "intelligence",
    "category": "search",
    "repoURL": "https://github.com/example/tenant.git",
    "targetRevision": "main",
    "path": "claims/intelligence-search",
    "owners": ["example/team"],
}


def _write(tmp_path: Path, entry: dict[str, Any], name: str = "intelligence-search") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(entry))
    return path


def test_a_minimal_entry_gets_one_credential_generation_and_default_storage(
    tmp_path: Path,
) -> None:
    entry = load_entry(_write(tmp_path, VALID))
    assert entry.namespace == "intelligence-search"
    assert entry.account == "intelligence-search"
    assert entry.nats.credentials == [1]
    assert entry.current_generation == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"category": None}, "category"),
        ({"layer": "Intelligence"}, "layer"),
        ({"repoURL": "git@github.com:example/tenant.git"}, "repoURL"),
        ({"owners": []}, "owners"),
        ({"nats": {"credentials": [2, 1]}}, "nats.credentials"),
        ({"nats": {"credentials": [1, 2, 3]}}, "nats.credentials"),
        ({"nats": {"credentials": [0]}}, "nats.credentials"),
        ({"nats": {"maxFileStore": "16GB"}}, "nats.maxFileStore"),
        ({"nats": {"streams": {"execution": "lots"}}}, "nats.streams.execution"),
        ({"nats": {"password": "x"}}, "nats.password"),
    ],
)
def test_an_invalid_entry_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    entry = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    with pytest.raises(RegistryError, match=named.replace(".", r"\.")):
        load_entry(_write(tmp_path, entry))


def test_the_file_must_be_named_after_the_namespace(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"intelligence-search\.yaml"):
        load_entry(_write(tmp_path, VALID, name="search"))


def test_an_account_too_small_for_its_streams_is_refused() -> None:
    entry = RegistryEntry.model_validate({**VALID, "nats": {"maxFileStore": "1Gi"}})
    with pytest.raises(RegistryError, match="maxFileStore"):
        generated_files([entry])


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("512Mi", 512 * 2**20), ("2Gi", 2 * 2**30), ("1Ti", 2**40)],
)
def test_quantities(quantity: str, expected: int) -> None:
    assert quantity_bytes(quantity) == expected


def test_a_rotation_keeps_both_generations_valid_and_hands_out_the_newest() -> None:
    entry = RegistryEntry.model_validate({**VALID, "nats": {"credentials": [1, 2]}})
    files = generated_files([entry])
    values = yaml.safe_load(files[Path("platform/nats/values-tenants.yaml")])
    users = [
        u["user"] for u in values["config"]["merge"]["accounts"]["intelligence-search"]["users"]
    ]
    assert "intelligence-search-worker-g1" in users
    assert "intelligence-search-worker-g2" in users
    tenant = list(
        yaml.safe_load_all(files[Path("platform/tenants/generated/intelligence-search/nats.yaml")])
    )
    worker = next(d for d in tenant if d["metadata"]["name"] == "nats-credentials")
    assert worker["spec"]["target"]["template"]["data"]["NATS_USER"] == (
        "intelligence-search-worker-g2"
    )


def _values(*, cluster: bool, max_size: str) -> dict[str, Any]:
    return {
        "config": {
            "cluster": {"enabled": cluster, "replicas": 3},
            "jetstream": {"fileStore": {"maxSize": max_size, "pvc": {"size": "100Gi"}}},
        }
    }


def _tenants(*limits: str) -> list[RegistryEntry]:
    return [
        RegistryEntry.model_validate(
            {**VALID, "category": f"c{i}", "nats": {"maxFileStore": limit}}
        )
        for i, limit in enumerate(limits)
    ]


@pytest.mark.parametrize(
    ("cluster", "max_size", "limits", "fits"),
    [
        (False, "32Gi", ("16Gi", "16Gi"), True),
        (False, "27Gi", ("16Gi", "16Gi"), False),  # the server would not start JetStream
        (True, "27Gi", ("16Gi", "16Gi", "16Gi", "16Gi", "16Gi"), True),  # 80 <= 3 x 27
        (True, "27Gi", ("48Gi", "48Gi"), False),
    ],
)
def test_the_servers_must_hold_every_tenant_account(
    cluster: bool, max_size: str, limits: tuple[str, ...], fits: bool
) -> None:
    problem = capacity_problem(_tenants(*limits), _values(cluster=cluster, max_size=max_size), "x")
    assert (problem is None) is fits
    if problem:
        assert "maxFileStore" in problem
