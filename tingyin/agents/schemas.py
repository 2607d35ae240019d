"""Request and response bodies of the agent API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tingyin.store.models import AGENT_LINES, AGENT_STATES

State = Literal[AGENT_STATES]  # type: ignore[valid-type]
Line = Literal[AGENT_LINES]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateIn(_In):
    state: State
    reason: str = Field(default="", max_length=32, pattern=r"^[a-z0-9_]*$")


class ProfileIn(_In):
    """The fields to change (absent ones stay; ``null`` empties extension or phone_uri)."""

    extension: str | None = Field(default=None, pattern=r"^[0-9]{2,16}$")
    phone_uri: str | None = Field(
        default=None, max_length=255, pattern=r"^(browser|sip:[^\s\x00-\x1f]+)$"
    )
    lines: list[Line] | None = Field(default=None, min_length=1, max_length=3)
    languages: list[str] | None = Field(default=None, min_length=1, max_length=8)
    level: int | None = Field(default=None, ge=1, le=5)


class ReasonOut(BaseModel):
    code: str
    zh: str
    en: str


class AgentOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: str
    active: bool
    extension: str | None = None
    phone_uri: str | None = None
    lines: list[str] = Field(default_factory=lambda: ["customer"])
    languages: list[str] = Field(default_factory=lambda: ["zh"])
    level: int = 1
    state: str = "offline"
    reason: str = ""
    since: datetime | None = None  # None: never signed in as an agent
    seconds_in_state: float | None = None
    idle_since: datetime | None = None
    missed_offers: int = 0
    call_id: str | None = None


class AgentMeOut(AgentOut):
    reasons: list[ReasonOut]  # the not-ready reasons an agent may choose
    wrap_up_seconds: int
    now: datetime  # the server's clock, for the page's timer


class AgentRowOut(AgentOut):
    today: dict[str, float]  # seconds per state since midnight (Settings.timezone)


class StateLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: str
    reason: str
    call_id: str | None
    started_at: datetime
    ended_at: datetime | None
    seconds: float  # an open stay: so far
