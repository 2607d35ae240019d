"""Every event that crosses the bus: frozen dataclasses, named in the past tense.

Each carries ``call_id`` (or the worker it concerns) and ``at`` (UTC), because context variables
do not cross into pjsip threads or other processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tingyin.bus.context import OrderCard, RecentCall, Suggestion
from tingyin.bus.desk import DeskDraft


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, kw_only=True)
class CallEvent(Event):
    call_id: str


@dataclass(frozen=True, kw_only=True)
class CallRinging(CallEvent):
    """An inbound INVITE reached a media worker (before it is answered)."""

    sip_call_id: str
    worker: int
    caller: str
    dialed: str
    direction: str = "inbound"


@dataclass(frozen=True, kw_only=True)
class CallAnswered(CallEvent):
    codec: str = ""


@dataclass(frozen=True, kw_only=True)
class CallRecordingStarted(CallEvent):
    path: str


@dataclass(frozen=True, kw_only=True)
class DtmfReceived(CallEvent):
    digit: str
    method: str = "rfc2833"


@dataclass(frozen=True, kw_only=True)
class IvrStep(CallEvent):
    """The IVR entered a node (``result``: how the node before it ended, e.g. key:1, timeout)."""

    node: str
    node_type: str
    result: str = ""


@dataclass(frozen=True, kw_only=True)
class IvrEnded(CallEvent):
    """The caller left the IVR: contained (self-service done), queued, abandoned or error."""

    outcome: str
    node: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CallQueued(CallEvent):
    """The caller waits for an agent of ``queue``; ``path`` is how they got there (the IVR)."""

    queue: str
    path: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True, kw_only=True)
class QueueLeft(CallEvent):
    """A caller stopped waiting in ``queue``: answered by an agent, abandoned (hung up), or
    callback (hung up after asking to be called back; their place in the queue is kept)."""

    queue: str
    outcome: str  # answered | abandoned | callback
    waited_seconds: float = 0.0
    agent_id: int = 0


@dataclass(frozen=True, kw_only=True)
class TransferRequested(CallEvent):
    """Hand the customer on (blind transfer): to a queue, or to one agent (``agent_id``)."""

    queue: str = ""
    agent_id: int = 0
    by_user: int = 0


@dataclass(frozen=True, kw_only=True)
class PartyRequested(CallEvent):
    """Bring a third party into the call (the merchant, the rider): dial ``number``."""

    number: str
    by_user: int = 0


@dataclass(frozen=True, kw_only=True)
class PartyLeg(CallEvent):
    """A third party's leg on a customer's call (a 3-way call): ringing → answered → ended, or
    failed. ``number`` is masked."""

    leg_id: str
    state: str
    number: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AgentLeg(CallEvent):
    """The leg that rings an agent's phone for a customer's call (``call_id``), and what became
    of it: ringing → answered (bridged: the agent talks to the customer) → ended, or failed."""

    leg_id: str
    state: str  # ringing | answered | held | resumed | failed | ended
    agent_id: int = 0
    reason: str = ""  # failed: no-answer | busy | failed-<status> | no-line; ended: who hung up


@dataclass(frozen=True, kw_only=True)
class PromptFinished(CallEvent):
    """A prompt the hub asked a worker to play has ended: played out, or cut off by a digit."""

    prompt_id: str
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class LegStats:
    """Media counters of one leg, for capacity and loss reports."""

    leg: str
    frames: int = 0
    empty_frames: int = 0
    dropped_frames: int = 0
    late_frames: int = 0
    max_gap_ms: float = 0.0
    # The receiving jitter buffer (the caller leg): frames lost, discarded to cut delay, and
    # played while empty (concealed). Each shifts the leg's audio against what was sent.
    jb_lost: int = 0
    jb_discarded: int = 0
    jb_empty: int = 0


@dataclass(frozen=True, kw_only=True)
class CallEnded(CallEvent):
    reason: str
    sip_status: int = 0
    recording_path: str | None = None
    recording_seconds: float = 0.0
    legs: tuple[LegStats, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CallFailed(CallEvent):
    """A call was lost without a clean end (its worker died)."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkerReady(Event):
    worker: int
    sip_host: str
    sip_port: int
    pid: int


