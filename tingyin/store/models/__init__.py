"""All models, imported here so Alembic and create_all see every table."""

from tingyin.store.models.accounts import ROLES, User
from tingyin.store.models.agents import AGENT_LINES, AGENT_STATES, AgentProfile, AgentStateLog
from tingyin.store.models.audit import AuditEntry
from tingyin.store.models.calls import Call, CallContext, CallEventRow
from tingyin.store.models.orders import (
    Customer,
    Merchant,
    NumberBinding,
    Order,
    OrderEvent,
    OrderItem,
    Rider,
    Store,
)
from tingyin.store.models.qa import (
    QaAppeal,
    QaCalibration,
    QaComment,
    QaEvaluation,
    QaReviewItem,
    QaScorecardVersion,
)
from tingyin.store.models.reports import (
    ReportDirty,
    ReportHalfHour,
    ReportTermDay,
    ReportTicket,
    ReportWatermark,
)
from tingyin.store.models.tickets import (
    Compensation,
    FollowUp,
    Ticket,
    TicketCall,
    TicketEvent,
    WebhookDelivery,
)
from tingyin.store.models.transcripts import TranscriptLeg, TranscriptSegment

__all__ = [
    "AGENT_LINES",
    "AGENT_STATES",
    "ROLES",
    "AgentProfile",
    "AgentStateLog",
    "AuditEntry",
    "Call",
    "CallContext",
    "CallEventRow",
    "Compensation",
    "Customer",
    "FollowUp",
    "Merchant",
    "NumberBinding",
    "Order",
    "OrderEvent",
    "OrderItem",
    "QaAppeal",
    "QaCalibration",
    "QaComment",
    "QaEvaluation",
    "QaReviewItem",
    "QaScorecardVersion",
    "ReportDirty",
    "ReportHalfHour",
    "ReportTermDay",
    "ReportTicket",
    "ReportWatermark",
    "Rider",
    "Store",
    "Ticket",
    "TicketCall",
    "TicketEvent",
    "TranscriptLeg",
    "TranscriptSegment",
    "User",
    "WebhookDelivery",
]
