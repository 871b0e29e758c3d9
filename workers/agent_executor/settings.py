"""Worker configuration, from the environment only (DESIGN section 6)."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from psycopg.conninfo import make_conninfo
from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contract import limits, nats, runtime
from workers.agent_executor.agent.model_config import parse_fallback_list

MIN_API_TOKEN_LENGTH = 16
# libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html).
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class Settings(BaseSettings):
    """Every setting the worker reads; secrets are SecretStr and never logged."""

    # hide_input_in_errors: a ValidationError's text would otherwise quote the value of a
    # refused setting, a token or password included, wherever it is printed or logged.
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=True, extra="ignore", hide_input_in_errors=True
    )

    # Loopback unless told otherwise: the Deployment sets HOST to the pod's address, so a
    # worker started anywhere else is not reachable from every interface by accident.
    HOST: str = Field(default=runtime.LOCAL_LISTEN_HOST, min_length=1)
    PORT: int = Field(default=runtime.HTTP_PORT, ge=1, le=65535)
    # When set, the job routes require `Authorization: Bearer <API_TOKEN>` (api/auth.py).
    API_TOKEN: SecretStr | None = None
    WORKER_CONCURRENCY: int = Field(default=8, ge=1, le=256)
    SHUTDOWN_TIMEOUT_SECONDS: float = Field(default=runtime.SHUTDOWN_TIMEOUT_SECONDS, ge=0)
    OTEL_SERVICE_NAME: str = "agent-executor"

    NATS_URL: str = nats.DEFAULT_URL
    NATS_STREAM_NAME: str = nats.DEFAULT_STREAM
    NATS_CONSUMER_GROUP: str = nats.DEFAULT_CONSUMER
    NATS_USER: str | None = None
    NATS_PASSWORD: SecretStr | None = None
    # Development only: create the streams and the consumer when they are missing.
    NATS_CREATE_STREAMS: bool = False
    # Delivery settings of the consumer NATS_CREATE_STREAMS creates (production: the NACK
    # Consumer). The worker itself always reads them from the consumer it binds.
    NATS_MAX_DELIVER: int = Field(default=nats.DEFAULT_MAX_DELIVER, ge=1)
    NATS_ACK_WAIT_SECONDS: float = Field(default=nats.DEFAULT_ACK_WAIT_SECONDS, gt=0)
    # Both the `in_progress` interval of a running job and the fleet heartbeat's period.
    HEARTBEAT_SECONDS: float = Field(default=15, gt=0)
    # Who this worker is in its heartbeats (the Deployment sets them; see contract/env.py).
    # Outside Kubernetes: pod <host name>-<pid>, namespace "default", executor OTEL_SERVICE_NAME.
    POD_NAME: str | None = None
    POD_NAMESPACE: str | None = None
    EXECUTOR_IMAGE: str | None = None

    JOB_MAX_STEPS: int = Field(default=limits.DEFAULT_MAX_STEPS, ge=1, le=limits.MAX_STEPS_CEILING)
    JOB_TIMEOUT_SECONDS: float = Field(
        default=limits.DEFAULT_TIMEOUT_SECONDS, gt=0, le=limits.TIMEOUT_CEILING_SECONDS
    )
    JOB_MAX_RESULT_BYTES: int = Field(
        default=limits.DEFAULT_MAX_RESULT_BYTES, ge=1024, le=limits.MAX_RESULT_BYTES_CEILING
    )

    DATABASE_URL: SecretStr | None = None
    POSTGRES_HOST: str | None = None
    POSTGRES_PORT: int = 5432
    POSTGRES_DB: str = "postgres"
    POSTGRES_USER: str = "postgres"
    POSTGRES_PASSWORD: SecretStr | None = None
    # TLS (contract.env.POSTGRES_TLS_KEYS): libpq's sslmode, and a CA bundle for verify-*.
    POSTGRES_SSLMODE: SslMode | None = None
    POSTGRES_SSLROOTCERT: FilePath | None = None
    POSTGRES_POOL_MAX: int = Field(default=20, ge=1)
    # How long a starting worker waits for run-migrations (another pod's init container may
    # still be applying them) before it exits naming what is missing.
    SCHEMA_WAIT_SECONDS: float = Field(default=60, ge=0)

    REDIS_URL: SecretStr | None = None
    DRAGONFLY_HOST: str | None = None
    DRAGONFLY_PORT: int = 6379
    DRAGONFLY_PASSWORD: SecretStr | None = None
    # TLS (contract.env.DRAGONFLY_TLS_KEYS): the server's certificate is always verified,
    # against DRAGONFLY_TLS_CA_FILE when given, else the system's CAs.
    DRAGONFLY_TLS: bool = False
    DRAGONFLY_TLS_CA_FILE: FilePath | None = None
    STREAM_REPLAY_MAXLEN: int = Field(default=1000, ge=1)
    STREAM_REPLAY_TTL_SECONDS: int = Field(default=3600, ge=1)

    # A mounted Secret's folder with key files (contract.env.LLM_KEYS_DIR); a key there wins
    # over the variable and is re-read when the file changes (agent/key_files.py).
    LLM_KEYS_DIR: str | None = None
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    ANTHROPIC_API_KEY: SecretStr | None = None
    ANTHROPIC_BASE_URL: str | None = None
    OLLAMA_API_KEY: SecretStr | None = None
    OLLAMA_BASE_URL: str | None = None
    # `[provider:]model` comma list: the fallback chain of nodes without their own.
    LLM_FALLBACK_MODELS: str | None = None
    LLM_TIMEOUT_SECONDS: float = Field(default=120, gt=0)

    TOKEN_BUDGET_PER_RUN: int | None = Field(default=None, ge=1)
    DAILY_TOKEN_BUDGET: int | None = Field(default=None, ge=1)
    # How often a worker re-reads the set_budget override the others may have stored.
    BUDGET_REFRESH_SECONDS: float = Field(default=10, gt=0, le=3600)

    ALLOW_TOOL_SCRIPTS: bool = False
    TOOL_SCRIPT_TIMEOUT_SECONDS: float = Field(default=30, gt=0)

    LOG_LEVEL: str = "INFO"

    @field_validator("LLM_FALLBACK_MODELS")
    @classmethod
    def _fallbacks_parse(cls, value: str | None) -> str | None:
        # Checked at start-up, so a typo stops the process instead of failing jobs later.
        if value is not None:
            parse_fallback_list(value)
        return value

    @field_validator("API_TOKEN")
    @classmethod
    def _token_usable(cls, value: SecretStr | None) -> SecretStr | None:
        # A Secret written from a file often ends in a newline no client sends; an empty or
        # short token would be guessed. Either stops the process instead of serving with it.
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if len(token) < MIN_API_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_API_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -hex 32`), not counting surrounding whitespace"
            )
        return SecretStr(token)

    @model_validator(mode="after")
    def _stores_configured(self) -> Settings:
        if self.DATABASE_URL is None and self.POSTGRES_HOST is None:
            raise ValueError("set DATABASE_URL or POSTGRES_HOST (with POSTGRES_* credentials)")
        if self.REDIS_URL is None and self.DRAGONFLY_HOST is None:
            raise ValueError("set REDIS_URL or DRAGONFLY_HOST (with DRAGONFLY_PORT/PASSWORD)")
        if self.DRAGONFLY_TLS_CA_FILE is not None and not self.DRAGONFLY_TLS:
            raise ValueError("DRAGONFLY_TLS_CA_FILE is set but DRAGONFLY_TLS is not true")
        if self.ALLOW_TOOL_SCRIPTS and self.LLM_KEYS_DIR:
            raise ValueError(
                "LLM_KEYS_DIR is set while ALLOW_TOOL_SCRIPTS is true: tool scripts run as this "
                "user and could read the key files; use the key variables only"
            )
        if self.POSTGRES_SSLROOTCERT is not None and self.POSTGRES_SSLMODE is None:
            raise ValueError("POSTGRES_SSLROOTCERT is set without POSTGRES_SSLMODE (verify-full?)")
        return self

    @cached_property
    def postgres_dsn(self) -> str:
        """A libpq connection string; contains the password, so it is never logged.

        Built by psycopg from keyword arguments, which quotes every value: a password may
        hold any character (quotes, backslashes, spaces, `/?#@:%`).
        """
        if self.DATABASE_URL is not None:
            return self.DATABASE_URL.get_secret_value()
        return make_conninfo(
            host=self.POSTGRES_HOST,
            port=self.POSTGRES_PORT,
            dbname=self.POSTGRES_DB,
            user=self.POSTGRES_USER,
            # None (not "") leaves the password out, so libpq may still use a .pgpass file.
            password=_secret(self.POSTGRES_PASSWORD),
            sslmode=self.POSTGRES_SSLMODE,
            sslrootcert=str(self.POSTGRES_SSLROOTCERT) if self.POSTGRES_SSLROOTCERT else None,
        )

    @property
    def dragonfly_options(self) -> dict[str, Any]:
        """Keyword arguments of a Redis client for DRAGONFLY_*; contain the password.

        Keywords rather than a URL: a password is never parsed as part of a URL, so one with
        `/`, `?`, `#` or `@` reaches the server as it is. REDIS_URL, when set, wins (see
        `stores.redis_client`).
        """
        options: dict[str, Any] = {
            "host": self.DRAGONFLY_HOST,
            "port": self.DRAGONFLY_PORT,
            "password": _secret(self.DRAGONFLY_PASSWORD),
            "db": 0,
        }
        if self.DRAGONFLY_TLS:
            options |= {"ssl": True, "ssl_cert_reqs": "required", "ssl_check_hostname": True}
            if self.DRAGONFLY_TLS_CA_FILE is not None:
                options["ssl_ca_certs"] = str(self.DRAGONFLY_TLS_CA_FILE)
        return options


def _secret(value: SecretStr | None) -> str | None:
    """The secret's value; None when unset or empty."""
    if value is None:
        return None
    return value.get_secret_value() or None