@dataclass(frozen=True, kw_only=True)
class WorkerExited(Event):
    worker: int
    exit_code: int | None
    active_calls: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Word:
    """One recognised word; times in seconds from the start of the call's recording."""

    word: str
    start: float
    end: float
    conf: float = 1.0


@dataclass(frozen=True, kw_only=True)
class TranscriptPartial(CallEvent):
    """The words heard so far in an utterance still being spoken (replaces the previous one)."""

    leg: str
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TranscriptFinal(CallEvent):
    """A finished utterance of one leg (the leg is the speaker)."""

    leg: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    source: str = "live"  # live | post (re-run from the recording)


@dataclass(frozen=True, kw_only=True)
class TranscriptLegStatus(CallEvent):
    """Where one leg's transcript stands: live, complete, pending (to fill post-call), failed."""

    leg: str
    status: str
    source: str = "live"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AsrOverloaded(Event):
    """More legs than the ASR can follow live: one was shed (or not admitted) to post-call."""

    call_id: str
    leg: str
    live_legs: int
    capacity: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class CallerContextReady(CallEvent):
    """Who is calling and about what, built at ring time for the agent's screen pop.

    Published again (``revision`` + 1) when something later changes the picture, such as
    food-safety words heard in the live transcript.
    """

    caller: str  # masked
    number_kind: str  # mobile | landline | service | withheld | invalid
    caller_kind: str  # customer | rider | merchant | unknown
    name: str = ""
    flags: tuple[str, ...] = ()  # vip | frequent_complainer | new_customer
    via_binding: bool = False  # the number was a platform's privacy number bound to an order
    orders: tuple[OrderCard, ...] = ()  # most relevant first
    calls_24h: int = 0
    recent_calls: tuple[RecentCall, ...] = ()
    open_tickets: tuple[str, ...] = ()  # ticket numbers (tickets come with their own feature)
    ivr_path: tuple[str, ...] = ()  # the IVR nodes the caller went through before the queue
    suggestion: Suggestion | None = None
    source: str = "sql"  # which order source answered
    lookup_ms: float = 0.0
    revision: int = 1
    error: str = ""  # the lookup failed: the agent still gets the call, with this reason


@dataclass(frozen=True, kw_only=True)
class TicketSlaAlert(Event):
    """A ticket's SLA clock entered warning (before the breach) or breached (escalate)."""

    number: str
    category: str
    priority: str
    clock: str  # first_response | next_update | resolution
    state: str  # warning | breached
    due_at: datetime | None = None
    escalate: bool = False  # a supervisor must take it up


@dataclass(frozen=True, kw_only=True)
class AgentStateChanged(Event):
    """An agent entered a state (ready, not_ready with its reason, ringing, on_call …)."""

    user_id: int
    username: str
    display_name: str
    state: str  # offline | ready | not_ready | ringing | on_call | wrap_up
    reason: str = ""  # the not-ready reason's code (break, lunch …, missed)
    since: datetime | None = None
    call_id: str = ""  # the call being offered, on, or wrapped up


@dataclass(frozen=True, kw_only=True)
class CallbackPlaced(CallEvent):
    """The ACD called back a caller who asked for it (``call_id``: the call they asked on);
    ``callback_call_id`` is the call placed once answered; ``outcome`` answered | no-answer."""

    queue: str
    callback_call_id: str = ""
    outcome: str = "answered"
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class OutboundRequested(Event):
    """An agent dials a customer from the desk: the hub places ``call_id`` to ``number`` and
    rings the agent's phone (``phone_uri``; a browser softphone picks up by itself). Carries a
    full number: internal, never sent to browsers (``web.events.may_see``)."""

    call_id: str
    number: str
    agent_id: int
    phone_uri: str


