"""Transcripts in the store, on SQLite and PostgreSQL: live segments, post-call replacement."""

from __future__ import annotations

import pytest

from tingyin.asr.actions import apply_transcript_event, replace_leg_transcript
from tingyin.asr.queries import calls_to_transcribe, leg_statuses, segments
from tingyin.bus.events import (
    CallAnswered,
    CallEnded,
    CallRinging,
    TranscriptFinal,
    TranscriptLegStatus,
    Word,
)
from tingyin.store import Database
from tingyin.telephony.actions import apply_call_event

CALL = "a" * 32


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        for event in (
            CallRinging(call_id=CALL, sip_call_id="x", worker=0, caller="138", dialed="400"),
            CallAnswered(call_id=CALL),
            CallEnded(call_id=CALL, reason="hangup", recording_path="2026/11/23/a.wav"),
        ):
            apply_call_event(session, event)
    return database


def final(leg: str, start: float, text: str, source: str = "live") -> TranscriptFinal:
    words = (Word(word=text, start=start, end=start + 0.5, conf=0.8),)
    return TranscriptFinal(
        call_id=CALL, leg=leg, start=start, end=start + 0.5, text=text, words=words, source=source
    )


def test_live_segments_then_a_post_call_pass_replaces_the_leg(db: Database) -> None:
    with db.session() as session:
        apply_transcript_event(
            session, TranscriptLegStatus(call_id=CALL, leg="caller", status="live")
        )
        apply_transcript_event(session, final("caller", 2.0, "둘"))
        apply_transcript_event(session, final("system", 0.5, "안녕"))
        apply_transcript_event(session, final("caller", 1.0, "하나"))
    with db.session() as session:
        assert [s.text for s in segments(session, CALL)] == ["안녕", "하나", "둘"]
        assert segments(session, CALL)[1].words == [
            {"word": "하나", "start": 1.0, "end": 1.5, "conf": 0.8}
        ]
        assert [leg for _, legs in calls_to_transcribe(session) for leg in legs] == [
            "caller",
            "system",
        ]
    post = TranscriptLegStatus(call_id=CALL, leg="caller", status="transcribing", source="post")
    done = TranscriptLegStatus(call_id=CALL, leg="caller", status="complete", source="post")
    with db.session() as session:
        apply_transcript_event(session, post)
        apply_transcript_event(session, final("caller", 1.1, "셋", source="post"))
        apply_transcript_event(session, done)
    with db.session() as session:
        assert [(s.leg, s.text, s.source) for s in segments(session, CALL)] == [
            ("system", "안녕", "live"),
            ("caller", "셋", "post"),
        ]
        statuses = {r.leg: (r.status, r.source) for r in leg_statuses(session, CALL)}
        assert statuses == {"caller": ("complete", "post")}
        assert [legs for _, legs in calls_to_transcribe(session)] == [["system"]]
        assert calls_to_transcribe(session, missing_only=False)[0][1] == ["caller", "system"]
    with db.session() as session:
        assert replace_leg_transcript(session, CALL, "system", [final("system", 0.4, "네")]) == 1
    with db.session() as session:
        assert [s.text for s in segments(session, CALL)] == ["네", "셋"]
        assert calls_to_transcribe(session) == []


def test_transcripts_of_unknown_calls_are_dropped(db: Database) -> None:
    stray = TranscriptFinal(call_id="b" * 32, leg="caller", start=0, end=1, text="x")
    with db.session() as session:
        apply_transcript_event(session, stray)
        apply_transcript_event(
            session, TranscriptLegStatus(call_id="b" * 32, leg="caller", status="live")
        )
    with db.session() as session:
        assert segments(session, "b" * 32) == []
