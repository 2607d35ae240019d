"""Screen-pop routes: a call's context, and the agent's search box (phone, order, ticket)."""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tingyin.bus.codec import event_to_dict
from tingyin.bus.events import CallerContextReady, utcnow
from tingyin.screenpop.context import ContextBuilder
from tingyin.screenpop.queries import stored_context
from tingyin.screenpop.sources import SourceError
from tingyin.screenpop.wiring import context_builder
from tingyin.store.models import Ticket
from tingyin.tickets.rules import normalize_ticket_number, valid_ticket_number
from tingyin.web.context import AppContext
from tingyin.web.deps import DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["screen pop"])

CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
ORDER_NO = re.compile(r"^\d{12,24}$")
MESSAGES = {
    "zh": {
        "no_order": "未找到订单 {q}",
        "no_party": "未找到该号码的顾客、骑手或商家",
        "bad_number": "无法识别的号码",
        "no_ticket": "未找到工单 {q}",
        "source": "订单系统暂时无法查询：{e}",
    },
    "en": {
        "no_order": "No order {q}",
        "no_party": "No customer, rider or merchant has this number",
        "bad_number": "Not a phone number",
        "no_ticket": "No ticket {q}",
        "source": "The order system cannot be reached: {e}",
    },
}


def _builder(request: Request) -> ContextBuilder:
    context = cast(AppContext, request.app.state.context)
    if context.screenpop is None:  # a web-only node or a test app: build one from settings
        context.screenpop = context_builder(context.settings, context.db)
    return context.screenpop


@router.get("/api/calls/{call_id}/context", responses={404: {"description": "No screen pop"}})
def call_context(call_id: CallId, session: DbSession) -> dict[str, Any]:
    """The call's screen pop as the agent got it (latest revision): a ``CallerContextReady``."""
    found = stored_context(session, call_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no screen pop for this call")
    return event_to_dict(found)


@router.get("/api/screenpop/search")
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)],
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> dict[str, Any]:
    """A phone number, order number or ticket number, shown as a screen pop would show it.

    The answer has the fields of ``CallerContextReady`` plus ``query_kind``
    (phone | order | ticket) and ``message`` (set when nothing was found).
    """
    builder = _builder(request)
    text = MESSAGES.get(lang or builder.language, MESSAGES["zh"])
    query = normalize_ticket_number(q.strip())
    try:
        if valid_ticket_number(query):  # 12 digits, dated, with a check digit
            found_ticket = await run_in_threadpool(_ticket_search, builder, query)
            if found_ticket is not None:
                return found_ticket
        if ORDER_NO.match(query):
            found = await run_in_threadpool(builder.for_order, query, utcnow())
            if found is not None or len(query) > 15:
                return _result(found, "order", "" if found else text["no_order"].format(q=query))
        context = await run_in_threadpool(builder.for_call, "", query, utcnow())
    except SourceError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, text["source"].format(e=exc)
        ) from None
    if valid_ticket_number(query) and context.caller_kind == "unknown":
        return _result(None, "ticket", text["no_ticket"].format(q=query))
    if context.number_kind in ("invalid", "withheld"):
        return _result(None, "phone", text["bad_number"])
    return _result(context, "phone", text["no_party"] if context.caller_kind == "unknown" else "")


def _ticket_search(builder: ContextBuilder, number: str) -> dict[str, Any] | None:
    """The ticket's order (or customer) as a screen pop, with the ticket first; None: none."""
    with builder.db.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
        if ticket is None:
            return None
        order_no, phone = ticket.order_no, ticket.customer_phone
    now = utcnow()
    found = builder.for_order(order_no, now) if order_no else None
    if found is None and phone:
        found = builder.for_call("", phone, now)
    body = _result(found, "ticket", "")
    tickets = [number, *[t for t in body["open_tickets"] if t != number]]
    return body | {"open_tickets": tickets}


def _result(context: CallerContextReady | None, kind: str, message: str) -> dict[str, Any]:
    body = event_to_dict(context or CallerContextReady(call_id="", caller="", number_kind="",
                                                       caller_kind="unknown"))  # fmt: skip
    return body | {"query_kind": kind, "message": message}
