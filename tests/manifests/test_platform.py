"""The GitOps tree Argo CD installs: every document valid, every reference resolvable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from functions.agent_executor.spec import ApiSpec, NatsSpec
from functions.agent_executor.xrd import FUNCTION_NAME
from functions.render.claims import CLAIM_KINDS
from tests.conftest import ROOT
from tests.support.crd_schema import problems

TREES = ("platform", "apps", "claims")
KUBERNETES_VERSION = "1.33"
THIS_REPO = "https://github.com/bizmatters/agentplane.git"
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")


def is_data_file(path: Path) -> bool:
    """Helm values, the tenant registry and alert tests are data for tools, not manifests."""
    relative = path.relative_to(ROOT).as_posix()
    return (
        path.name == "values.yaml"
        or path.name.startswith("values-")
        or (relative.startswith("platform/tenants/registry/"))
        # promtool unit tests of the alerts, not applied (Argo CD does not recurse into it)
        or relative.startswith("platform/observability/tests/")
    )


YAML_FILES = sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.y*ml"))
MANIFEST_FILES = [p for p in YAML_FILES if not is_data_file(p)]


def ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def all_documents(tree: str) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (p, d) for p in MANIFEST_FILES if p.relative_to(ROOT).parts[0] == tree for d in documents(p)
    ]


def of_kind(kind: str, tree: str | None = None) -> list[dict[str, Any]]:
    trees = [tree] if tree else list(TREES)
    return [d for t in trees for _, d in all_documents(t) if d.get("kind") == kind]


def applications() -> list[dict[str, Any]]:
    return of_kind("Application", "apps")


@pytest.mark.parametrize("path", YAML_FILES, ids=ids(YAML_FILES))
def test_yaml_file_parses(path: Path) -> None:
    assert documents(path) or path.stat().st_size == 0


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=ids(MANIFEST_FILES))
def test_manifest_is_valid_against_its_schema(
    path: Path, crd_schemas: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for document in documents(path):
        assert {"apiVersion", "kind", "metadata"} <= set(document), f"{path}: not a manifest"
        key = (document["apiVersion"], document["kind"])
        if key in crd_schemas:
            assert problems(document, crd_schemas[key]) == [], f"{path}: {key}"
        elif key[0] == "platform.bizmatters.io/v1alpha1" and key[1] in CLAIM_KINDS:
            continue  # checked by `agentplane validate` in tests/cli
        else:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_platform_component_has_a_readme() -> None:
    for folder in sorted(p for p in (ROOT / "platform").iterdir() if p.is_dir()):
        if folder.name != "apis":
            assert (folder / "README.md").is_file(), f"{folder} has no README.md"


def _sources(app: dict[str, Any]) -> list[dict[str, Any]]:
    spec = app["spec"]
    return list(spec.get("sources") or [spec["source"]])


def test_every_application_path_in_this_repo_exists() -> None:
    for app in applications():
        for source in _sources(app):
            if source.get("repoURL") == THIS_REPO and "path" in source:
                path = ROOT / source["path"]
                assert path.is_dir(), f"{app['metadata']['name']}: {source['path']} does not exist"
                include = (source.get("directory") or {}).get("include")
                if include:
                    names = include.strip("{}").split(",")
                    for name in names:
                        assert (path / name).is_file(), f"{app['metadata']['name']}: {path / name}"


def test_every_chart_is_pinned_to_an_exact_version() -> None:
    charts = [(a, s) for a in applications() for s in _sources(a) if "chart" in s]
    assert charts, "no Helm chart Applications found"
    for app, source in charts:
        version = str(source.get("targetRevision", ""))
        assert EXACT_VERSION.match(version), (
            f"{app['metadata']['name']}: chart {source['chart']} {version!r}"
        )


def test_every_values_file_an_application_names_exists() -> None:
    for app in applications():
        for source in _sources(app):
            for value_file in (source.get("helm") or {}).get("valueFiles", []):
                assert value_file.startswith("$values/"), value_file
                assert (ROOT / value_file.removeprefix("$values/")).is_file(), value_file


def test_every_application_uses_a_defined_project() -> None:
    projects = {p["metadata"]["name"] for p in of_kind("AppProject")}
    for app in applications():
        assert app["spec"]["project"] in projects, app["metadata"]["name"]


def _wave(name: str) -> int:
    app = next(a for a in applications() if a["metadata"]["name"] == name)
    return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("nack", "tenants"),
        ("nats", "nack"),
        ("crossplane", "crossplane-functions"),
        ("crossplane-functions", "platform-apis"),
        ("external-secrets", "external-secrets-config"),
        ("external-secrets-config", "nats"),
        ("keda", "tenants"),
        ("platform-apis", "tenants"),
        ("observability", "tenants"),
        ("cloudnative-pg", "tenants"),
        ("dragonfly-operator", "tenants"),
        ("cloudnative-pg", "platform-apis"),
        ("dragonfly-operator", "platform-apis"),
    ],
)
def test_sync_waves_put_operators_and_crds_before_their_users(first: str, then: str) -> None:
    assert _wave(first) < _wave(then)


def test_every_composition_calls_the_function_the_platform_installs() -> None:
    functions = of_kind("Function", "platform")
    installed = {f["metadata"]["name"]: f["spec"]["package"] for f in functions}
    compositions = of_kind("Composition", "platform")
    assert sorted(c["spec"]["compositeTypeRef"]["kind"] for c in compositions) == sorted(
        CLAIM_KINDS
    )
    for composition in compositions:
        for step in composition["spec"]["pipeline"]:
            assert step["functionRef"]["name"] == FUNCTION_NAME
            assert step["functionRef"]["name"] in installed
    packages = {f["spec"]["package"] for f in functions if f["metadata"]["name"] == FUNCTION_NAME}
    assert len(packages) == 1, f"the Function is pinned to different packages: {packages}"


def test_crossplane_may_manage_every_kind_the_function_composes() -> None:
    roles = [
        r
        for r in of_kind("ClusterRole", "platform")
        if (r["metadata"].get("labels") or {}).get("rbac.crossplane.io/aggregate-to-crossplane")
        == "true"
    ]
    granted = {
        (group, resource)
        for role in roles
        for rule in role["rules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
    }
    for needed in [
        ("keda.sh", "scaledobjects"),
        ("policy", "poddisruptionbudgets"),
        ("networking.k8s.io", "networkpolicies"),
        ("monitoring.coreos.com", "servicemonitors"),
        ("jetstream.nats.io", "streams"),
        ("jetstream.nats.io", "consumers"),
        ("batch", "cronjobs"),
        ("postgresql.cnpg.io", "clusters"),
        ("postgresql.cnpg.io", "scheduledbackups"),
        ("dragonflydb.io", "dragonflies"),
        ("", "secrets"),
    ]:
        assert needed in granted, needed


def test_every_platform_application_may_use_its_sources_and_destination() -> None:
    (project,) = [p for p in of_kind("AppProject", "apps") if p["metadata"]["name"] == "platform"]
    repos = set(project["spec"]["sourceRepos"])
    namespaces = {d["namespace"] for d in project["spec"]["destinations"]}
    for app in applications():
        name = app["metadata"]["name"]
        for source in _sources(app):
            assert source["repoURL"] in repos, f"{name}: {source['repoURL']} is not allowed"
        assert app["spec"]["destination"]["namespace"] in namespaces, name


def test_the_database_operators_are_pinned_helm_charts_with_their_crds() -> None:
    charts = {a["metadata"]["name"]: s for a in applications() for s in _sources(a) if "chart" in s}
    assert charts["cloudnative-pg"]["chart"] == "cloudnative-pg"
    assert charts["cloudnative-pg"]["repoURL"] == "https://cloudnative-pg.github.io/charts"
    assert charts["dragonfly-operator"]["repoURL"] == "ghcr.io/dragonflydb/dragonfly-operator/helm"
    cnpg = yaml.safe_load((ROOT / "platform/cloudnative-pg/values.yaml").read_text())
    dragonfly = yaml.safe_load((ROOT / "platform/dragonfly-operator/values.yaml").read_text())
    assert cnpg["crds"]["create"] is True
    assert dragonfly["crds"] == {"install": True, "keep": True}
    # The server version every DragonflyInstance runs is pinned, not left to the operator.
    assert re.fullmatch(r"\S+/dragonfly:v\d+\.\d+\.\d+", dragonfly["dragonflyImage"])


def test_the_platform_apis_application_applies_every_xrd_and_composition() -> None:
    (app,) = [a for a in applications() if a["metadata"]["name"] == "platform-apis"]
    paths = sorted(s["path"] for s in _sources(app))
    assert paths == sorted(
        f"platform/apis/{p.name}" for p in (ROOT / "platform/apis").iterdir() if p.is_dir()
    )


def _nack(kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for document in of_kind(kind, "platform"):
        key = document["spec"]["name"] if kind == "Stream" else document["spec"]["durableName"]
        found[key] = document["spec"]
    return found


def test_streams_and_consumer_agree_with_the_api_defaults() -> None:
    streams, consumers = _nack("Stream"), _nack("Consumer")
    defaults = NatsSpec()
    assert streams[defaults.stream]["subjects"] == list(defaults.subjects)
    assert streams[defaults.stream]["retention"] == "workqueue"
    assert streams["AGENT_STATUS"]["subjects"] == ["agent.status.*"]
    assert streams["AGENT_DLQ"]["subjects"] == ["agent.dlq.*"]
    assert consumers[defaults.consumer]["streamName"] == defaults.stream


def test_nack_resources_set_every_safety_field() -> None:
    for name, stream in _nack("Stream").items():
        for field in (
            "storage",
            "replicas",
            "retention",
            "discard",
            "maxAge",
            "maxBytes",
            "duplicateWindow",
        ):
            assert field in stream, f"stream {name} leaves {field} to NACK's default"
        assert stream["storage"] == "file", name
    for name, consumer in _nack("Consumer").items():
        for field in ("ackPolicy", "ackWait", "maxDeliver", "maxAckPending", "deliverPolicy"):
            assert field in consumer, f"consumer {name} leaves {field} to NACK's default"
        assert consumer["ackPolicy"] == "explicit", name


def test_keda_trigger_defaults_point_at_the_nats_headless_monitoring_port() -> None:
    values = yaml.safe_load((ROOT / "platform/nats/values.yaml").read_text())
    assert NatsSpec().monitoring_endpoint.startswith("nats-headless.nats.svc")
    assert "8222" in yaml.safe_dump(values) or "monitor" in yaml.safe_dump(values)


def test_the_default_monitoring_namespace_is_where_the_platform_puts_its_prometheus_rules() -> None:
    # Every executor's NetworkPolicy admits this namespace to /metrics by default.
    observability = next(a for a in applications() if a["metadata"]["name"] == "observability")
    rules = of_kind("PrometheusRule", "platform")

    assert ApiSpec().monitoring_namespace == observability["spec"]["destination"]["namespace"]
    assert {r["metadata"]["namespace"] for r in rules} == {ApiSpec().monitoring_namespace}


# --- the tenant ApplicationSet, rendered as Argo CD would -------------------------------------

_TEMPLATE_REF = re.compile(r"\{\{\s*\.([A-Za-z0-9_.]+)\s*\}\}")


class MissingKeyError(KeyError):
    """A template referenced a key the registry entry lacks (missingkey=error)."""


def go_template(value: Any, params: dict[str, Any]) -> Any:
    """Render `{{.a.b}}` references in every string of `value`; a missing key raises."""
    if isinstance(value, dict):
        return {go_template(k, params): go_template(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [go_template(v, params) for v in value]
    if not isinstance(value, str):
        return value
    if "{{" in _TEMPLATE_REF.sub("", value):
        raise AssertionError(f"template uses more than simple field references: {value!r}")

    def lookup(match: re.Match[str]) -> str:
        current: Any = params
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                raise MissingKeyError(match.group(1))
            current = current[part]
        return str(current)

    return _TEMPLATE_REF.sub(lookup, value)


def application_set() -> dict[str, Any]:
    sets = of_kind("ApplicationSet", "platform")
    assert len(sets) == 1
    return sets[0]


def generate(appset: dict[str, Any], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Applications a git files generator yields for these registry entries."""
    return [go_template(appset["spec"]["template"], entry) for entry in entries]


