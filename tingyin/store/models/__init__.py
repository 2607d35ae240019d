"""All models, imported here so Alembic and create_all see every table."""

from tingyin.store.models.accounts import ROLES, User
from tingyin.store.models.audit import AuditEntry
from tingyin.store.models.calls import Call, CallEventRow
from tingyin.store.models.transcripts import TranscriptLeg, TranscriptSegment

__all__ = [
    "ROLES",
    "AuditEntry",
    "Call",
    "CallEventRow",
    "TranscriptLeg",
    "TranscriptSegment",
    "User",
]
