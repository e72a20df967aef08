"""The tables: nine for the product's records, the judges' reliability records, an event log for
replay, and the learned models (trained from the records, shared by every instance).

Timestamps are stored as UTC and read back timezone-aware on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ACTIVE_STATUSES = ("queued", "running")
USER_NAME_CHARS = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp kept in UTC: naive values are taken as UTC, results are always aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # the common case, taken first: every event's stamp
            return value.replace(tzinfo=None) if dialect.name == "sqlite" else value
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(USER_NAME_CHARS))
    api_key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(32))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    budget_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_user_created", "user_id", "created_at"),
        Index("ix_threads_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    prompt_preview: Mapped[str] = mapped_column(String(300), default="")
    domain: Mapped[str | None] = mapped_column(String(32))
    complexity: Mapped[float | None] = mapped_column(Float)
    selected_model: Mapped[str | None] = mapped_column(String(200))
    best_round: Mapped[int | None] = mapped_column(Integer)
    final_score: Mapped[float | None] = mapped_column(Float)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None]
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    runner_id: Mapped[str | None] = mapped_column(String(64))
    """The instance or worker running the thread (its lease), while it runs."""
    heartbeat_at: Mapped[datetime | None]
    """When the runner last renewed its lease."""


class Prompt(Base):
    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    system: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[dict[str, Any] | None]
    domain: Mapped[str | None] = mapped_column(String(32))
    complexity: Mapped[float | None] = mapped_column(Float)


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("thread_id", "round", name="uq_responses_thread_round"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    finish_reason: Mapped[str] = mapped_column(String(32), default="stop")
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_thread_round", "thread_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    judge: Mapped[str] = mapped_column(String(200))
    accuracy: Mapped[float | None] = mapped_column(Float)
    completeness: Mapped[float | None] = mapped_column(Float)
    clarity: Mapped[float | None] = mapped_column(Float)
    relevance: Mapped[float | None] = mapped_column(Float)
    overall: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    error: Mapped[str | None] = mapped_column(Text)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Criticism(Base):
    """One judge's critique of one round, with its suggestions as a JSON list."""

    __tablename__ = "criticisms"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    judge: Mapped[str] = mapped_column(String(200))
    critique: Mapped[str] = mapped_column(Text)
    suggestions: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ModelPerformance(Base):
    """Running statistics per (model, domain); `m2` is Welford's sum of squared deviations."""

    __tablename__ = "model_performance"
    __table_args__ = (UniqueConstraint("model", "domain", name="uq_model_performance"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(32))
    samples: Mapped[int] = mapped_column(Integer, default=0)
    mean_score: Mapped[float] = mapped_column(Float, default=0.0)
    m2: Mapped[float] = mapped_column(Float, default=0.0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    mean_latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    mean_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class JudgeReliabilityRecord(Base):
    """Each judge's agreement record (core.performance.JudgeRecord), learned at each run's end."""

    __tablename__ = "judge_reliability"

    judge: Mapped[str] = mapped_column(String(200), primary_key=True)
    verdicts: Mapped[int] = mapped_column(Integer, default=0)
    agreement_sum: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class UsageRecord(Base):
    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_created", "created_at"),
        Index("ix_usage_user_created", "user_id", "created_at"),
        Index("ix_usage_thread", "thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(16))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cost_known: Mapped[bool] = mapped_column(Boolean, default=True)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class SelectionRecord(Base):
    """A selection decision, and (filled when the run ends) how it turned out."""

    __tablename__ = "selection_decisions"
    __table_args__ = (Index("ix_selection_thread", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer, default=1)
    model: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[Any]]
    candidates: Mapped[list[Any]]
    kept_without_escalation: Mapped[bool | None] = mapped_column(Boolean)
    threshold_round: Mapped[int | None] = mapped_column(Integer)
    final_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class EventRecord(Base):
    """The event log (every event, response chunks included), for replay and resuming."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("thread_id", "seq", name="uq_events_thread_seq"),
        Index("ix_events_thread_type_seq", "thread_id", "type", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class LearnedModel(Base):
    """A model learned from the judged history (e.g. "quality"): its latest trained form, and
    the lease of the one instance that retrains it on a schedule."""

    __tablename__ = "learned_models"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str | None] = mapped_column(Text)
    """The trained model as JSON (engine/learned_quality.py `to_dict`); None before any."""
    judged_answers: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[datetime | None] = mapped_column()
    trained_by: Mapped[str | None] = mapped_column(String(64))
    trainer_id: Mapped[str | None] = mapped_column(String(64))
    trainer_until: Mapped[datetime | None] = mapped_column()
