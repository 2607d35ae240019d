from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tingyin.bus.events import utcnow
from tingyin.store.models import AuditEntry, User


def record_audit(
    session: Session,
    user: User | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user else None,
        username=user.username if user else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
    )
    session.add(entry)
    return entry
