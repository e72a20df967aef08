"""Submit, follow and cancel orchestrations; model health and a provider self-test."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from orchestratex.api.deps import AdminUser, CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.performance import ModelHealth
from orchestratex.runtime.replay_mode import RECORDED_JUDGE
from orchestratex.runtime.selftest import ProviderCheck, self_test

router = APIRouter(prefix="/api/orchestrate", tags=["orchestrate"])


class Submitted(BaseModel):
    thread_id: str
    status_url: str
    events_url: str


class StatusOut(BaseModel):
    thread_id: str
    status: str
    live: bool
    prompt_preview: str
    domain: str | None
    selected_model: str | None
    best_round: int | None
    score: float | None
    stop_reason: str | None
    answer: str | None
    rounds: int
    total_cost_usd: float
    input_tokens: int
    output_tokens: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    last_seq: int


class CancelOut(BaseModel):
    thread_id: str
    status: str


class ModelEntry(BaseModel):
    key: str
    provider: str
    family: str
    tier: str
    enabled: bool
    configured: bool
    price_known: bool
    answers: bool = Field(
        True, description="False for a judge-only model (the offline demo's recorded-judge)"
    )
    health: ModelHealth | None


class ModelsHealth(BaseModel):
    models: list[ModelEntry]
    providers: dict[str, bool]


class SelfTestOut(BaseModel):
    ok: bool
    providers: list[ProviderCheck]


def _not_found(thread_id: str) -> ApiError:
    return ApiError(404, "thread_not_found", "no such thread")


@router.post("/prompt", status_code=202)
async def submit_prompt(
    body: OrchestrationRequest, service: ServiceDep, user: CurrentUser, request: Request
) -> Submitted:
    """Start an orchestration in the background; follow it with the returned URLs."""
    if not body.prompt.strip():
        raise ApiError(422, "invalid_request", "prompt: must contain more than whitespace")
    thread_id = await service.submit(body, user=user)
    status_url = request.url_for("orchestration_status", thread_id=thread_id)
    return Submitted(
        thread_id=thread_id,
        status_url=status_url.path,
        events_url=f"/api/orchestrate/{thread_id}/events",
    )


@router.get("/status/{thread_id}", name="orchestration_status")
async def orchestration_status(thread_id: str, service: ServiceDep, user: CurrentUser) -> StatusOut:
    found = await service.status(thread_id, user=user)
    if found is None:
        raise _not_found(thread_id)
    return StatusOut(thread_id=found.thread_id, status=found.status, live=found.live, **found.data)


@router.post("/{thread_id}/cancel", status_code=202)
async def cancel_orchestration(thread_id: str, service: ServiceDep, user: CurrentUser) -> CancelOut:
    outcome = await service.cancel(thread_id, user=user)
    if outcome is None:
        raise _not_found(thread_id)
    if not outcome:
        raise ApiError(409, "not_running", "the thread is not running")
    return CancelOut(thread_id=thread_id, status="cancelling")


@router.get("/models/health")
async def models_health(service: ServiceDep, user: CurrentUser) -> ModelsHealth:
    """Every catalog model with its configuration and the gateway's live health."""
    catalog = service.catalog
    health = service.gateway.health()
    providers = {name: catalog.is_configured(name, service.env) for name in catalog.providers}
    models = [
        ModelEntry(
            key=spec.key,
            provider=spec.provider,
            family=spec.family,
            tier=spec.tier,
            enabled=spec.enabled,
            configured=providers[spec.provider],
            price_known=catalog.price(spec.key) is not None,
            answers=spec.key != RECORDED_JUDGE,
            health=health.get(spec.key),
        )
        for spec in catalog.models.values()
    ]
    return ModelsHealth(models=models, providers=providers)


@router.post("/test")
async def provider_self_test(service: ServiceDep, user: AdminUser) -> SelfTestOut:
    """One tiny completion per configured provider (admin only: it spends a little money)."""
    checks = await self_test(service.gateway, service.catalog, service.env)
    return SelfTestOut(ok=bool(checks) and all(c.ok for c in checks), providers=checks)
