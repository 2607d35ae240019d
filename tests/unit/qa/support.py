"""QA test data built the way the system builds it: call events, transcript events, actions."""

from __future__ import annotations

from datetime import timedelta

from tingyin.asr.actions import apply_transcript_event
from tingyin.bus.events import (
    AgentLeg,
    CallAnswered,
    CallEnded,
    CallRecordingStarted,
    CallRinging,
    Event,
    TranscriptFinal,
    TranscriptLegStatus,
    Word,
    utcnow,
)
from tingyin.store import Database
from tingyin.telephony.actions import apply_call_event

# The agent's side of a planted conversation: a greeting, the order asked for and confirmed,
# empathy, a forbidden phrase, a promised time, a closing with the satisfaction question.
AGENT_LINES: tuple[tuple[float, str], ...] = (
    (5.0, "您好 很高兴 为您服务"),
    (9.0, "请问 您的 订单号 是 多少"),
    (14.0, "好的 帮您查到 了 非常抱歉 给您带来不便"),
    (20.0, "这个 我 也 不知道 怎么 回事"),
    (24.0, "我们 会 在 30 分钟 内 给您 回电"),
    (27.0, "还有什么可以帮您 请 对 我的服务 做 评价 再见"),
)
CALLER_LINES: tuple[tuple[float, str], ...] = (
    (0.5, "喂 我的 外卖 还没到"),
    (11.0, "尾号 1234"),
)


def words_of(text: str, start: float, step: float = 0.4) -> tuple[Word, ...]:
    return tuple(
        Word(word=w, start=round(start + i * step, 2), end=round(start + (i + 1) * step, 2))
        for i, w in enumerate(text.split())
    )


def make_call(
    db: Database,
    call_id: str,
    *,
    agent_id: int | None = None,
    recording: str | None = None,
    seconds: float = 30.0,
    ended: bool = True,
    agent_lines: tuple[tuple[float, str], ...] = AGENT_LINES,
    caller_lines: tuple[tuple[float, str], ...] = CALLER_LINES,
) -> None:
    """A call as the workers and the ASR report it: bridged to an agent, transcribed, ended."""
    start = utcnow() - timedelta(seconds=seconds + 60)
    events: list[Event] = [
        CallRinging(call_id=call_id, at=start, sip_call_id=f"sip-{call_id}", worker=0,
                    caller="13812345678", dialed="4008001234"),
        CallAnswered(call_id=call_id, at=start + timedelta(seconds=1), codec="PCMU"),
    ]  # fmt: skip
    if recording is not None:
        events.append(CallRecordingStarted(call_id=call_id, at=start, path=recording))
    if agent_id is not None:
        events.append(
            AgentLeg(call_id=call_id, at=start + timedelta(seconds=2), leg_id="a1",
                     state="answered", agent_id=agent_id)
        )  # fmt: skip
    if ended:
        events.append(
            CallEnded(call_id=call_id, at=start + timedelta(seconds=seconds), reason="hangup",
                      recording_path=recording, recording_seconds=seconds)
        )  # fmt: skip
    with db.session() as session:
        for event in events:
            apply_call_event(session, event)
        for leg, lines in (("system", agent_lines), ("caller", caller_lines)):
            for at, text in lines:
                ws = words_of(text, at)
                apply_transcript_event(
                    session,
                    TranscriptFinal(call_id=call_id, leg=leg, start=at, end=ws[-1].end,
                                    text=text, words=ws),
                )  # fmt: skip
            apply_transcript_event(
                session, TranscriptLegStatus(call_id=call_id, leg=leg, status="complete")
            )
