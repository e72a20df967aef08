"""The learned router in the running service: a trained file, a cached one, or one trained now.

- `router_path` set: the file is loaded at start and the router picks between `router_models`
  (default in replay mode: the two recorded models) with `router_threshold`.
- Replay mode without `router_path`, with the RouteLLM routing data present: the cached router
  `data_dir/router-<fingerprint>.json` is loaded when it exists (the fingerprint hashes the data
  files' paths, sizes and mtimes and the training recipe, its feature names included).
  Otherwise the service starts with the weighted selection at once, while a worker thread
  trains the router on the training split (the one `orchestratex bench routing` trains on),
  caches it and hands it to the orchestrator.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestratex.bench.router_io import AnyRouter, load, save
from orchestratex.bench.routing_bench import DEFAULT_TEST_FRACTION, train_on_split
from orchestratex.bench.routing_features import bank_features
from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import ConfigurationError
from orchestratex.engine.embeddings import default_embedder
from orchestratex.engine.learned_quality import QualityModel
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.engine.router import TrainingStopped
from orchestratex.engine.selection import Selector
from orchestratex.engine.semantic_model import TIE_BREAK_SLOPE
from orchestratex.engine.semantic_router import FORMAT
from orchestratex.providers.replay_data import STRONG_MODEL, WEAK_MODEL
from orchestratex.runtime.quality_model import load_quality_model, quality_model_path
from orchestratex.runtime.settings import Settings

log = logging.getLogger(__name__)

TRAIN_SEED = 0
TRAIN_LIMIT: int | None = None
"""Prompts per benchmark the service trains on; None: all (tests lower it)."""
STOP_WAIT_S = 10.0
"""How long a stopping service waits for the training thread to notice the stop."""


def routing_files(root: Path) -> list[Path] | None:
    """The files router training reads, or None when a required one is missing."""
    required = [
        root / "gsm8k" / "gsm8k_responses.csv",
        root / "mt_bench" / "question.jsonl",
        root / "mt_bench" / "judgements.jsonl",
    ]
    mmlu = sorted((root / "mmlu" / "responses").glob("mmlu_*.csv"))
    if not mmlu or not all(p.is_file() for p in required):
        return None
    banned = [root / n / "contaminated_prompts.jsonl" for n in ("gsm8k", "mmlu", "mt_bench")]
    return required + mmlu + [p for p in banned if p.is_file()]


def fingerprint(root: Path, files: Sequence[Path], limit: int | None) -> str:
    """Hash of the training recipe (with the analysis features it reads and the calibration's
    tie-break slope, so that a router cached before a feature or the tie-break joined is
    trained again) and each file's path, size and mtime."""
    embedder = default_embedder()
    features = embedder.name if embedder is not None else "analysis"
    names = ",".join(bank_features())
    recipe = (
        f"{FORMAT}|{features}|{names}|tie-break {TIE_BREAK_SLOPE:g}"
        f"|seed {TRAIN_SEED}|test {DEFAULT_TEST_FRACTION}|{limit}"
    )
    digest = hashlib.sha256(f"{recipe}\n".encode())
    for path in files:
        st = path.stat()
        digest.update(
            f"{path.relative_to(root).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()[:16]


def cache_path(data_dir: Path, routellm_dir: Path, limit: int | None = None) -> Path | None:
    """Where the router trained on `routellm_dir` is cached; None without the routing data."""
    files = routing_files(routellm_dir)
    if files is None:
        return None
    return data_dir / f"router-{fingerprint(routellm_dir, files, limit)}.json"


def train_and_cache(
    routellm_dir: Path,
    cache: Path,
    *,
    limit: int | None = None,
    stop: threading.Event | None = None,
) -> tuple[AnyRouter, int]:
    """Train on the training split, write `cache` atomically; returns the router and its size."""
    try:
        router, size = train_on_split(
            routellm_dir,
            seed=TRAIN_SEED,
            limit=limit,
            stop=stop.is_set if stop is not None else None,
            embedder=default_embedder(),
            cache_dir=cache.parent / "embeddings",
        )
    except InterruptedError:
        raise TrainingStopped("training stopped") from None
    partial = cache.with_name(f"{cache.name}.{os.getpid()}-{threading.get_ident()}.part")
    save(router, partial)
    partial.replace(cache)
    return router, size


class ServiceRouter:
    """Chooses the service's learned router and, in replay mode, trains it in the background."""

    def __init__(self, settings: Settings, *, replay: bool) -> None:
        self.settings = settings
        self.replay = replay
        default = (STRONG_MODEL, WEAK_MODEL) if replay else None
        self.pair: tuple[str, str] | None = settings.router_models or default
        self._models: Sequence[ModelSpec] = ()
        self._prices: Mapping[str, Price | None] = {}
        self._train_into: Path | None = None
        self._stop = threading.Event()
        self._router: AnyRouter | None = None
        self.quality_model: QualityModel | None = None

    @property
    def needs_training(self) -> bool:
        """True after `initial` when no router file was found but one can be trained."""
        return self._train_into is not None

    def selector(self, router: AnyRouter) -> Selector:
        assert self.pair is not None
        self._router = router
        return Selector(
            self._models,
            self._prices,
            router=router,
            router_models=self.pair,
            router_threshold=self.settings.router_threshold,
            quality_model=self.quality_model,
            cascade_band=self.settings.cascade_band,
        )

    def _weighted(self) -> Selector | None:
        """The weighted selector with the learned quality model, or None (the default one)."""
        if self.quality_model is None:
            return None
        return Selector(
            self._models,
            self._prices,
            quality_model=self.quality_model,
            cascade_band=self.settings.cascade_band,
        )

    def use_quality_model(self, model: QualityModel, orchestrator: Orchestrator) -> None:
        """Select with a newly trained quality model from now on (with the router, if any)."""
        self.quality_model = model
        selector = self.selector(self._router) if self._router is not None else self._weighted()
        if selector is not None:
            orchestrator.use_selector(selector)

    async def initial(
        self, models: Sequence[ModelSpec], prices: Mapping[str, Price | None], *, train: bool
    ) -> Selector | None:
        """The selector to start with (None: the weighted one); ConfigurationError when the
        configured router cannot be used. With `train`, replay mode may need `train_in`."""
        self._models, self._prices = models, prices
        qpath = quality_model_path(self.settings.data_dir)
        self.quality_model = await asyncio.to_thread(load_quality_model, qpath)
        if self.quality_model is not None:
            log.info(
                "learned quality model loaded from %s (models with history: %s)",
                qpath,
                ", ".join(f"{k} {n}" for k, n in sorted(self.quality_model.models.items())),
            )
        path = self.settings.router_path
        if path is None and not self.replay:
            if self.settings.router_models is not None:
                log.warning("router_models is set but router_path is not: weighted selection")
            return self._weighted()
        if self.pair is None:
            raise ConfigurationError(
                "router_path needs router_models (strong, weak model keys) outside replay mode"
            )
        available = {m.key for m in models}
        missing = [k for k in self.pair if k not in available]
        if missing:
            raise ConfigurationError(
                f"router_models {', '.join(missing)} not among the available models "
                "(unknown, disabled, or its provider has no key)"
            )
        started = time.perf_counter()
        if path is not None:
            try:
                router = await asyncio.to_thread(load, path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(f"router_path {str(path)!r} is unusable: {exc}") from None
            self._log_loaded(path, started)
            return self.selector(router)
        data = self.settings.routellm_data_dir
        cache = await asyncio.to_thread(cache_path, self.settings.data_dir, data, TRAIN_LIMIT)
        if cache is None:
            log.info("learned router: no routing data in %s, weighted selection", data)
            return self._weighted()
        try:
            router = await asyncio.to_thread(load, cache)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("learned router: the cache %s is unusable (%s); retraining", cache, exc)
        else:
            self._log_loaded(cache, started)
            return self.selector(router)
        if train:
            self._train_into = cache
        return self._weighted()

    def _log_loaded(self, path: Path, started: float) -> None:
        ms = 1000.0 * (time.perf_counter() - started)
        log.info(
            "learned router loaded from %s in %.0f ms (models %s / %s, threshold %.2f)",
            path,
            ms,
            *(self.pair or ("", "")),
            self.settings.router_threshold,
        )

    async def train_in(self, orchestrator: Orchestrator) -> None:
        """Train in a worker thread, cache, then switch `orchestrator` to the router.

        Cancelling this stops the training at its next step and waits (up to STOP_WAIT_S) for
        the thread to end, so no training outlives the service and writes a cache after it.
        """
        cache = self._train_into
        if cache is None:
            return
        data = self.settings.routellm_data_dir
        started = time.perf_counter()
        log.info("learned router: training on %s in the background", data)
        work = asyncio.ensure_future(
            asyncio.to_thread(train_and_cache, data, cache, limit=TRAIN_LIMIT, stop=self._stop)
        )
        try:
            router, size = await asyncio.shield(work)
        except asyncio.CancelledError:
            await self._stop_training(work)
            raise
        except TrainingStopped:
            return
        except Exception:
            log.exception("learned router: training failed; selection stays weighted")
            return
        self._train_into = None
        orchestrator.use_selector(self.selector(router))
        log.info(
            "learned router ready: trained on %d prompts in %.1f s, cached in %s",
            size,
            time.perf_counter() - started,
            cache,
        )

    async def _stop_training(self, work: asyncio.Future[tuple[AnyRouter, int]]) -> None:
        self._stop.set()
        await asyncio.wait({work}, timeout=STOP_WAIT_S)
        if not work.done():
            log.warning("learned router: training did not stop within %.0f s", STOP_WAIT_S)
            return
        if not work.cancelled() and work.exception() is None:
            log.info("learned router: training ended as it was stopped; its cache is kept")
            return
        log.info("learned router: training stopped")