def registry() -> list[dict[str, Any]]:
    return [
        yaml.safe_load(p.read_text())
        for p in sorted((ROOT / "platform/tenants/registry").glob("*.yaml"))
    ]


def test_application_set_uses_the_git_files_generator_with_strict_templates() -> None:
    spec = application_set()["spec"]
    files = spec["generators"][0]["git"]["files"]
    assert [f["path"] for f in files] == ["platform/tenants/registry/*.yaml"]
    assert spec["goTemplate"] is True
    assert "missingkey=error" in spec["goTemplateOptions"]


def test_application_set_is_deletion_safe() -> None:
    spec = application_set()["spec"]
    assert spec["syncPolicy"]["preserveResourcesOnDeletion"] is True
    assert spec["syncPolicy"]["applicationsSync"] == "create-update"
    automated = spec["template"]["spec"]["syncPolicy"]["automated"]
    assert automated.get("prune") is False


def test_registry_yields_one_application_per_tenant_in_its_own_namespace() -> None:
    apps = generate(application_set(), registry())
    assert sorted(a["metadata"]["name"] for a in apps) == [
        "tenant-intelligence-analytics",
        "tenant-intelligence-deepagents",
    ]
    for app in apps:
        namespace = app["spec"]["destination"]["namespace"]
        assert app["metadata"]["name"] == f"tenant-{namespace}"
        assert app["spec"]["project"] == f"tenant-{namespace}"
        tenant_folder, generated = app["spec"]["sources"]
        assert tenant_folder["path"] == f"claims/{namespace}"
        assert generated["path"] == f"platform/tenants/generated/{namespace}"
        assert (ROOT / generated["path"]).is_dir()
        assert namespace != "default"


