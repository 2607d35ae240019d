"""The audit log, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tingyin.audit.queries import recent_audit
from tingyin.audit.schemas import AuditOut
from tingyin.web.deps import AdminUser, DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["audit"])


@router.get("/api/audit", response_model=list[AuditOut])
def audit_log(
    admin: AdminUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[
        str | None, Query(max_length=64, pattern=NO_CONTROL_CHARS, examples=["recording.download"])
    ] = None,
) -> list[AuditOut]:
    """The newest entries first."""
    return [AuditOut.model_validate(a) for a in recent_audit(session, action=action, limit=limit)]
