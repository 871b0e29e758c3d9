"""A node's `config.model`: provider, model name, settings, and its fallback chain.

```yaml
model:
  provider: openai            # openai | anthropic | ollama, any case
  model: gpt-4.1              # or `model_name` (deepagents-runtime's name); both: must agree
  temperature: 0.2            # optional
  max_tokens: 1024            # optional
  fallbacks:                  # optional; tried in order when a model is unavailable
    - o3                      # `[provider:]model`; no prefix: the node's provider
    - anthropic:claude-sonnet-4
    - {provider: openai, model: o1-pro, temperature: null}   # own settings win, null drops one
```

Without `fallbacks` a node uses the worker's `LLM_FALLBACK_MODELS` (same `[provider:]model`
entries, comma separated); `fallbacks: []` opts a node out of it. A fallback inherits the
node's temperature and max_tokens unless it sets its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

Provider = Literal["openai", "anthropic", "ollama"]
PROVIDERS: tuple[str, ...] = get_args(Provider)


def _provider(value: Any) -> Any:
    """Providers compare case-insensitively (deepagents-runtime lower-cased them)."""
    if not isinstance(value, str):
        return value  # the Literal check reports the wrong type
    name = value.strip().lower()
    if name not in PROVIDERS:
        raise PydanticCustomError(
            "unknown_provider",
            "unknown provider '{given}' (providers: {providers})",
            {"given": value, "providers": ", ".join(PROVIDERS)},
        )
    return name


ProviderName = Annotated[Provider, BeforeValidator(_provider)]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _field_error(model: type[BaseModel], field: str, message: str, given: Any) -> ValidationError:
    """An error located at `field`; pydantic prefixes the location of the enclosing object."""
    error = PydanticCustomError("value_error", message)
    details = InitErrorDetails(type=error, loc=(field,), input=given)
    return ValidationError.from_exception_data(model.__name__, [details])


def _model_name_alias(model: type[BaseModel], data: Any) -> Any:
    """Read `model_name` as `model`: deepagents-runtime documented both names."""
    if not isinstance(data, dict) or "model_name" not in data:
        return data
    data = dict(data)
    alias = data.pop("model_name")
    if "model" not in data:
        data["model"] = alias
    elif _stripped(data["model"]) != _stripped(alias):
        raise _field_error(
            model,
            "model_name",
            f"model_name {alias!r} differs from model {data['model']!r}: give one of them",
            alias,
        )
    return data


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _reference(text: str) -> dict[str, str]:
    """`[provider:]model` as fields; a prefix that is no provider is part of the name.

    Ollama names carry colons (`llama3.1:8b`), so only a known provider before the first
    colon is taken as one.
    """
    head, sep, tail = text.partition(":")
    if sep and head.strip().lower() in PROVIDERS:
        return {"provider": head, "model": tail}
    return {"model": text}


class FallbackModel(BaseModel):
    """One model of a fallback chain; `provider` None means the node's provider."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: ProviderName | None = None
    model: ModelName
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text_or_object(cls, data: Any) -> Any:
        if isinstance(data, str):
            return _reference(data)
        if not isinstance(data, dict | FallbackModel):
            raise PydanticCustomError(
                "fallback_type", "a fallback is '[provider:]model' or an object with a model"
            )
        return _model_name_alias(cls, data)

    def resolve(self, primary: ModelConfig) -> ModelConfig:
        """This fallback as a full model config, with what it leaves unset taken from `primary`."""
        given = self.model_fields_set
        return ModelConfig(
            provider=self.provider or primary.provider,
            model=self.model,
            temperature=self.temperature if "temperature" in given else primary.temperature,
            max_tokens=self.max_tokens if "max_tokens" in given else primary.max_tokens,
            fallbacks=[],
        )


class ModelConfig(BaseModel):
    """Which model a node calls, and how; see the module docstring for the accepted shapes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: ProviderName
    model: ModelName
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    # None: not given, so the worker's LLM_FALLBACK_MODELS apply; [] opts out of them.
    fallbacks: list[FallbackModel] | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_model_name(cls, data: Any) -> Any:
        return _model_name_alias(cls, data)

    def chain(self, default: Sequence[FallbackModel]) -> list[ModelConfig]:
        """This model, then its fallbacks (or else `default`), each (provider, model) once."""
        chain = [self]
        seen = {(self.provider, self.model)}
        for entry in self.fallbacks if self.fallbacks is not None else default:
            candidate = entry.resolve(self)
            key = (candidate.provider, candidate.model)
            if key not in seen:
                seen.add(key)
                chain.append(candidate)
        return chain


def parse_fallback_list(text: str) -> tuple[FallbackModel, ...]:
    """A comma list of `[provider:]model` entries (LLM_FALLBACK_MODELS); empty entries are skipped.

    Raises ValueError naming the first bad entry.
    """
    entries = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            entries.append(FallbackModel.model_validate(part.strip()))
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors())
            raise ValueError(f"fallback model {part.strip()!r}: {reasons}") from None
    return tuple(entries)
