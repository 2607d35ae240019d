"""Who may monitor which call (tingyin.listening.permissions): the role per mode, and with
``listening.restrict_to_team`` the KPI file's teams; the softphone's Watch asks it first."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tingyin.agents.actions import set_state
from tingyin.agents.config import load_queue_config
from tingyin.audit.queries import recent_audit
from tingyin.bus.events import AgentLeg, CallRinging, utcnow
from tingyin.config import Settings
from tingyin.config.settings import ListeningSettings, QaSettings
from tingyin.listening.permissions import call_agent_ids, monitor_refusal
from tingyin.softphone.api import Watch
from tingyin.softphone.service import SoftphoneError
from tingyin.store import Database
from tingyin.store.models import User
from tingyin.telephony.actions import apply_call_event
from tingyin.web.context import AppContext

TEAMS = '[weights]\nqa = 100\n[teams]\n"一组" = ["u-agent", "u-supervisor"]\nB = ["u-qa"]\n'


def restricted(settings: Settings, kpi: Path, teams: str = TEAMS) -> Settings:
    kpi.write_text(teams, encoding="utf-8")
    return settings.model_copy(
        update={
            "listening": ListeningSettings(restrict_to_team=True),
            "qa": QaSettings(kpi_file=kpi),
        }
    )


def user(db: Database, role: str) -> User:
    with db.session() as session:
        return session.query(User).filter_by(username=f"u-{role}").one()


def ring(db: Database, call_id: str) -> None:
    with db.session() as session:
        event = CallRinging(call_id=call_id, at=utcnow(), sip_call_id=call_id, worker=0,
                            caller="13812345678", dialed="400")  # fmt: skip
        apply_call_event(session, event)


def on_call(db: Database, call_id: str) -> int:
    """u-agent on ``call_id`` (their profile names it), as the ACD leaves it."""
    now = utcnow()
    ring(db, call_id)
    with db.session() as session:
        agent = session.query(User).filter_by(username="u-agent").one().id
        config = load_queue_config()
        set_state(session, config, agent, "ready", now=now - timedelta(minutes=1))
        set_state(session, config, agent, "on_call", now=now, by="system", call_id=call_id)
    return agent


def refusal(db: Database, role: str, call_id: str, mode: str, settings: Settings) -> str | None:
    with db.session() as session:
        return monitor_refusal(session, user(db, role), call_id, mode, settings)


def test_roles_per_mode_with_the_old_messages(db: Database, settings: Settings) -> None:
    on_call(db, "c-1")
    for role in ("supervisor", "admin"):
        for mode in ("listen", "whisper", "barge"):
            assert refusal(db, role, "c-1", mode, settings) is None
    assert refusal(db, "qa", "c-1", "listen", settings) is None
    assert refusal(db, "qa", "c-1", "whisper", settings) == "your role may not whisper"
    assert refusal(db, "qa", "c-1", "barge", settings) == "your role may not barge"
    assert refusal(db, "agent", "c-1", "listen", settings) == "your role may not listen"
    assert refusal(db, "admin", "c-1", "shout", settings) == "mode must be listen, whisper or barge"
    assert refusal(db, "admin", "", "listen", settings) == "which call?"
    assert refusal(db, "admin", "x" * 65, "listen", settings) == "which call?"
    # Off by default: a supervisor in no team hears any call.
    assert refusal(db, "supervisor", "no-such-call", "listen", settings) is None


def test_restricted_to_the_agents_of_ones_team(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    on_call(db, "c-1")
    ring(db, "c-queued")  # nobody's yet
    teams = restricted(settings, tmp_path / "kpi.toml")
    assert refusal(db, "supervisor", "c-1", "barge", teams) is None
    assert refusal(db, "qa", "c-1", "listen", teams) == "this call's agent is not in your team"
    assert refusal(db, "supervisor", "c-queued", "listen", teams) == (
        "this call's agent is not in your team"
    )
    assert refusal(db, "admin", "c-queued", "barge", teams) is None  # admins always may
    # The role comes first: QA may still not whisper, team or not.
    assert refusal(db, "qa", "c-1", "whisper", teams) == "your role may not whisper"
    lone = restricted(
        settings, tmp_path / "lone.toml", '[weights]\nqa = 100\n[teams]\nB = ["u-qa"]\n'
    )
    assert refusal(db, "supervisor", "c-1", "listen", lone) == "you are in no team"


def test_an_edited_team_file_counts_at_once_and_a_broken_one_refuses(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    on_call(db, "c-1")
    kpi = tmp_path / "kpi.toml"
    teams = restricted(settings, kpi)
    assert refusal(db, "qa", "c-1", "listen", teams) is not None
    kpi.write_text('[weights]\nqa = 100\n[teams]\nA = ["u-agent", "u-qa"]\n', encoding="utf-8")
    stat = kpi.stat()
    os.utime(kpi, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert refusal(db, "qa", "c-1", "listen", teams) is None
    assert refusal(db, "supervisor", "c-1", "listen", teams) == "you are in no team"
    kpi.write_text('[weights]\nqa = 50\n[teams]\nA = ["u-agent"]\n', encoding="utf-8")
    os.utime(kpi, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert refusal(db, "supervisor", "c-1", "listen", teams) == (
        "the team list cannot be read; ask an admin"
    )
    assert refusal(db, "admin", "c-1", "listen", teams) is None  # never reads the file


def test_the_agent_of_a_call_by_its_legs(db: Database) -> None:
    """A SIP-phone agent has no profile pointing at the call: the answered leg names them."""
    ring(db, "c-2")
    agent = user(db, "agent").id

    def leg(state: str, leg_id: str = "l1") -> None:
        with db.session() as session:
            apply_call_event(session, AgentLeg(call_id="c-2", leg_id=leg_id, state=state,
                                               agent_id=agent, at=utcnow()))  # fmt: skip

    with db.session() as session:
        assert call_agent_ids(session, "c-2") == set()
    leg("ringing")
    leg("answered")
    with db.session() as session:
        assert call_agent_ids(session, "c-2") == {agent}
    leg("ended")
    with db.session() as session:
        assert call_agent_ids(session, "c-2") == set()


class FakePhones:
    """The softphone service's monitor, recorded."""

    def __init__(self) -> None:
        self.joined: list[tuple[str, str]] = []

    async def monitor(self, session: Any, call_id: str, mode: str) -> None:
        self.joined.append((call_id, mode))


@pytest.mark.parametrize(
    ("role", "mode", "message"),
    [
        ("qa", "whisper", "your role may not whisper"),
        ("agent", "listen", "your role may not listen"),
        ("qa", "listen", "this call's agent is not in your team"),
    ],
)
def test_the_softphone_watch_asks_first(
    db: Database, settings: Settings, tmp_path: Path, role: str, mode: str, message: str
) -> None:
    on_call(db, "c-1")
    context = AppContext(restricted(settings, tmp_path / "kpi.toml"), db, "x" * 32)
    phones = FakePhones()
    watch = Watch(context, user(db, role))
    with pytest.raises(SoftphoneError, match=message):
        asyncio.run(watch.monitor(phones, None, {"call_id": "c-1", "mode": mode}))  # type: ignore[arg-type]
    assert phones.joined == [] and watch.call_id is None
    allowed = Watch(context, user(db, "supervisor"))
    asyncio.run(allowed.monitor(phones, None, {"call_id": "c-1", "mode": "barge"}))  # type: ignore[arg-type]
    assert phones.joined == [("c-1", "barge")]
    with db.session() as session:
        [row] = recent_audit(session, action="call.monitor")
        assert (row.object_id, row.detail) == ("c-1", {"mode": "barge"})
