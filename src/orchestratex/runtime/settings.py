"""One typed Settings object: ORX_* environment variables over an optional YAML file.

Precedence, highest first: constructor arguments, ORX_* environment variables, a `.env` file,
the YAML file named by ORX_CONFIG, the defaults here. Provider API keys are not settings: they
are read from their standard variables (OPENAI_API_KEY, ...) when a provider is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.orchestration import MAX_JUDGES, MAX_ROUNDS_LIMIT
from orchestratex.providers.breaker import BreakerSettings


class ProviderOverride(BaseModel):
    """Config-file changes to a built-in provider, or a whole new OpenAI-compatible one."""

    model_config = ConfigDict(extra="forbid")

    protocol: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    max_concurrent: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    price_provider_id: str | None = Field(
        default=None, description="provider id in genai-prices, when it differs from the name"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ORX_",
        env_nested_delimiter="__",
        extra="forbid",
        env_file=".env",
        env_file_encoding="utf-8",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    # What a client may send before a route runs: head size (431/414) and field count (431),
    # head and body send times (408); api/server_protocol.py, docs/configuration.md.
    max_header_bytes: int = Field(default=65_536, ge=1024, le=16 * 1024 * 1024)
    max_header_fields: int = Field(default=100, ge=1, le=10_000)
    header_timeout_s: float = Field(default=10.0, gt=0.0, le=3600.0)
    body_timeout_s: float = Field(default=30.0, gt=0.0, le=86_400.0)
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, description="default: SQLite file in data_dir")
    redis_url: str | None = Field(
        default=None,
        description="Redis for the event bus, job queue and limits across instances; "
        "unset: everything runs in this process",
    )
    instance_id: str | None = Field(
        default=None,
        max_length=64,
        description="name of this instance or worker in run leases; default: host-pid-random",
    )
    lease_ttl_s: float = Field(
        default=30.0,
        ge=0.5,
        le=3600.0,
        description="a run whose runner sent no heartbeat for this long is taken over",
    )
    requests_per_minute: int = Field(
        default=30,
        ge=1,
        description="orchestrations per user per minute (a /v1 passthrough is not counted)",
    )
    passthrough_requests_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="single-model /v1 calls (passthroughs) per user per minute; unset: not "
        "limited per user (each provider's own limits pace them)",
    )
    # The circuit breakers' rule (`breaker`; docs/configuration.md#circuit-breaker).
    breaker_window: int = Field(
        default=20, ge=1, le=1000, description="calls telling of a provider's health kept"
    )
    breaker_min_calls: int = Field(
        default=10, ge=1, le=1000, description="calls in the window before its rate may open it"
    )
    breaker_failure_rate: float = Field(
        default=0.85, gt=0.0, le=1.0, description="share of failed calls that opens the circuit"
    )
    breaker_cooldown_s: float = Field(
        default=30.0, ge=0.0, le=3600.0, description="an open circuit refuses calls this long"
    )
    breaker_half_open_probes: int = Field(
        default=3, ge=1, le=100, description="probes after the cooldown; all must succeed"
    )
    breaker_threshold: int | None = Field(
        default=None, description="removed: see breaker_min_calls and breaker_failure_rate"
    )
    provider_rate_window_s: float = Field(
        default=60.0,
        gt=0.0,
        le=3600.0,
        description="window of the providers' requests_per_minute / tokens_per_minute limits "
        "(shorter only for tests); with redis_url the counts are shared by all instances",
    )
    budget_hold_s: float = Field(
        default=3600.0,
        ge=1.0,
        description="a call's budget hold lapses if the call has not ended after this long "
        "(its process died)",
    )
    worker_concurrency: int = Field(
        default=4, ge=1, le=256, description="runs one `orchestratex worker` executes at once"
    )
    shutdown_grace_s: float = Field(
        default=5.0,
        ge=0.0,
        le=600.0,
        description="at a graceful stop, how long runs may go on before the rest are suspended "
        "and handed back to be resumed from their last complete round",
    )
    cors_origins: list[str] = Field(default_factory=list)
    routellm_data_dir: Path = Path("../shared/data/routellm")
    mode: Literal["auto", "live", "replay"] = Field(
        default="auto",
        description="live: call real providers; replay: serve recorded answers (offline demo); "
        "auto: replay when no hosted provider key is set and no provider or model is configured",
    )
    router_path: Path | None = Field(
        default=None,
        description="a trained learned-router file (`orchestratex bench routing --save-router`); "
        "unset in replay mode: trained from routellm_data_dir and cached in data_dir",
    )
    router_models: tuple[str, str] | None = Field(
        default=None,
        description="(strong, weak) model keys the learned router picks between; "
        "default in replay mode: the two recorded models",
    )
    router_threshold: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="router score at which the strong model is chosen; higher: fewer prompts "
        "go to the strong model (cheaper), lower: more (better answers)",
    )
    cascade_band: float = Field(
        default=0.1,
        ge=0.0,
        le=0.5,
        description="start cheap when unsure: when the learned router's score is within this "
        "of its threshold (or it calls the prompt unknown), or the learned quality gives "
        "P(stronger model better) within this of 0.5, the cheaper model answers first and the "
        "verdict on its answer decides whether the next round escalates; 0: never",
    )
    cascade_min_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="a cascade's cheaper answer escalates, even when the judges passed it, when "
        "its own token confidence (geometric-mean token probability, from the log-probabilities "
        "of models marked `logprobs`) is under this; 0: the judges alone decide",
    )
    retrain_interval_s: float = Field(
        default=3600.0,
        ge=0.0,
        le=30 * 86400.0,
        description="how often the service retrains the learned per-model quality model from "
        "the judged history (one instance at a time when scaled out); 0: never, "
        "`orchestratex router train` only",
    )
    retrain_min_new: int = Field(
        default=50,
        ge=1,
        description="judged answers that must be new since the last training for a scheduled "
        "retraining to run",
    )

    providers: dict[str, ProviderOverride] = Field(default_factory=dict)
    models: list[ModelSpec] = Field(
        default_factory=list, description="extra models, or replacements by key"
    )
    prices: dict[str, Price] = Field(
        default_factory=dict, description="price overrides by model key"
    )
    disabled_models: list[str] = Field(default_factory=list)

    default_max_rounds: int = Field(default=3, ge=1, le=10)
    default_threshold: float = Field(default=8.0, ge=0.0, le=10.0)
    judge_count: int = Field(default=2, ge=1, le=5)
    max_rounds: int = Field(
        default=MAX_ROUNDS_LIMIT,
        ge=1,
        le=MAX_ROUNDS_LIMIT,
        description="the most rounds a request may ask for; more is refused with 422",
    )
    max_judges: int = Field(
        default=MAX_JUDGES,
        ge=1,
        le=MAX_JUDGES,
        description="the most judges per round a request may ask for (judges or judge_count); "
        "more is refused with 422",
    )

    @model_validator(mode="after")
    def _defaults_within_caps(self) -> Settings:
        if self.default_max_rounds > self.max_rounds:
            raise ValueError("default_max_rounds must not exceed max_rounds")
        if self.judge_count > self.max_judges:
            raise ValueError("judge_count must not exceed max_judges")
        return self

    passthrough_judge_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="share of /v1 requests for a named catalog model whose answer one judge "
        "scores (one extra model call, reported as judge cost); 0: one upstream call each",
    )

    @model_validator(mode="after")
    def _breaker_valid(self) -> Settings:
        if self.breaker_threshold is not None:
            raise ValueError(
                "breaker_threshold was removed: the circuit now opens on a failure rate; set "
                "breaker_window, breaker_min_calls and breaker_failure_rate instead "
                "(docs/configuration.md)"
            )
        self.breaker  # noqa: B018 - BreakerSettings checks the rule (min_calls <= window...)
        return self

    @property
    def breaker(self) -> BreakerSettings:
        """The circuit breakers' rule from the `breaker_*` settings."""
        return BreakerSettings(
            window=self.breaker_window,
            min_calls=self.breaker_min_calls,
            failure_rate=self.breaker_failure_rate,
            cooldown_s=self.breaker_cooldown_s,
            half_open_probes=self.breaker_half_open_probes,
        )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("router_models")
    @classmethod
    def _two_models(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None and value[0] == value[1]:
            raise ValueError("router_models needs two different model keys (strong, weak)")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'orchestratex.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config_path = os.environ.get("ORX_CONFIG")
        if config_path:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, failing with a clear message when ORX_CONFIG names a missing file."""
    config_path = os.environ.get("ORX_CONFIG")
    if config_path and not Path(config_path).is_file():
        from orchestratex.core.errors import ConfigurationError

        raise ConfigurationError(f"ORX_CONFIG points at {config_path!r}, which is not a file")
    return Settings(**overrides)
