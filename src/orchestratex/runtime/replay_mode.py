"""Replay mode (the offline demo): which mode the service runs in, and how replay runs look.

In replay mode the models are the replay provider's (providers/replay_catalog.py), answers are
real recorded answers of gpt-4-1106-preview and Mixtral-8x7B from the RouteLLM data, the judge
is always the recorded judge (one judge), and improvement escalates instead of revising: a
revision was never recorded. The recordings' types are re-exported for the surfaces.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from orchestratex.core.errors import OrchestrateXError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine.improvement import ImprovementPolicy
from orchestratex.providers.catalog import load_catalog
from orchestratex.providers.replay_data import (
    RECORDED_JUDGE,
    RecordedPrompt,
    ReplayData,
    ReplayDataError,
    ReplayIndex,
    Source,
)
from orchestratex.runtime.settings import Settings

__all__ = [
    "RECORDED_JUDGE",
    "REPLAY_LOG_LINE",
    "REPLAY_POLICY",
    "Mode",
    "PromptNotRecordedError",
    "RecordedPrompt",
    "RecordingsNotFoundError",
    "ReplayData",
    "ReplayDataError",
    "ReplayIndex",
    "Source",
    "hosted_key_variables",
    "replay_request",
    "resolve_mode",
]

Mode = Literal["live", "replay"]
REPLAY_POLICY = ImprovementPolicy(revise=False)
REPLAY_LOG_LINE = (
    "replay mode: answers are real recorded answers of gpt-4-1106-preview and Mixtral-8x7B "
    "from the RouteLLM data, not live model calls"
)


class PromptNotRecordedError(OrchestrateXError):
    """Replay mode was asked a prompt that has no recorded answers."""

    code = "not_recorded"


class RecordingsNotFoundError(OrchestrateXError):
    """Replay mode without readable recordings."""

    code = "recordings_not_found"


def hosted_key_variables() -> list[str]:
    """The key variables of the built-in hosted providers (OPENAI_API_KEY, ...)."""
    catalog = load_catalog()
    return sorted({p.api_key_env for p in catalog.providers.values() if p.api_key_env})


def resolve_mode(
    settings: Settings, env: Mapping[str, str] | None = None, *, catalog_given: bool = False
) -> Mode:
    """`settings.mode`, with "auto" resolved: replay when no hosted key variable is set, no
    provider or model is configured and no catalog was handed in; else live."""
    if settings.mode != "auto":
        return settings.mode
    if catalog_given or settings.providers or settings.models:
        return "live"
    source = env if env is not None else os.environ
    if any(source.get(name, "").strip() for name in hosted_key_variables()):
        return "live"
    return "replay"


async def replay_request(data: ReplayData, request: OrchestrationRequest) -> OrchestrationRequest:
    """The request as replay mode runs it: a recorded prompt, judged by the recorded judge.

    Raises PromptNotRecordedError for any other prompt, RecordingsNotFoundError without data.
    """
    try:
        index = await data.load()
    except ReplayDataError as exc:
        raise RecordingsNotFoundError(
            f"replay mode: the recordings cannot be read ({exc}); "
            "set ORX_ROUTELLM_DATA_DIR to the RouteLLM data folder"
        ) from None
    if request.model == RECORDED_JUDGE:
        raise PromptNotRecordedError(f"{RECORDED_JUDGE} only judges; it does not answer prompts")
    if request.messages and request.messages[-1].role == "assistant":
        raise PromptNotRecordedError(
            "not recorded: a recorded answer cannot continue an answer begun by the caller (a "
            "conversation ending with an assistant turn); end it with the recorded prompt"
        )
    if index.find(request.prompt) is None:
        raise PromptNotRecordedError(
            f"not recorded: the replay provider only serves the {len(index)} recorded prompts; "
            "pick one from /api/demo/prompts"
        )
    if request.judge_count == 0 and not request.judges:
        return request  # unjudged (a /v1 passthrough): the recorded judge is not asked either
    allowed = request.preferences.allowed_models
    if allowed is not None and RECORDED_JUDGE not in allowed:
        # The recorded judge is the only judge here, and the request does not allow it.
        return request.model_copy(update={"judges": None, "judge_count": 0})
    return request.model_copy(update={"judges": [RECORDED_JUDGE], "judge_count": 1})
