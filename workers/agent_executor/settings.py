"""Worker configuration, from the environment only (DESIGN section 6)."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.agent_executor.spec import NatsSpec


class Settings(BaseSettings):
    """Every setting the worker reads; secrets are SecretStr and never logged."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    PORT: int = Field(default=8080, ge=1, le=65535)
    WORKER_CONCURRENCY: int = Field(default=8, ge=1, le=256)
    SHUTDOWN_TIMEOUT_SECONDS: float = Field(default=285, ge=0)
    OTEL_SERVICE_NAME: str = "agent-executor"

    NATS_URL: str = NatsSpec().url
    NATS_STREAM_NAME: str = NatsSpec().stream
    NATS_CONSUMER_GROUP: str = NatsSpec().consumer
    NATS_USER: str | None = None
    NATS_PASSWORD: SecretStr | None = None
    # Development only: create the streams and the consumer when they are missing.
    NATS_CREATE_STREAMS: bool = False
    # Deliveries before a job is dead-lettered; matches the consumer's maxDeliver.
    NATS_MAX_DELIVER: int = Field(default=5, ge=1)
    # Ack wait of the consumer NATS_CREATE_STREAMS creates (production: the NACK Consumer).
    NATS_ACK_WAIT_SECONDS: float = Field(default=120, gt=0)
    HEARTBEAT_SECONDS: float = Field(default=15, gt=0)

    DATABASE_URL: SecretStr | None = None
    POSTGRES_HOST: str | None = None
    POSTGRES_PORT: int = 5432
    POSTGRES_DB: str = "postgres"
    POSTGRES_USER: str = "postgres"
    POSTGRES_PASSWORD: SecretStr | None = None
    POSTGRES_POOL_MAX: int = Field(default=20, ge=1)

    REDIS_URL: SecretStr | None = None
    DRAGONFLY_HOST: str | None = None
    DRAGONFLY_PORT: int = 6379
    DRAGONFLY_PASSWORD: SecretStr | None = None
    STREAM_REPLAY_MAXLEN: int = Field(default=1000, ge=1)
    STREAM_REPLAY_TTL_SECONDS: int = Field(default=3600, ge=1)

    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    ANTHROPIC_API_KEY: SecretStr | None = None
    ANTHROPIC_BASE_URL: str | None = None
    LLM_TIMEOUT_SECONDS: float = Field(default=120, gt=0)

    TOKEN_BUDGET_PER_RUN: int | None = Field(default=None, ge=1)
    DAILY_TOKEN_BUDGET: int | None = Field(default=None, ge=1)

    ALLOW_TOOL_SCRIPTS: bool = False
    TOOL_SCRIPT_TIMEOUT_SECONDS: float = Field(default=30, gt=0)

    LOG_LEVEL: str = "INFO"

    @model_validator(mode="after")
    def _stores_configured(self) -> Settings:
        if self.DATABASE_URL is None and self.POSTGRES_HOST is None:
            raise ValueError("set DATABASE_URL or POSTGRES_HOST (with POSTGRES_* credentials)")
        if self.REDIS_URL is None and self.DRAGONFLY_HOST is None:
            raise ValueError("set REDIS_URL or DRAGONFLY_HOST (with DRAGONFLY_PORT/PASSWORD)")
        return self

    @cached_property
    def postgres_dsn(self) -> str:
        """A libpq connection string; contains the password, so it is never logged."""
        if self.DATABASE_URL is not None:
            return self.DATABASE_URL.get_secret_value()
        password = self.POSTGRES_PASSWORD.get_secret_value() if self.POSTGRES_PASSWORD else ""
        parts = {
            "host": self.POSTGRES_HOST,
            "port": str(self.POSTGRES_PORT),
            "dbname": self.POSTGRES_DB,
            "user": self.POSTGRES_USER,
            "password": password,
        }
        return " ".join(f"{k}='{_libpq_quote(v)}'" for k, v in parts.items() if v)

    @cached_property
    def redis_url(self) -> str:
        """The Redis/Dragonfly URL; contains the password, so it is never logged."""
        if self.REDIS_URL is not None:
            return self.REDIS_URL.get_secret_value()
        auth = f":{self.DRAGONFLY_PASSWORD.get_secret_value()}@" if self.DRAGONFLY_PASSWORD else ""
        return f"redis://{auth}{self.DRAGONFLY_HOST}:{self.DRAGONFLY_PORT}/0"


def _libpq_quote(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace("'", "\\'")
