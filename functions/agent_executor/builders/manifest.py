"""The envelope every composed manifest shares: apiVersion, kind and the standard metadata.

Builders write the plain wire form Crossplane takes (camelCase dicts) rather than typed
`kubernetes` models: building and dumping the models was a third of the time a never-seen XR
took to compose. Every manifest is still checked against the Kubernetes and CRD schemas, by
the builder tests (kubernetes-validate) rather than on the hot path.
"""

from __future__ import annotations

from typing import Any

from functions.agent_executor.names import Workload


def object_meta(
    workload: Workload, name: str | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """Metadata shared by every composed resource: name, namespace and labels."""
    return {
        "name": name or workload.name,
        "namespace": workload.namespace,
        "labels": workload.labels() if labels is None else labels,
    }


def manifest(
    api_version: str, kind: str, metadata: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A manifest: apiVersion, kind, metadata, then `fields` (spec, data, ...) as given."""
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def custom_resource(
    api_version: str, kind: str, workload: Workload, spec: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """A resource with a `spec` and the standard metadata of `workload`."""
    return manifest(api_version, kind, object_meta(workload, name), spec=spec)
