"""A claim's executor as the function renders it, run on this machine.

`render_claims` renders claims with the repository's function (the engine behind
`agentplane render`). `container_env` resolves a rendered container's environment the way
the kubelet does (`value`, `secretKeyRef`, `envFrom`, the pod's name and namespace) from
stand-in Secrets, and
`on_this_machine` then changes only what the cluster network provides, in one mapping.
`run_init_containers` runs the Deployment's init containers (the migrations) with their
own resolved environment, before any worker starts.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import nats as nats_contract
from functions.render.claims import find_claims
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
from functions.render.engine import Engine
from functions.render.yaml_io import load_stream
from testbed.nack import SecretLookup

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = "agent-executor"
# The image's WORKDIR (workers/agent_executor/Dockerfile): the repository's files are there.
IMAGE_ROOT = "/app"


class DeploymentError(ValueError):
    """A rendered Deployment this machine cannot run as rendered; says what and why."""


@dataclass(frozen=True)
class Executor:
    """One claim's rendered resources (an AgentExecutor's, or a database's or cache's: see
    testbed/stores.py)."""

    claim: dict[str, Any]
    resources: list[dict[str, Any]]

    @property
    def namespace(self) -> str:
        return str(self.claim["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.claim["metadata"]["name"])

    def one(self, kind: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources if r.get("kind") == kind]
        return found

    @property
    def deployment(self) -> dict[str, Any]:
        return self.one("Deployment")

    @property
    def pod_spec(self) -> dict[str, Any]:
        return dict(self.deployment["spec"]["template"]["spec"])

    def container(self, name: str = CONTAINER) -> dict[str, Any]:
        (found,) = [c for c in self.pod_spec["containers"] if c["name"] == name]
        return dict(found)

    @property
    def nack_objects(self) -> list[dict[str, Any]]:
        """The NACK Streams and Consumers the function composed (spec.nats.manageStream)."""
        return [
            r
            for r in self.resources
            if str(r.get("apiVersion", "")).startswith("jetstream.nats.io/")
        ]


def claim_paths(root: Path = ROOT) -> list[Path]:
    """The example claims: claims/<namespace>/agent-executor.yaml."""
    return sorted((root / "claims").glob("*/agent-executor.yaml"))


def as_stored(claim: Mapping[str, Any], uid: str) -> dict[str, Any]:
    """The claim as the API server stores it: with the `metadata.uid` it assigns. The function
    then composes as at a reconcile (a database's password is generated, not render's
    placeholder)."""
    return {**claim, "metadata": {**claim["metadata"], "uid": uid}}


def render_claims(paths: Iterable[Path], root: Path = ROOT) -> list[Executor]:
    """Compose every claim in `paths` (any of the platform's kinds) with the repository's
    function, as Crossplane would on the claim's first reconcile."""
    compositions = [d for path in DEFAULT_COMPOSITIONS for d in load_stream(path)]
    functions = load_stream(DEFAULT_FUNCTIONS)
    with Engine(root, compositions, functions) as engine:
        return [
            Executor(
                claim.document,
                engine.render(as_stored(claim.document, str(uuid.uuid4()))).resources,
            )
            for claim in find_claims(list(paths))
        ]


def secret_references(container: Mapping[str, Any]) -> set[str]:
    """Names of the Secrets a container reads (`secretKeyRef` and `envFrom`)."""
    names = {
        item["valueFrom"]["secretKeyRef"]["name"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    names |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
    return names


# The downward API's fields a worker reads (contract/env.py FROM_POD); any other is refused.
POD_NAME_FIELD = "metadata.name"
POD_NAMESPACE_FIELD = "metadata.namespace"


def pod_name_variables(container: Mapping[str, Any]) -> list[str]:
    """The variables the kubelet fills with the pod's own name (`fieldRef metadata.name`)."""
    return [
        item["name"]
        for item in container.get("env", [])
        if item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == POD_NAME_FIELD
    ]


def container_env(
    container: Mapping[str, Any],
    namespace: str,
    secrets: SecretLookup,
    pod_name: str | None = None,
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: `envFrom`, then `env` in order.

    A missing Secret or key fails unless the reference is `optional`, which leaves the
    variable out. The pod's name (`pod_name`, required when asked for) and namespace are the
    only field references; `$(VAR)` expansion, ConfigMaps and other fields are refused, not
    approximated: the platform's Deployments use none of them.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if set(source) != {"secretRef"}:
            raise DeploymentError(f"envFrom {source} is not a secretRef")
        data = secrets(namespace, source["secretRef"]["name"])
        if data is None and not source["secretRef"].get("optional"):
            raise DeploymentError(f"envFrom: Secret {source['secretRef']['name']} does not exist")
        env.update(data or {})
    for item in container.get("env", []):
        name = item["name"]
        if "valueFrom" not in item:
            value = str(item.get("value", ""))
            if "$(" in value:
                raise DeploymentError(f"env {name}: $(VAR) expansion is not supported")
            env[name] = value
            continue
        field_ref = item["valueFrom"].get("fieldRef")
        if field_ref is not None:
            env[name] = _pod_field(name, field_ref.get("fieldPath"), namespace, pod_name)
            continue
        ref = item["valueFrom"].get("secretKeyRef")
        if ref is None:
            raise DeploymentError(f"env {name}: only secretKeyRef and the pod's name are supported")
        data = secrets(namespace, ref["name"])
        if data is not None and ref["key"] in data:
            env[name] = data[ref["key"]]
        elif not ref.get("optional"):
            problem = "does not exist" if data is None else f"has no key {ref['key']}"
            raise DeploymentError(f"env {name}: Secret {namespace}/{ref['name']} {problem}")
    return env


def _pod_field(name: str, path: str | None, namespace: str, pod_name: str | None) -> str:
    if path == POD_NAMESPACE_FIELD:
        return namespace
    if path == POD_NAME_FIELD:
        if pod_name is None:
            raise DeploymentError(f"env {name}: the pod's name is asked for; give pod_name")
        return pod_name
    raise DeploymentError(f"env {name}: fieldRef {path} is not supported")


def on_this_machine(
    env: Mapping[str, str], *, nats_urls: Iterable[str], openai_base_url: str, home: Path
) -> dict[str, str]:
    """The rendered environment with what the cluster provides replaced by what this machine
    provides. The ONLY changes the system tests make to a worker's environment."""
    if env.get("NATS_URL") != nats_contract.DEFAULT_URL:
        raise DeploymentError(
            f"NATS_URL is {env.get('NATS_URL')!r}, not the platform's Service "
            f"{nats_contract.DEFAULT_URL}: nothing here stands in for it"
        )
    if "OPENAI_BASE_URL" in env:
        raise DeploymentError("the claim sets OPENAI_BASE_URL; the fake would replace it")
    return {
        # The image's ENV (workers/agent_executor/Dockerfile), with this machine's PATH and a
        # HOME of its own (the pod's is the /tmp emptyDir).
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(home),
        **env,
        # The Service nats.nats.svc resolves to the platform's NATS; here its servers are on
        # loopback ports, every one listed as a client would be given a cluster's nodes.
        "NATS_URL": ",".join(nats_urls),
        # The pod's own address: loopback here. PORT stays as rendered only in the pod;
        # testbed.worker.Worker gives every process a free port.
        "HOST": "127.0.0.1",
        # api.openai.com (the SDK's default): the OpenAI-compatible fake.
        "OPENAI_BASE_URL": openai_base_url,
    }


def run_init_containers(
    executor: Executor, secrets: SecretLookup, timeout: float = 120
) -> list[subprocess.CompletedProcess[str]]:
    """Run the Deployment's init containers in order with their resolved environment."""
    done = []
    for container in executor.pod_spec.get("initContainers", []):
        command = list(container.get("command", []))
        if not command or not command[0].startswith(IMAGE_ROOT + "/"):
            raise DeploymentError(f"init container {container['name']}: command {command}")
        local = [str(ROOT / command[0].removeprefix(IMAGE_ROOT + "/")), *command[1:]]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **container_env(container, executor.namespace, secrets),
        }
        result = subprocess.run(
            ["bash", *local], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise DeploymentError(
                f"init container {container['name']} exited {result.returncode}: {result.stderr}"
            )
        done.append(result)
    return done