def test_a_registry_entry_missing_a_field_is_an_error_not_an_empty_string() -> None:
    entry = dict(registry()[0])
    del entry["category"]
    with pytest.raises(MissingKeyError):
        generate(application_set(), [entry])


def test_every_generated_application_has_a_project_restricted_to_its_namespace() -> None:
    projects = {p["metadata"]["name"]: p["spec"] for p in of_kind("AppProject", "platform")}
    for app in generate(application_set(), registry()):
        project = projects[app["spec"]["project"]]
        namespaces = {d["namespace"] for d in project["destinations"]}
        assert namespaces == {app["spec"]["destination"]["namespace"]}
        for source in app["spec"]["sources"]:
            assert source["repoURL"] in project["sourceRepos"]
        assert "*" not in project["sourceRepos"]


def test_tenant_namespaces_follow_layer_dash_category_with_labels() -> None:
    for namespace in of_kind("Namespace", "claims"):
        labels = namespace["metadata"]["labels"]
        assert namespace["metadata"]["name"] == f"{labels['layer']}-{labels['category']}"


def test_every_alert_has_a_runbook_section_in_operations_md() -> None:
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in (ROOT / "docs/operations.md").read_text().splitlines()
        if line.startswith("### ")
    }
    rules = of_kind("PrometheusRule", "platform")
    alerts = [
        r for rule in rules for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r
    ]
    assert alerts
    for alert in alerts:
        anchor = alert["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == alert["alert"].lower()
        assert anchor in headings, f"docs/operations.md has no section for {alert['alert']}"


def test_streams_and_consumer_agree_with_the_worker_defaults() -> None:
    from workers.agent_executor.settings import Settings

    defaults = Settings(DATABASE_URL="postgresql://x", REDIS_URL="redis://x")
    streams, consumers = _nack("Stream"), _nack("Consumer")
    assert defaults.NATS_STREAM_NAME in streams
    assert consumers[defaults.NATS_CONSUMER_GROUP]["streamName"] == defaults.NATS_STREAM_NAME
    assert consumers[defaults.NATS_CONSUMER_GROUP]["maxDeliver"] == defaults.NATS_MAX_DELIVER
    assert defaults.NATS_URL == "nats://nats.nats.svc:4222"


def test_the_secret_store_reads_with_the_controllers_own_identity() -> None:
    # No `auth` block: the credentials come from the role bound to the controller's
    # ServiceAccount where the cluster is provisioned, never from this repository.
    (store,) = of_kind("ClusterSecretStore", "platform")
    assert "auth" not in store["spec"]["provider"]["aws"]


def test_no_aws_account_id_or_role_arn_is_committed() -> None:
    account_arn = re.compile(r"arn:aws:[a-z0-9-]*:[a-z0-9-]*:\d{12}:")
    found = [
        p.relative_to(ROOT).as_posix()
        for tree in (*TREES, "docs")
        for p in (ROOT / tree).rglob("*")
        if p.is_file() and account_arn.search(p.read_text(errors="replace"))
    ]
    assert found == []


def _store_admits(store: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    """ESO's rule: the store serves a namespace that matches any one of its conditions."""
    for condition in store["spec"].get("conditions", []):
        expressions = condition.get("namespaceSelector", {}).get("matchExpressions", [])
        if expressions and all(
            e["operator"] == "Exists" and e["key"] in labels for e in expressions
        ):
            return True
        if any(re.fullmatch(r, namespace) for r in condition.get("namespaceRegexes", [])):
            return True
    return False


def test_every_external_secret_is_in_a_namespace_its_store_serves() -> None:
    (store,) = of_kind("ClusterSecretStore", "platform")
    labels = {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in of_kind("Namespace")}
    secrets = [*of_kind("ExternalSecret", "platform"), *of_kind("ExternalSecret", "claims")]
    assert secrets
    for secret in secrets:
        namespace = secret["metadata"]["namespace"]
        assert _store_admits(store, namespace, labels.get(namespace, {})), (
            f"ExternalSecret {namespace}/{secret['metadata']['name']}: the store refuses it"
        )
