"""The composition root: every long-lived part of the service, built once from settings.

`Parts` holds what lives as long as the process (catalog, store, bus, Redis links, quotas);
`start_engine` builds what needs a running event loop (the gateway with its SDK clients, the
router, the orchestrator) and returns it with the background tasks it wants kept.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from orchestratex.core.catalog import ModelSpec
from orchestratex.engine.cascade import CascadeSettings
from orchestratex.engine.emitter import EventSink
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.replay import replay_adapter_factory
from orchestratex.providers.replay_data import RECORDED_JUDGE, ReplayData
from orchestratex.runtime.bus import EventBus
from orchestratex.runtime.catalog_setup import mode_and_catalog
from orchestratex.runtime.learned_router import ServiceRouter
from orchestratex.runtime.provider_limits import RedisProviderLimits
from orchestratex.runtime.quality_model import quality_model_path
from orchestratex.runtime.quotas import Quotas
from orchestratex.runtime.replay_mode import REPLAY_LOG_LINE, REPLAY_POLICY, Mode
from orchestratex.runtime.retrain import Retrainer
from orchestratex.runtime.scaleout import RedisLinks
from orchestratex.runtime.settings import Settings
from orchestratex.store.facade import Store
from orchestratex.store.performance import SqlJudgeRecords, SqlPerformanceSource

log = logging.getLogger(__name__)


def default_instance_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Parts:
    settings: Settings
    mode: Mode
    replay: ReplayData | None
    catalog: Catalog
    env: Mapping[str, str] | None
    store: Store
    links: RedisLinks | None
    bus: EventBus
    quotas: Quotas


def build_parts(
    settings: Settings,
    *,
    catalog: Catalog | None,
    env: Mapping[str, str] | None,
    requests_per_minute: int | None,
) -> Parts:
    mode, catalog = mode_and_catalog(settings, env, catalog=catalog)
    replay = ReplayData(settings.routellm_data_dir) if mode == "replay" else None
    per_minute = requests_per_minute or settings.requests_per_minute
    links = RedisLinks(settings.redis_url) if settings.redis_url else None
    store = Store(settings.effective_database_url)
    quotas = Quotas(
        store,
        links,
        requests_per_minute=per_minute,
        passthrough_per_minute=settings.passthrough_requests_per_minute,
        hold_s=settings.budget_hold_s,
    )
    bus = links.bus if links is not None else EventBus()
    return Parts(settings, mode, replay, catalog, env, store, links, bus, quotas)


def answering_models(parts: Parts) -> list[ModelSpec]:
    """The models that may answer: available ones (the recorded judge only judges)."""
    models = parts.catalog.available(parts.env)
    if parts.replay is not None:
        models = [m for m in models if m.key != RECORDED_JUDGE]
    return models


async def start_gateway(parts: Parts) -> Gateway:
    factories = None
    if parts.replay is not None:
        factories = {"replay": replay_adapter_factory(parts.replay)}
    settings = parts.settings
    gateway = Gateway(
        parts.catalog,
        env=parts.env,
        adapter_factories=factories,
        rate_window_s=settings.provider_rate_window_s,
        breaker=settings.breaker,
        limiter_factory=(
            RedisProviderLimits(parts.links.client, window_s=settings.provider_rate_window_s)
            if parts.links is not None
            else None
        ),
        on_breaker_open=parts.links.breakers.opened if parts.links is not None else None,
    )
    if parts.links is not None:
        await parts.links.breakers.follow(gateway.peer_opened)
    await gateway.warm_up()
    return gateway


async def start_orchestrator(
    parts: Parts, gateway: Gateway, sink: EventSink, *, train_router: bool
) -> tuple[Orchestrator, ServiceRouter]:
    models = answering_models(parts)
    if parts.replay is not None:
        log.warning(REPLAY_LOG_LINE)
        if not parts.replay.present():
            log.warning(
                "replay mode: the recordings were not found in %s; set ORX_ROUTELLM_DATA_DIR",
                parts.replay.where,
            )
    router = ServiceRouter(parts.settings, replay=parts.replay is not None)
    selector = await router.initial(models, parts.catalog.prices, train=train_router)
    orchestrator = Orchestrator(
        gateway,
        models,
        parts.catalog.prices,
        policy=REPLAY_POLICY if parts.replay is not None else None,
        performance=SqlPerformanceSource(parts.store.sessions),
        judge_records=SqlJudgeRecords(parts.store.sessions),
        health=gateway,
        sink=sink,
        selector=selector,
        cascade=CascadeSettings(
            band=parts.settings.cascade_band,
            min_confidence=parts.settings.cascade_min_confidence,
        ),
        output_limits=parts.catalog.output_limits,
    )
    return orchestrator, router


def start_retrainer(
    parts: Parts, instance_id: str, router: ServiceRouter, orchestrator: Orchestrator
) -> Retrainer | None:
    """The scheduled retraining of the learned quality model (None when it is off); every
    model it trains or loads goes to `orchestrator`'s selection."""
    settings = parts.settings
    if settings.retrain_interval_s <= 0.0:
        return None
    return Retrainer(
        parts.store,
        instance_id=instance_id,
        interval_s=settings.retrain_interval_s,
        min_new=settings.retrain_min_new,
        path=quality_model_path(settings.data_dir),
        on_model=lambda model: router.use_quality_model(model, orchestrator),
    )
