"""The queries of the platform's Grafana dashboard, as Grafana would send them to Prometheus.

`panel_queries` reads every panel target's `expr` (rows' nested panels included) from the
dashboard ConfigMap; `substitute` replaces the dashboard's variables by chosen values the way
Grafana interpolates them (`$name`, `${name}`, `[[name]]`) and refuses a variable it was not
given, so a query is never sent with a `$` left in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "platform" / "observability" / "grafana-dashboard.yaml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel."""

    title: str
    ref_id: str
    expr: str

    def __str__(self) -> str:
        return f"panel {self.title!r} target {self.ref_id}: {self.expr}"


def dashboards(path: Path = DASHBOARD) -> list[dict[str, Any]]:
    """The dashboard JSON documents of the ConfigMap."""
    config_map = yaml.safe_load(path.read_text())
    return [json.loads(text) for text in config_map["data"].values()]


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def panel_queries(path: Path = DASHBOARD) -> list[PanelQuery]:
    """Every panel target with an `expr`, in dashboard order."""
    return [
        PanelQuery(str(panel.get("title", "")), str(target.get("refId", "")), target["expr"])
        for dashboard in dashboards(path)
        for panel in _panels(dashboard.get("panels", []))
        for target in panel.get("targets", [])
        if "expr" in target
    ]


@dataclass(frozen=True)
class LabelValuesVariable:
    """A query variable `label_values(<series selector>, <label>)`."""

    name: str
    match: str
    label: str


def label_values_variables(path: Path = DASHBOARD) -> list[LabelValuesVariable]:
    """The dashboard's `label_values` query variables."""
    found = []
    for dashboard in dashboards(path):
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]
            text = query.get("query", "") if isinstance(query, dict) else str(query)
            parsed = _LABEL_VALUES.match(text.strip())
            if parsed is None:
                raise ValueError(f"variable {variable['name']}: {text!r} is not label_values()")
            found.append(LabelValuesVariable(variable["name"], parsed["match"], parsed["label"]))
    return found


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """`expr` with each dashboard variable replaced by its value in `values`."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise KeyError(f"no value for dashboard variable {name!r} in {expr}")
        return values[name]

    return _VARIABLE.sub(value, expr)
