"""The NATS server configuration the platform deploys: Helm values in, `nats.conf` out.

`accounts_values` is the generated values file (`platform/nats/values-tenants.yaml`)
that gives every tenant its own account, users and permissions. `server_config`
renders merged values the way the official chart renders its `nats.conf` (the keys
this platform sets), and `conf_text` writes it in the syntax `nats-server -c` reads,
every secret left as a `$VARIABLE` the server resolves from its environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contract import nats_permissions
from scripts.tenancy.credentials import (
    ROLES,
    SERVER_SECRET,
    password_variable,
    user_name,
)
from scripts.tenancy.registry import RegistryEntry, quantity_bytes

NATS_DIR = Path("platform/nats")
PRODUCTION_VALUES = (NATS_DIR / "values.yaml", NATS_DIR / "values-tenants.yaml")
DEVELOPMENT_VALUES = (*PRODUCTION_VALUES, NATS_DIR / "values-dev.yaml")
RELEASE = "nats"
CLIENT_PORT, CLUSTER_PORT = 4222, 6222
_VARIABLE = re.compile(r"^<<\s*(\$[A-Za-z_][A-Za-z0-9_]*)\s*>>$")


@dataclass(frozen=True)
class Raw:
    """A token written unquoted: a `$VARIABLE` reference or a size like `90Gi`."""

    text: str


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_values(root: Path, files: Iterable[Path]) -> dict[str, Any]:
    """The values files merged in order, as `valueFiles` lists them."""
    values: dict[str, Any] = {}
    for path in files:
        values = deep_merge(values, yaml.safe_load((root / path).read_text()) or {})
    return values


def _account(entry: RegistryEntry) -> dict[str, Any]:
    users = [
        {
            "user": user_name(entry, role, generation),
            "password": f"<< ${password_variable(entry, role, generation)} >>",
            "permissions": nats_permissions.ROLES[role].as_config(),
        }
        for generation in entry.nats.credentials
        for role in ROLES
    ]
    limits = {"max_file": quantity_bytes(entry.nats.max_file_store), "max_mem": 0}
    return {"jetstream": limits, "users": users}


def accounts_values(entries: Iterable[RegistryEntry]) -> dict[str, Any]:
    """Helm values that add one account per tenant and the password variables it reads."""
    entries = list(entries)
    env = {
        password_variable(entry, role, generation): {
            "valueFrom": {
                "secretKeyRef": {
                    "name": SERVER_SECRET,
                    "key": password_variable(entry, role, generation),
                }
            }
        }
        for entry in entries
        for generation in entry.nats.credentials
        for role in ROLES
    }
    accounts = {entry.account: _account(entry) for entry in entries}
    return {"config": {"merge": {"accounts": accounts}}, "container": {"env": env}}


def _raw_variables(value: Any) -> Any:
    """`<< $X >>` (the chart's marker for an unquoted token) → Raw('$X'), recursively."""
    if isinstance(value, str) and (match := _VARIABLE.match(value)):
        return Raw(match.group(1))
    if isinstance(value, Mapping):
        return {k: _raw_variables(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_raw_variables(v) for v in value]
    return value


def server_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """`nats.conf` as the chart renders it from `values` (the settings this platform uses)."""
    config = values.get("config", {})
    conf: dict[str, Any] = {
        "server_name": Raw("$SERVER_NAME"),
        "port": CLIENT_PORT,
        "pid_file": "/var/run/nats/nats.pid",
        "lame_duck_duration": "30s",
        "lame_duck_grace_period": "10s",
    }
    monitor = config.get("monitor", {})
    if monitor.get("enabled", True):
        conf["http_port"] = monitor.get("port", 8222)
    jetstream = config.get("jetstream", {})
    if jetstream.get("enabled"):
        file_store = jetstream.get("fileStore", {})
        memory = jetstream.get("memoryStore", {})
        conf["jetstream"] = {
            "max_file_store": Raw(file_store.get("maxSize") or file_store["pvc"]["size"]),
            "max_memory_store": Raw(memory["maxSize"]) if memory.get("enabled") else 0,
            "store_dir": file_store.get("dir", "/data"),
        }
    cluster = config.get("cluster", {})
    if cluster.get("enabled"):
        replicas = int(cluster.get("replicas", 3))
        conf["cluster"] = {
            "name": RELEASE,
            "port": CLUSTER_PORT,
            "no_advertise": True,
            "routes": [
                f"nats://{RELEASE}-{i}.{RELEASE}-headless:{CLUSTER_PORT}" for i in range(replicas)
            ],
        }
    return deep_merge(conf, _raw_variables(config.get("merge", {})))


def _text(value: Any, indent: int) -> str:
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        lines = [f"{inner}{json.dumps(str(k))}: {_text(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{inner}{_text(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    raise TypeError(f"cannot write {type(value).__name__} into nats.conf")


def conf_text(config: Mapping[str, Any], header: str = "") -> str:
    """`config` in nats-server's configuration syntax (a JSON superset with `$VARIABLES`)."""
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return comment + _text(config, 0) + "\n"


def password_variables(config: Mapping[str, Any]) -> list[str]:
    """Every `$VARIABLE` a config reads from the environment, in order, `SERVER_NAME` first."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Raw) and value.text.startswith("$") and value.text[1:] not in found:
            found.append(value.text[1:])
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(config)
    return found
