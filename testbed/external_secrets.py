"""External Secrets, done locally: a stand-in Parameter Store and the Secrets that
`ExternalSecret` manifests make from it.

The platform's credentials travel Parameter Store → ExternalSecret → Secret → environment.
The system tests keep that path: passwords are generated into a `ParameterStore` under the
parameter names the committed ExternalSecrets reference, and every Secret a server or worker
reads is made by resolving those ExternalSecrets (`resolve`), template and all. A parameter
an ExternalSecret names but nobody stored fails, as the real sync would.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.render.yaml_io import load_stream

API_VERSION = "external-secrets.io/v1"
# Passwords are written into nats.conf through `$VARIABLE`s, which the server parses as
# tokens: a value starting with a digit would read as a number and punctuation may end the
# token. Letters and digits, a letter first, mean the same thing everywhere they land.
_ALPHABET = string.ascii_letters + string.digits
_PLACEHOLDER = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class ExternalSecretError(ValueError):
    """An ExternalSecret that cannot be resolved; the message names it and why."""


def random_password(length: int = 32) -> str:
    """Letters and digits, starting with a letter."""
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(_ALPHABET) for _ in range(length - 1)
    )


@dataclass
class ParameterStore:
    """Parameter Store (SecureString parameters by key), in memory."""

    values: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: str | None = None) -> str:
        """Store `value` (a fresh random password when None) under `key`; return it."""
        self.values[key] = random_password() if value is None else value
        return self.values[key]

    def get(self, key: str) -> str:
        if key not in self.values:
            raise ExternalSecretError(f"parameter {key} does not exist in Parameter Store")
        return self.values[key]


@dataclass
class SecretStore:
    """The Secrets of every namespace: (namespace, name) → data (decoded)."""

    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def put(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.secrets[(namespace, name)] = dict(data)

    def get(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, or None when it does not exist (a `SecretLookup`)."""
        found = self.secrets.get((namespace, name))
        return dict(found) if found is not None else None


def external_secrets(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every ExternalSecret in the given YAML files."""
    return [
        document
        for path in paths
        for document in load_stream(path)
        if document.get("kind") == "ExternalSecret" and document.get("apiVersion") == API_VERSION
    ]


def _render(template: str, values: Mapping[str, str], where: str) -> str:
    # Template engine v2 is Go text/template; the platform's credential templates only
    # substitute keys. Anything else (functions, pipes) is refused rather than misrendered.
    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ExternalSecretError(f"{where}: the template reads .{match.group(1)}, not a key")
        return values[match.group(1)]

    rendered = _PLACEHOLDER.sub(substitute, template)
    if "{{" in rendered:
        raise ExternalSecretError(f"{where}: template {template!r} needs more than key lookups")
    return rendered


@dataclass(frozen=True)
class ResolvedSecret:
    """The Secret an ExternalSecret makes."""

    namespace: str
    name: str
    data: dict[str, str]


def resolve(document: Mapping[str, Any], store: ParameterStore) -> ResolvedSecret:
    """The Secret External Secrets would write for `document` from `store`."""
    meta, spec = document["metadata"], document["spec"]
    where = f"ExternalSecret {meta['namespace']}/{meta['name']}"
    unsupported = set(spec) - {"refreshInterval", "secretStoreRef", "target", "data"}
    if unsupported:
        raise ExternalSecretError(f"{where}: spec fields {sorted(unsupported)} are not supported")
    values: dict[str, str] = {}
    for item in spec.get("data", []):
        ref = item["remoteRef"]
        if set(ref) != {"key"}:
            raise ExternalSecretError(f"{where}: remoteRef {ref} needs more than a key")
        values[item["secretKey"]] = store.get(ref["key"])
    target = spec.get("target", {})
    template = target.get("template")
    data = values
    if template is not None:
        if (
            template.get("engineVersion", "v2") != "v2"
            or template.get("type", "Opaque") != "Opaque"
        ):
            raise ExternalSecretError(f"{where}: only engineVersion v2 Opaque templates")
        rendered = {k: _render(v, values, where) for k, v in template.get("data", {}).items()}
        # ESO's default mergePolicy Replace: the Secret holds the template's keys only.
        data = {**values, **rendered} if template.get("mergePolicy") == "Merge" else rendered
    return ResolvedSecret(meta["namespace"], target.get("name", meta["name"]), data)
