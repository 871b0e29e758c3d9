"""The upstream API schemas in tests/schemas/: derived by a script, recorded, never skipped."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from scripts.derive_schemas import (
    Source,
    derive,
    git_blob_id,
    load_sources,
    strip_schema,
)
from tests.conftest import ROOT
from tests.support.crd_schema import DERIVED, load_schemas

SCRIPT = ROOT / "scripts" / "derive_schemas.py"
SHA = re.compile(r"[0-9a-f]{40}")

UPSTREAM_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
  annotations: {controller-gen.kubebuilder.io/version: v0.18.0}
spec:
  group: example.org
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns: [{jsonPath: .spec.size, name: Size, type: integer}]
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        description: A widget.
        type: object
        properties:
          spec:
            description: What the widget should be.
            type: object
            properties:
              description: {description: A property that is called description., type: string}
              size: {description: How big., type: integer, minimum: 1}
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def widget_source(data: bytes) -> Source:
    blob = git_blob_id(data)
    return Source("example.org/widgets.yaml", "example/widgets", "crds/w.yaml", "0" * 40, blob)


def test_the_committed_copy_is_what_the_script_derives() -> None:
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_every_listed_upstream_file_is_derived_and_names_its_origin() -> None:
    sources = load_sources()
    assert len({s.file for s in sources}) == len(sources)
    for source in sources:
        assert SHA.fullmatch(source.commit) and SHA.fullmatch(source.blob), source.file
        head = (DERIVED / source.file).read_text().splitlines()[:2]
        assert f"from {source.repo} {source.path}" in head[0]
        assert f"commit {source.commit} (git blob {source.blob})" in head[1]


def test_the_manifest_tests_validate_every_kind_the_platform_uses() -> None:
    kinds = set(load_schemas(DERIVED))
    assert {
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("postgresql.cnpg.io/v1", "ScheduledBackup"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("jetstream.nats.io/v1beta2", "Stream"),
        ("external-secrets.io/v1", "ExternalSecret"),
        ("argoproj.io/v1alpha1", "ApplicationSet"),
        ("apiextensions.crossplane.io/v2", "CompositeResourceDefinition"),
        ("pkg.crossplane.io/v1", "Function"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("dragonflydb.io/v1alpha1", "Dragonfly"),
    } <= kinds
    # Versions the API server no longer serves are left out, so a manifest using one fails.
    assert ("external-secrets.io/v1beta1", "ExternalSecret") not in kinds


def test_derivation_keeps_served_schemas_without_their_prose() -> None:
    data = UPSTREAM_CRD.encode()
    derived = yaml.safe_load(derive(widget_source(data), UPSTREAM_CRD).split("\n", 3)[3])

    assert derived["metadata"] == {"name": "widgets.example.org"}
    assert derived["spec"]["names"]["kind"] == "Widget"
    assert derived["spec"]["versions"] == [
        {
            "name": "v1",
            "served": True,
            "storage": True,
            "schema": {
                "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "description": {"type": "string"},
                                "size": {"type": "integer", "minimum": 1},
                            },
                        }
                    },
                }
            },
        }
    ]


def test_stripping_reaches_every_kind_of_subschema() -> None:
    leaf = {"description": "x", "type": "string"}
    schema = {
        "description": "root",
        "items": leaf,
        "additionalProperties": leaf,
        "not": leaf,
        "anyOf": [leaf],
        "allOf": [leaf],
        "oneOf": [leaf],
        "properties": {"a": leaf},
        "patternProperties": {"^a": leaf},
        "default": {"description": "a default value is data, not prose"},
    }
    stripped = strip_schema(schema)
    default = stripped.pop("default")
    assert "description" not in yaml.safe_dump(stripped)
    assert default == {"description": "a default value is data, not prose"}


def _copy_of_the_derived_folder(tmp_path: Path) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(DERIVED.parent, copy)
    return copy


def test_a_hand_edited_copy_fails_the_check(tmp_path: Path) -> None:
    copy = _copy_of_the_derived_folder(tmp_path)
    target = copy / "crds" / load_sources()[0].file
    target.write_text(target.read_text().replace("served: true", "served: true\n  # edited", 1))

    result = run("--check", "--schemas", str(copy))

    assert result.returncode == 1
    assert f"{load_sources()[0].file}: differs" in result.stderr


def test_an_unlisted_or_missing_file_fails_the_check(tmp_path: Path) -> None:
    copy = _copy_of_the_derived_folder(tmp_path)
    (copy / "crds" / "example.org").mkdir()
    (copy / "crds" / "example.org" / "widgets.yaml").write_text(UPSTREAM_CRD)
    assert "example.org/widgets.yaml: not listed" in run("--check", "--schemas", str(copy)).stderr

    (copy / "crds" / load_sources()[-1].file).unlink()
    result = run("--check", "--schemas", str(copy))
    assert result.returncode == 2
    assert "missing" in result.stderr


def test_upstream_bytes_other_than_the_recorded_blob_are_refused(tmp_path: Path) -> None:
    copy = _copy_of_the_derived_folder(tmp_path)
    upstream = tmp_path / "upstream"
    for source in load_sources(copy / "sources.yaml"):
        (upstream / source.file).parent.mkdir(parents=True, exist_ok=True)
        (upstream / source.file).write_text(UPSTREAM_CRD)

    result = run("--upstream", str(upstream), "--schemas", str(copy))

    assert result.returncode == 2
    assert "update sources.yaml" in result.stderr
    assert run("--check", "--schemas", str(copy)).returncode == 0  # nothing was written


def test_derivation_from_upstream_writes_the_listed_files(tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    copy.mkdir()
    upstream = tmp_path / "upstream" / "example.org"
    upstream.mkdir(parents=True)
    (upstream / "widgets.yaml").write_text(UPSTREAM_CRD)
    source = widget_source(UPSTREAM_CRD.encode())
    (copy / "sources.yaml").write_text(
        yaml.safe_dump({"files": [source.__dict__]}, sort_keys=False)
    )

    assert run("--upstream", str(tmp_path / "upstream"), "--schemas", str(copy)).returncode == 0

    assert set(load_schemas(copy / "crds")) == {("example.org/v1", "Widget")}
    again = run("--check", "--upstream", str(tmp_path / "upstream"), "--schemas", str(copy))
    assert again.returncode == 0, again.stderr


def test_no_test_in_the_suite_is_skipped() -> None:
    # Everything a test needs is in the repository or installed by `make test` (DESIGN 8).
    skipping = re.compile(r"pytest\.(skip|importorskip)\(|mark\.skip(if)?\b|unittest\.skip")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if skipping.search(line)
    ]
    assert offenders == []
