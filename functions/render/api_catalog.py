"""Which kinds and versions the platform serves, and what the API server says of any other.

The catalog is built from the platform's XRDs (every kind of its group: a kind or version it
does not list does not exist), the upstream CRDs of the add-ons a tenant commits
(ExternalSecret), and the core kinds `validate` checks. `type_problems` is the API server's
first question about a document: is its apiVersion and kind served at all? Typos get a
suggestion ("did you mean AgentExecutor?"); zerotouch-platform's `EventDrivenService` gets
the way to convert it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.render.findings import Finding

# zerotouch-platform's claim kind (and its composite): the predecessor of AgentExecutor.
ZEROTOUCH_KINDS = ("EventDrivenService", "XEventDrivenService")
# Core (group "") kinds whose schema `validate` knows (core_objects.py).
CORE_KINDS: dict[str, tuple[str, ...]] = {"Namespace": ("v1",), "Secret": ("v1",)}
# How alike a misspelt group must be to a known one to be called a typo of it: high, so that
# real neighbours (generators.external-secrets.io) are not.
GROUP_CUTOFF = 0.85
KIND_CUTOFF = 0.6


@dataclass(frozen=True)
class Catalog:
    """(group, kind) → the versions served; `complete` groups list every kind they have."""

    served: Mapping[tuple[str, str], tuple[str, ...]]
    complete: frozenset[str] = field(default_factory=frozenset)

    def groups(self) -> set[str]:
        """Every group the catalog knows a kind of."""
        return {group for group, _ in self.served}

    def kinds(self, group: str) -> list[str]:
        """The kinds known in `group`, sorted."""
        return sorted(kind for g, kind in self.served if g == group)


def split_api_version(api_version: str) -> tuple[str, str]:
    """`group/version` → (group, version); a core `v1` → ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


def catalog_from(
    xrds: Iterable[Mapping[str, Any]], crds: Iterable[Mapping[str, Any]] = ()
) -> Catalog:
    """The catalog of the platform's XRDs (complete groups), the given CRDs and core kinds."""
    served: dict[tuple[str, str], tuple[str, ...]] = {
        ("", kind): versions for kind, versions in CORE_KINDS.items()
    }
    complete: set[str] = set()
    for xrd in xrds:
        spec = xrd["spec"]
        complete.add(str(spec["group"]))
        served[(str(spec["group"]), str(spec["names"]["kind"]))] = _served(spec)
    for crd in crds:
        spec = crd["spec"]
        served[(str(spec["group"]), str(spec["names"]["kind"]))] = _served(spec)
    return Catalog(served, frozenset(complete))


def _served(spec: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(v["name"]) for v in spec.get("versions", []) if v.get("served", True))


def _closest(word: str, choices: Iterable[str], cutoff: float) -> str | None:
    options = list(choices)
    for option in options:
        if option.lower() == word.lower():
            return option
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return matches[0] if matches else None


def type_problems(api_version: Any, kind: Any, catalog: Catalog) -> list[tuple[str, str]]:
    """(field, reason) for an apiVersion and kind the API server would not serve; [] for a
    served type or one the catalog cannot judge (a group it knows nothing of)."""
    if not isinstance(api_version, str) or not api_version:
        return [("apiVersion", "is required")]
    if not isinstance(kind, str) or not kind:
        return [("kind", "is required")]
    if kind in ZEROTOUCH_KINDS:
        return [
            (
                "kind",
                f"{kind} is zerotouch-platform's kind, which this platform does not serve; "
                "its successor is AgentExecutor: convert the file with "
                "`agentplane migrate FILE`",
            )
        ]
    group, version = split_api_version(api_version)
    if group not in catalog.groups():
        known = _closest(group, (g for g in catalog.groups() if g), GROUP_CUTOFF) if group else None
        if known is None:
            return []
        return [("apiVersion", f"unknown API group {group!r}; did you mean {known}/{version}?")]
    versions = catalog.served.get((group, kind))
    if versions is None:
        return _unknown_kind(group, kind, catalog)
    if version not in versions:
        served = ", ".join(f"{group}/{v}" if group else v for v in versions)
        return [("apiVersion", f"{api_version} {kind} is not served; the platform serves {served}")]
    return []


def _unknown_kind(group: str, kind: str, catalog: Catalog) -> list[tuple[str, str]]:
    kinds = catalog.kinds(group)
    suggestion = _closest(kind, kinds, KIND_CUTOFF)
    if group not in catalog.complete and (suggestion is None or suggestion.lower() != kind.lower()):
        return []  # a group the catalog knows only some kinds of: this may be another one
    where = group or "the core API group"
    hint = f"did you mean {suggestion}?" if suggestion else f"it serves {', '.join(kinds)}"
    return [("kind", f"unknown kind {kind!r} in {where}; {hint}")]


def type_findings(path: Path, documents: list[dict[str, Any]], catalog: Catalog) -> list[Finding]:
    """The findings of `type_problems` for every document of one file."""
    return [
        Finding(path, field_path, reason, index)
        for index, document in enumerate(documents, start=1)
        for field_path, reason in type_problems(
            document.get("apiVersion"), document.get("kind"), catalog
        )
    ]
