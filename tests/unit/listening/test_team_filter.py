"""TeamFilter: what a team-restricted watcher's /ws/events carries. Team = agents 1 and 2 (and
the watcher, 9); agent 5 is another team's."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from tingyin.bus.desk import DeskDraft
from tingyin.bus.events import (
    ALL_EVENTS,
    AgentLeg,
    AgentStateChanged,
    AsrOverloaded,
    CallAlert,
    CallAnswered,
    CallEnded,
    CallerContextReady,
    CallEvent,
    CallFailed,
    CallQueued,
    CallRinging,
    ConsultLeg,
    ConsultRequested,
    DeskMirror,
    Event,
    IvrStep,
    MonitorLeg,
    QueueLeft,
    TicketSlaAlert,
    TranscriptFinal,
    TranscriptPartial,
    TransferRequested,
    WorkerReady,
)
from tingyin.listening.team_filter import AGENT_FIELDS, RoomTeam, TeamFilter

TEAM = RoomTeam(frozenset({1, 2, 9}))
OURS, THEIRS = 1, 5


def started(team: RoomTeam | None = TEAM, **limits: int) -> TeamFilter:
    gate = TeamFilter(**limits)
    assert gate.start(team) == []
    return gate


def state(agent: int, state: str = "on_call", call_id: str = "") -> AgentStateChanged:
    return AgentStateChanged(user_id=agent, username=f"a{agent}", display_name="", state=state,
                             call_id=call_id)  # fmt: skip


def ringing(call_id: str) -> CallRinging:
    return CallRinging(call_id=call_id, sip_call_id="s", worker=0, caller="138****5678",
                       dialed="400")  # fmt: skip


def line(call_id: str, text: str = "你好") -> TranscriptFinal:
    return TranscriptFinal(call_id=call_id, leg="caller", start=0.0, end=1.0, text=text)


def leg(call_id: str, agent: int, state_: str) -> AgentLeg:
    return AgentLeg(call_id=call_id, leg_id=f"l{agent}", state=state_, agent_id=agent)


def alert(call_id: str, agent: int = 0) -> CallAlert:
    return CallAlert(call_id=call_id, rule="r", kind="phrase", severity="warning",
                     at_seconds=1.0, agent_id=agent)  # fmt: skip


def passes(gate: TeamFilter, event: Event) -> bool:
    kept = gate.admit(event)
    assert kept is None or kept == event
    return kept is not None


# -- events that name an agent ----------------------------------------------------------------
def test_agent_events_pass_for_the_team_only() -> None:
    gate = started()
    for ours, theirs in [
        (state(OURS, "ready"), state(THEIRS, "ready")),
        (state(OURS, "ringing", "c1"), state(THEIRS, "ringing", "c5")),
        (DeskMirror(call_id="c1", agent_id=OURS, draft=DeskDraft()),
         DeskMirror(call_id="c5", agent_id=THEIRS, draft=DeskDraft())),
        (leg("c1", OURS, "answered"), leg("c5", THEIRS, "answered")),
        (alert("c1", OURS), alert("c5", THEIRS)),
        (TransferRequested(call_id="c1", queue="q", by_user=OURS),
         TransferRequested(call_id="c5", queue="q", by_user=THEIRS)),
    ]:  # fmt: skip
        assert passes(gate, ours), ours
        assert not passes(gate, theirs), theirs


def test_one_team_agent_named_is_enough() -> None:
    """A consult or transfer between our agent and another team's: ours, so it passes."""
    gate = started()
    assert passes(gate, ConsultRequested(call_id="c1", action="start", agent_id=THEIRS,
                                         by_user=OURS))  # fmt: skip
    assert passes(gate, ConsultLeg(call_id="c1", leg_id="k", state="ringing", agent_id=THEIRS,
                                   from_agent=OURS))  # fmt: skip
    assert passes(gate, TransferRequested(call_id="c5", agent_id=OURS, by_user=THEIRS))


