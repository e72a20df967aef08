"""Past and present threads: a searchable list and the full detail of one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.core.orchestration import ThreadStatus
from orchestratex.runtime.service import ThreadDetail, ThreadPage

router = APIRouter(prefix="/api/threads", tags=["threads"])


@router.get("")
async def list_threads(
    service: ServiceDep,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=500, description="search the prompts")] = None,
    status: Annotated[
        ThreadStatus | Literal[""] | None, Query(description="only threads in this status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ThreadPage:
    """Newest first; a user sees their own threads, an admin sees all."""
    return await service.threads(
        user, search=q or None, status=status or None, limit=limit, offset=offset
    )


@router.get("/{thread_id}")
async def thread_detail(thread_id: str, service: ServiceDep, user: CurrentUser) -> ThreadDetail:
    """Rounds with the judges' scores and critiques, selection decisions and their reasons, cost."""
    detail = await service.thread_detail(thread_id, user=user)
    if detail is None:
        raise ApiError(404, "thread_not_found", "no such thread")
    return detail
