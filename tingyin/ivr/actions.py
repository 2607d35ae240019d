"""What the IVR looks up and does: order status, ticket progress, the automatic remedy, prompts.

Reads orders through the screen pop's ``ContextBuilder`` (the same source, anomalies and policy
the agent sees) and tickets from the store; every database step runs in a thread. The sentences
are composed here in Mandarin with numbers, times and money read the way people say them
(``ivr.speech``), then spoken by espeak-ng and cached by text.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from tingyin.bus.context import OrderCard
from tingyin.bus.events import CallerContextReady, utcnow
from tingyin.ivr.menu import Menu
from tingyin.ivr.session import CALLBACK_PROMPTS, Found
from tingyin.ivr.speech import (
    read_amount_fen,
    read_digits,
    read_integer,
    read_minutes,
    read_time,
)
from tingyin.phones import lookup_key
from tingyin.screenpop.context import ContextBuilder
from tingyin.store import Database
from tingyin.store.models import Ticket
from tingyin.telephony.prompts import spoken_prompt, write_hold_music
from tingyin.tickets.actions import (
    NewTicket,
    TicketError,
    change_status,
    create_ticket,
    request_compensation,
)
from tingyin.tickets.policy import TicketPolicy
from tingyin.tickets.rules import STATUS_LABELS, normalize_ticket_number, valid_ticket_number

log = logging.getLogger(__name__)

ORDER_STATUS_WORDS = {
    "placed": "商家还未接单",
    "accepted": "商家正在备餐",
    "ready": "餐品已备好，正在等待骑手取餐",
    "picked_up": "骑手正在配送",
    "delivered": "已经送达",
    "cancelled": "已取消",
    "refunded": "已退款",
}
OPEN_ORDER = ("placed", "accepted", "ready", "picked_up")
MAX_CHOICES = 3  # more is too much to remember from one hearing
IVR_SPEED = 230  # espeak words per minute: its 175 default drags in Mandarin menus


class HubIvrActions:
    def __init__(
        self,
        menu: Menu,
        builder: ContextBuilder | None,
        db: Database,
        tickets: TicketPolicy,
        prompts_dir: Path,
        *,
        language: str = "zh",
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.menu = menu
        self.builder = builder
        self.db = db
        self.tickets = tickets
        self.prompts_dir = prompts_dir
        self.language = language
        self.zone = zoneinfo.ZoneInfo(timezone)
        self._prompts: dict[str, Path] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # The order each call was told about: the remedy applies to that one.
        self._order_of: dict[str, str] = {}

    # -- prompts ----------------------------------------------------------------------------
    async def prompt(self, text: str) -> Path:
        path = self._prompts.get(text)
        if path is not None:
            return path
        lock = self._locks.setdefault(text, asyncio.Lock())
        async with lock:  # two callers asking for the same new sentence synthesise it once
            path = self._prompts.get(text)
            if path is None:
                path = await asyncio.to_thread(
                    spoken_prompt, text, self.language, self.prompts_dir, "ivr", IVR_SPEED
                )
                self._prompts[text] = path
        return path

    async def warm(self) -> None:
        """Synthesise every fixed prompt now, so the first caller waits on none of them."""
        for text in [*sorted(self.menu.prompt_texts()), *CALLBACK_PROMPTS]:
            await self.prompt(text)
        await self.hold_music()

    async def hold_music(self) -> Path:
        return await asyncio.to_thread(write_hold_music, self.prompts_dir / "hold-music.wav")

    # -- lookups ----------------------------------------------------------------------------
    async def order_by_caller(self, call_id: str, caller: str) -> Found:
        if self.builder is None:
            return Found("error")
        builder = self.builder
        context = await asyncio.to_thread(builder.for_call, call_id, caller, utcnow())
        if context is not None:
            in_progress = [o for o in context.orders if o.status in OPEN_ORDER][:MAX_CHOICES]
            if len(in_progress) > 1:
                return self._choices(in_progress)
        return self._order_found(call_id, context)

    def _choices(self, orders: list[OrderCard]) -> Found:
        """Several orders under way: the caller picks one (``choose`` node, keys 1…n)."""
        lines = [f"您有{read_integer(len(orders))}个进行中的订单。"]
        variables: dict[str, str] = {}
        for key, card in enumerate(orders, start=1):
            where = card.store or card.merchant or f"尾号{read_digits(card.order_no[-4:])}"
            lines.append(f"查询来自{where}的订单请按{key}，")
            variables[f"choice_{key}"] = card.order_no
        variables["choices"] = "".join(lines).rstrip("，") + "。"
        return Found("several", variables)

    async def order_by_number(self, call_id: str, order_no: str) -> Found:
        if self.builder is None:
            return Found("error")
        builder = self.builder
        context = await asyncio.to_thread(builder.for_order, order_no, utcnow())
        return self._order_found(call_id, context)

    def _order_found(self, call_id: str, context: CallerContextReady | None) -> Found:
        if context is None or not context.orders:
            return Found("error" if context is not None and context.error else "not_found")
        card = context.orders[0]
        self._order_of[call_id] = card.order_no
        late = self._late_minutes(card)
        text = self.order_sentence(card, utcnow(), late)
        variables = {"result": text, "order_no": card.order_no,
                     "amount": read_amount_fen(self.menu.remedy.amount_fen)}  # fmt: skip
        remedy_ok = (
            late >= self.menu.remedy.late_minutes_at_least
            and card.status in OPEN_ORDER
            and not context.open_tickets  # one complaint is being handled already
        )
        return Found("late" if remedy_ok else "found", variables)

    def _late_minutes(self, card: OrderCard) -> float:
        return max((a.minutes for a in card.anomalies if a.kind == "late"), default=0.0)

    def order_sentence(self, card: OrderCard, now: datetime, late: float) -> str:
        """您尾号幺二三四的订单，来自…，骑手正在配送，预计十二点三十分送达。已超时十五分钟。"""
        tail = read_digits(card.order_no[-4:])
        parts = [f"您尾号{tail}的订单"]
        if card.store or card.merchant:
            parts.append(f"来自{card.store or card.merchant}")
        parts.append(ORDER_STATUS_WORDS.get(card.status, card.status))
        sentence = "，".join(parts)
        local_now = now.astimezone(self.zone)
        if card.status in OPEN_ORDER:
            promised = card.promised_at.astimezone(self.zone)
            verb = "原定" if late > 0 else "预计"
            sentence += f"，{verb}{read_time(promised, now=local_now)}送达"
        elif card.status == "delivered" and card.delivered_at is not None:
            delivered = card.delivered_at.astimezone(self.zone)
            sentence += f"，送达时间{read_time(delivered, now=local_now)}"
        sentence += "。"
        if late >= 1 and card.status in OPEN_ORDER:
            sentence += f"订单已超时{read_minutes(int(late))}。"
        return sentence

    async def ticket_progress(self, call_id: str, number: str) -> Found:
        digits = normalize_ticket_number(number)
        if not valid_ticket_number(digits):
            return Found("not_found")
        return await asyncio.to_thread(self._ticket_progress, digits)

    def _ticket_progress(self, number: str) -> Found:
        with self.db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
            if ticket is None:
                return Found("not_found")
            category = self.tickets.category(ticket.category)
            status = STATUS_LABELS["zh"].get(ticket.status, ticket.status)
            local_now = utcnow().astimezone(self.zone)
            updated = read_time(ticket.updated_at.astimezone(self.zone), now=local_now)
            text = (f"工单{read_digits(number)}，{category.zh}，当前状态：{status}，"
                    f"最近更新于{updated}。")  # fmt: skip
            if ticket.compensation_fen:
                text += f"已为您发放补偿{read_amount_fen(ticket.compensation_fen)}。"
            return Found("found", {"result": text, "ticket": read_digits(number)})

    # -- the automatic remedy ---------------------------------------------------------------
    async def apply_remedy(self, call_id: str, caller: str, order_no: str) -> Found:
        order_no = order_no or self._order_of.get(call_id, "")
        if not order_no:
            return Found("error")
        try:
            return await asyncio.to_thread(self._remedy, call_id, caller, order_no)
        except TicketError as exc:
            log.warning("call %s: remedy not applied: %s", call_id, exc.message)
            return Found("error")

    def _remedy(self, call_id: str, caller: str, order_no: str) -> Found:
        remedy, now = self.menu.remedy, utcnow()
        record = self.builder.source.order(order_no) if self.builder is not None else None
        phone = record.customer_phone if record is not None else lookup_key(caller) or None
        with self.db.session() as session:
            made = create_ticket(
                session,
                self.tickets,
                NewTicket(
                    category=remedy.category,
                    channel="phone",
                    order_no=order_no,
                    customer_phone=phone,
                    call_id=call_id,
                    description=f"IVR 自助补偿：订单超时，顾客接受{remedy.amount_yuan:g}元补偿券",
                ),
                actor=None,
                now=now,
                order=record,
            )
            ticket = made.ticket
            if not made.created:  # an open ticket for this order: agents handle it there
                return Found("error")
            comp = request_compensation(
                session, self.tickets, ticket, remedy.kind, remedy.amount_fen, actor=None, now=now,
                note="IVR automatic remedy",
            )  # fmt: skip
            spoken = {"ticket": read_digits(ticket.number), "ticket_no": ticket.number}
            if comp.status != "applied":
                return Found("pending", spoken)
            change_status(session, self.tickets, ticket, "resolved", actor=None, now=now,
                          note="IVR 自助补偿已发放")  # fmt: skip
            return Found("accepted", spoken)

    def forget(self, call_id: str) -> None:
        self._order_of.pop(call_id, None)
