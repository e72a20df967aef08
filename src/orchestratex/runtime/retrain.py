"""Retraining the learned per-model quality model on a schedule, in the background.

Every instance runs one `Retrainer`. Each poll it takes or renews the trainer lease of the
stored model (store/learned_models.py: one instance at a time holds it, until it stops or its
lease lapses) and loads the stored model when it is newer than the one in use, so every
instance and worker selects with the latest. The lease holder retrains when `interval_s` has
passed since the last training and at least `min_new` judged answers came in since: it reads
the judged history, fits in a separate process (`runtime/retrain_job.py`; the fit is
CPU-bound Python and must not hold the event loop), stores the result in the database and in
`data_dir/quality-model.json`, and starts using it. Its state is `status` (shown by /healthz).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestratex.engine.learned_quality import DEFAULT_MIN_HISTORY, QualityModel
from orchestratex.runtime.quality_model import (
    QUALITY_MODEL_NAME,
    judged_history,
    save_quality_model,
)
from orchestratex.runtime.retrain_job import job_input
from orchestratex.store.facade import Store
from orchestratex.store.learned_models import (
    ModelVersion,
    claim_trainer,
    count_judged,
    load_body,
    release_trainer,
    save_body,
    stored_version,
)

log = logging.getLogger(__name__)

MAX_POLL_S = 30.0
"""The longest wait between two looks at the lease and the stored model."""
TRAIN_TIMEOUT_S = 900.0
"""A training process still running after this long is killed (and tried again later)."""


@dataclass
class RetrainStatus:
    """What /healthz shows of the scheduled retraining."""

    interval_s: float
    min_new: int
    role: Literal["starting", "trainer", "follower"] = "starting"
    training: bool = False
    trained_at: datetime | None = None
    judged_answers: int | None = None
    """Judged answers the model in use was trained on."""
    models: int = 0
    """Catalog models whose quality the model in use has learned."""
    new_judged: int | None = None
    """Judged answers since that training (known to the trainer)."""
    trainings: int = 0
    """Trainings this instance ran."""
    last_duration_s: float | None = None
    last_error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "interval_s": self.interval_s,
            "min_new": self.min_new,
            "role": self.role,
            "training": self.training,
            "trained_at": None if self.trained_at is None else self.trained_at.isoformat(),
            "judged_answers": self.judged_answers,
            "models": self.models,
            "new_judged": self.new_judged,
            "trainings": self.trainings,
            "last_duration_s": self.last_duration_s,
            "last_error": self.last_error,
        }


async def run_training_job(payload: bytes, timeout_s: float = TRAIN_TIMEOUT_S) -> str:
    """Fit in a child process; its stdout (the model's JSON), or RuntimeError."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orchestratex.runtime.retrain_job",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate(payload)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        kind = lines[-1].split(":", 1)[0][:80] if lines else "no output"
        raise RuntimeError(f"the training process exited with {proc.returncode} ({kind})")
    return out.decode("utf-8")


class Retrainer:
    """The retraining loop of one instance (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        instance_id: str,
        interval_s: float,
        min_new: int,
        path: Path,
        on_model: Callable[[QualityModel], None],
        min_history: int = DEFAULT_MIN_HISTORY,
    ) -> None:
        self._sessions = store.sessions
        self._writes = store.writes
        self._id = instance_id
        self._interval_s = interval_s
        self._min_new = min_new
        self._path = path
        self._on_model = on_model
        self._min_history = min_history
        self.poll_s = min(interval_s, MAX_POLL_S)
        self._lease_s = max(3.0 * self.poll_s, 1.0)
        self._loaded: datetime | None = None
        self.status = RetrainStatus(interval_s=interval_s, min_new=min_new)

    async def run(self) -> None:
        """Poll until cancelled; the lease is given up at the end."""
        try:
            while True:
                try:
                    await self.tick()
                except Exception as exc:
                    self.status.last_error = type(exc).__name__  # no details: /healthz is open
                    log.warning("learned quality: scheduled retraining failed: %s", exc)
                await asyncio.sleep(self.poll_s)
        finally:
            with contextlib.suppress(Exception):
                await release_trainer(self._writes, QUALITY_MODEL_NAME, self._id)

    async def tick(self) -> None:
        """One look: renew or take the lease, load a newer stored model, retrain when due."""
        name = QUALITY_MODEL_NAME
        trainer = await claim_trainer(self._writes, name, self._id, self._lease_s)
        self.status.role = "trainer" if trainer else "follower"
        version = await stored_version(self._sessions, name)
        if version is not None and (self._loaded is None or version.trained_at > self._loaded):
            await self._load()
        if not trainer:
            return
        base = version.judged_answers if version is not None else 0
        new = await count_judged(self._sessions) - base
        self.status.new_judged = new
        age = None if version is None else (datetime.now(UTC) - version.trained_at).total_seconds()
        if (age is None or age >= self._interval_s) and new >= self._min_new:
            await self.train()

    async def _load(self) -> None:
        found = await load_body(self._sessions, QUALITY_MODEL_NAME)
        if found is None:
            return
        body, version = found
        model = await asyncio.to_thread(_parse, body)
        self._use(model, version)
        log.info(
            "learned quality model loaded from the store (trained %s by %s on %d judged answers)",
            version.trained_at.isoformat(timespec="seconds"),
            version.trained_by or "?",
            version.judged_answers,
        )

    def _use(self, model: QualityModel, version: ModelVersion) -> None:
        self._loaded = version.trained_at
        self.status.trained_at = version.trained_at
        self.status.judged_answers = version.judged_answers
        self.status.models = len(model.models)
        self._on_model(model)

    async def train(self) -> None:
        """Fit on the whole judged history now (holding the lease through it), store, use."""
        name = QUALITY_MODEL_NAME
        await claim_trainer(self._writes, name, self._id, TRAIN_TIMEOUT_S + self._lease_s)
        self.status.training = True
        started = time.perf_counter()
        try:
            count = await count_judged(self._sessions)
            rows = await judged_history(self._sessions)
            body = await run_training_job(job_input(rows, self._min_history))
            model = await asyncio.to_thread(_parse, body)
            version = await save_body(
                self._writes, name, body, judged_answers=count, trained_by=self._id
            )
            await asyncio.to_thread(save_quality_model, model, self._path)
        finally:
            self.status.training = False
            await claim_trainer(self._writes, name, self._id, self._lease_s)
        self._use(model, version)
        self.status.trainings += 1
        self.status.new_judged = 0
        self.status.last_error = None
        self.status.last_duration_s = round(time.perf_counter() - started, 3)
        log.info(
            "learned quality model retrained on %d judged answers in %.1f s (models: %s); "
            "saved to the store and %s",
            len(rows),
            self.status.last_duration_s,
            ", ".join(f"{k} {n}" for k, n in sorted(model.models.items())) or "none yet",
            self._path,
        )


def _parse(body: str) -> QualityModel:
    return QualityModel.from_dict(json.loads(body))
