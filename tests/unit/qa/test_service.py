"""The QA service: a finished call's automatic proposal is stored once its transcript is final
(a leg still live holds it back), off the event loop, and a broken config stops the start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.unit.qa.support import make_call
from tests.unit.qa.synth import planted_call
from tingyin.asr.actions import set_leg_status
from tingyin.bus import EventBus
from tingyin.bus.events import CallEnded
from tingyin.config import Settings
from tingyin.qa.queries import auto_proposal
from tingyin.qa.service import QaConfigError, QaService, load_qa_rules
from tingyin.store import Database


def test_a_finished_call_gets_its_proposal_when_the_transcript_is_final(
    db: Database, tmp_path: Path
) -> None:
    recording = planted_call(tmp_path / "rec" / "c.wav")
    make_call(db, "c-svc", recording="c.wav")
    with db.session() as session:  # the caller's leg is still being transcribed
        set_leg_status(session, "c-svc", "caller", "live", "live", "")
    rules = load_qa_rules(Settings(data_dir=tmp_path))
    assert rules is not None

    def stored() -> bool:
        with db.session() as session:
            return auto_proposal(session, "c-svc") is not None

    async def scenario() -> None:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()
        files = {"c.wav": recording}
        service = QaService(db, bus, rules, files.get, settle_s=0.0, poll_s=0.05)
        bus.publish(CallEnded(call_id="c-svc", reason="hangup"))
        await asyncio.sleep(0.5)
        assert not stored()  # waits for the live leg
        with db.session() as session:
            set_leg_status(session, "c-svc", "caller", "complete", "live", "")
        for _ in range(200):
            if service.done:
                break
            await asyncio.sleep(0.05)
        await service.stop()
        await bus.stop()

    asyncio.run(scenario())
    with db.session() as session:
        row = auto_proposal(session, "c-svc")
        assert row is not None and row.critical_failed
        assert row.metrics["overlap_s"] == pytest.approx(1.0, abs=0.1)
        assert {f["check"] for f in row.findings} >= {"greeting", "dead_air", "talk_over"}


def test_a_broken_scorecard_stops_the_start(tmp_path: Path) -> None:
    bad = tmp_path / "card.toml"
    bad.write_text('id = "x"\nversion = 0\n', encoding="utf-8")
    with pytest.raises(QaConfigError, match="field version"):
        load_qa_rules(Settings(data_dir=tmp_path, qa={"scorecard_file": bad}))
    assert load_qa_rules(Settings(data_dir=tmp_path, qa={"enabled": False})) is None