def test_every_user_id_field_of_the_catalogue_is_looked_at() -> None:
    """A new event naming an agent under another field name must be taught to the filter."""
    for cls in ALL_EVENTS:
        for f in dataclasses.fields(cls):
            looks_like_a_user = "agent" in f.name or "user" in f.name
            if looks_like_a_user and get_type_hints(cls)[f.name] is int:
                assert f.name in AGENT_FIELDS, (cls.__name__, f.name)


# -- a call's events --------------------------------------------------------------------------
def test_a_call_nobody_has_taken_stays_visible() -> None:
    gate = started()
    for event in (ringing("c7"), IvrStep(call_id="c7", node="menu", node_type="menu"),
                  CallQueued(call_id="c7", queue="q"), line("c7")):  # fmt: skip
        assert passes(gate, event)


def test_another_teams_call_goes_dark_once_their_agent_takes_it() -> None:
    gate = started()
    assert passes(gate, ringing("c5"))
    assert not passes(gate, state(THEIRS, "ringing", "c5"))
    for event in (
        CallAnswered(call_id="c5"),
        line("c5"),
        TranscriptPartial(call_id="c5", leg="agent", text="您好"),
        MonitorLeg(call_id="c5", leg_id="m", state="joined", mode="listen"),
        alert("c5"),
        CallerContextReady(call_id="c5", caller="138****5678", number_kind="mobile",
                           caller_kind="customer", revision=2),
        AsrOverloaded(call_id="c5", leg="agent", live_legs=9, capacity=8, reason="full"),
    ):  # fmt: skip
        assert not passes(gate, event), event
    # Our agent's call beside it is untouched.
    assert not passes(gate, leg("c5", THEIRS, "answered"))
    assert passes(gate, state(OURS, "on_call", "c1"))
    assert passes(gate, line("c1"))


def test_a_call_learned_from_the_agent_leg_alone() -> None:
    """A SIP phone's leg: the AgentLeg is the first to say whose the call is."""
    gate = started()
    assert not passes(gate, leg("c5", THEIRS, "ringing"))
    assert not passes(gate, line("c5"))
    assert passes(gate, leg("c1", OURS, "answered"))
    assert passes(gate, line("c1"))


def test_a_transfer_moves_the_call_between_teams() -> None:
    gate = started()
    gate.admit(state(OURS, "on_call", "c1"))
    assert passes(gate, line("c1", "ours"))
    # Blind transfer to the other team: our agent leaves, theirs answers.
    gate.admit(leg("c1", OURS, "ended"))
    gate.admit(state(OURS, "wrap_up", ""))
    gate.admit(state(THEIRS, "on_call", "c1"))
    assert not passes(gate, line("c1", "theirs"))
    # And back again: theirs leaves, ours joins.
    gate.admit(state(THEIRS, "ready"))
    assert not passes(gate, line("c1", "in the queue again"))  # still theirs, the last we knew
    gate.admit(state(2, "ringing", "c1"))
    assert passes(gate, line("c1", "ours again"))


def test_a_call_with_agents_of_both_teams_is_ours() -> None:
    gate = started()
    gate.admit(state(THEIRS, "on_call", "c1"))
    assert not passes(gate, line("c1"))
    gate.admit(leg("c1", OURS, "answered"))
    assert passes(gate, line("c1"))


def test_an_agent_on_a_new_call_leaves_the_old_one() -> None:
    gate = started()
    gate.admit(state(THEIRS, "on_call", "c5"))
    gate.admit(state(THEIRS, "ringing", "c6"))
    gate.admit(state(OURS, "on_call", "c5"))  # c5 is now ours alone
    assert passes(gate, line("c5"))
    assert not passes(gate, line("c6"))


def test_the_queues_events_always_pass_without_naming_another_team() -> None:
    gate = started()
    gate.admit(state(THEIRS, "ringing", "c5"))
    assert passes(gate, CallQueued(call_id="c5", queue="q"))
    left = QueueLeft(call_id="c5", queue="q", outcome="answered", waited_seconds=3.0,
                     agent_id=THEIRS)  # fmt: skip
    assert gate.admit(left) == dataclasses.replace(left, agent_id=0)
    ours = dataclasses.replace(left, call_id="c1", agent_id=OURS)
    assert gate.admit(ours) == ours
    assert passes(gate, CallEnded(call_id="c5", reason="hangup"))
    assert passes(gate, CallFailed(call_id="c6", reason="worker died"))


