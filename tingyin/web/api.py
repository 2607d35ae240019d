"""The web layer's own routes; the features' routes live in their ``api.py``."""

from __future__ import annotations

from fastapi import APIRouter

from tingyin.web.deps import Context
from tingyin.web.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=HealthOut)
async def health(context: Context) -> HealthOut:
    # async: the supervisor's state belongs to the event loop, read it there.
    return HealthOut(status="ok", parts=context.health())
