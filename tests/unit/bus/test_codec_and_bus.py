from __future__ import annotations

import asyncio
import threading

import pytest

from tingyin.bus import EventBus, decode_event, encode_event
from tingyin.bus.codec import EventDecodeError
from tingyin.bus.events import (
    ALL_EVENTS,
    CallEnded,
    CallEvent,
    CallRinging,
    DtmfReceived,
    Event,
    LegStats,
)


def test_every_event_round_trips() -> None:
    samples: list[Event] = [
        CallRinging(call_id="c1", sip_call_id="s", worker=2, caller="138", dialed="400"),
        CallEnded(call_id="c1", reason="hangup", legs=(LegStats(leg="caller", frames=5),)),
        DtmfReceived(call_id="c1", digit="#"),
    ]
    for event in samples:
        assert decode_event(encode_event(event)) == event
    assert all(cls.__dataclass_params__.frozen for cls in ALL_EVENTS)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "data", [b"", b"{}", b'{"type": "Nope"}', b'{"type": "CallEnded"}', b"\xff"]
)
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(data)


def test_bus_delivers_in_order_from_other_threads_and_survives_a_bad_handler() -> None:
    async def scenario() -> list[str]:
        bus = EventBus(asyncio.get_running_loop())
        bus.start()
        seen: list[str] = []

        async def record(event: CallEvent) -> None:
            seen.append(event.call_id)

        async def broken(event: DtmfReceived) -> None:
            raise RuntimeError("handler bug")

        bus.subscribe(CallEvent, record)
        bus.subscribe(DtmfReceived, broken)

        def from_pjsip_thread() -> None:
            for i in range(100):
                bus.publish(DtmfReceived(call_id=str(i), digit="1"))

        thread = threading.Thread(target=from_pjsip_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        await bus.drain()
        await bus.stop()
        return seen

    assert asyncio.run(scenario()) == [str(i) for i in range(100)]


def test_a_screen_pop_survives_the_round_trip() -> None:
    from datetime import UTC, datetime

    from tingyin.bus.context import Anomaly, ItemView, OrderCard, Suggestion, TimelineStep
    from tingyin.bus.events import CallerContextReady

    at = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
    card = OrderCard(
        order_no="2611231230000001", channel="eleme", status="picked_up", merchant="老乡鸡",
        store="望京店", rider="张师傅", amount_fen=3650, address="望京街道 1 号",
        remarks="花生过敏", flagged_remarks=("过敏",), placed_at=at, promised_at=at,
        delivered_at=None, items=(ItemView(name="农家小炒肉", quantity=1, unit_price_fen=2800),),
        timeline=(TimelineStep(at=at, kind="placed", actor="customer"),),
        anomalies=(Anomaly(kind="late", severity="critical", message="超时 25 分钟", minutes=25),),
    )  # fmt: skip
    event = CallerContextReady(
        call_id="c1", caller="138****5678", number_kind="mobile", caller_kind="customer",
        flags=("vip",), orders=(card,),
        suggestion=Suggestion(reason="late", reason_label="催单", remedy="coupon",
                              remedy_label="5 元券", amount_fen=500),
    )  # fmt: skip
    assert decode_event(encode_event(event)) == event