def test_events_with_neither_call_nor_agent_pass() -> None:
    gate = started()
    assert passes(gate, WorkerReady(worker=0, sip_host="127.0.0.1", sip_port=5070, pid=1))
    assert passes(gate, TicketSlaAlert(number="T1", category="late", priority="high",
                                       clock="resolution", state="warning"))  # fmt: skip


# -- after the end, and bounds ----------------------------------------------------------------
def test_post_call_lines_of_another_teams_call_stay_dark() -> None:
    gate = started()
    gate.admit(state(THEIRS, "on_call", "c5"))
    gate.admit(leg("c5", THEIRS, "ended"))  # the agent's leg ends before the call does
    gate.admit(CallEnded(call_id="c5", reason="hangup"))
    gate.admit(state(THEIRS, "wrap_up", "c5"))
    gate.admit(CallFailed(call_id="c5", reason="late duplicate"))  # keeps the verdict
    assert not passes(gate, TranscriptFinal(call_id="c5", leg="agent", start=0.0, end=1.0,
                                            text="x", source="post"))  # fmt: skip
    gate.admit(state(OURS, "on_call", "c1"))
    gate.admit(CallEnded(call_id="c1", reason="hangup"))
    assert passes(gate, line("c1"))


def test_the_maps_are_bounded() -> None:
    gate = started(max_live=3, max_ended=2)
    for n in range(10):
        gate.admit(state(100 + n, "on_call", f"lost-{n}"))  # ends never seen
    assert gate.tracked_calls == 3
    for n in range(10):
        gate.admit(state(THEIRS, "on_call", f"c{n}"))
        gate.admit(CallEnded(call_id=f"c{n}", reason="hangup"))
    assert gate.tracked_calls <= 3 + 2
    assert not passes(gate, line("c9"))  # the latest ended are remembered


def test_every_catalogue_event_is_decided() -> None:
    """Nothing in the catalogue makes the filter fail (a call event of an unknown call passes)."""
    gate = started()
    for cls in ALL_EVENTS:
        hints = get_type_hints(cls)
        values: dict[str, Any] = {
            f.name: {int: 0, str: "x", float: 0.0, bool: False}.get(hints[f.name])
            for f in dataclasses.fields(cls)
            if f.name != "at" and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        }  # fmt: skip
        if cls is DeskMirror:
            values["draft"] = DeskDraft()
        event = cls(**values)
        kept = gate.admit(event)
        if isinstance(event, CallEvent):
            assert kept is not None, cls


# -- before the team is known, and unrestricted -----------------------------------------------
def test_events_wait_for_the_team_and_then_are_filtered() -> None:
    gate = TeamFilter()
    early = [state(THEIRS, "on_call", "c5"), line("c5"), line("c1"), line("c2")]
    assert all(gate.admit(e) is None for e in early)
    # The profiles read at connect time: our agent is on c2 (theirs on c5, as the event says).
    released = gate.start(RoomTeam(frozenset({OURS}), on_calls=((THEIRS, "c5"), (OURS, "c2"))))
    assert released == early[2:]


def test_calls_in_progress_at_connect_time_are_known() -> None:
    gate = TeamFilter()
    gate.start(RoomTeam(frozenset({OURS}), on_calls=((THEIRS, "c5"), (OURS, "c1"))))
    assert not passes(gate, line("c5"))
    assert passes(gate, line("c1"))


def test_unrestricted_passes_everything() -> None:
    gate, early = TeamFilter(), line("c5")
    assert gate.admit(early) is None
    assert gate.start(None) == [early]
    for event in (state(THEIRS, "on_call", "c5"), line("c5"), alert("c5", THEIRS)):
        assert passes(gate, event)
    assert gate.tracked_calls == 0


def test_a_watcher_in_no_team_sees_only_untaken_calls() -> None:
    gate = started(RoomTeam(frozenset()))
    assert not passes(gate, state(OURS, "ready"))
    assert passes(gate, ringing("c1"))
    gate.admit(state(OURS, "ringing", "c1"))
    assert not passes(gate, line("c1"))
