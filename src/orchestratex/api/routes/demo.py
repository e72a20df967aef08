"""The offline demo's prompt picker: the recorded prompts replay mode can answer.

Only in replay mode (see docs/offline-demo.md); otherwise 404 `not_replay_mode`. When the
recordings cannot be read, 404 `recordings_not_found` says where the service looked.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.runtime.replay_mode import RecordedPrompt, ReplayDataError, ReplayIndex
from orchestratex.runtime.service import Service

router = APIRouter(prefix="/api/demo", tags=["demo"])

PREVIEW_CHARS = 200


class DemoPrompt(BaseModel):
    id: str
    source: Literal["gsm8k", "mt_bench"]
    category: str
    preview: str = Field(description=f"the first {PREVIEW_CHARS} characters")


class DemoPromptPage(BaseModel):
    total: int = Field(description="recorded prompts in the demo (all sources)")
    items: list[DemoPrompt]


class DemoPromptDetail(BaseModel):
    id: str
    source: Literal["gsm8k", "mt_bench"]
    category: str
    text: str


async def _index(service: Service) -> ReplayIndex:
    if service.replay is None:
        raise ApiError(
            404,
            "not_replay_mode",
            "the demo prompts exist only in replay mode (ORX_MODE=replay, or auto with no keys)",
        )
    try:
        return await service.replay.load()
    except ReplayDataError as exc:
        raise ApiError(
            404,
            "recordings_not_found",
            f"the recordings were not found or not readable ({exc}); looked in "
            f"{service.replay.where}; set ORX_ROUTELLM_DATA_DIR",
        ) from None


def _preview(prompt: RecordedPrompt) -> DemoPrompt:
    return DemoPrompt(
        id=prompt.id,
        source=prompt.source,
        category=prompt.category,
        preview=prompt.text[:PREVIEW_CHARS],
    )


@router.get("/prompts")
async def list_prompts(
    service: ServiceDep,
    user: CurrentUser,
    source: Literal["gsm8k", "mt_bench"] | None = None,
    q: Annotated[str | None, Query(max_length=500, description="search text or category")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 50,
) -> DemoPromptPage:
    """Recorded prompts in file order (GSM8K, then MT-Bench), filtered by source and text."""
    index = await _index(service)
    found = index.search(source=source, query=q, limit=limit)
    return DemoPromptPage(total=len(index), items=[_preview(p) for p in found])


@router.get("/prompts/{prompt_id}")
async def prompt_detail(prompt_id: str, service: ServiceDep, user: CurrentUser) -> DemoPromptDetail:
    """The full text of one recorded prompt."""
    index = await _index(service)
    prompt = index.by_id.get(prompt_id)
    if prompt is None:
        raise ApiError(404, "not_found", f"no recorded prompt {prompt_id!r}")
    return DemoPromptDetail(
        id=prompt.id, source=prompt.source, category=prompt.category, text=prompt.text
    )
