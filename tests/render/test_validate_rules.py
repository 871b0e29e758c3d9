"""`agentplane validate` gives the API server's verdict on every object a tenant commits.

Each case writes one file into a tenant layout (`claims/<namespace>/...`) and names the one
finding validation must print for it; the valid cases must print none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.render.cli import DEFAULT_XRDS
from functions.render.findings import Severity
from functions.render.platform_data import crd_dir
from functions.render.validate import Report, validate_paths
from functions.render.yaml_io import load_stream

NS = "intelligence-newcomer"
EXECUTOR = f"""\
apiVersion: platform.bizmatters.io/v1alpha1
kind: AgentExecutor
metadata:
  name: newcomer
  namespace: {NS}
spec:
  image: ghcr.io/bizmatters/newcomer:1.0.0
"""
NAMESPACE = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
  labels:
    layer: intelligence
    category: newcomer
"""
EXTERNAL_SECRET = f"""\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: llm-keys
  namespace: {NS}
spec:
  secretStoreRef:
    kind: ClusterSecretStore
    name: aws-parameter-store
  target:
    name: llm-keys
  data:
    - secretKey: OPENAI_API_KEY
      remoteRef:
        key: /bizmatters/newcomer/openai-api-key
"""
SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: settings
  namespace: {NS}
