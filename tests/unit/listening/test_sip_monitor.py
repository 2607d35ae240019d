"""The hub's side of the SIP feature codes (tingyin.listening.sip_monitor) on a real bus and a
real database: who is refused, what the call's worker and the phone's worker are told, which
audio frames are carried across, DTMF mode switches and the audit rows. The workers' IPC link
is a recorder of what would be sent (the worker side runs for real in
tests/integration/test_monitor_sip.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.unit.listening.test_permissions import on_call
from tingyin.agents.actions import ProfileChanges, configure_agent
from tingyin.audit.queries import recent_audit
from tingyin.bus import EventBus
from tingyin.bus.events import MonitorLeg, SupervisorPhone
from tingyin.config import Settings
from tingyin.listening.sip_monitor import SipMonitors
from tingyin.store import Database
from tingyin.store.models import User

PHONE_WORKER, CALL_WORKER = 1, 0


class Link:
    """Stands in for the hub's IPC listener: records commands and PCM frames."""

    def __init__(self) -> None:
        self.commands: list[tuple[int, dict[str, Any]]] = []
        self.pcm: list[tuple[int, str, bytes]] = []

    async def send_command(self, worker: int, command: dict[str, Any]) -> bool:
        self.commands.append((worker, command))
        return True

    def send_pcm(self, worker: int, leg_id: str, pcm: bytes) -> bool:
        self.pcm.append((worker, leg_id, pcm))
        return True

    def named(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        return [(w, c) for w, c in self.commands if c["command"] == name]


def extension(db: Database, username: str, number: str) -> None:
    with db.session() as session:
        user = session.query(User).filter_by(username=username).one()
        configure_agent(session, user.id, ProfileChanges(extension=number))


async def settle(bus: EventBus, *events: SupervisorPhone | MonitorLeg) -> None:
    for event in events:
        bus.publish(event)
    for _ in range(50):  # the handlers hop to threads for the database
        await asyncio.sleep(0.02)


def dialled(code: str, caller: str, leg: str = "phone-1") -> SupervisorPhone:
    return SupervisorPhone(leg_id=leg, worker=PHONE_WORKER, state="dialled", caller=caller,
                           dialed=code)  # fmt: skip


def run(db: Database, settings: Settings, scenario: Any) -> Link:
    link = Link()

    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()
        where = {"c-1": CALL_WORKER}.get
        monitors = SipMonitors(bus, db, settings, link.send_command, link.send_pcm, where)
        await scenario(bus, monitors, link)
        await bus.stop()

    asyncio.run(main())
    return link


def test_refusals(db: Database, settings: Settings) -> None:
    extension(db, "u-agent", "8101")
    extension(db, "u-supervisor", "2001")
    extension(db, "u-qa", "2002")

    async def scenario(bus: EventBus, _monitors: SipMonitors, _link: Link) -> None:
        await settle(bus, dialled("*18101", "13900001111", "a"))  # nobody's phone
        await settle(bus, dialled("*18101", "2001", "b"))  # the agent is on no call
        await settle(bus, dialled("*19999", "2001", "c"))  # no such extension
        await settle(bus, dialled("*28101", "2002", "d"))  # QA may not whisper

    link = run(db, settings, scenario)
    rejects = {c["leg_id"]: (c["status"], c["reason"]) for _, c in link.named("supervisor_reject")}
    assert rejects == {
        "a": (403, "this phone is not a supervisor's"),
        "b": (404, "the agent is not on a call"),
        "c": (404, "no agent has that extension"),
        "d": (403, "your role may not whisper"),
    }
    assert not link.named("supervisor_accept")


def test_relayed_listen_then_whisper_then_the_end(db: Database, settings: Settings) -> None:
    on_call(db, "c-1")
    extension(db, "u-agent", "8101")
    extension(db, "u-supervisor", "2001")
    mix, voice = b"\x01" * 320, b"\x02" * 320

    async def scenario(bus: EventBus, monitors: SipMonitors, link: Link) -> None:
        await settle(bus, dialled("*18101", "2001"))
        monitor_id = link.named("monitor_join")[0][1]["leg_id"]
        assert monitors.relay(monitor_id, mix)  # the call's mix → the phone
        assert monitors.relay("phone-1", voice)  # listening: the voice is dropped
        await settle(bus, SupervisorPhone(leg_id="phone-1", worker=PHONE_WORKER, state="key",
                                          digit="5"))  # fmt: skip
        assert monitors.relay("phone-1", voice)  # whispering: now it is carried
        assert not monitors.relay("someone-else", voice)  # not ours: the softphones' frame
        await settle(bus, SupervisorPhone(leg_id="phone-1", worker=PHONE_WORKER, state="ended"))

    link = run(db, settings, scenario)
    joins, accepts = link.named("monitor_join"), link.named("supervisor_accept")
    assert [w for w, _ in joins] == [CALL_WORKER] and joins[0][1]["mode"] == "listen"
    assert [w for w, _ in accepts] == [PHONE_WORKER]
    accept, monitor_id = accepts[0][1], joins[0][1]["leg_id"]
    assert accept["local"] is False and accept["monitor_id"] == monitor_id
    assert link.pcm == [(PHONE_WORKER, "phone-1", mix), (CALL_WORKER, monitor_id, voice)]
    modes = link.named("monitor_mode")
    assert modes == [(CALL_WORKER, {"command": "monitor_mode", "call_id": "c-1",
                                    "leg_id": monitor_id, "mode": "whisper"})]  # fmt: skip
    assert link.named("monitor_leave") == [(CALL_WORKER, {"command": "monitor_leave",
                                            "call_id": "c-1", "leg_id": monitor_id})]  # fmt: skip
    with db.session() as session:
        rows = [r for r in recent_audit(session, limit=50) if r.action.startswith("call.monitor")]
        assert sorted((r.action, r.detail.get("mode", "")) for r in rows) == [
            ("call.monitor", "listen"),
            ("call.monitor", "whisper"),
            ("call.monitor.end", ""),
        ]
        assert all(r.detail["via"] == "sip" and r.detail["path"] == "relayed" for r in rows)


def test_the_phone_is_hung_up_when_the_call_ends(db: Database, settings: Settings) -> None:
    on_call(db, "c-1")
    extension(db, "u-agent", "8101")
    extension(db, "u-supervisor", "2001")

    async def scenario(bus: EventBus, monitors: SipMonitors, link: Link) -> None:
        await settle(bus, dialled("*38101", "2001"))
        monitor_id = link.named("monitor_join")[0][1]["leg_id"]
        await settle(bus, MonitorLeg(call_id="c-1", leg_id=monitor_id, state="left",
                                     mode="barge", reason="call-ended"))  # fmt: skip

    link = run(db, settings, scenario)
    assert link.named("hangup") == [(PHONE_WORKER, {"command": "hangup", "call_id": "phone-1"})]