@dataclass(frozen=True, kw_only=True)
class MonitorLeg(CallEvent):
    """A supervisor's browser on a call (``leg_id``): joined → mode (listen | whisper | barge)
    changes → left, or failed. Shown to supervisors, QA and admins only."""

    leg_id: str
    state: str
    mode: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class SupervisorPhone(Event):
    """A supervisor's SIP phone dialled a listen-in feature code (*1 / *2 / *3 + an agent's
    extension) and reached media worker ``worker`` as leg ``leg_id``: dialled (``caller``,
    ``dialed``) → key (a DTMF ``digit``: 4 / 5 / 6 switch modes) → ended. Not a call of its own
    (no CDR). Carries the phone's number: hub-internal (``web.events.may_see``)."""

    leg_id: str
    worker: int
    state: str  # dialled | key | ended
    caller: str = ""
    dialed: str = ""
    digit: str = ""


@dataclass(frozen=True, kw_only=True)
class CallAlert(CallEvent):
    """A listening-room rule fired on a live call (``tingyin.listening``): a forbidden phrase,
    an angry or food-safety word, silence, a long hold or call, a ticket's SLA about to breach.
    ``at_seconds`` is the moment into the call (for jump-to-moment). Supervisors, QA and admins
    only."""

    rule: str
    kind: str  # phrase | silence | hold | long_call | sla
    severity: str  # info | warning | critical
    at_seconds: float
    text: str = ""  # what matched: the phrase heard, the seconds counted, the ticket
    agent_id: int = 0


@dataclass(frozen=True, kw_only=True)
class ConsultRequested(CallEvent):
    """Attended transfer, asked for by the agent on the call (or a supervisor): ``start`` rings
    the colleague ``agent_id`` while the customer holds; ``complete`` hands the customer to
    them; ``cancel`` brings the customer back to the first agent."""

    action: str  # start | complete | cancel
    agent_id: int = 0
    by_user: int = 0


@dataclass(frozen=True, kw_only=True)
class ConsultLeg(CallEvent):
    """The colleague's leg of an attended transfer (``agent_id``), rung for the agent on the
    call (``from_agent``) and bridged to them only: ringing → answered → completed (then an
    ``AgentLeg`` answered: they have the customer) or ended (cancelled, hung up), or failed."""

    leg_id: str
    state: str  # ringing | answered | completed | ended | failed
    agent_id: int = 0
    from_agent: int = 0
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class OutsideTransferRequested(CallEvent):
    """Blind transfer to an outside number: ``number`` is rung (outbound route), the agent
    leaves, and the customer's call ends when that party hangs up. Carries a full number:
    internal, never sent to browsers (``web.events.may_see``)."""

    number: str
    by_user: int = 0


@dataclass(frozen=True, kw_only=True)
class DeskMirror(Event):
    """The latest state of an agent's desk on their call ``call_id`` (the ticket draft as
    they type it …), for the listening room's mirror of the desk. Not a ``CallEvent``: a draft
    is not part of the call's record (no CDR row). Supervisors, QA and admins only."""

    call_id: str
    agent_id: int
    draft: DeskDraft


ALL_EVENTS: tuple[type[Event], ...] = (
    CallRinging,
    CallAnswered,
    CallRecordingStarted,
    DtmfReceived,
    PromptFinished,
    IvrStep,
    IvrEnded,
    CallQueued,
    QueueLeft,
    TransferRequested,
    PartyRequested,
    PartyLeg,
    AgentLeg,
    CallEnded,
    CallFailed,
    WorkerReady,
    WorkerExited,
    TranscriptPartial,
    TranscriptFinal,
    TranscriptLegStatus,
    AsrOverloaded,
    CallerContextReady,
    TicketSlaAlert,
    AgentStateChanged,
    CallbackPlaced,
    OutboundRequested,
    MonitorLeg,
    SupervisorPhone,
    CallAlert,
    ConsultRequested,
    ConsultLeg,
    OutsideTransferRequested,
    DeskMirror,
)
