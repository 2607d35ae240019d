"""What the web app needs from the hub, built in the hub's entry point and handed to the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tingyin.bus import EventBus
from tingyin.config import Settings
from tingyin.store import Database

if TYPE_CHECKING:
    from tingyin.screenpop.context import ContextBuilder
    from tingyin.softphone.service import SoftphoneService
    from tingyin.telephony.audio_relay import AudioRelay
    from tingyin.tickets.policy import TicketPolicy


@dataclass
class AppContext:
    settings: Settings
    db: Database
    secret_key: str
    # None: the app creates and starts its own bus on its event loop (tests, web-only nodes).
    bus: EventBus | None = None
    # Health of the other parts (workers, Kamailio), reported by GET /api/health.
    health: Callable[[], dict[str, Any]] = field(default=lambda: {})
    # Live call audio from the media workers; None where this process runs no workers.
    audio: AudioRelay | None = None
    # Builds caller contexts for the search box; None: built from the settings on first use.
    screenpop: ContextBuilder | None = None
    # The ticket policy; None: loaded from the settings on first use.
    tickets: TicketPolicy | None = None
    # Browser softphones (WebRTC ↔ the media workers); None where this process runs no workers.
    softphones: SoftphoneService | None = None
