"""Where the executor is, and the credentials to reach it: flags for places, env for secrets.

Secrets never come from a flag's value (it would show in `ps` and shell history) and are never
printed: `redact` strips the user info from any URL an error message names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from functions.jobs_cli.errors import JobsError

API_URL_ENV = "AGENTPLANE_API_URL"
API_TOKEN_ENV = "AGENTPLANE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
NATS_URL_ENV = "NATS_URL"
NATS_USER_ENV = "NATS_USER"
NATS_PASSWORD_ENV = "NATS_PASSWORD"  # noqa: S105 - the variable's name, not a secret
NATS_CREDS_ENV = "NATS_CREDS"
REDIS_URL_ENV = "REDIS_URL"
REDIS_PASSWORD_ENV = "REDIS_PASSWORD"  # noqa: S105 - the variable's name, not a secret


def redact(url: str) -> str:
    """`url` without its user and password, fit to print; each of a comma-separated list."""
    return ",".join(_redact_one(part) for part in url.split(","))


def _redact_one(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.hostname is None or "@" not in parts.netloc:
        return url.strip()
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


@dataclass(frozen=True)
class ApiTarget:
    """The worker's HTTP API; the bearer token, when set, from AGENTPLANE_API_TOKEN."""

    url: str
    token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The API as messages name it."""
        return f"the API at {redact(self.url)}"


@dataclass(frozen=True)
class NatsTarget:
    """NATS (JetStream) and, for progress events, Redis; passwords from the environment."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    creds: Path | None = None
    redis_url: str | None = field(default=None, repr=False)
    redis_password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """NATS as messages name it."""
        return f"NATS at {redact(self.url)}"


Target = ApiTarget | NatsTarget


def resolve(
    *,
    api: str | None,
    nats: str | None,
    redis: str | None,
    creds: Path | None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """The target the flags name; without either flag AGENTPLANE_API_URL, then NATS_URL."""
    env = os.environ if env is None else env
    if api and nats:
        raise JobsError("give either --api or --nats, not both")
    if not api and not nats:
        api = env.get(API_URL_ENV) or None
        nats = None if api else env.get(NATS_URL_ENV) or None
    if api:
        return ApiTarget(url=api.rstrip("/"), token=env.get(API_TOKEN_ENV) or None)
    if not nats:
        raise JobsError(
            f"say where the executor is: --api URL (or {API_URL_ENV}) for its HTTP API, "
            f"or --nats URL (or {NATS_URL_ENV}) for NATS"
        )
    creds = creds or (Path(env[NATS_CREDS_ENV]) if env.get(NATS_CREDS_ENV) else None)
    if creds is not None and not creds.is_file():
        raise JobsError(f"NATS credentials file {creds} does not exist")
    return NatsTarget(
        url=nats,
        user=env.get(NATS_USER_ENV) or None,
        password=env.get(NATS_PASSWORD_ENV) or None,
        creds=creds,
        redis_url=redis or env.get(REDIS_URL_ENV) or None,
        redis_password=env.get(REDIS_PASSWORD_ENV) or None,
    )