type: Opaque
"""


def validate(tmp_path: Path, relative: str, text: str, folder: str = NS) -> Report:
    path = tmp_path / "claims" / folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    xrds = [d for p in DEFAULT_XRDS for d in load_stream(p)]
    return validate_paths([tmp_path / "claims"], xrds, crd_dir())


def lines(report: Report, tmp_path: Path, folder: str = NS) -> list[str]:
    return [str(f).removeprefix(f"{tmp_path}/claims/{folder}/") for f in report.findings]


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("agent-executor.yaml", EXECUTOR),
        ("namespace.yaml", NAMESPACE),
        ("external-secrets/llm-keys.yaml", EXTERNAL_SECRET),
        ("secret.yaml", SECRET),
        # Kinds validate holds no schema for are left to the API server.
        (
            "configmap.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {NS}}}\n",
        ),
    ],
    ids=["executor", "namespace", "external-secret", "secret-without-values", "configmap"],
)
def test_what_the_api_server_accepts_passes(tmp_path: Path, relative: str, text: str) -> None:
    assert lines(validate(tmp_path, relative, text), tmp_path) == []


ERRORS = [
    pytest.param(
        EXECUTOR.replace("kind: AgentExecutor", "kind: AgentExecuter"),
        "kind: unknown kind 'AgentExecuter' in platform.bizmatters.io; did you mean AgentExecutor?",
        NS,
        id="misspelt-kind",
    ),
    pytest.param(
        EXECUTOR.replace("kind: AgentExecutor", "kind: agentexecutor"),
        "kind: unknown kind 'agentexecutor' in platform.bizmatters.io; did you mean AgentExecutor?",
        NS,
        id="kind-in-lower-case",
    ),
    pytest.param(
        EXECUTOR.replace("kind: AgentExecutor", "kind: WebService"),
        "kind: unknown kind 'WebService' in platform.bizmatters.io; it serves AgentExecutor, "
        "DragonflyInstance, PostgresInstance",
        NS,
        id="unknown-kind",
    ),
    pytest.param(
        EXECUTOR.replace("platform.bizmatters.io", "platform.bizmaters.io"),
        "apiVersion: unknown API group 'platform.bizmaters.io'; "
        "did you mean platform.bizmatters.io/v1alpha1?",
        NS,
        id="misspelt-group",
    ),
    pytest.param(
        EXECUTOR.replace("v1alpha1", "v1alpha2"),
        "apiVersion: platform.bizmatters.io/v1alpha2 AgentExecutor is not served; "
        "the platform serves platform.bizmatters.io/v1alpha1",
        NS,
        id="unserved-version",
    ),
    pytest.param(
        EXECUTOR.replace("kind: AgentExecutor", "kind: EventDrivenService"),
        "kind: EventDrivenService is zerotouch-platform's kind, which this platform does not "
        "serve; its successor is AgentExecutor: convert the file with `agentplane migrate FILE`",
        NS,
        id="zerotouch-event-driven-service",
    ),
    pytest.param(
        EXTERNAL_SECRET.replace("external-secrets.io/v1", "external-secrets.io/v1beta1"),
        "apiVersion: external-secrets.io/v1beta1 ExternalSecret is not served; "
        "the platform serves external-secrets.io/v1",
        NS,
        id="external-secret-v1beta1",
    ),
    pytest.param(
        EXTERNAL_SECRET.replace("secretStoreRef", "secretStorRef"),
        "spec.secretStorRef: unknown field",
        NS,
        id="external-secret-misspelt-field",
    ),
    pytest.param(
        EXTERNAL_SECRET.replace("kind: ClusterSecretStore", "kind: ClusterStore"),
        "spec.secretStoreRef.kind: 'ClusterStore' is not one of ['SecretStore', "
        "'ClusterSecretStore']",
        NS,
        id="external-secret-store-kind",
    ),
    pytest.param(
        NAMESPACE.replace(f"name: {NS}", "name: research_newcomer").replace(
            "layer: intelligence", "layer: research"
        ),
        "metadata.name: a Namespace name must be a DNS-1123 label: at most 63 lower-case "
        "letters, digits and '-', starting and ending with a letter or digit "
        "(got 'research_newcomer')",
        "research_newcomer",
        id="namespace-name-not-a-label",
    ),
    pytest.param(
        NAMESPACE.replace("category: newcomer", "category: newcomers"),
        "metadata.labels: layer 'intelligence' and category 'newcomers' name the namespace "
        "'intelligence-newcomers', but it is named 'intelligence-newcomer'",
        NS,
        id="namespace-labels-disagree-with-name",
    ),
    pytest.param(
        NAMESPACE.replace("    category: newcomer\n", ""),
        "metadata.labels.category: is required: tenant namespaces are named "
        "{layer}-{category} and carry both as labels",
        NS,
        id="namespace-without-category",
    ),
    pytest.param(
        EXECUTOR.replace(f"namespace: {NS}", "namespace: intelligence-deepagents"),
        "metadata.namespace: 'intelligence-deepagents' differs from its folder "
        f"claims/{NS}/: every object there belongs to namespace '{NS}'",
        NS,
        id="claim-outside-its-folder-namespace",
    ),
    pytest.param(
        EXTERNAL_SECRET.replace(f"namespace: {NS}", "namespace: default"),
        f"metadata.namespace: 'default' differs from its folder claims/{NS}/: every object "
        f"there belongs to namespace '{NS}'",
        NS,
        id="add-on-outside-its-folder-namespace",
    ),
    pytest.param(
        SECRET.replace("type: Opaque", "immutable: yes please"),
        "immutable: 'yes please' is not of type 'boolean'",
        NS,
        id="secret-field-type",
    ),
    pytest.param(
        SECRET.replace("type: Opaque", "tpye: Opaque"),
        "tpye: unknown field",
        NS,
        id="secret-misspelt-field",
    ),
    pytest.param(
        SECRET + "data:\n  token: not base64!\n",
        "data.token: Secret data values are base64 (use stringData for plain text) "
        "(got 'not base64!')",
        NS,
        id="secret-data-not-base64",
    ),
    pytest.param(
        SECRET.replace("name: settings", "name: Settings"),
        "metadata.name: a Secret name must be a DNS-1123 subdomain: at most 253 lower-case "
        "letters, digits and '-' or ., starting and ending with a letter or digit "
        "(got 'Settings')",
        NS,
        id="secret-name",
    ),
]


@pytest.mark.parametrize(("text", "finding", "folder"), ERRORS)
def test_what_the_api_server_refuses_is_one_error(
    tmp_path: Path, text: str, finding: str, folder: str
) -> None:
    report = validate(tmp_path, "object.yaml", text, folder)
    errors = Report(findings=report.errors)
    assert lines(errors, tmp_path, folder) == [f"object.yaml: {finding}"]
    assert not report.ok


WARNINGS = [
    pytest.param(
        EXECUTOR.replace(":1.0.0", ":latest"),
        "spec.image: 'ghcr.io/bizmatters/newcomer:latest' uses the mutable 'latest' tag",
        id="image-latest",
    ),
    pytest.param(
        EXECUTOR.replace(":1.0.0", ""),
        "spec.image: 'ghcr.io/bizmatters/newcomer' has no tag or digest",
        id="image-without-tag",
    ),
    pytest.param(
        SECRET + "stringData:\n  token: hunter2\n",
        "stringData: a Secret in git carries its values for anyone who can read the "
        "repository; create it with an ExternalSecret instead",
        id="secret-in-plain-text",
    ),
]


@pytest.mark.parametrize(("text", "warning"), WARNINGS)
def test_what_a_reviewer_should_question_is_a_warning(
    tmp_path: Path, text: str, warning: str
) -> None:
    report = validate(tmp_path, "object.yaml", text)
    assert [f.severity for f in report.findings] == [Severity.WARNING]
    assert lines(report, tmp_path)[0].startswith(f"object.yaml: warning: {warning}")
    assert report.ok


def test_findings_are_ordered_by_file_then_document_then_field(tmp_path: Path) -> None:
    second = EXECUTOR.replace("v1alpha1", "v1alpha2")
    first = EXECUTOR.replace(":1.0.0", ":latest").replace("namespace: " + NS, "namespace: other")
    validate(tmp_path, "b.yaml", NAMESPACE.replace("category: newcomer", "category: x"))
    report = validate(tmp_path, "a.yaml", f"{first}---\n{second}")
    assert [(f.path.name, f.document, f.field) for f in report.findings] == [
        ("a.yaml", 1, "metadata.namespace"),
        ("a.yaml", 1, "spec.image"),
        ("a.yaml", 2, "apiVersion"),
        ("b.yaml", 1, "metadata.labels"),
    ]


def test_the_example_claims_pass(root: Path) -> None:
    xrds = [d for p in DEFAULT_XRDS for d in load_stream(p)]
    report = validate_paths(
        [root / "claims", root / "functions/agent_executor/example/xr.yaml"], xrds, crd_dir()
    )
    assert report.findings == []
    assert report.claims == 7
